/*
 * gw_hedge: hedged requests.  When the first attempt is slow to produce its
 * first token, the next target races it; the first to produce one wins.
 */
#include "gw_chat.h"

#include <stdio.h>

#include "bs_time.h"
#include "log.h"

/* A hedge race is decided: winner goes on, the other is stopped.  Inside a
 * curl callback the loser may not be removed from the multi handle, so it
 * is only detached and cancelled on the next loop turn. */
void gw_hedge_settle(struct gw_chat *chat, struct gw_attempt *winner, bool in_callback)
{
    if (!chat->hedge)
        return;
    struct gw_attempt *loser = winner == chat->hedge ? chat->att : chat->hedge;
    chat->att = winner;
    chat->hedge = NULL;
    chat->cur_target = winner->target_idx;
    if (winner != loser && loser) {
        if (winner->start_us > loser->start_us) {
            /* The hedge won: the first target was the slow one. */
            gw_chat_append(chat->failover, sizeof chat->failover, ",", "%s%s=%s%s%s", loser->brk_key,
                   "hedged", "", "");
            gw_chat_event(chat, loser->brk_key, FAIL_HEDGED, bs_now_us() - loser->start_us);
        }
        if (in_callback) {
            chat->loser = loser;
            gw_attempt_lose(loser);
        } else {
            gw_attempt_cancel(loser, FAIL_HEDGED);
            gw_chat_report(chat, loser);
            gw_attempt_free(loser);
        }
    }
}

/* The first target has produced nothing for hedge.after_ms: race the next
 * one, within the worker's hedge budget. */
static void hedge_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_chat *chat = arg;
    struct gw *gw = chat->gw;
    struct gw_attempt *primary = chat->att;
    if (!chat->req || chat->committed || !primary || chat->hedge || chat->continuing ||
        (primary->mode != ATT_HEAD && primary->mode != ATT_PRECOMMIT))
        return;
    if (gw->hedges * 100 >= (uint64_t)chat->chain->hedge.budget_pct * gw->hedge_eligible)
        return;
    size_t cur = chat->cur_target;
    uint64_t started = chat->target_start_us;
    if (!gw_chat_try_next(chat) || chat->att == primary) {
        chat->att = primary;
        return;
    }
    chat->hedge = chat->att;
    chat->att = primary;
    chat->cur_target = cur;
    chat->target_start_us = started;
    gw->hedges++;
    log_info("request %s: hedging %s with %s", chat->request_id, primary->brk_key, chat->hedge->brk_key);
}

void gw_hedge_arm(struct gw_chat *chat)
{
    int ms = chat->chain->hedge.after_ms;
    if (ms <= 0 || chat->norder < 2)
        return;
    chat->gw->hedge_eligible++;
    chat->hedge_ev = evtimer_new(chat->gw->base, hedge_cb, chat);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    if (chat->hedge_ev)
        evtimer_add(chat->hedge_ev, &tv);
}
