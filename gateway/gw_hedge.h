/*
 * gw_hedge: hedged requests.  When the first attempt is slow to produce its
 * first token, the next target races it; the first to produce one wins.
 * This module keeps the race's timer and the worker's budget; whether to
 * hedge, and what happens to the racers, is decided by the engine
 * (gw_decide.h) and carried out by it (gw_engine.c), which owns the
 * attempts (struct gw_route's racer and loser).
 *
 * Ownership: struct gw_hedge lives inside its chat; gw_hedge_free()
 * releases the timer.  The worker's hedge budget counters (struct gw's
 * hedge_eligible and hedges) are written only here.
 */
#ifndef BS_GW_HEDGE_H
#define BS_GW_HEDGE_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

struct gw;
struct cfg_model;

struct gw_hedge {
    struct event *ev;             /* fires when the first attempt has been slow for after_ms */
};

/* Arms the hedge timer for a request on chain (when the chain hedges and
 * has a second target to race): cb runs after hedge.after_ms. */
void gw_hedge_arm(struct gw_hedge *h, struct gw *gw, const struct cfg_model *chain, size_t ntargets,
                  event_callback_fn cb, void *arg);
/* Whether the worker's hedge budget allows one more hedge on chain. */
bool gw_hedge_budget_left(const struct gw *gw, const struct cfg_model *chain);
/* A hedge was started: it counts against the budget. */
void gw_hedge_started(struct gw *gw);
void gw_hedge_free(struct gw_hedge *h);

#endif
