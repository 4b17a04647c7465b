/*
 * gw_decide: the one decision point of the request engine.  Whenever
 * something happens to a chat request (an attempt ended, the hedge timer
 * fired) the engine (gw_engine.c) describes it in a struct gw_decide_in and
 * this function says what comes next: answer, retry the same target after a
 * delay, fail over, continue a broken stream, a corrective retry (repair),
 * race a hedge, wait for another attempt, or give up with a given answer.
 * Retry, failover, continuation, repair, hedging and the all-down answer
 * are all cases of this function, and nothing else decides them.
 *
 * It is pure: no clock, no I/O, no random draw (the caller passes the
 * jittered back-off and the time left), so it is tested from tables
 * (tests/unit/test_decide.c).  When a step cannot be carried out (no target
 * is admitted, the retry timer cannot be armed), the engine adds it to
 * `blocked` and asks again: the fallback is decided here too.
 */
#ifndef BS_GW_DECIDE_H
#define BS_GW_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "fail.h"

enum gw_event {
    GW_EV_ATTEMPT_END = 0,  /* an attempt ended, well or not */
    GW_EV_HEDGE_TIMER,      /* the first attempt is slow to produce its first token */
    GW_EV_START,            /* the request is ready for its first target */
    GW_EV_RETRY_DUE,        /* a retry's back-off is over (fail/action: the failure before it) */
};

enum gw_step {
    GW_STEP_ANSWER = 0,       /* the attempt's answer goes to the client */
    GW_STEP_RETRY,            /* the same target again after delay_ms (at once on RETRY_DUE) */
    GW_STEP_FAILOVER,         /* the next admitted target (the first, on START) */
    GW_STEP_CONTINUE,         /* the next admitted target continues the started stream */
    GW_STEP_REPAIR,           /* the same target at once, with the corrective request */
    GW_STEP_REPAIR_FAILOVER,  /* the next admitted target, with the client's own request */
    GW_STEP_HEDGE,            /* start the next admitted target as a racer */
    GW_STEP_WAIT,             /* nothing to do now: another attempt of the request decides */
    GW_STEP_GIVE_UP,          /* answer the client with `final`, and finish */
    GW_STEP__COUNT
};

/* How a request that gives up is answered. */
enum gw_final {
    GW_FINAL_NONE = 0,
    GW_FINAL_CANCELLED,         /* the client is gone: nobody to answer */
    GW_FINAL_AS_IS,             /* the upstream's own error answer (the request's fault) */
    GW_FINAL_ALL_FAILED,        /* 503 all_targets_failed, or 504 when the deadline passed */
    GW_FINAL_STREAM_BROKEN,     /* a started stream ends with an explicit error event */
    GW_FINAL_INVALID_STREAM,    /* a started stream broke the request's contract */
    GW_FINAL_REPAIR_EXHAUSTED,  /* every answer broke the contract (chain's on_exhausted) */
};

#define GW_BLOCKED(step) (1u << (step))

struct gw_decide_in {
    enum gw_event event;
    /* The attempt that ended (GW_EV_ATTEMPT_END). */
    enum fail_class fail;
    long status;                /* its upstream HTTP status, 0 when none came */
    bool lost;                  /* it lost a hedge race that was already decided */
    /* The request. */
    bool client_gone;
    bool committed;             /* the client has the response head (a stream started) */
    bool racing;                /* another attempt of the request is running (a hedge) */
    bool deadline_passed;       /* the end-to-end deadline is over, or an attempt hit it */
    uint64_t deadline_left_ms;
    enum cfg_action action;     /* the chain's action for `fail` (gw_engine.c reads it) */
    int retries;                /* retries spent on the current target */
    int max_retries;
    long retry_after_ms;        /* what the upstream asked for, -1 when nothing */
    long retry_after_cap_ms;    /* a longer Retry-After is not waited for */
    long backoff_ms;            /* the jittered back-off for this retry (gw_decide_backoff_cap) */
    bool cont_possible;         /* the started stream can be continued elsewhere */
    int repair_same;            /* corrective retries spent */
    int repair_max;             /* the chain's repair.retry_same */
    /* GW_EV_HEDGE_TIMER */
    bool primary_waiting;       /* the first attempt has produced no first event yet */
    bool continuing;            /* the request is continuing a stream: never hedged */
    bool hedge_budget_left;     /* the worker's hedge budget allows one more */
    /* Steps the engine could not carry out, GW_BLOCKED(step) bits. */
    unsigned blocked;
};

struct gw_decision {
    enum gw_step step;
    enum gw_final final;        /* GW_STEP_GIVE_UP */
    long delay_ms;              /* GW_STEP_RETRY */
};

struct gw_decision gw_decide(const struct gw_decide_in *in);

/* The upper bound of the full-jitter back-off before retry number
 * retries + 1: base_ms doubled per retry, capped at max_ms.  The caller
 * draws the wait uniformly from [0, cap]. */
long gw_decide_backoff_cap(int base_ms, int max_ms, int retries);

const char *gw_step_name(enum gw_step s);
const char *gw_final_name(enum gw_final f);

#endif
