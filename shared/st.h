/*
 * st: the state store, one LMDB environment in the state directory.
 *
 * The controller opens it as the only writer; each worker opens it read-only
 * after it has started (an MDB_env never crosses a fork).  This module is
 * the one place that knows LMDB's operational rules:
 *   - a reader keeps one read transaction and cycles it with reset/renew;
 *   - MDB_MAP_RESIZED (another process grew the map) is adopted and retried;
 *   - MDB_READERS_FULL runs mdb_reader_check and is retried once;
 *   - MDB_MAP_FULL in a write doubles the map and re-runs the write;
 *   - the environment runs with MDB_NOSYNC, and writes of durable state ask
 *     for an explicit sync, so batched volatile writes (health, telemetry)
 *     cost no fsync while catalog, keys and audit survive a crash.
 *
 * Errors are returned as negative numbers: -errno, or an LMDB code (those
 * are negative already); st_strerror() names either.
 *
 * Ownership: st_open() returns an environment owned by the caller until
 * st_close().  Values returned by st_rd_get() point into the map and are
 * valid only until st_rd_end().
 */
#ifndef BS_ST_H
#define BS_ST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>

enum st_db {
    ST_DB_META = 0,   /* generation, config: the catalog as the controller published it */
    ST_DB_HEALTH,     /* per-target attempt statistics (volatile) */
    ST_DB_WORKERS,    /* per-worker status reported over telemetry (volatile) */
    ST_DB_BREAKERS,   /* struct brk_record per target "provider/model" (volatile) */
    ST_DB_PROBES,     /* JSON probe state per target "provider/model" (volatile) */
    ST_DB_EVENTS,     /* failover history: key = big-endian wall ms + sequence, JSON value */
    ST_DB_KEYS,       /* provider secrets, encrypted (shared/keys.h): key = provider name */
    ST_DB_AUDIT,      /* admin commands that change state: key as in ST_DB_EVENTS, JSON value */
    ST_DB__COUNT
};

#define ST_KEY_GENERATION "generation"  /* uint64_t, native byte order */
#define ST_KEY_CONFIG     "config"      /* normalised config JSON text */

#define ST_WRITER 1

struct st_env;

int st_open(struct st_env **out, const char *dir, size_t map_mb, int flags);
void st_close(struct st_env *env);
const char *st_strerror(int rc);

/* --- readers --- */
int st_rd_begin(struct st_env *env);
/* 0, MDB_NOTFOUND, or another error. */
int st_rd_get(struct st_env *env, enum st_db db, const char *key, const void **val,
              size_t *vlen);
MDB_txn *st_rd_txn(struct st_env *env);
void st_rd_end(struct st_env *env);
/* Reads ST_KEY_GENERATION in its own short read cycle: 0 when none yet. */
int st_read_generation(struct st_env *env, uint64_t *gen);

/* --- the writer --- */
typedef int (*st_write_fn)(struct st_env *env, MDB_txn *txn, void *arg);
/* Runs fn inside one write transaction and commits; fn returning non-zero
 * aborts.  On MDB_MAP_FULL the map is grown and fn runs again, so fn must
 * not have side effects outside the transaction. */
int st_write(struct st_env *env, st_write_fn fn, void *arg, bool durable);
int st_put(struct st_env *env, MDB_txn *txn, enum st_db db, const char *key,
           const void *val, size_t vlen);
int st_get(struct st_env *env, MDB_txn *txn, enum st_db db, const char *key,
           const void **val, size_t *vlen);
MDB_dbi st_dbi(const struct st_env *env, enum st_db db);
/* Adds one to a uint64 counter (absent counts as 0); *out gets the new value. */
int st_bump(struct st_env *env, MDB_txn *txn, enum st_db db, const char *key, uint64_t *out);
/* Clears reader slots of dead processes; returns how many, or an error. */
int st_reader_check(struct st_env *env);

#endif
