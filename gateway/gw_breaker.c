/* gw_breaker: the worker's view of circuit breakers; see gw_breaker.h. */
#include "gw_breaker.h"

#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "gw.h"
#include "log.h"
#include "tel.h"

struct gw_brk {
    char key[TEL_TARGET_MAX];
    struct brk_record rec;
    int consec;                  /* this worker's consecutive failures */
    uint64_t local_until_us;     /* this worker's own open verdict, monotonic */
    uint64_t local_wall_ms;      /* when it was taken */
    uint64_t used_epoch;         /* trial epoch this worker has used */
    double lat_ewma_ms;          /* successful attempts' time to the response head */
    double err_ewma;             /* 1 per counted failure, 0 per success */
    uint32_t samples;
    uint64_t seen_changed_ms;    /* the published change last seen */
};

#define EWMA_ALPHA 0.2

struct gw_brk_table {
    struct gw_brk **slots;
    size_t cap, n;               /* cap: power of two */
    uint64_t gen;
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct gw_brk *find(struct gw_brk_table *t, const char *key)
{
    if (!t || !t->cap)
        return NULL;
    for (size_t i = key_hash(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->slots[i])
            return NULL;
        if (strcmp(t->slots[i]->key, key) == 0)
            return t->slots[i];
    }
}

static int grow(struct gw_brk_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct gw_brk **s = calloc(cap, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        struct gw_brk *e = t->slots[i];
        if (!e)
            continue;
        size_t j = key_hash(e->key) & (cap - 1);
        while (s[j])
            j = (j + 1) & (cap - 1);
        s[j] = e;
    }
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return 0;
}

static struct gw_brk *get(struct gw *gw, const char *key)
{
    if (!gw->brk && !(gw->brk = calloc(1, sizeof *gw->brk)))
        return NULL;
    struct gw_brk_table *t = gw->brk;
    struct gw_brk *e = find(t, key);
    if (e)
        return e;
    if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
        return NULL;
    if (!(e = calloc(1, sizeof *e)))
        return NULL;
    snprintf(e->key, sizeof e->key, "%s", key);
    size_t i = key_hash(key) & (t->cap - 1);
    while (t->slots[i])
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = e;
    t->n++;
    return e;
}

int gw_brk_sync(struct gw *gw)
{
    const void *v;
    size_t len;
    uint64_t gen = 0;
    if (st_rd_get(gw->st, ST_DB_META, ST_KEY_BREAKER_GEN, &v, &len) == 0 && len == sizeof gen)
        memcpy(&gen, v, sizeof gen);
    if (gw->brk && gen == gw->brk->gen)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(st_rd_txn(gw->st), st_dbi(gw->st, ST_DB_BREAKERS), &cur);
    if (rc)
        return -1;
    /* Records that vanished (a controller restart resets them) are closed. */
    if (gw->brk)
        for (size_t i = 0; i < gw->brk->cap; i++)
            if (gw->brk->slots[i])
                memset(&gw->brk->slots[i]->rec, 0, sizeof gw->brk->slots[i]->rec);
    MDB_val k, d;
    char key[TEL_TARGET_MAX];
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (d.mv_size != sizeof(struct brk_record) || k.mv_size >= sizeof key)
            continue;
        memcpy(key, k.mv_data, k.mv_size);
        key[k.mv_size] = '\0';
        struct gw_brk *e = get(gw, key);
        if (!e)
            continue;
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
    if (gw->brk)
        gw->brk->gen = gen;
    return 0;
}

static void send_trial(struct gw *gw, const struct gw_brk *e)
{
    struct tel_trial t;
    memset(&t, 0, sizeof t);
    t.hdr.kind = TEL_TRIAL;
    t.trial_epoch = e->rec.trial_epoch;
    tel_copy(t.target, sizeof t.target, e->key);
    gw_tel_send(gw, &t, sizeof t);
}

enum gw_admit gw_brk_admit(struct gw *gw, const char *key, uint64_t *trial_epoch)
{
    struct gw_brk *e = find(gw->brk, key);
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
        if (e->rec.trial_slot == gw->slot && e->used_epoch != e->rec.trial_epoch) {
            e->used_epoch = e->rec.trial_epoch;
            *trial_epoch = e->rec.trial_epoch;
            send_trial(gw, e);
            return GW_ADMIT_TRIAL;
        }
        return GW_DENY;
    default:
        return GW_DENY;
    }
}

void gw_brk_report(struct gw *gw, const char *key, enum fail_class fail, uint64_t latency_us)
{
    if (fail != FAIL_NONE && !fail_counts_against_health(fail))
        return;
    struct gw_brk *e = get(gw, key);
    if (!e)
        return;
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
        log_info("target %s avoided by this worker for %d ms: %s", key, cb->cooldown_ms,
                 fail_class_name(fail));
    }
}

void gw_brk_stats(struct gw *gw, const char *key, double *latency_ms, double *error_rate)
{
    struct gw_brk *e = find(gw->brk, key);
    *latency_ms = e ? e->lat_ewma_ms : 0;
    *error_rate = e ? e->err_ewma : 0;
}

uint64_t gw_brk_retry_at(struct gw *gw, const char *key)
{
    struct gw_brk *e = find(gw->brk, key);
    if (!e)
        return 0;
    return e->rec.state == BRK_OPEN ? e->rec.until_wall_ms : 0;
}

void gw_brk_free(struct gw *gw)
{
    struct gw_brk_table *t = gw->brk;
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i]);
    free(t->slots);
    free(t);
    gw->brk = NULL;
}
