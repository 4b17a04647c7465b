/*
 * ctr_admin_cmd_history: `events` and `audit`, the two time-keyed
 * histories (key = big-endian wall ms + sequence).  With since_ms: the
 * oldest `limit` records from that time on; without: the newest `limit`.
 * Either way in time order, each with its key in hex as "id" so that a
 * follower polling with an overlapping since_ms can drop what it has seen
 * (a worker's event may be stored up to one flush after a later one).
 */
#include "ctr_admin.h"

#include <stdio.h>

#define DEFAULT_LIMIT 100

static int mdb_err(int rc)
{
    return rc > 0 ? -rc : rc;
}

static json_t *record_json(const MDB_val *k, const MDB_val *v)
{
    json_t *rec = json_loadb(v->mv_data, v->mv_size, 0, NULL);
    if (!json_is_object(rec)) {
        json_decref(rec);
        return NULL;
    }
    char id[2 * 16 + 1] = "";
    const unsigned char *kb = k->mv_data;
    for (size_t i = 0; i < k->mv_size && i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", kb[i]);
    json_object_set_new(rec, "id", json_string(id));
    return rec;
}

/* Walks from the cursor's position in one direction, collecting up to
 * limit records; *more says whether one more was there. */
static int collect(MDB_cursor *cur, MDB_cursor_op first, MDB_cursor_op next, MDB_val *k,
                   long long limit, json_t *out, bool *more)
{
    MDB_val v;
    int rc = mdb_cursor_get(cur, k, &v, first);
    long long n = 0;
    for (; rc == 0 && n < limit; rc = mdb_cursor_get(cur, k, &v, next)) {
        json_t *rec = record_json(k, &v);
        if (!rec)
            continue;
        json_array_append_new(out, rec);
        n++;
    }
    *more = rc == 0;
    return rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
}

void admin_read_history(struct ctr *c, enum st_db db, const json_t *args, const char *field,
                        struct admin_reply *r)
{
    long long limit = admin_arg_int(args, "limit", DEFAULT_LIMIT);
    bool since = json_object_get(args, "since_ms") != NULL;
    unsigned long long since_ms = (unsigned long long)admin_arg_int(args, "since_ms", 0);
    json_t *list = json_array();
    int rc = list ? st_rd_begin(c->st) : -12;
    if (rc) {
        json_decref(list);
        admin_fail(r, "store_error", "cannot read the state store: %s", st_strerror(rc));
        return;
    }
    MDB_cursor *cur;
    bool more = false;
    rc = mdb_err(mdb_cursor_open(st_rd_txn(c->st), st_dbi(c->st, db), &cur));
    if (rc == 0) {
        unsigned char key[12] = { 0 };
        for (int b = 0; b < 8; b++)
            key[b] = (unsigned char)(since_ms >> (56 - 8 * b));
        MDB_val k = { sizeof key, key };
        rc = since ? collect(cur, MDB_SET_RANGE, MDB_NEXT, &k, limit, list, &more)
                   : collect(cur, MDB_LAST, MDB_PREV, &k, limit, list, &more);
        mdb_cursor_close(cur);
        /* Newest first was the way to find them; time order is the way
         * to show them. */
        for (size_t i = 0, n = json_array_size(list); !since && i < n / 2; i++) {
            json_t *a = json_incref(json_array_get(list, i));
            json_array_set(list, i, json_array_get(list, n - 1 - i));
            json_array_set_new(list, n - 1 - i, a);
        }
    }
    st_rd_end(c->st);
    if (rc) {
        json_decref(list);
        admin_fail(r, "store_error", "cannot read the state store: %s", st_strerror(rc));
        return;
    }
    r->result = json_pack("{s:o, s:b}", field, list, "more", more);
}

void admin_cmd_events(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r)
{
    (void)peer;
    admin_read_history(c, ST_DB_EVENTS, args, "events", r);
}

void admin_cmd_audit(struct ctr *c, const struct admin_peer *peer, json_t *args,
                     struct admin_reply *r)
{
    (void)peer;
    admin_read_history(c, ST_DB_AUDIT, args, "audit", r);
}
