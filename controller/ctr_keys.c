/*
 * ctr_keys: the controller's side of the encrypted key store (shared/keys.h,
 * docs/admin.md "Keys").
 *
 * The master key is loaded once at start into sodium_malloc'd memory that is
 * made inaccessible between uses, so a stray read elsewhere in the process
 * faults instead of leaking it.  Every change of a stored key is one durable
 * write transaction and is followed by a publish (a new catalog generation),
 * which makes every worker rebuild its provider headers.
 *
 * Master key rotation, in an order that a crash at any point leaves
 * recoverable (each stored record names the master key that encrypted it):
 *   1. write the new key to FILE.new (O_EXCL, 0600, fsync, directory fsync);
 *   2. hard-link FILE as FILE.old (directory fsync);
 *   3. re-encrypt every stored key under the new key in ONE durable write
 *      transaction;
 *   4. rename FILE.new over FILE (directory fsync);
 *   5. remove FILE.old (directory fsync).
 * A crash before 3 commits leaves the records under the old key, which FILE
 * still holds; after it, they are under the key in FILE.new (before 4) or
 * FILE (after).  At start, and in a worker building its catalog, the master
 * key is the one of FILE, FILE.new, FILE.old whose id the records carry; the
 * start then installs it as FILE and removes the other two.
 */
#include "ctr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bs_time.h"
#include "keys.h"
#include "log.h"

#define PATH_LEN 4096

struct ctr_keys {
    unsigned char *master;          /* sodium_malloc'd; no access between uses */
    unsigned char id[KEYS_ID_LEN];
};

static const unsigned char *master_open(struct ctr_keys *k)
{
    sodium_mprotect_readonly(k->master);
    return k->master;
}

static void master_close(struct ctr_keys *k)
{
    sodium_mprotect_noaccess(k->master);
}

static int mdb_err(int rc)
{
    return rc > 0 ? -rc : rc;
}

/* --- start ------------------------------------------------------------------ */

struct id_scan {
    size_t n;                       /* stored records */
    size_t other;                   /* ... under another master than the first */
    unsigned char id[KEYS_ID_LEN];  /* the first record's master */
};

static int scan_ids(struct ctr *c, struct id_scan *s)
{
    memset(s, 0, sizeof *s);
    int rc = st_rd_begin(c->st);
    if (rc)
        return rc;
    MDB_cursor *cur;
    rc = mdb_err(mdb_cursor_open(st_rd_txn(c->st), st_dbi(c->st, ST_DB_KEYS), &cur));
    if (rc == 0) {
        MDB_val k, v;
        while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
            struct keys_info info;
            if (keys_record_info(v.mv_data, v.mv_size, &info) < 0) {
                log_warn("keys: the stored key of %.*s is not a key record; ignored",
                         (int)k.mv_size, (const char *)k.mv_data);
                continue;
            }
            if (s->n == 0)
                memcpy(s->id, info.master_id, KEYS_ID_LEN);
            else if (memcmp(s->id, info.master_id, KEYS_ID_LEN) != 0)
                s->other++;
            s->n++;
        }
        rc = rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
        mdb_cursor_close(cur);
    }
    st_rd_end(c->st);
    return rc;
}

static void remove_quietly(const char *path)
{
    if (unlink(path) < 0 && errno != ENOENT)
        log_warn("cannot remove %s: %s", path, strerror(errno));
}

static int suffixed(char out[PATH_LEN], const char *path, const char *suffix)
{
    return (size_t)snprintf(out, PATH_LEN, "%s%s", path, suffix) < PATH_LEN ? 0 : -ENAMETOOLONG;
}

/* The records' master key, after finishing what an interrupted rotation
 * left: its key file becomes FILE. */
static int load_for_records(const char *path, const struct id_scan *s, unsigned char **out)
{
    char err[1024], from[PATH_LEN];
    const char *which = "";
    int rc = keys_master_load_id(path, s->id, out, &which, err, sizeof err);
    if (rc) {
        log_err("%s: %zu stored key(s) cannot be decrypted; restore the master key file "
                "(refusing to start)", err, s->n);
        return rc;
    }
    if (!*which)
        return 0;
    if ((rc = suffixed(from, path, which)) == 0 && rename(from, path) < 0)
        rc = -errno;
    if (rc == 0)
        rc = keys_sync_dir(path);
    if (rc) {
        log_err("cannot install %s as %s: %s", from, path, strerror(-rc));
        keys_free(*out);
        *out = NULL;
        return rc;
    }
    log_notice("keys: finished an interrupted master key rotation (%s installed as %s)", from,
               path);
    return 0;
}

