/*
 * brk_fsm: the circuit breaker's state machine, a pure function.
 *
 *   closed --(N consecutive counted failures | error rate over the window |
 *             one hard failure | probes down)--> open, cool-down C0
 *   open --(cool-down over | a probe that exercises what failed succeeds)-->
 *             half-open: one trial on offer under a fresh epoch
 *   half-open: the first request that reaches the target, on any worker,
 *             claims the trial (brk_claim.c); a claimed trial that reports
 *             nothing within trial_timeout_ms expires and a new one is
 *             offered; an unclaimed one waits for a request
 *   half-open --(trial succeeds)--> closed
 *   half-open --(trial fails | probes down)--> open again
 *
 * Doubling: a failed trial doubles the cool-down (up to cooldown_max_ms)
 * only when the whole current cool-down had run before the trial; a trial
 * that came early (a probe) and failed sends the breaker back for the rest of
 * the current period at the same length.  So the cool-down doubles at most
 * once per cool-down period, however many early trials fail in it.
 */
#include "brk.h"

#include <stdio.h>
#include <string.h>

#include "fail.h"

void brk_fsm_init(struct brk_fsm *st)
{
    memset(st, 0, sizeof *st);
    st->rec.trial_slot = BRK_NO_SLOT;
}

bool brk_fsm_probe_speaks(enum brk_probe_kind probe, int reason)
{
    if (probe == BRK_PROBE_CHAT)
        return true; /* it walks the chat path itself */
    /* GET /models sees the network, TLS and whether the server answers at
     * the connection level, not a 5xx of the chat route, a quota, a rate
     * limit or a broken stream. */
    switch (reason) {
    case FAIL_CONNECT:
    case FAIL_DNS:
    case FAIL_TLS:
    case FAIL_CONNECT_TIMEOUT:
    case FAIL_FIRST_TOKEN_TIMEOUT:
    case FAIL_PROBE:
        return true;
    default:
        return false;
    }
}

const char *brk_change_name(enum brk_change ch)
{
    switch (ch) {
    case BRK_CH_NONE: return "none";
    case BRK_CH_OPENED: return "opened";
    case BRK_CH_REOPENED: return "reopened";
    case BRK_CH_HALF_OPEN: return "half-open";
    case BRK_CH_RENEWED: return "renewed";
    case BRK_CH_CLAIMED: return "claimed";
    case BRK_CH_CLOSED: return "closed";
    }
    return "unknown";
}

static void window_clear(struct brk_fsm *st)
{
    memset(st->ok, 0, sizeof st->ok);
    memset(st->bad, 0, sizeof st->bad);
    memset(st->bucket_of, 0, sizeof st->bucket_of);
    st->consec = 0;
}

/* Adds n outcomes at now and returns the window's totals. */
static void window_add(struct brk_fsm *st, const struct brk_settings *s, uint64_t now_ms, bool bad,
                       uint32_t n, uint32_t *total, uint32_t *nbad)
{
    uint64_t width = s->window_ms / BRK_BUCKETS;
    if (width == 0)
        width = 1;
    uint64_t slot = now_ms / width + BRK_BUCKETS; /* never 0: 0 means empty */
    size_t i = slot % BRK_BUCKETS;
    if (st->bucket_of[i] != slot) {
        st->bucket_of[i] = slot;
        st->ok[i] = st->bad[i] = 0;
    }
    if (bad)
        st->bad[i] += n;
    else
        st->ok[i] += n;
    *total = *nbad = 0;
    for (size_t j = 0; j < BRK_BUCKETS; j++)
        if (st->bucket_of[j] && st->bucket_of[j] + BRK_BUCKETS > slot && st->bucket_of[j] <= slot) {
            *total += st->ok[j] + st->bad[j];
            *nbad += st->bad[j];
        }
}

static uint64_t cap(uint64_t ms, const struct brk_settings *s)
{
    return ms > s->cooldown_max_ms ? s->cooldown_max_ms : ms;
}

/* closed -> open: the first cool-down period. */
static void open_fresh(struct brk_step *r, int reason, uint64_t now_ms, const struct brk_settings *s)
{
    struct brk_fsm *st = &r->st;
    st->rec.state = BRK_OPEN;
    st->rec.reason = (uint8_t)reason;
    st->rec.trips = 1;
    st->rec.trial_slot = BRK_NO_SLOT;
    st->rec.trial_epoch = 0;
    st->cool_ms = cap(s->cooldown_ms, s);
    st->period_start_ms = now_ms;
    st->rec.until_wall_ms = now_ms + st->cool_ms;
    st->claimed_ms = 0;
    window_clear(st);
    r->change = BRK_CH_OPENED;
}

/* half-open -> open.  Doubles only when the whole period had run. */
static void reopen(struct brk_step *r, int reason, uint64_t now_ms, const struct brk_settings *s)
{
    struct brk_fsm *st = &r->st;
    if (now_ms >= st->period_start_ms + st->cool_ms) {
        st->cool_ms = cap(st->cool_ms * 2, s);
        st->period_start_ms = now_ms;
        st->rec.trips++;
    }
    st->rec.state = BRK_OPEN;
    st->rec.reason = (uint8_t)reason;
    st->rec.trial_slot = BRK_NO_SLOT;
    st->rec.trial_epoch = 0;
    st->rec.until_wall_ms = st->period_start_ms + st->cool_ms;
    st->claimed_ms = 0;
    r->change = BRK_CH_REOPENED;
}

