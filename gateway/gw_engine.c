/*
 * gw_engine: a chat request's attempts, from the first to the answer
 * (gw_engine.h).  Each event is described for gw_decide(); each decision is
 * carried out by carry_out(), which says when a step cannot be done (no
 * target admitted, no timer) so that the decision point picks the fallback.
 */
#include "gw_engine.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "gw_admit.h"
#include "gw_answer.h"
#include "gw_attempt.h"
#include "gw_breaker.h"
#include "gw_chat.h"
#include "gw_decide.h"
#include "log.h"

static void attempt_ended(struct gw_attempt *att);
static int attempt_commit(struct gw_attempt *att);

static const struct gw_attempt_ops engine_ops = {
    .ended = attempt_ended,
    .commit = attempt_commit,
};

static const char *key_of(const struct gw_chat *chat, size_t target)
{
    return chat->cat->cfg->target_ids[chat->chain->targets[target].id].key;
}

/* What the chain says to do about a failure; the classes a chain cannot
 * configure take their default from the failure-class table (fail.h). */
static enum cfg_action chain_action(const struct gw_chat *chat, enum fail_class fail)
{
    if (fail_configurable(fail))
        return chat->chain->on[fail];
    return (enum cfg_action)fail_default_action(fail);
}

/* A target admission refused: said in the failover header, the all-down
 * answer and (once the next target is known) the events.  Disabled
 * targets are a configuration fact, not a switch: only the reason. */
static int note_refusal(struct gw_chat *chat, const char *key, const struct gw_admission *adm)
{
    struct gw_route *r = &chat->route;
    const char *why = gw_admit_reason(adm->verdict);
    gw_trace_reason(&chat->trace, key, why, 0);
    if (adm->verdict == GW_ADMIT_DISABLED)
        return -1;
    gw_trace_failover(&chat->trace, key, why);
    if (adm->verdict == GW_ADMIT_BREAKER && adm->retry_at &&
        (!r->breaker_retry_at || adm->retry_at < r->breaker_retry_at))
        r->breaker_retry_at = adm->retry_at;
    return adm->verdict == GW_ADMIT_DRAINED ? TEL_REASON_DRAINED : TEL_REASON_BREAKER;
}

static struct gw_attempt *start_on(struct gw_chat *chat, size_t target, uint64_t epoch, bool cont)
{
    struct gw_attempt_spec spec = { .trial_epoch = epoch, .cont = cont, .ops = &engine_ops };
    struct gw_attempt *att = gw_attempt_start(chat, target, &spec);
    if (att)
        chat->route.attempts++;
    else
        log_err("request %s: cannot start an attempt on %s", chat->request_id, key_of(chat, target));
    return att;
}

/* Starts the next admitted target of the order; NULL when none is left or
 * the deadline passed.  A target skipped on the way costs no connection. */
static struct gw_attempt *start_next(struct gw_chat *chat, bool cont)
{
    struct gw_route *r = &chat->route;
    const char *skipped[4];
    int reasons[4];
    int nskipped = 0;
    while (!r->deadline_hit && r->next < r->norder && bs_now_us() < chat->deadline_us) {
        size_t i = r->order[r->next++];
        const char *key = key_of(chat, i);
        struct gw_admission adm;
        gw_admit(chat, &chat->chain->targets[i], &adm);
        if (adm.verdict != GW_ADMIT_OK) {
            int reason = note_refusal(chat, key, &adm);
            if (reason >= 0 && nskipped < 4) {
                skipped[nskipped] = key;
                reasons[nskipped++] = reason;
            }
            continue;
        }
        struct gw_attempt *att = start_on(chat, i, adm.trial_epoch, cont);
        if (att) {
            for (int k = 0; k < nskipped; k++)
                gw_trace_switch(chat, skipped[k], att, reasons[k], 0);
            return att;
        }
    }
    return NULL;
}

/* att is now the attempt the request follows, on a new target. */
static void follow(struct gw_chat *chat, struct gw_attempt *att)
{
    chat->route.att = att;
    chat->route.cur = att->target_idx;
    chat->route.target_start_us = bs_now_us();
}

/* The only way out: the access log, then the chat and every attempt it
 * still holds are freed (att, the one the client's answer came from, with
 * them). */
static void conclude(struct gw_chat *chat, struct gw_attempt *att, const char *error)
{
    if (att && att != chat->route.att) {
        gw_attempt_free(chat->route.att);
        chat->route.att = att;
    }
    gw_chat_finish(chat, att, error);
}

/* A hedge race is decided: winner goes on, the other is stopped.  Inside a
 * transfer callback the loser may not be removed from its client, so it is
 * only detached and cancelled on the next loop turn. */
