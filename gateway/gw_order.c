/*
 * gw_order: the order in which one request tries its chain's targets.
 * The primary group (the first target's group) is ordered by the chain's
 * strategy; the approved cross-model fallbacks follow in the order written.
 * Targets behind open breakers are not removed here: the engine's admission
 * (gw_admit.c) skips them when it reaches them, with the state of that
 * moment.
 */
#include "gw_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_breaker.h"

static bool same_group(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Weighted random order without replacement: each pick is proportional to
 * the weights of the targets still left. */
static void order_weighted(struct gw *gw, const struct cfg_model *m, size_t *idx, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        uint64_t total = 0;
        for (size_t j = i; j < n; j++)
            total += (uint64_t)m->targets[idx[j]].weight;
        uint64_t r = gw_random(gw) % total;
        size_t pick = i;
        for (size_t j = i; j < n; j++) {
            uint64_t w = (uint64_t)m->targets[idx[j]].weight;
            if (r < w) {
                pick = j;
                break;
            }
            r -= w;
        }
        size_t t = idx[i];
        idx[i] = idx[pick];
        idx[pick] = t;
    }
}

/* Lower is better.  An unmeasured target scores 0, so it gets measured.
 * health-score: the latency EWMA plus 1000 ms per unit of error-rate EWMA,
 * roughly what a failure costs a request that must then go elsewhere. */
static double score(struct gw_chat *chat, size_t target)
{
    const struct cfg_target *t = &chat->chain->targets[target];
    double lat, err;
    gw_brk_stats(chat->gw, gw_brk_tid(chat->gw, chat->cat, t->id), &lat, &err);
    if (chat->chain->strategy == CFG_STRAT_LEAST_LATENCY)
        return lat;
    return lat + 1000.0 * err;
}

static void order_by_score(struct gw_chat *chat, size_t *idx, size_t n)
{
    double s[n];
    for (size_t i = 0; i < n; i++)
        s[i] = score(chat, idx[i]);
    /* Insertion sort: chains are short, and it keeps ties in written order. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && s[j] < s[j - 1]; j--) {
            double ts = s[j];
            s[j] = s[j - 1];
            s[j - 1] = ts;
            size_t ti = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = ti;
        }
}

size_t *gw_order(struct gw_chat *chat, size_t *norder)
{
    const struct cfg_model *m = chat->chain;
    size_t *order = malloc(m->ntargets * sizeof *order);
    if (!order)
        return NULL;
    const char *primary = m->targets[0].group;
    size_t n = 0;
    for (size_t i = 0; i < m->ntargets; i++)
        if (same_group(primary, m->targets[i].group))
            order[n++] = i;
    size_t tier = n;
    for (size_t i = 0; i < m->ntargets; i++)
        if (!same_group(primary, m->targets[i].group) && m->targets[i].approved)
            order[n++] = i;
    *norder = n;
    if (tier > 1) {
        if (m->strategy == CFG_STRAT_WEIGHTED)
            order_weighted(chat->gw, m, order, tier);
        else if (m->strategy != CFG_STRAT_PRIORITY)
            order_by_score(chat, order, tier);
    }
    return order;
}