int ctr_keys_start(struct ctr *c)
{
    if (keys_init() < 0) {
        log_err("cannot initialise libsodium");
        return -1;
    }
    struct ctr_keys *k = calloc(1, sizeof *k);
    if (!k)
        return -ENOMEM;
    c->keys = k;
    const char *path = c->cfg->keys.master_key_file;
    struct id_scan s;
    int rc = scan_ids(c, &s);
    if (rc) {
        log_err("cannot read the key store: %s", st_strerror(rc));
        return rc;
    }
    char err[1024];
    if (s.n > 0) {
        if ((rc = load_for_records(path, &s, &k->master)))
            return rc;
        if (s.other)
            log_warn("keys: %zu stored key(s) were encrypted under another master key and "
                     "cannot be used", s.other);
    } else {
        rc = keys_master_load(path, &k->master, err, sizeof err);
        if (rc == -ENOENT) {
            rc = keys_master_create(path, NULL, err, sizeof err);
            if (rc == 0) {
                log_notice("keys: created master key file %s", path);
                rc = keys_master_load(path, &k->master, err, sizeof err);
            }
        }
        if (rc) {
            log_err("%s", err);
            return rc;
        }
    }
    /* Whatever a rotation left beside the file in use holds no key that
     * any record needs. */
    char extra[PATH_LEN];
    if (suffixed(extra, path, ".new") == 0)
        remove_quietly(extra);
    if (suffixed(extra, path, ".old") == 0)
        remove_quietly(extra);
    keys_master_id(k->master, k->id);
    master_close(k);
    return 0;
}

void ctr_keys_free(struct ctr *c)
{
    if (!c->keys)
        return;
    keys_free(c->keys->master);
    free(c->keys);
    c->keys = NULL;
}

/* --- lookups ------------------------------------------------------------------ */

bool ctr_keys_has(struct ctr *c, const char *provider)
{
    if (!c->st || st_rd_begin(c->st) != 0)
        return false;
    const void *v;
    size_t len;
    bool has = st_rd_get(c->st, ST_DB_KEYS, provider, &v, &len) == 0;
    st_rd_end(c->st);
    return has;
}

int ctr_keys_get(struct ctr *c, const char *provider, char **secret, size_t *len)
{
    *secret = NULL;
    *len = 0;
    if (!c->keys || !c->keys->master)
        return -ENOENT;
    int rc = st_rd_begin(c->st);
    if (rc)
        return rc;
    const void *v;
    size_t vlen;
    rc = st_rd_get(c->st, ST_DB_KEYS, provider, &v, &vlen);
    if (rc == 0) {
        rc = keys_decrypt(master_open(c->keys), provider, v, vlen, secret, len);
        master_close(c->keys);
        if (rc)
            log_err("keys: the stored key of provider %s cannot be decrypted: %s", provider,
                    rc == -EBADMSG ? "wrong master key or tampered record" : strerror(-rc));
    } else if (rc == MDB_NOTFOUND) {
        rc = -ENOENT;
    }
    st_rd_end(c->st);
    return rc;
}

json_t *ctr_keys_list(struct ctr *c, char *err, size_t errlen)
{
    json_t *list = json_array();
    int rc = list ? st_rd_begin(c->st) : -ENOMEM;
    if (rc) {
        snprintf(err, errlen, "cannot read the key store: %s", st_strerror(rc));
        json_decref(list);
        return NULL;
    }
    MDB_cursor *cur;
    rc = mdb_err(mdb_cursor_open(st_rd_txn(c->st), st_dbi(c->st, ST_DB_KEYS), &cur));
    if (rc == 0) {
        MDB_val k, v;
        while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
            struct keys_info info;
            char name[256], id[KEYS_HEX_LEN];
            snprintf(name, sizeof name, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
            if (keys_record_info(v.mv_data, v.mv_size, &info) < 0)
                continue;
            keys_hex(info.master_id, KEYS_ID_LEN, id);
            json_array_append_new(
                list, json_pack("{s:s, s:s, s:i, s:I, s:s, s:b, s:b}", "provider", name,
                                "fingerprint", info.fingerprint, "version", (int)info.version,
                                "set_ms", (json_int_t)info.set_ms, "master_id", id,
                                "usable", memcmp(info.master_id, c->keys->id, KEYS_ID_LEN) == 0,
                                "in_config", cfg_find_provider(c->cfg, name) != NULL));
        }
        rc = rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
        mdb_cursor_close(cur);
    }
    st_rd_end(c->st);
    if (rc) {
        snprintf(err, errlen, "cannot read the key store: %s", st_strerror(rc));
        json_decref(list);
        return NULL;
    }
    return list;
}