static void settle(struct gw_chat *chat, struct gw_attempt *winner, bool in_callback)
{
    struct gw_route *r = &chat->route;
    if (!r->racer)
        return;
    struct gw_attempt *loser = winner == r->racer ? r->att : r->racer;
    r->att = winner;
    r->racer = NULL;
    r->cur = winner->target_idx;
    if (!loser || loser == winner)
        return;
    if (winner->start_us > loser->start_us) {
        /* The hedge won: the first target was the slow one. */
        gw_trace_failover(&chat->trace, loser->key, fail_class_name(FAIL_HEDGED));
        gw_trace_switch(chat, loser->key, winner, FAIL_HEDGED, bs_now_us() - loser->start_us);
    }
    if (in_callback) {
        r->loser = loser;
        gw_attempt_lose(loser);
    } else {
        gw_attempt_cancel(loser, FAIL_HEDGED);
        gw_trace_attempt(chat, loser);
        gw_attempt_free(loser);
    }
}

static void retry_due(evutil_socket_t fd, short what, void *arg);
static void hedge_due(evutil_socket_t fd, short what, void *arg);

static bool schedule_retry(struct gw_chat *chat, long delay_ms)
{
    struct gw_route *r = &chat->route;
    if (!r->wait_ev)
        r->wait_ev = evtimer_new(chat->gw->base, retry_due, chat);
    struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
    return r->wait_ev && evtimer_add(r->wait_ev, &tv) == 0;
}

/* The same target again, now: admitted again first (the failures so far
 * may have opened its breaker, or the operator drained it). */
static bool retry_now(struct gw_chat *chat)
{
    struct gw_route *r = &chat->route;
    const struct cfg_target *t = &chat->chain->targets[r->cur];
    struct gw_admission adm;
    gw_admit(chat, t, &adm);
    if (adm.verdict != GW_ADMIT_OK) {
        note_refusal(chat, key_of(chat, r->cur), &adm);
        return false;
    }
    struct gw_attempt *att = start_on(chat, r->cur, adm.trial_epoch, false);
    if (!att)
        return false;
    r->att = att;
    return true;
}

/* Switches to a new target after `att` (NULL: after a retry that could not
 * start, already noted) failed as `fail`. */
static bool switch_target(struct gw_chat *chat, struct gw_attempt *att, enum fail_class fail, bool cont)
{
    struct gw_route *r = &chat->route;
    uint64_t cost = bs_now_us() - r->target_start_us;
    r->retries = 0;
    struct gw_attempt *next = start_next(chat, cont);
    if (!next)
        return false;
    const char *from = att ? att->key : key_of(chat, r->cur);
    if (att)
        gw_trace_failover(&chat->trace, from, fail_class_name(fail));
    gw_trace_switch(chat, from, next, fail, cost);
    follow(chat, next);
    return true;
}

/* why: the access log's error for the request. */
static void give_up(struct gw_chat *chat, struct gw_attempt *att, enum gw_final final, const char *why)
{
    struct gw_route *r = &chat->route;
    bool late = r->deadline_hit || bs_now_us() >= chat->deadline_us;
    switch (final) {
    case GW_FINAL_CANCELLED:
        why = fail_class_name(FAIL_CANCELLED);
        break;
    case GW_FINAL_AS_IS:
        gw_answer_as_is(chat, att);
        break;
    case GW_FINAL_ALL_FAILED:
        gw_answer_all_failed(chat, r->breaker_retry_at, late);
        break;
    case GW_FINAL_STREAM_BROKEN:
        gw_answer_stream_broken(chat, att);
        break;
    case GW_FINAL_INVALID_STREAM:
        gw_repair_answer_broken_stream(chat);
        break;
    case GW_FINAL_REPAIR_EXHAUSTED:
        gw_repair_answer_exhausted(chat, att);
        break;
    case GW_FINAL_NONE:
        break;
    }
    conclude(chat, att, why);
}

/* Carries out decision d about att (NULL for an event without an attempt).
 * true: done, att taken; false: the step could not be carried out. */
