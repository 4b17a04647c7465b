/*
 * gw_failover: what a chat request does when an attempt ends: answer,
 * retry the same target after a back-off, continue a broken stream, or move
 * to the next target the chain allows (skipping open breakers), as the
 * chain's failure actions say.
 */
#include "gw_chat.h"

#include <stdio.h>
#include <string.h>

#include "bs_time.h"
#include "gw_breaker.h"
#include "gw_ovr.h"
#include "log.h"

static bool target_usable(struct gw_chat *chat, size_t i)
{
    const struct cfg_target *t = &chat->chain->targets[i];
    return chat->cat->providers[t->provider].enabled;
}

/* Whether the target may take this request now: a target behind an open
 * breaker, or drained by the operator, costs nothing: it is skipped without
 * a connection attempt, and said so in the failover header and events. */
static bool admitted(struct gw_chat *chat, uint32_t id, const char *prov, const char *key,
                     uint64_t *epoch, int *reason)
{
    const char *why;
    uint32_t tid = gw_brk_tid(chat->gw, chat->cat, id);
    if (gw_ovr_drained(chat->cat->ovr, prov, key)) {
        why = "drained";
        *reason = TEL_REASON_DRAINED;
    } else if (gw_brk_admit(chat->gw, tid, epoch) == GW_DENY) {
        why = "breaker_open";
        *reason = TEL_REASON_BREAKER;
        uint64_t at = gw_brk_retry_at(chat->gw, tid);
        if (at && (!chat->breaker_retry_at || at < chat->breaker_retry_at))
            chat->breaker_retry_at = at;
    } else {
        return true;
    }
    gw_chat_append(chat->reasons, sizeof chat->reasons, "; ", "%s%s: %s%s%s", key, why, "", "");
    gw_chat_append(chat->failover, sizeof chat->failover, ",", "%s%s=%s%s%s", key, why, "", "");
    return false;
}

/* Starts the next usable target after a failure; false when none is left
 * or the deadline has passed. */
bool gw_chat_try_next(struct gw_chat *chat)
{
    char skipped[4][TEL_TARGET_MAX];
    int reasons[4];
    int nskipped = 0;
    while (!chat->deadline_hit && chat->next_target < chat->norder &&
           bs_now_us() < chat->deadline_us) {
        size_t i = chat->order[chat->next_target++];
        const struct cfg_target *t = &chat->chain->targets[i];
        const char *prov = chat->cat->providers[t->provider].cfg->name;
        if (!target_usable(chat, i)) {
            gw_chat_append(chat->reasons, sizeof chat->reasons, "; ", "%s%s/%s: %s%s", prov, t->model,
                   "disabled (no key)", "");
            continue;
        }
        char key[TEL_TARGET_MAX];
        uint64_t epoch = 0;
        int reason;
        snprintf(key, sizeof key, "%s/%s", prov, t->model);
        if (!admitted(chat, t->id, prov, key, &epoch, &reason)) {
            if (nskipped < 4) {
                memcpy(skipped[nskipped], key, sizeof key);
                reasons[nskipped++] = reason;
            }
            continue;
        }
        if (gw_attempt_start(chat, i, epoch) == 0) {
            chat->target_start_us = bs_now_us();
            for (int k = 0; k < nskipped; k++)
                gw_chat_event(chat, skipped[k], reasons[k], 0);
            return true;
        }
        log_err("request %s: cannot start an attempt on target %zu", chat->request_id, i);
    }
    return false;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_chat *chat = arg;
    chat->target_retries++;
    const struct cfg_target *t = &chat->chain->targets[chat->cur_target];
    char key[TEL_TARGET_MAX];
    uint64_t epoch = 0;
    int reason;
    const char *prov = chat->cat->providers[t->provider].cfg->name;
    snprintf(key, sizeof key, "%s/%s", prov, t->model);
    /* The failures so far may have opened the breaker meanwhile, or the
     * operator drained the target. */
    if (!admitted(chat, t->id, prov, key, &epoch, &reason)) {
        (void)reason;
    } else if (gw_attempt_start(chat, chat->cur_target, epoch) == 0) {
        return;
    } else {
        log_err("request %s: cannot start a retry", chat->request_id);
    }
    chat->target_retries = 0;
    if (!gw_chat_try_next(chat)) {
        gw_answer_all_failed(chat);
        gw_chat_finish(chat, "internal");
    }
}

/* Waits delay_ms, then tries the same target again; false if it cannot. */
static bool schedule_retry(struct gw_chat *chat, long delay_ms)
{
    if (!chat->wait_ev)
        chat->wait_ev = evtimer_new(chat->gw->base, retry_cb, chat);
    struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
    return chat->wait_ev && evtimer_add(chat->wait_ev, &tv) == 0;
}

/* A stream broke after the client got bytes: go on at the next target
 * when the answer can be continued.  Takes att on success. */
