/*
 * ctr_breaker: the authoritative circuit breaker of every target, fed by the
 * workers' attempt outcomes and by the health probes, published to LMDB for
 * the workers (shared/brk.h).
 *
 *   closed --(N consecutive failures | error rate over the window |
 *             one hard failure | probes down)--> open
 *   open --(cool-down over | a probe succeeds)--> half-open
 *   half-open: one worker is granted one trial request (round robin over
 *             live workers; re-granted elsewhere if it does not start in
 *             trial_timeout_ms, or never reports an outcome)
 *   half-open --(trial succeeds)--> closed;  --(trial fails)--> open, with a
 *             cool-down that doubles per trip up to cooldown_max_ms
 *
 * Every change is published at once in its own small write transaction
 * (not batched like statistics): workers must see a state change within
 * milliseconds, and changes are rare.
 */
#include "ctr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brk.h"
#include "bs_time.h"
#include "fail.h"
#include "log.h"

#define BRK_BUCKETS 30
#define BRK_TICK_MS 20
#define NO_SLOT 0xffff

struct ctr_brk {
    struct ctr_brk *next;
    char key[TEL_TARGET_MAX];
    struct brk_record rec;
    int consec;
    uint32_t ok[BRK_BUCKETS], bad[BRK_BUCKETS];
    uint64_t bucket_of[BRK_BUCKETS];   /* the time slot each bucket counts */
    uint64_t granted_us;               /* half-open: when the trial was granted */
    uint64_t started_us;               /* ... and when its worker took it, 0 if not yet */
};

static uint64_t epoch_counter;

struct put_arg {
    const struct ctr_brk *b;
};

static int publish_txn(struct st_env *st, MDB_txn *txn, void *argp)
{
    struct put_arg *a = argp;
    int rc = st_put(st, txn, ST_DB_BREAKERS, a->b->key, &a->b->rec, sizeof a->b->rec);
    return rc ? rc : st_bump(st, txn, ST_DB_META, ST_KEY_BREAKER_GEN, NULL);
}

static void publish(struct ctr *c, struct ctr_brk *b)
{
    b->rec.changed_wall_ms = bs_wall_ms();
    struct put_arg a = { b };
    int rc = st_write(c->st, publish_txn, &a, false);
    if (rc)
        log_err("breaker %s: cannot publish: %s", b->key, st_strerror(rc));
}

static struct ctr_brk *brk_find(struct ctr *c, const char *provider, const char *model)
{
    char key[TEL_TARGET_MAX];
    snprintf(key, sizeof key, "%s/%s", provider, model);
    for (struct ctr_brk *b = c->breakers; b; b = b->next)
        if (strcmp(b->key, key) == 0)
            return b;
    return NULL;
}

static struct ctr_brk *brk_get(struct ctr *c, const char *provider, const char *model)
{
    struct ctr_brk *b = brk_find(c, provider, model);
    if (b)
        return b;
    if (!(b = calloc(1, sizeof *b)))
        return NULL;
    snprintf(b->key, sizeof b->key, "%s/%s", provider, model);
    b->rec.trial_slot = NO_SLOT;
    b->next = c->breakers;
    c->breakers = b;
    return b;
}

static void window_clear(struct ctr_brk *b)
{
    memset(b->ok, 0, sizeof b->ok);
    memset(b->bad, 0, sizeof b->bad);
    memset(b->bucket_of, 0, sizeof b->bucket_of);
    b->consec = 0;
}

/* Adds n outcomes and returns the window's totals. */
static void window_add(struct ctr *c, struct ctr_brk *b, bool bad, uint32_t n, uint32_t *total,
                       uint32_t *nbad)
{
    uint64_t width = (uint64_t)c->cfg->breaker.window_ms / BRK_BUCKETS;
    if (width == 0)
        width = 1;
    uint64_t slot = bs_now_us() / 1000 / width + BRK_BUCKETS; /* never 0: 0 means empty */
    size_t i = slot % BRK_BUCKETS;
    if (b->bucket_of[i] != slot) {
        b->bucket_of[i] = slot;
        b->ok[i] = b->bad[i] = 0;
    }
    if (bad)
        b->bad[i] += n;
    else
        b->ok[i] += n;
    *total = *nbad = 0;
    for (size_t j = 0; j < BRK_BUCKETS; j++)
        if (b->bucket_of[j] + BRK_BUCKETS > slot) {
            *total += b->ok[j] + b->bad[j];
            *nbad += b->bad[j];
        }
}