/* --- set ---------------------------------------------------------------------- */

struct set_arg {
    const unsigned char *master;
    const char *provider;
    const char *secret;
    size_t len;
    uint64_t now_ms;
    uint32_t version;
};

static int set_txn(struct st_env *st, MDB_txn *txn, void *argp)
{
    struct set_arg *a = argp;
    const void *v;
    size_t vlen;
    struct keys_info info;
    a->version = 1;
    int rc = st_get(st, txn, ST_DB_KEYS, a->provider, &v, &vlen);
    if (rc == 0 && keys_record_info(v, vlen, &info) == 0)
        a->version = info.version + 1;
    else if (rc && rc != MDB_NOTFOUND)
        return rc;
    unsigned char *rec;
    size_t reclen;
    if ((rc = keys_encrypt(a->master, a->provider, a->secret, a->len, a->version, a->now_ms, &rec,
                           &reclen)))
        return rc;
    rc = st_put(st, txn, ST_DB_KEYS, a->provider, rec, reclen);
    free(rec);
    return rc;
}

/* A new generation makes every worker rebuild its provider headers; the
 * probes pick up a provider that a stored key just enabled. */
static uint64_t republish(struct ctr *c)
{
    if (ctr_publish(c, c->cfg) < 0)
        log_err("keys: changed, but the workers see it only at the next reload");
    ctr_probe_reload(c);
    return c->generation;
}

int ctr_keys_set(struct ctr *c, const char *provider, const char *secret, size_t len,
                 json_t **result, char *err, size_t errlen)
{
    *result = NULL;
    if (!cfg_find_provider(c->cfg, provider)) {
        snprintf(err, errlen, "no provider named \"%.128s\" in the configuration", provider);
        return -ENOENT;
    }
    const char *why = keys_secret_invalid(secret, len);
    if (why) {
        snprintf(err, errlen, "%s", why);
        return -EINVAL;
    }
    struct set_arg a = { .provider = provider, .secret = secret, .len = len,
                         .now_ms = bs_wall_ms() };
    a.master = master_open(c->keys);
    int rc = st_write(c->st, set_txn, &a, true);
    master_close(c->keys);
    if (rc) {
        snprintf(err, errlen, "cannot store the key: %s", st_strerror(rc));
        return rc;
    }
    char fp[KEYS_HEX_LEN];
    keys_fingerprint(secret, len, fp);
    log_notice("keys: key of provider %s stored (version %u, fingerprint %s)", provider,
               a.version, fp);
    uint64_t gen = republish(c);
    *result = json_pack("{s:s, s:s, s:i, s:I, s:I}", "provider", provider, "fingerprint", fp,
                        "version", (int)a.version, "set_ms", (json_int_t)a.now_ms, "generation",
                        (json_int_t)gen);
    return 0;
}

/* --- rotate ------------------------------------------------------------------- */

struct rekey_arg {
    const unsigned char *old, *fresh;
    size_t n;
    char bad[256];
};

static int rekey_one(struct st_env *st, MDB_txn *txn, struct rekey_arg *a, const char *name)
{
    const void *v;
    size_t vlen;
    struct keys_info info;
    int rc = st_get(st, txn, ST_DB_KEYS, name, &v, &vlen);
    if (rc)
        return rc;
    char *secret;
    size_t slen;
    if (keys_record_info(v, vlen, &info) < 0 ||
        keys_decrypt(a->old, name, v, vlen, &secret, &slen) < 0) {
        snprintf(a->bad, sizeof a->bad, "the stored key of provider %.128s cannot be decrypted "
                 "with the current master key", name);
        return -EBADMSG;
    }
    unsigned char *rec;
    size_t reclen;
    rc = keys_encrypt(a->fresh, name, secret, slen, info.version, info.set_ms, &rec, &reclen);
    keys_free(secret);
    if (rc == 0) {
        rc = st_put(st, txn, ST_DB_KEYS, name, rec, reclen);
        free(rec);
    }
    return rc;
}