static bool continue_stream(struct gw_chat *chat, struct gw_attempt *att)
{
    if (!gw_cont_possible(chat) || att->fail == FAIL_DEADLINE || chat->deadline_hit)
        return false;
    char from[TEL_TARGET_MAX];
    snprintf(from, sizeof from, "%s", att->brk_key);
    uint64_t cost = bs_now_us() - chat->target_start_us;
    chat->continuing = true;
    chat->target_retries = 0;
    if (!gw_chat_try_next(chat))
        return false;
    gw_chat_append(chat->failover, sizeof chat->failover, ",", "%s%s=%s%s%s", from,
           fail_class_name(att->fail), "", "");
    gw_chat_event(chat, from, att->fail, cost);
    log_info("request %s: continuing the stream on %s", chat->request_id, chat->att->brk_key);
    gw_attempt_free(att);
    return true;
}

/* What the chain says to do about this failure. */
static enum cfg_action action_for(const struct gw_chat *chat, enum fail_class fail)
{
    switch (fail) {
    case FAIL_DEADLINE:
    case FAIL_CANCELLED:
    case FAIL_DISABLED:
    case FAIL_INTERNAL:
        return CFG_ACT_FAILOVER;
    default:
        return (unsigned)fail < FAIL__COUNT ? chat->chain->on[fail] : CFG_ACT_FAILOVER;
    }
}

void gw_chat_attempt_done(struct gw_chat *chat, struct gw_attempt *att)
{
    gw_chat_report(chat, att);
    if (att == chat->loser) {
        chat->loser = NULL;
        gw_attempt_free(att);
        return;
    }
    gw_brk_report(chat->gw, gw_brk_tid(chat->gw, chat->cat, att->tgt->id), att->fail,
                  (att->head_us && att->fail == FAIL_NONE ? att->head_us : bs_now_us()) - att->start_us);
    if (chat->hedge && chat->req) {
        if (att->fail == FAIL_NONE) {
            gw_hedge_settle(chat, att, false);
        } else {
            /* One racer failed: the other goes on alone, and decides. */
            char status[16] = "";
            if (att->status)
                snprintf(status, sizeof status, " (HTTP %ld)", att->status);
            gw_chat_append(chat->reasons, sizeof chat->reasons, "; ", "%s%s: %s%s%s", att->brk_key,
                   fail_class_name(att->fail), status, "");
            if (att == chat->att)
                chat->att = chat->hedge;
            chat->hedge = NULL;
            chat->cur_target = chat->att->target_idx;
            gw_attempt_free(att);
            return;
        }
    }
    chat->att = NULL;
    if (!chat->req) {
        gw_attempt_free(att);
        gw_chat_finish(chat, fail_class_name(FAIL_CANCELLED));
        return;
    }
    if (att->fail == FAIL_INVALID_RESPONSE) {
        gw_repair_after(chat, att);
        return;
    }
    if (att->fail == FAIL_NONE) {
        gw_answer_success(chat, att);
        gw_attempt_free(att);
        gw_chat_finish(chat, NULL);
        return;
    }
    const char *why = fail_class_name(att->fail);
    if (att->fail == FAIL_DEADLINE)
        chat->deadline_hit = true;
    if (chat->committed) {
        log_warn("request %s: %s/%s broke after the stream started: %s", chat->request_id,
                 att->prov->cfg->name, att->tgt->model, att->detail);
        if (continue_stream(chat, att))
            return;
        gw_answer_stream_broken(chat, att);
        gw_attempt_free(att);
        gw_chat_finish(chat, why);
        return;
    }
    enum cfg_action act = action_for(chat, att->fail);
    /* "return" needs an upstream answer to return; without one (a transport
     * failure configured so) the chain moves on. */
    if (act == CFG_ACT_RETURN && att->status > 0) {
        gw_answer_as_is(chat, att);
        gw_attempt_free(att);
        gw_chat_finish(chat, why);
        return;
    }
    char status[16] = "";
    if (att->status)
        snprintf(status, sizeof status, " (HTTP %ld)", att->status);
    gw_chat_append(chat->reasons, sizeof chat->reasons, "; ", "%s%s/%s: %s%s", att->prov->cfg->name,
           att->tgt->model, why, status);
    log_info("request %s: %s/%s failed: %s (%s)", chat->request_id, att->prov->cfg->name,
             att->tgt->model, why, att->detail);
    long delay = act == CFG_ACT_RETRY && !chat->deadline_hit ? gw_retry_delay(chat->gw, chat, att) : -1;
    if (delay >= 0 && schedule_retry(chat, delay)) {
        gw_attempt_free(att);
        return;
    }
    char from[TEL_TARGET_MAX];
    snprintf(from, sizeof from, "%s/%s", att->prov->cfg->name, att->tgt->model);
    uint64_t cost = bs_now_us() - chat->target_start_us;
    chat->target_retries = 0;
    if (gw_chat_try_next(chat)) {
        gw_chat_append(chat->failover, sizeof chat->failover, ",", "%s%s=%s%s%s", from, why, "", "");
        gw_chat_event(chat, from, att->fail, cost);
        gw_attempt_free(att);
        return;
    }
    /* Nothing left to try.  A context-length refusal is the request's to
     * fix when no larger target exists: the client gets it as is. */
    if (att->fail == FAIL_CONTEXT && att->status > 0)
        gw_answer_as_is(chat, att);
    else
        gw_answer_all_failed(chat);
    gw_attempt_free(att);
    gw_chat_finish(chat, why);
}
