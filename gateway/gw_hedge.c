/* gw_hedge: the hedge race's timer and the worker's budget (gw_hedge.h). */
#include "gw_hedge.h"

#include "gw.h"

void gw_hedge_arm(struct gw_hedge *h, struct gw *gw, const struct cfg_model *chain, size_t ntargets,
                  event_callback_fn cb, void *arg)
{
    int ms = chain->hedge.after_ms;
    if (ms <= 0 || ntargets < 2)
        return;
    gw->hedge_eligible++;
    h->ev = evtimer_new(gw->base, cb, arg);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    if (h->ev)
        evtimer_add(h->ev, &tv);
}

bool gw_hedge_budget_left(const struct gw *gw, const struct cfg_model *chain)
{
    return gw->hedges * 100 < (uint64_t)chain->hedge.budget_pct * gw->hedge_eligible;
}

void gw_hedge_started(struct gw *gw)
{
    gw->hedges++;
}

void gw_hedge_free(struct gw_hedge *h)
{
    if (h->ev)
        event_free(h->ev);
    h->ev = NULL;
}