static void trip(struct ctr *c, struct ctr_brk *b, int reason, const char *why)
{
    const struct cfg_breaker *cb = &c->cfg->breaker;
    uint64_t cool = (uint64_t)cb->cooldown_ms;
    for (uint32_t i = 0; i < b->rec.trips && cool < (uint64_t)cb->cooldown_max_ms; i++)
        cool *= 2;
    if (cool > (uint64_t)cb->cooldown_max_ms)
        cool = (uint64_t)cb->cooldown_max_ms;
    b->rec.state = BRK_OPEN;
    b->rec.reason = (uint8_t)reason;
    b->rec.trips++;
    b->rec.until_wall_ms = bs_wall_ms() + cool;
    b->rec.trial_slot = NO_SLOT;
    b->granted_us = b->started_us = 0;
    window_clear(b);
    log_warn("breaker %s open for %llu ms: %s (trip %u)", b->key, (unsigned long long)cool, why,
             b->rec.trips);
    publish(c, b);
}

/* Picks the next live worker, round robin, so trials do not always land on
 * the same one. */
static int pick_slot(struct ctr *c)
{
    for (int n = 0; n < c->nslots; n++) {
        int i = (int)((c->brk_next_slot + (unsigned)n) % (unsigned)c->nslots);
        if (c->slots[i].pid > 0 && c->slots[i].state == SLOT_RUNNING) {
            c->brk_next_slot = (unsigned)i + 1;
            return i;
        }
    }
    return -1;
}

static void grant(struct ctr *c, struct ctr_brk *b)
{
    int slot = pick_slot(c);
    b->rec.state = BRK_HALF_OPEN;
    b->rec.trial_slot = slot < 0 ? NO_SLOT : (uint16_t)slot;
    b->rec.trial_epoch = ++epoch_counter;
    b->granted_us = bs_now_us();
    b->started_us = 0;
    log_info("breaker %s half-open: trial granted to worker %d", b->key, slot);
    publish(c, b);
}

static void close_breaker(struct ctr *c, struct ctr_brk *b)
{
    b->rec.state = BRK_CLOSED;
    b->rec.reason = 0;
    b->rec.trips = 0;
    b->rec.trial_slot = NO_SLOT;
    b->granted_us = b->started_us = 0;
    window_clear(b);
    log_notice("breaker %s closed: trial succeeded", b->key);
    publish(c, b);
}

void ctr_breaker_attempt(struct ctr *c, int slot, const struct tel_attempt *a)
{
    (void)slot;
    struct ctr_brk *b = brk_get(c, a->provider, a->model);
    if (!b)
        return;
    enum fail_class fail = a->fail;
    bool counts = fail_counts_against_health(fail);
    if (a->trial) {
        if (b->rec.state != BRK_HALF_OPEN || a->trial_epoch != b->rec.trial_epoch)
            return;
        if (fail == FAIL_NONE)
            close_breaker(c, b);
        else if (counts)
            trip(c, b, fail, fail_class_name(fail));
        else
            grant(c, b); /* the request's own fault tells nothing: another trial */
        return;
    }
    /* Outcomes of requests that started before the breaker opened say
     * nothing new. */
    if (b->rec.state != BRK_CLOSED || (fail != FAIL_NONE && !counts))
        return;
    uint32_t total, nbad;
    window_add(c, b, counts, 1, &total, &nbad);
    if (!counts) {
        b->consec = 0;
        return;
    }
    b->consec++;
    const struct cfg_breaker *cb = &c->cfg->breaker;
    char why[96];
    if (fail_is_hard(fail)) {
        snprintf(why, sizeof why, "%s", fail_class_name(fail));
    } else if (b->consec >= cb->consecutive_failures) {
        snprintf(why, sizeof why, "%d consecutive failures, last %s", b->consec, fail_class_name(fail));
    } else if (total >= (uint32_t)cb->min_requests && nbad * 100 >= (uint32_t)cb->error_rate_pct * total) {
        snprintf(why, sizeof why, "error rate %u%% of %u attempts, last %s", nbad * 100 / total, total,
                 fail_class_name(fail));
    } else {
        return;
    }
    trip(c, b, fail, why);
}

void ctr_breaker_oks(struct ctr *c, const char *provider, const char *model, uint32_t n)
{
    /* Like n successful attempts: they only count while the breaker is
     * closed (a trial's outcome always comes unbatched). */
    struct ctr_brk *b = brk_get(c, provider, model);
    if (!b || b->rec.state != BRK_CLOSED || n == 0)
        return;
    uint32_t total, nbad;
    window_add(c, b, false, n, &total, &nbad);
    b->consec = 0;
}

