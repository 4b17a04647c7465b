/* st: the LMDB state store; see st.h for the rules it enforces. */
#include "st.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

#define ST_RETRIES 4

static const char *const st_db_names[ST_DB__COUNT] = {
    [ST_DB_META] = "meta",
    [ST_DB_HEALTH] = "health",
    [ST_DB_WORKERS] = "workers",
    [ST_DB_BREAKERS] = "breakers",
    [ST_DB_PROBES] = "probes",
    [ST_DB_EVENTS] = "events",
    [ST_DB_KEYS] = "keys",
    [ST_DB_AUDIT] = "audit",
};

struct st_env {
    MDB_env *env;
    MDB_dbi dbi[ST_DB__COUNT];
    MDB_txn *rtxn;      /* the reader's cached transaction */
    bool rtxn_live;     /* renewed and not yet reset */
    bool writer;
    size_t map_bytes;
};

/* LMDB returns positive errno values and negative MDB_* codes; the project
 * speaks negative codes only. */
static int st_rc(int rc)
{
    return rc > 0 ? -rc : rc;
}

const char *st_strerror(int rc)
{
    if (rc <= MDB_KEYEXIST && rc >= MDB_LAST_ERRCODE)
        return mdb_strerror(rc);
    return strerror(rc < 0 ? -rc : rc);
}

static int st_mkdir_p(const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return -ENAMETOOLONG;
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0750) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int st_open_dbis(struct st_env *st)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, st->writer ? 0 : MDB_RDONLY, &txn);
    if (rc)
        return st_rc(rc);
    for (int i = 0; i < ST_DB__COUNT; i++) {
        rc = mdb_dbi_open(txn, st_db_names[i], st->writer ? MDB_CREATE : 0, &st->dbi[i]);
        if (rc) {
            mdb_txn_abort(txn);
            return st_rc(rc);
        }
    }
    rc = mdb_txn_commit(txn);
    return st_rc(rc);
}

int st_open(struct st_env **out, const char *dir, size_t map_mb, int flags)
{
    *out = NULL;
    struct st_env *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->writer = flags & ST_WRITER;
    st->map_bytes = map_mb * 1024 * 1024;
    int rc = 0;
    if (st->writer && (rc = st_mkdir_p(dir)) < 0)
        goto fail;
    if ((rc = st_rc(mdb_env_create(&st->env))))
        goto fail;
    mdb_env_set_maxdbs(st->env, 16);
    mdb_env_set_maxreaders(st->env, 512);
    if (st->writer && (rc = st_rc(mdb_env_set_mapsize(st->env, st->map_bytes))))
        goto fail;
    /* Readers stay writable on the lock file (LMDB needs that for reader
     * slots) but open the data read-only.  MDB_NOTLS: a reader slot belongs
     * to the transaction, not the thread, which is what renew relies on. */
    unsigned eflags = MDB_NOTLS | MDB_NOSYNC | (st->writer ? 0 : MDB_RDONLY);
    if ((rc = st_rc(mdb_env_open(st->env, dir, eflags, 0640))))
        goto fail;
    if ((rc = st_open_dbis(st)))
        goto fail;
    *out = st;
    return 0;
fail:
    if (st->env)
        mdb_env_close(st->env);
    free(st);
    return rc;
}

void st_close(struct st_env *st)
{
    if (!st)
        return;
    if (st->rtxn)
        mdb_txn_abort(st->rtxn);
    if (st->writer)
        mdb_env_sync(st->env, 1);
    mdb_env_close(st->env);
    free(st);
}

MDB_dbi st_dbi(const struct st_env *st, enum st_db db)
{
    return st->dbi[db];
}

int st_reader_check(struct st_env *st)
{
    int dead = 0;
    int rc = mdb_reader_check(st->env, &dead);
    return rc ? st_rc(rc) : dead;
}

