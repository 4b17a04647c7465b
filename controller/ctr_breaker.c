/*
 * ctr_breaker: the shell around every target's circuit breaker.  The state
 * machine is pure (shared/brk_fsm.c); this file gives it the clock and the
 * epochs, feeds it the workers' outcomes, the claims and the probes' verdicts,
 * and publishes what changed:
 *   - the record, to LMDB (ST_DB_BREAKERS by key, shared/brk.h), each change
 *     at once in its own small write transaction (not batched like
 *     statistics): workers must see a state change within milliseconds, and
 *     changes are rare;
 *   - the trial on offer, to the target's claim word (brk_claim.c): the
 *     first request that reaches a half-open target claims it there, on
 *     whichever worker, with one compare-and-swap.
 * A 20 ms clock ends cool-downs, expires claimed trials that report nothing
 * and notices claims (a worker also says so over telemetry, TEL_TRIAL).
 */
#include "ctr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bs_time.h"
#include "fail.h"
#include "log.h"

#define BRK_TICK_MS 20

static struct brk_settings settings(const struct ctr *c)
{
    const struct cfg_breaker *b = &c->cfg->breaker;
    return (struct brk_settings){
        .consecutive_failures = (uint32_t)b->consecutive_failures,
        .error_rate_pct = (uint32_t)b->error_rate_pct,
        .min_requests = (uint32_t)b->min_requests,
        .window_ms = (uint64_t)b->window_ms,
        .cooldown_ms = (uint64_t)b->cooldown_ms,
        .cooldown_max_ms = (uint64_t)b->cooldown_max_ms,
        /* A claimed trial is a real request: it may run until the request
         * deadline before its outcome is known.  A worker that dies with it
         * is caught sooner (ctr_breaker_worker_gone). */
        .trial_timeout_ms = (uint64_t)(b->trial_timeout_ms > c->cfg->timeouts.request_ms
                                           ? b->trial_timeout_ms
                                           : c->cfg->timeouts.request_ms),
    };
}

static int publish_txn(struct st_env *st, MDB_txn *txn, void *arg)
{
    const struct ctr_target *t = arg;
    int rc = st_put(st, txn, ST_DB_BREAKERS, t->key, &t->brk.rec, sizeof t->brk.rec);
    return rc ? rc : st_bump(st, txn, ST_DB_META, ST_KEY_BREAKER_GEN, NULL);
}

static void publish(struct ctr *c, struct ctr_target *t)
{
    t->brk.rec.changed_wall_ms = bs_wall_ms();
    int rc = st_write(c->st, publish_txn, t, false);
    if (rc)
        log_err("breaker %s: cannot publish: %s", t->key, st_strerror(rc));
    else
        t->brk_published = true;
}

/* The claim word follows the record: the trial on offer, or nothing. */
static void offer(struct ctr *c, const struct ctr_target *t)
{
    const struct brk_record *r = &t->brk.rec;
    if (r->state != BRK_HALF_OPEN)
        brk_claim_offer(&c->claims, t->id, 0);
    else if (!t->brk.claimed_ms)
        brk_claim_offer(&c->claims, t->id, r->trial_epoch);
}

static void log_step(const struct ctr_target *t, const struct brk_step *s, uint64_t now_ms)
{
    const struct brk_record *r = &s->st.rec;
    switch (s->change) {
    case BRK_CH_OPENED:
    case BRK_CH_REOPENED:
        log_warn("breaker %s open for %llu ms: %s (trip %u)", t->key,
                 (unsigned long long)(r->until_wall_ms > now_ms ? r->until_wall_ms - now_ms : 0),
                 s->why, r->trips);
        break;
    case BRK_CH_HALF_OPEN:
        log_info("breaker %s half-open: trial granted to the first request (%s)", t->key, s->why);
        break;
    case BRK_CH_RENEWED:
        log_info("breaker %s half-open: trial granted again: %s", t->key, s->why);
        break;
    case BRK_CH_CLAIMED:
        if (r->trial_slot != BRK_NO_SLOT)
            log_info("breaker %s: trial claimed by worker %u", t->key, r->trial_slot);
        else
            log_info("breaker %s: trial claimed", t->key);
        break;
    case BRK_CH_CLOSED:
        log_notice("breaker %s closed: %s", t->key, s->why);
        break;
    case BRK_CH_NONE:
        break;
    }
}

/* One event through the machine; publishes and logs what changed. */
static void feed(struct ctr *c, struct ctr_target *t, struct brk_event ev)
{
    struct brk_settings s = settings(c);
    ev.next_epoch = c->brk_epoch + 1;
    uint64_t now_ms = bs_wall_ms();
    struct brk_step step = brk_fsm_step(&t->brk, &ev, now_ms, &s);
    if (step.st.rec.trial_epoch == ev.next_epoch)
        c->brk_epoch++;
    if (step.change == BRK_CH_NONE) {
        t->brk = step.st; /* window counts moved */
        return;
    }
    log_step(t, &step, now_ms);
    bool record_moved = memcmp(&step.st.rec, &t->brk.rec, sizeof step.st.rec) != 0;
    t->brk = step.st;
    offer(c, t);
    /* A claim changes only who holds the trial: the workers learn that from
     * the claim word, so it costs no write. */
    if (record_moved && step.change != BRK_CH_CLAIMED)
        publish(c, t);
}