/* Every record in one transaction: a reader sees all keys under the old
 * master or all under the new one. */
static int rekey_txn(struct st_env *st, MDB_txn *txn, void *argp)
{
    struct rekey_arg *a = argp;
    a->n = 0;
    a->bad[0] = '\0';
    char **names = NULL;
    size_t n = 0, cap = 0;
    MDB_cursor *cur;
    int rc = mdb_err(mdb_cursor_open(txn, st_dbi(st, ST_DB_KEYS), &cur));
    if (rc)
        return rc;
    MDB_val k, v;
    /* Names first: the puts below must not run under an open cursor. */
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(names, ncap * sizeof *grown);
            if (!grown) {
                rc = -ENOMEM;
                break;
            }
            names = grown;
            cap = ncap;
        }
        if (!(names[n] = strndup(k.mv_data, k.mv_size))) {
            rc = -ENOMEM;
            break;
        }
        n++;
    }
    mdb_cursor_close(cur);
    rc = rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = rekey_one(st, txn, a, names[i]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == 0)
        a->n = n;
    return rc;
}

/* Steps 1 and 2 of the rotation; on failure nothing is left behind. */
static int rotate_prepare(const char *path, const char *pnew, const char *pold,
                          const unsigned char *fresh, char *err, size_t errlen)
{
    remove_quietly(pnew);
    remove_quietly(pold);
    int rc = keys_master_create(pnew, fresh, err, errlen);
    if (rc)
        return rc;
    if (link(path, pold) < 0 || keys_sync_dir(path) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot keep the old master key as %s: %s", pold, strerror(errno));
        remove_quietly(pnew);
        remove_quietly(pold);
        return rc;
    }
    return 0;
}

int ctr_keys_rotate(struct ctr *c, json_t **result, char *err, size_t errlen)
{
    *result = NULL;
    struct ctr_keys *k = c->keys;
    const char *path = c->cfg->keys.master_key_file;
    char pnew[PATH_LEN], pold[PATH_LEN];
    if (suffixed(pnew, path, ".new") || suffixed(pold, path, ".old")) {
        snprintf(err, errlen, "master key file name too long");
        return -ENAMETOOLONG;
    }
    unsigned char *fresh = sodium_malloc(KEYS_MASTER_LEN);
    if (!fresh) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    randombytes_buf(fresh, KEYS_MASTER_LEN);
    int rc = rotate_prepare(path, pnew, pold, fresh, err, errlen);
    if (rc) {
        keys_free(fresh);
        return rc;
    }
    struct rekey_arg a = { .old = master_open(k), .fresh = fresh };
    rc = st_write(c->st, rekey_txn, &a, true);
    master_close(k);
    if (rc) {
        snprintf(err, errlen, "%s; nothing changed", a.bad[0] ? a.bad : st_strerror(rc));
        remove_quietly(pnew);
        remove_quietly(pold);
        keys_sync_dir(path);
        keys_free(fresh);
        return rc;
    }
    /* Committed: the records are under the new key from here on, whatever
     * happens to the files (the start and the workers find FILE.new). */
    keys_free(k->master);
    k->master = fresh;
    keys_master_id(fresh, k->id);
    master_close(k);
    if (rename(pnew, path) < 0 || keys_sync_dir(path) < 0) {
        rc = -errno;
        snprintf(err, errlen, "%zu key(s) re-encrypted, but %s cannot replace %s: %s; the new "
                 "key stays in %s (found there by the workers and the next start)", a.n, pnew,
                 path, strerror(errno), pnew);
        log_err("keys: %s", err);
        republish(c);
        return rc;
    }
    remove_quietly(pold);
    keys_sync_dir(path);
    char id[KEYS_HEX_LEN];
    keys_hex(k->id, KEYS_ID_LEN, id);
    log_notice("keys: master key rotated (new id %s), %zu key(s) re-encrypted", id, a.n);
    uint64_t gen = republish(c);
    *result = json_pack("{s:I, s:s, s:I}", "rekeyed", (json_int_t)a.n, "master_id", id,
                        "generation", (json_int_t)gen);
    return 0;
}