int st_rd_begin(struct st_env *st)
{
    if (st->rtxn_live)
        return 0;
    for (int i = 0; i < ST_RETRIES; i++) {
        int rc = st->rtxn ? mdb_txn_renew(st->rtxn)
                          : mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->rtxn);
        if (rc == 0) {
            st->rtxn_live = true;
            return 0;
        }
        if (rc == MDB_MAP_RESIZED) {
            /* The writer grew the map: adopt its size, with no txn open. */
            if (st->rtxn) {
                mdb_txn_abort(st->rtxn);
                st->rtxn = NULL;
            }
            mdb_env_set_mapsize(st->env, 0);
            continue;
        }
        if (rc == MDB_READERS_FULL) {
            int dead;
            mdb_reader_check(st->env, &dead);
            continue;
        }
        if (rc != MDB_BAD_RSLOT || !st->rtxn)
            return st_rc(rc);
        mdb_txn_abort(st->rtxn);
        st->rtxn = NULL;
    }
    return MDB_READERS_FULL;
}

void st_rd_end(struct st_env *st)
{
    if (st->rtxn_live) {
        mdb_txn_reset(st->rtxn);
        st->rtxn_live = false;
    }
}

MDB_txn *st_rd_txn(struct st_env *st)
{
    return st->rtxn_live ? st->rtxn : NULL;
}

int st_get(struct st_env *st, MDB_txn *txn, enum st_db db, const char *key,
           const void **val, size_t *vlen)
{
    MDB_val k = { strlen(key), (void *)key }, v;
    int rc = mdb_get(txn, st->dbi[db], &k, &v);
    if (rc)
        return st_rc(rc);
    *val = v.mv_data;
    *vlen = v.mv_size;
    return 0;
}

int st_rd_get(struct st_env *st, enum st_db db, const char *key, const void **val,
              size_t *vlen)
{
    if (!st->rtxn_live)
        return -EINVAL;
    return st_get(st, st->rtxn, db, key, val, vlen);
}

int st_read_generation(struct st_env *st, uint64_t *gen)
{
    *gen = 0;
    int rc = st_rd_begin(st);
    if (rc)
        return rc;
    const void *v;
    size_t len;
    rc = st_rd_get(st, ST_DB_META, ST_KEY_GENERATION, &v, &len);
    if (rc == 0 && len == sizeof *gen)
        memcpy(gen, v, sizeof *gen);
    st_rd_end(st);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int st_put(struct st_env *st, MDB_txn *txn, enum st_db db, const char *key,
           const void *val, size_t vlen)
{
    MDB_val k = { strlen(key), (void *)key }, v = { vlen, (void *)val };
    return st_rc(mdb_put(txn, st->dbi[db], &k, &v, 0));
}

int st_bump(struct st_env *st, MDB_txn *txn, enum st_db db, const char *key, uint64_t *out)
{
    const void *v;
    size_t len;
    uint64_t n = 0;
    int rc = st_get(st, txn, db, key, &v, &len);
    if (rc == 0 && len == sizeof n)
        memcpy(&n, v, sizeof n);
    else if (rc && rc != MDB_NOTFOUND)
        return rc;
    n++;
    if ((rc = st_put(st, txn, db, key, &n, sizeof n)))
        return rc;
    if (out)
        *out = n;
    return 0;
}

static int st_grow(struct st_env *st)
{
    size_t next = st->map_bytes * 2;
    int rc = mdb_env_set_mapsize(st->env, next);
    if (rc)
        return st_rc(rc);
    log_notice("state store map grown from %zu to %zu MiB", st->map_bytes >> 20, next >> 20);
    st->map_bytes = next;
    return 0;
}

int st_write(struct st_env *st, st_write_fn fn, void *arg, bool durable)
{
    if (!st->writer)
        return -EPERM;
    for (int i = 0; i < ST_RETRIES; i++) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
        if (rc)
            return st_rc(rc);
        rc = fn(st, txn, arg);
        if (rc) {
            mdb_txn_abort(txn);
            if (rc == MDB_MAP_FULL && (rc = st_grow(st)) == 0)
                continue;
            return rc;
        }
        rc = mdb_txn_commit(txn);
        if (rc == MDB_MAP_FULL && (rc = st_grow(st)) == 0)
            continue;
        if (rc)
            return st_rc(rc);
        if (durable && (rc = mdb_env_sync(st->env, 1)))
            return st_rc(rc);
        return 0;
    }
    return MDB_MAP_FULL;
}
