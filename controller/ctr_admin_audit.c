/*
 * ctr_admin_audit: every admin command that changes state, whether it
 * succeeded or not, as one JSON record in ST_DB_AUDIT, keyed by big-endian
 * wall ms + sequence like the failover events (so LMDB's order is time
 * order), written durably before the client gets its answer.  Secrets in
 * the arguments are replaced before anything is written.
 */
#include "ctr_admin.h"

#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "log.h"

#define REDACTED "[redacted]"

/* Argument names whose values never leave the command that uses them. */
static bool is_secret(const char *name)
{
    return strcmp(name, "secret") == 0;
}

json_t *admin_redact(const json_t *v)
{
    if (!json_is_object(v))
        return json_deep_copy(v);
    json_t *out = json_object();
    const char *key;
    json_t *m;
    json_object_foreach((json_t *)v, key, m) {
        json_t *copy = is_secret(key) ? json_string(REDACTED) : admin_redact(m);
        if (!out || !copy || json_object_set_new(out, key, copy) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static uint32_t audit_seq;

struct audit_arg {
    uint64_t ts_ms;
    const char *text;
    uint32_t seq;
};

static int audit_txn(struct st_env *st, MDB_txn *txn, void *argp)
{
    struct audit_arg *a = argp;
    unsigned char key[12];
    for (int b = 0; b < 8; b++)
        key[b] = (unsigned char)(a->ts_ms >> (56 - 8 * b));
    /* A restarted controller's sequence starts again: never overwrite an
     * older record that has the same millisecond. */
    for (uint32_t s = audit_seq;; s++) {
        for (int b = 0; b < 4; b++)
            key[8 + b] = (unsigned char)(s >> (24 - 8 * b));
        MDB_val k = { sizeof key, key }, v = { strlen(a->text), (void *)a->text };
        int rc = mdb_put(txn, st_dbi(st, ST_DB_AUDIT), &k, &v, MDB_NOOVERWRITE);
        if (rc != MDB_KEYEXIST) {
            a->seq = s;
            return rc > 0 ? -rc : rc;
        }
    }
}

void admin_audit(struct ctr *c, const struct admin_peer *peer, const char *cmd,
                 const json_t *args, const struct admin_reply *r)
{
    uint64_t now = bs_wall_ms();
    json_t *err = r->code ? json_pack("{s:s, s:s}", "code", r->code, "message", r->message)
                          : json_null();
    json_t *rec = json_pack("{s:I, s:I, s:I, s:I, s:s, s:o*, s:b, s:o*}", "ts_ms", (json_int_t)now,
                            "uid", (json_int_t)peer->uid, "gid", (json_int_t)peer->gid, "pid",
                            (json_int_t)peer->pid, "cmd", cmd, "args", admin_redact(args), "ok",
                            r->code == NULL, "error", err);
    char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (!text) {
        log_err("audit: cannot record %s by uid %ld: out of memory", cmd, (long)peer->uid);
        return;
    }
    struct audit_arg a = { .ts_ms = now, .text = text };
    int rc = st_write(c->st, audit_txn, &a, true);
    if (rc)
        log_err("audit: cannot record %s by uid %ld: %s", cmd, (long)peer->uid, st_strerror(rc));
    else
        audit_seq = a.seq + 1;
    free(text);
}