void ctr_breaker_attempt(struct ctr *c, struct ctr_target *t, const struct tel_attempt *a)
{
    t->brk_seen = true;
    feed(c, t, (struct brk_event){ .kind = BRK_EV_OUTCOME, .fail = a->fail, .n = 1,
                                   .trial = a->trial != 0, .epoch = a->trial_epoch });
}

void ctr_breaker_oks(struct ctr *c, struct ctr_target *t, uint32_t n)
{
    t->brk_seen = true;
    if (n)
        feed(c, t, (struct brk_event){ .kind = BRK_EV_OUTCOME, .fail = FAIL_NONE, .n = n });
}

void ctr_breaker_trial(struct ctr *c, struct ctr_target *t, int slot, uint64_t epoch)
{
    feed(c, t, (struct brk_event){ .kind = BRK_EV_CLAIM, .epoch = epoch, .slot = (uint16_t)slot });
}

void ctr_breaker_probe(struct ctr *c, struct ctr_target *t, bool up, enum brk_probe_kind kind,
                       const char *why)
{
    if (!up)
        t->brk_seen = true;
    if (!up && t->brk.rec.state != BRK_OPEN)
        log_warn("breaker %s: health probes down: %s", t->key, why ? why : "?");
    feed(c, t, (struct brk_event){ .kind = up ? BRK_EV_PROBE_UP : BRK_EV_PROBE_DOWN, .probe = kind });
}

void ctr_breaker_worker_gone(struct ctr *c, int slot)
{
    for (size_t i = 0; i < c->tgt.n; i++)
        if (c->tgt.v[i] && c->tgt.v[i]->brk.rec.state == BRK_HALF_OPEN)
            feed(c, c->tgt.v[i], (struct brk_event){ .kind = BRK_EV_WORKER_GONE, .slot = (uint16_t)slot });
}

bool ctr_breaker_is_open(const struct ctr_target *t)
{
    return t && t->brk.rec.state != BRK_CLOSED;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctr *c = arg;
    for (size_t i = 0; i < c->tgt.n; i++) {
        struct ctr_target *t = c->tgt.v[i];
        const struct brk_record *r = &t->brk.rec;
        if (r->state == BRK_CLOSED)
            continue;
        /* A claim the worker's TEL_TRIAL has not told of yet (or that was
         * dropped on a full channel). */
        if (r->state == BRK_HALF_OPEN && !t->brk.claimed_ms &&
            brk_claim_taken(&c->claims, t->id, r->trial_epoch))
            feed(c, t, (struct brk_event){ .kind = BRK_EV_CLAIM, .epoch = r->trial_epoch,
                                           .slot = BRK_NO_SLOT });
        feed(c, t, (struct brk_event){ .kind = BRK_EV_TICK });
    }
}

static int forget_txn(struct st_env *st, MDB_txn *txn, void *arg)
{
    const struct ctr_target *t = arg;
    MDB_val k = { strlen(t->key), t->key };
    int rc = mdb_del(txn, st_dbi(st, ST_DB_BREAKERS), &k, NULL);
    if (rc && rc != MDB_NOTFOUND)
        return rc > 0 ? -rc : rc;
    return st_bump(st, txn, ST_DB_META, ST_KEY_BREAKER_GEN, NULL);
}

void ctr_breaker_forget(struct ctr *c, struct ctr_target *t)
{
    /* Else a target that comes back later would find its old verdict in
     * the workers' view while the controller starts it closed. */
    if (!t->brk_published || !c->st)
        return;
    int rc = st_write(c->st, forget_txn, t, false);
    if (rc)
        log_err("breaker %s: cannot remove its record: %s", t->key, st_strerror(rc));
}

void ctr_breaker_renumbered(struct ctr *c)
{
    if (!c->claims.words)
        return;
    memset(c->claims.words, 0, c->claims.n * sizeof *c->claims.words);
    for (size_t i = 0; i < c->tgt.n; i++) {
        struct ctr_target *t = c->tgt.v[i];
        /* A trial claimed under the old numbering stays claimed. */
        if (t->brk.rec.state == BRK_HALF_OPEN && t->brk.claimed_ms && t->id < c->claims.n)
            __atomic_store_n(&c->claims.words[t->id], t->brk.rec.trial_epoch | BRK_CLAIMED,
                             __ATOMIC_RELEASE);
        else
            offer(c, t);
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
    rc = brk_claim_create(&c->claims, &c->claims_fd);
    if (rc) {
        log_err("cannot create the trial claim region: %s", strerror(-rc));
        c->claims_fd = -1;
        return rc;
    }
    ctr_breaker_renumbered(c);
    /* Unique across targets and controller restarts (brk_claim.c relies on
     * it); far below BRK_CLAIMED. */
    c->brk_epoch = bs_wall_ms() << 8;
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
    brk_claim_unmap(&c->claims);
    if (c->claims_fd >= 0)
        close(c->claims_fd);
    c->claims_fd = -1;
}

bool ctr_breaker_get(struct ctr *c, const char *provider, const char *model,
                     struct brk_record *out)
{
    struct ctr_target *t = ctr_target_find2(c, provider, model);
    if (!t || !(t->brk_seen || t->brk_published))
        return false;
    *out = t->brk.rec;
    return true;
}