void ctr_breaker_trial(struct ctr *c, int slot, const struct tel_trial *t)
{
    for (struct ctr_brk *b = c->breakers; b; b = b->next)
        if (strcmp(b->key, t->target) == 0) {
            if (b->rec.state == BRK_HALF_OPEN && b->rec.trial_epoch == t->trial_epoch &&
                b->rec.trial_slot == slot)
                b->started_us = bs_now_us();
            return;
        }
}

/* A probe (GET /models) sees the network and the server, not a quota, a
 * rate limit, a missing model or a broken stream: its success only says
 * something about trips it could have seen. */
static bool probe_can_see(int reason)
{
    switch (reason) {
    case FAIL_CONNECT:
    case FAIL_DNS:
    case FAIL_TLS:
    case FAIL_CONNECT_TIMEOUT:
    case FAIL_FIRST_TOKEN_TIMEOUT:
    case FAIL_SERVER:
    case FAIL_PROBE:
        return true;
    default:
        return false;
    }
}

void ctr_breaker_probe(struct ctr *c, const char *provider, const char *model, bool up,
                       const char *why)
{
    struct ctr_brk *b = up ? brk_find(c, provider, model) : brk_get(c, provider, model);
    if (!b)
        return;
    if (up && b->rec.state == BRK_OPEN && probe_can_see(b->rec.reason)) {
        log_notice("breaker %s: probe succeeded, half-open early", b->key);
        grant(c, b);
    } else if (!up && b->rec.state != BRK_OPEN) {
        /* Down while half-open withdraws the trial too. */
        char msg[160];
        snprintf(msg, sizeof msg, "health probes down: %s", why ? why : "?");
        trip(c, b, FAIL_PROBE, msg);
    }
}

bool ctr_breaker_is_open(struct ctr *c, const char *provider, const char *model)
{
    struct ctr_brk *b = brk_find(c, provider, model);
    return b && b->rec.state != BRK_CLOSED;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctr *c = arg;
    uint64_t now_us = bs_now_us(), now_ms = bs_wall_ms();
    uint64_t trial_us = (uint64_t)c->cfg->breaker.trial_timeout_ms * 1000;
    /* A started trial gets the request's whole deadline to report. */
    uint64_t outcome_us = ((uint64_t)c->cfg->timeouts.request_ms + 1000) * 1000;
    for (struct ctr_brk *b = c->breakers; b; b = b->next) {
        if (b->rec.state == BRK_OPEN && now_ms >= b->rec.until_wall_ms)
            grant(c, b);
        else if (b->rec.state == BRK_HALF_OPEN &&
                 ((!b->started_us && now_us - b->granted_us > trial_us) ||
                  (b->started_us && now_us - b->started_us > outcome_us)))
            grant(c, b);
    }
}

/* Breaker state is volatile: a restarted controller starts with every
 * target closed, and says so to workers still holding old records. */
static int reset_txn(struct st_env *st, MDB_txn *txn, void *arg)
{
    (void)arg;
    int rc = mdb_drop(txn, st_dbi(st, ST_DB_BREAKERS), 0);
    if (rc)
        return rc > 0 ? -rc : rc;
    return st_bump(st, txn, ST_DB_META, ST_KEY_BREAKER_GEN, NULL);
}

int ctr_breaker_start(struct ctr *c)
{
    int rc = st_write(c->st, reset_txn, NULL, false);
    if (rc) {
        log_err("cannot reset breaker state: %s", st_strerror(rc));
        return rc;
    }
    epoch_counter = bs_wall_ms() << 8; /* unique across controller restarts */
    c->brk_ev = event_new(c->base, -1, EV_PERSIST, tick_cb, c);
    struct timeval tv = { 0, BRK_TICK_MS * 1000 };
    if (!c->brk_ev || event_add(c->brk_ev, &tv) < 0)
        return -1;
    return 0;
}

void ctr_breaker_free(struct ctr *c)
{
    if (c->brk_ev)
        event_free(c->brk_ev);
    c->brk_ev = NULL;
    while (c->breakers) {
        struct ctr_brk *b = c->breakers;
        c->breakers = b->next;
        free(b);
    }
}

bool ctr_breaker_get(struct ctr *c, const char *provider, const char *model,
                     struct brk_record *out)
{
    struct ctr_brk *b = brk_find(c, provider, model);
    if (b)
        *out = b->rec;
    return b != NULL;
}
