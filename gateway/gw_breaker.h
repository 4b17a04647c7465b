/*
 * gw_breaker: a worker's view of the targets' circuit breakers.
 *
 * It mirrors the records the controller publishes (re-read only when
 * ST_KEY_BREAKER_GEN moves) and adds what the worker decides alone: a
 * target that fails hard, or N times in a row, in this worker is avoided by
 * it at once for a cool-down, without waiting for the controller's verdict.
 * A newer record from the controller supersedes that local verdict.
 *
 * The table is owned by struct gw and lives as long as the worker; entries
 * are looked up by "provider/model" through a hash, so the cost of a lookup
 * does not grow with the catalog.
 */
#ifndef BS_GW_BREAKER_H
#define BS_GW_BREAKER_H

#include <stdint.h>

#include "brk.h"
#include "fail.h"

struct gw;

enum gw_admit {
    GW_ADMIT,        /* closed: go */
    GW_ADMIT_TRIAL,  /* half-open and this worker holds the trial: go, once */
    GW_DENY,         /* open, or half-open with the trial elsewhere */
};

/* Re-reads the published records when their generation moved; called inside
 * a read transaction of the state store. */
int gw_brk_sync(struct gw *gw);
enum gw_admit gw_brk_admit(struct gw *gw, const char *key, uint64_t *trial_epoch);
/* An attempt's outcome; latency_us is its time to the response head, or to
 * the failure.  Feeds the local trip and the EWMAs that strategies rank by. */
void gw_brk_report(struct gw *gw, const char *key, enum fail_class fail, uint64_t latency_us);
/* This worker's latency EWMA (ms, 0 when unknown) and error-rate EWMA (0..1). */
void gw_brk_stats(struct gw *gw, const char *key, double *latency_ms, double *error_rate);
/* Wall-clock ms when the earliest denied target may be tried again, 0 if unknown. */
uint64_t gw_brk_retry_at(struct gw *gw, const char *key);
void gw_brk_free(struct gw *gw);

#endif
