/*
 * gw_breaker: a worker's view of the targets' circuit breakers.
 *
 * It mirrors the records the controller publishes (re-read only when
 * ST_KEY_BREAKER_GEN moves) and adds what the worker decides alone: a
 * target that fails hard, or N times in a row, in this worker is avoided by
 * it at once for a cool-down, without waiting for the controller's verdict.
 * A newer record from the controller supersedes that local verdict.  A
 * half-open target's trial goes to the first request that reaches it, on
 * any worker: this worker claims it with a compare-and-swap on the claim
 * word the controller offers it in (shared/brk_claim.c).
 *
 * The view is owned by struct gw, indexed by target id (cfg_target.id) of
 * the current catalog, and rebuilt with each catalog generation
 * (gw_brk_rebuild), carrying each target's local state over by key.  Ids
 * are those of gw->cat: a request still running on an older catalog maps
 * its target's id with gw_brk_tid first.
 */
#ifndef BS_GW_BREAKER_H
#define BS_GW_BREAKER_H

#include <stdint.h>

#include "brk.h"
#include "fail.h"

struct gw;
struct gw_catalog;

enum gw_admit {
    GW_ADMIT,        /* closed: go */
    GW_ADMIT_TRIAL,  /* half-open and this request claimed the trial: go, once */
    GW_DENY,         /* open, or half-open with the trial claimed elsewhere */
};

#define GW_BRK_NO_TARGET UINT32_MAX

/* Builds the view for cat (the catalog about to become current) and reads
 * the published records; called inside a read transaction of the state
 * store, before gw->cat moves.  0 or -ENOMEM (the old view stays). */
int gw_brk_rebuild(struct gw *gw, const struct gw_catalog *cat);
/* Re-reads the published records when their generation moved; called inside
 * a read transaction of the state store. */
int gw_brk_sync(struct gw *gw);
/* tid of cat as an id of the view: itself when cat is the current catalog,
 * else found by key (GW_BRK_NO_TARGET when the target is gone). */
uint32_t gw_brk_tid(struct gw *gw, const struct gw_catalog *cat, uint32_t tid);
/* An unknown tid (GW_BRK_NO_TARGET) is admitted, its reports are ignored. */
enum gw_admit gw_brk_admit(struct gw *gw, uint32_t tid, uint64_t *trial_epoch);
/* An attempt's outcome; latency_us is its time to the response head, or to
 * the failure.  Feeds the local trip and the EWMAs that strategies rank by. */
void gw_brk_report(struct gw *gw, uint32_t tid, enum fail_class fail, uint64_t latency_us,
                   uint64_t trial_epoch);
/* This worker's latency EWMA (ms, 0 when unknown) and error-rate EWMA (0..1). */
void gw_brk_stats(struct gw *gw, uint32_t tid, double *latency_ms, double *error_rate);
/* Wall-clock ms when the denied target may be tried again, 0 if unknown. */
uint64_t gw_brk_retry_at(struct gw *gw, uint32_t tid);
void gw_brk_free(struct gw *gw);

#endif
