/* gw_breaker: the worker's view of circuit breakers; see gw_breaker.h. */
#include "gw_breaker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "gw.h"
#include "log.h"
#include "tel.h"

struct gw_brk {
    const char *key;             /* the view's config's target_ids[id].key */
    struct brk_record rec;
    int consec;                  /* this worker's consecutive failures */
    uint64_t local_until_us;     /* this worker's own open verdict, monotonic */
    uint64_t local_wall_ms;      /* when it was taken */
    uint64_t used_epoch;         /* trial epoch this worker has claimed */
    uint64_t passed_epoch;       /* ... and whose trial succeeded here */
    double lat_ewma_ms;          /* successful attempts' time to the response head */
    double err_ewma;             /* 1 per counted failure, 0 per success */
    uint32_t samples;
    uint64_t seen_changed_ms;    /* the published change last seen */
};

#define EWMA_ALPHA 0.2

struct gw_brk_table {
    const struct cfg *cfg;       /* of the catalog the view numbers (gw->cat's) */
    struct gw_brk *v;            /* by target id */
    size_t n;
    uint64_t gen;                /* ST_KEY_BREAKER_GEN last read; 0: read again */
};

static struct gw_brk *entry(struct gw *gw, uint32_t tid)
{
    struct gw_brk_table *t = gw->brk;
    return t && tid < t->n ? &t->v[tid] : NULL;
}

static int read_records(struct gw *gw, uint64_t gen)
{
    struct gw_brk_table *t = gw->brk;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(st_rd_txn(gw->st), st_dbi(gw->st, ST_DB_BREAKERS), &cur);
    if (rc)
        return -1;
    /* Records that vanished (a controller restart resets them) are closed. */
    for (size_t i = 0; i < t->n; i++)
        memset(&t->v[i].rec, 0, sizeof t->v[i].rec);
    MDB_val k, d;
    char key[TEL_TARGET_MAX];
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (d.mv_size != sizeof(struct brk_record) || k.mv_size >= sizeof key)
            continue;
        memcpy(key, k.mv_data, k.mv_size);
        key[k.mv_size] = '\0';
        /* Linear, but only over the records (targets that ever failed), and
         * only when the controller changed one. */
        long id = cfg_target_lookup(t->cfg, key);
        if (id < 0)
            continue;
        struct gw_brk *e = &t->v[id];
        struct brk_record rec;
        memcpy(&rec, d.mv_data, sizeof rec);
        if (rec.changed_wall_ms != e->seen_changed_ms) {
            /* How long the controller's decision took to reach this worker:
             * the figure the benchmark reports as breaker propagation. */
            uint64_t now = bs_wall_ms();
            log_info("breaker %s %s seen %llu ms after it was published", key,
                     brk_state_name(rec.state),
                     (unsigned long long)(now > rec.changed_wall_ms ? now - rec.changed_wall_ms : 0));
            e->seen_changed_ms = rec.changed_wall_ms;
        }
        e->rec = rec;
    }
    mdb_cursor_close(cur);
    t->gen = gen;
    return 0;
}

static uint64_t published_gen(struct gw *gw)
{
    const void *v;
    size_t len;
    uint64_t gen = 0;
    if (st_rd_get(gw->st, ST_DB_META, ST_KEY_BREAKER_GEN, &v, &len) == 0 && len == sizeof gen)
        memcpy(&gen, v, sizeof gen);
    return gen;
}

int gw_brk_sync(struct gw *gw)
{
    if (!gw->brk)
        return 0;
    uint64_t gen = published_gen(gw);
    if (gen == gw->brk->gen)
        return 0;
    return read_records(gw, gen);
}

int gw_brk_rebuild(struct gw *gw, const struct gw_catalog *cat)
{
    const struct cfg *cfg = cat->cfg;
    struct gw_brk_table *t = calloc(1, sizeof *t);
    struct gw_brk *v = calloc(cfg->ntarget_ids ? cfg->ntarget_ids : 1, sizeof *v);
    if (!t || !v) {
        free(t);
        free(v);
        return -ENOMEM;
    }
    struct gw_brk_table *old = gw->brk;
    for (size_t id = 0; id < cfg->ntarget_ids; id++) {
        const char *key = cfg->target_ids[id].key;
        long was = old ? cfg_target_lookup(old->cfg, key) : -1;
        if (was >= 0 && (size_t)was < old->n)
            v[id] = old->v[was];  /* local verdict, EWMAs, the trial it used */
        v[id].key = key;
    }
    t->cfg = cfg;
    t->v = v;
    t->n = cfg->ntarget_ids;
    gw_brk_free(gw);
    gw->brk = t;
    return read_records(gw, published_gen(gw));
}