static void grant(struct brk_step *r, const struct brk_event *ev, enum brk_change ch)
{
    struct brk_fsm *st = &r->st;
    st->rec.state = BRK_HALF_OPEN;
    st->rec.trial_epoch = ev->next_epoch;
    st->rec.trial_slot = BRK_NO_SLOT;
    st->claimed_ms = 0;
    r->change = ch;
}

static void close_breaker(struct brk_step *r)
{
    struct brk_fsm *st = &r->st;
    brk_fsm_init(st);
    r->change = BRK_CH_CLOSED;
}

static void closed_outcome(struct brk_step *r, const struct brk_event *ev, uint64_t now_ms,
                           const struct brk_settings *s)
{
    struct brk_fsm *st = &r->st;
    uint32_t n = ev->n ? ev->n : 1;
    bool counts = fail_counts_against_health(ev->fail);
    /* A trial's outcome that arrives after the breaker closed, and the
     * request's own faults, say nothing new. */
    if (ev->trial || (ev->fail != FAIL_NONE && !counts))
        return;
    uint32_t total, nbad;
    window_add(st, s, now_ms, ev->fail != FAIL_NONE, n, &total, &nbad);
    if (ev->fail == FAIL_NONE) {
        st->consec = 0;
        return;
    }
    st->consec += n;
    const char *name = fail_class_name(ev->fail);
    if (fail_is_hard(ev->fail))
        snprintf(r->why, sizeof r->why, "%s", name);
    else if (st->consec >= s->consecutive_failures)
        snprintf(r->why, sizeof r->why, "%u consecutive failures, last %s", st->consec, name);
    else if (total >= s->min_requests && (uint64_t)nbad * 100 >= (uint64_t)s->error_rate_pct * total)
        snprintf(r->why, sizeof r->why, "error rate %u%% of %u attempts, last %s",
                 (unsigned)((uint64_t)nbad * 100 / total), total, name);
    else
        return;
    open_fresh(r, ev->fail, now_ms, s);
}

static void half_open_outcome(struct brk_step *r, const struct brk_event *ev, uint64_t now_ms,
                              const struct brk_settings *s)
{
    /* Attempts that started before the breaker opened, and trials of an
     * expired epoch, say nothing new. */
    if (!ev->trial || ev->epoch != r->st.rec.trial_epoch)
        return;
    if (ev->fail == FAIL_NONE) {
        snprintf(r->why, sizeof r->why, "trial succeeded");
        close_breaker(r);
    } else if (fail_counts_against_health(ev->fail)) {
        snprintf(r->why, sizeof r->why, "trial failed: %s", fail_class_name(ev->fail));
        reopen(r, ev->fail, now_ms, s);
    } else {
        snprintf(r->why, sizeof r->why, "trial told nothing: %s", fail_class_name(ev->fail));
        grant(r, ev, BRK_CH_RENEWED);
    }
}

struct brk_step brk_fsm_step(const struct brk_fsm *in, const struct brk_event *ev, uint64_t now_ms,
                             const struct brk_settings *s)
{
    struct brk_step r;
    memset(&r, 0, sizeof r);
    r.st = *in;
    struct brk_fsm *st = &r.st;
    switch ((enum brk_state)st->rec.state) {
    case BRK_CLOSED:
        if (ev->kind == BRK_EV_OUTCOME) {
            closed_outcome(&r, ev, now_ms, s);
        } else if (ev->kind == BRK_EV_PROBE_DOWN) {
            snprintf(r.why, sizeof r.why, "health probes down");
            open_fresh(&r, FAIL_PROBE, now_ms, s);
        }
        break;
    case BRK_OPEN:
        if (ev->kind == BRK_EV_TICK && now_ms >= st->rec.until_wall_ms) {
            snprintf(r.why, sizeof r.why, "cool-down over");
            grant(&r, ev, BRK_CH_HALF_OPEN);
        } else if (ev->kind == BRK_EV_PROBE_UP && brk_fsm_probe_speaks(ev->probe, st->rec.reason)) {
            snprintf(r.why, sizeof r.why, "%s probe succeeded, half-open early",
                     ev->probe == BRK_PROBE_CHAT ? "chat" : "models");
            grant(&r, ev, BRK_CH_HALF_OPEN);
        }
        break;
    case BRK_HALF_OPEN:
        if (ev->kind == BRK_EV_OUTCOME) {
            half_open_outcome(&r, ev, now_ms, s);
        } else if (ev->kind == BRK_EV_CLAIM) {
            if (ev->epoch == st->rec.trial_epoch && !st->claimed_ms) {
                st->claimed_ms = now_ms ? now_ms : 1;
                st->rec.trial_slot = ev->slot;
                r.change = BRK_CH_CLAIMED;
                snprintf(r.why, sizeof r.why, "trial claimed");
            }
        } else if (ev->kind == BRK_EV_TICK) {
            if (st->claimed_ms && now_ms >= st->claimed_ms + s->trial_timeout_ms) {
                snprintf(r.why, sizeof r.why, "trial reported nothing within %llu ms",
                         (unsigned long long)s->trial_timeout_ms);
                grant(&r, ev, BRK_CH_RENEWED);
            }
        } else if (ev->kind == BRK_EV_WORKER_GONE) {
            if (st->claimed_ms && st->rec.trial_slot == ev->slot) {
                snprintf(r.why, sizeof r.why, "the worker running the trial exited");
                grant(&r, ev, BRK_CH_RENEWED);
            }
        } else if (ev->kind == BRK_EV_PROBE_DOWN) {
            snprintf(r.why, sizeof r.why, "health probes down");
            reopen(&r, FAIL_PROBE, now_ms, s);
        }
        break;
    }
    return r;
}