static bool carry_out(struct gw_chat *chat, struct gw_attempt *att, const struct gw_decide_in *in,
                      const struct gw_decision *d)
{
    struct gw_route *r = &chat->route;
    switch (d->step) {
    case GW_STEP_WAIT:
        if (att && !in->lost) {
            /* One racer failed: the other goes on alone, and decides. */
            r->att = att == r->att ? r->racer : r->att;
            r->racer = NULL;
            r->cur = r->att->target_idx;
        }
        gw_attempt_free(att);
        return true;
    case GW_STEP_ANSWER:
        settle(chat, att, false);
        gw_answer_success(chat, att);
        conclude(chat, att, NULL);
        return true;
    case GW_STEP_GIVE_UP:
        /* A request no target could take at all is logged as such. */
        give_up(chat, att, d->final, in->event == GW_EV_START ? "no_target" : fail_class_name(in->fail));
        return true;
    case GW_STEP_RETRY:
        if (in->event == GW_EV_RETRY_DUE) {
            r->retries++;
            return retry_now(chat);
        }
        r->last_fail = in->fail;
        if (!schedule_retry(chat, d->delay_ms))
            return false;
        gw_attempt_free(att);
        return true;
    case GW_STEP_FAILOVER:
        if (in->event == GW_EV_START) {
            struct gw_attempt *first = start_next(chat, false);
            if (!first)
                return false;
            follow(chat, first);
            gw_hedge_arm(&chat->hedge, chat->gw, chat->chain, r->norder, hedge_due, chat);
            return true;
        }
        if (!switch_target(chat, att, in->fail, false))
            return false;
        gw_attempt_free(att);
        return true;
    case GW_STEP_CONTINUE:
        r->continuing = true;
        if (!switch_target(chat, att, in->fail, true))
            return false;
        log_info("request %s: continuing the stream on %s", chat->request_id, r->att->key);
        gw_attempt_free(att);
        return true;
    case GW_STEP_REPAIR: {
        /* A corrective retry of the target that broke the contract, at once. */
        struct gw_admission adm;
        gw_admit(chat, att->tgt, &adm);
        if (adm.verdict != GW_ADMIT_OK)
            return false;
        uint64_t cost = bs_now_us() - r->target_start_us;
        gw_repair_arm(chat, att->target_idx);
        struct gw_attempt *next = start_on(chat, att->target_idx, adm.trial_epoch, false);
        gw_repair_started(chat, next != NULL);
        if (!next)
            return false;
        gw_repair_note(chat, att->key, "retry");
        gw_trace_switch(chat, att->key, next, FAIL_INVALID_RESPONSE, cost);
        r->att = next;
        gw_attempt_free(att);
        return true;
    }
    case GW_STEP_REPAIR_FAILOVER:
        gw_repair_reset(chat);
        if (!switch_target(chat, att, FAIL_INVALID_RESPONSE, false))
            return false;
        gw_repair_note(chat, att->key, "failover");
        gw_attempt_free(att);
        return true;
    case GW_STEP_HEDGE: {
        struct gw_attempt *racer = start_next(chat, false);
        if (!racer)
            return false;
        r->racer = racer;
        gw_hedge_started(chat->gw);
        log_info("request %s: hedging %s with %s", chat->request_id, r->att->key, racer->key);
        return true;
    }
    case GW_STEP__COUNT:
        break;
    }
    log_err("request %s: the engine cannot carry out step %s", chat->request_id, gw_step_name(d->step));
    give_up(chat, att, GW_FINAL_ALL_FAILED, fail_class_name(FAIL_INTERNAL));
    return true;
}

/* Asks the decision point, and again with each step that could not be
 * carried out, until one is. */
static void run(struct gw_chat *chat, struct gw_attempt *att, struct gw_decide_in *in)
{
    for (;;) {
        struct gw_decision d = gw_decide(in);
        if (carry_out(chat, att, in, &d))
            return;
        in->blocked |= GW_BLOCKED(d.step);
    }
}

/* What every event's description shares: the request as it is now. */
static void describe_request(struct gw_chat *chat, enum gw_event ev, struct gw_decide_in *in)
{
    const struct gw_route *r = &chat->route;
    uint64_t now = bs_now_us();
    memset(in, 0, sizeof *in);
    in->event = ev;
    in->client_gone = !chat->req;
    in->committed = chat->out.committed;
    in->racing = r->racer != NULL;
    in->deadline_passed = r->deadline_hit || now >= chat->deadline_us;
    in->deadline_left_ms = chat->deadline_us > now ? (chat->deadline_us - now) / 1000 : 0;
    in->retries = r->retries;
    in->max_retries = chat->chain->retry.max_retries;
    in->retry_after_ms = -1;
    in->retry_after_cap_ms = chat->chain->retry.retry_after_cap_ms;
    in->repair_same = chat->rp.same;
    in->repair_max = chat->chain->repair.retry_same;
}

/* The attempt's notes before the decision: why it failed, once. */
static void note_failure(struct gw_chat *chat, const struct gw_attempt *att, bool racing)
{
    const char *why = fail_class_name(att->fail);
    if (att->fail == FAIL_INVALID_RESPONSE && !racing) {
        gw_repair_broke(chat, att);
    } else if (chat->out.committed && !racing) {
        log_warn("request %s: %s broke after the stream started: %s", chat->request_id, att->key,
                 att->detail);
    } else {
        gw_trace_reason(&chat->trace, att->key, why, att->status);
        log_info("request %s: %s failed: %s (%s)", chat->request_id, att->key, why, att->detail);
    }
}