uint32_t gw_brk_tid(struct gw *gw, const struct gw_catalog *cat, uint32_t tid)
{
    const struct gw_brk_table *t = gw->brk;
    if (!t || !cat)
        return GW_BRK_NO_TARGET;
    if (cat->cfg == t->cfg)
        return tid;
    if (tid >= cat->cfg->ntarget_ids)
        return GW_BRK_NO_TARGET;
    long id = cfg_target_lookup(t->cfg, cat->cfg->target_ids[tid].key);
    return id < 0 ? GW_BRK_NO_TARGET : (uint32_t)id;
}

static void send_trial(struct gw *gw, uint32_t tid, const struct gw_brk *e)
{
    struct tel_trial t;
    memset(&t, 0, sizeof t);
    t.hdr.kind = TEL_TRIAL;
    t.trial_epoch = e->rec.trial_epoch;
    t.generation = gw->cat ? gw->cat->generation : 0;
    t.target_id = tid;
    tel_copy(t.target, sizeof t.target, e->key);
    gw_tel_send(gw, &t, sizeof t);
}

enum gw_admit gw_brk_admit(struct gw *gw, uint32_t tid, uint64_t *trial_epoch)
{
    struct gw_brk *e = entry(gw, tid);
    *trial_epoch = 0;
    if (!e)
        return GW_ADMIT;
    if (e->local_until_us) {
        if (bs_now_us() < e->local_until_us && e->rec.changed_wall_ms <= e->local_wall_ms)
            return GW_DENY;
        e->local_until_us = 0; /* expired, or the controller has decided since */
    }
    switch (e->rec.state) {
    case BRK_CLOSED:
        return GW_ADMIT;
    case BRK_HALF_OPEN:
        /* This worker ran the trial and it succeeded: the controller closes
         * the breaker on that outcome, and this worker need not wait for
         * the record to say so (its next request would skip a target it
         * has just seen recover). */
        if (e->passed_epoch && e->passed_epoch == e->rec.trial_epoch)
            return GW_ADMIT;
        /* The first request to get here, on any worker, is the trial. */
        if (e->used_epoch != e->rec.trial_epoch &&
            brk_claim_take(&gw->claims, tid, e->rec.trial_epoch)) {
            e->used_epoch = e->rec.trial_epoch;
            *trial_epoch = e->rec.trial_epoch;
            send_trial(gw, tid, e);
            return GW_ADMIT_TRIAL;
        }
        return GW_DENY;
    default:
        return GW_DENY;
    }
}

void gw_brk_report(struct gw *gw, uint32_t tid, enum fail_class fail, uint64_t latency_us,
                   uint64_t trial_epoch)
{
    if (fail != FAIL_NONE && !fail_counts_against_health(fail))
        return;
    struct gw_brk *e = entry(gw, tid);
    if (!e)
        return;
    if (fail == FAIL_NONE && trial_epoch && trial_epoch == e->used_epoch)
        e->passed_epoch = trial_epoch;
    double a = e->samples++ ? EWMA_ALPHA : 1.0;
    e->err_ewma += a * ((fail == FAIL_NONE ? 0.0 : 1.0) - e->err_ewma);
    /* A failure's time counts too: it is what trying this target cost. */
    double ms = (double)latency_us / 1000.0;
    e->lat_ewma_ms += a * (ms - e->lat_ewma_ms);
    if (fail == FAIL_NONE) {
        e->consec = 0;
        return;
    }
    const struct cfg_breaker *cb = &gw->cat->cfg->breaker;
    if (++e->consec >= cb->consecutive_failures || fail_is_hard(fail)) {
        e->local_until_us = bs_now_us() + (uint64_t)cb->cooldown_ms * 1000;
        e->local_wall_ms = bs_wall_ms();
        e->consec = 0;
        log_info("target %s avoided by this worker for %d ms: %s", e->key, cb->cooldown_ms,
                 fail_class_name(fail));
    }
}

void gw_brk_stats(struct gw *gw, uint32_t tid, double *latency_ms, double *error_rate)
{
    const struct gw_brk *e = entry(gw, tid);
    *latency_ms = e ? e->lat_ewma_ms : 0;
    *error_rate = e ? e->err_ewma : 0;
}

uint64_t gw_brk_retry_at(struct gw *gw, uint32_t tid)
{
    const struct gw_brk *e = entry(gw, tid);
    return e && e->rec.state == BRK_OPEN ? e->rec.until_wall_ms : 0;
}

void gw_brk_free(struct gw *gw)
{
    struct gw_brk_table *t = gw->brk;
    if (!t)
        return;
    free(t->v);
    free(t);
    gw->brk = NULL;
}