static void attempt_ended(struct gw_attempt *att)
{
    struct gw_chat *chat = att->chat;
    struct gw_route *r = &chat->route;
    gw_trace_attempt(chat, att);
    bool lost = att == r->loser;
    if (lost) {
        r->loser = NULL;
    } else {
        uint64_t until = att->head_us && att->fail == FAIL_NONE ? att->head_us : bs_now_us();
        gw_brk_report(chat->gw, gw_brk_tid(chat->gw, chat->cat, att->tgt->id), att->fail,
                      until - att->start_us, att->trial_epoch);
        if (att->fail == FAIL_DEADLINE)
            r->deadline_hit = true;
    }
    if (r->att == att && !r->racer)
        r->att = NULL; /* from here the engine holds it as `att` */
    struct gw_decide_in in;
    describe_request(chat, GW_EV_ATTEMPT_END, &in);
    in.fail = att->fail;
    in.status = att->status;
    in.lost = lost;
    in.action = chain_action(chat, att->fail);
    if (!lost && chat->req && att->fail != FAIL_NONE)
        note_failure(chat, att, in.racing);
    if (in.action == CFG_ACT_RETRY && !in.committed) {
        const struct cfg_retry *rc = &chat->chain->retry;
        long cap = gw_decide_backoff_cap(rc->base_ms, rc->max_ms, r->retries);
        in.retry_after_ms = gw_retry_after_ms(att->retry_after, att->retry_after_ms);
        in.backoff_ms = (long)(gw_random(chat->gw) % (uint64_t)(cap + 1));
    }
    if (in.committed && att->fail != FAIL_NONE && !lost && !in.racing)
        in.cont_possible = gw_cont_possible(chat);
    run(chat, att, &in);
}

static int attempt_commit(struct gw_attempt *att)
{
    struct gw_chat *chat = att->chat;
    if (!chat->req)
        return -1;
    settle(chat, att, true);
    if (gw_answer_stream_head(chat, att) < 0)
        return -1;
    gw_cont_begin(chat);
    return 0;
}

static void retry_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_chat *chat = arg;
    struct gw_decide_in in;
    describe_request(chat, GW_EV_RETRY_DUE, &in);
    in.fail = chat->route.last_fail;
    in.action = CFG_ACT_RETRY;
    run(chat, NULL, &in);
}

static void hedge_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_chat *chat = arg;
    const struct gw_attempt *primary = chat->route.att;
    struct gw_decide_in in;
    describe_request(chat, GW_EV_HEDGE_TIMER, &in);
    in.continuing = chat->route.continuing;
    in.primary_waiting = primary && (primary->mode == ATT_HEAD || primary->mode == ATT_PRECOMMIT);
    in.hedge_budget_left = gw_hedge_budget_left(chat->gw, chat->chain);
    run(chat, NULL, &in);
}

void gw_engine_start(struct gw_chat *chat)
{
    struct gw_route *r = &chat->route;
    r->order = gw_order(chat, &r->norder);
    if (!r->order || gw_repair_init(chat) < 0) {
        gw_answer_error(chat, 503, "out_of_memory", "the gateway is out of memory");
        conclude(chat, NULL, "internal");
        return;
    }
    struct gw_decide_in in;
    describe_request(chat, GW_EV_START, &in);
    run(chat, NULL, &in);
}

void gw_engine_reject(struct gw_chat *chat, int status, const char *code, const char *msg)
{
    gw_answer_error(chat, status, code, msg);
    conclude(chat, NULL, code);
}

static void drop(struct gw_chat *chat, struct gw_attempt **slot, enum fail_class why)
{
    if (!*slot)
        return;
    gw_attempt_cancel(*slot, why);
    gw_trace_attempt(chat, *slot);
    gw_attempt_free(*slot);
    *slot = NULL;
}

void gw_engine_client_gone(struct gw_chat *chat)
{
    struct gw_route *r = &chat->route;
    drop(chat, &r->racer, FAIL_CANCELLED);
    drop(chat, &r->loser, FAIL_HEDGED);
    if (r->att) {
        /* The client is gone: stop the upstream now, it bills per token. */
        struct gw_attempt *att = r->att;
        gw_attempt_cancel(att, FAIL_CANCELLED);
        attempt_ended(att);
    } else {
        conclude(chat, NULL, fail_class_name(FAIL_CANCELLED));
    }
}

void gw_engine_client_drained(struct gw_chat *chat)
{
    struct gw_attempt *att = chat->route.att;
    if (att && att->paused && att->running)
        gw_attempt_resume(att);
}

void gw_engine_free(struct gw_chat *chat)
{
    struct gw_route *r = &chat->route;
    if (r->wait_ev)
        event_free(r->wait_ev);
    gw_attempt_free(r->racer);
    gw_attempt_free(r->loser);
    gw_attempt_free(r->att);
    free(r->order);
}
