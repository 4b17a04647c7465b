/*
 * gw_engine: runs a chat request's attempts.  It starts the first target,
 * and every time something happens (an attempt ended, a back-off or the
 * hedge timer fired, the client left) it asks the one decision point
 * (gw_decide.h) what comes next and carries that out: starting the next
 * admitted target (gw_admit.h), a retry, a continuation, a corrective retry,
 * a hedge, or the final answer (gw_answer.h).  It is the only caller of
 * gw_chat_finish().
 *
 * Ownership: struct gw_route lives inside its chat and is written only by
 * gw_engine.c; the attempts it points to are the engine's,
 * freed by it once their end was reported.
 */
#ifndef BS_GW_ENGINE_H
#define BS_GW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fail.h"

struct gw_chat;
struct gw_attempt;
struct event;

struct gw_route {
    size_t *order;                /* targets in the order this request tries them */
    size_t norder;
    size_t next;                  /* index into order */
    size_t cur;                   /* target of the current (or last) attempt */
    int retries;                  /* retries spent on cur */
    int attempts;                 /* attempts started */
    struct gw_attempt *att;       /* the attempt the request follows */
    struct gw_attempt *racer;     /* a hedge racing att, before the first token */
    struct gw_attempt *loser;     /* a race's loser, until its cancellation runs */
    enum fail_class last_fail;    /* how the attempt before a back-off ended */
    struct event *wait_ev;        /* back-off before a retry */
    bool deadline_hit;            /* an attempt ended on the request's deadline */
    bool continuing;              /* the next attempt continues the stream */
    uint64_t breaker_retry_at;    /* wall ms: earliest end of a cool-down that blocked a target */
    uint64_t target_start_us;     /* first attempt on cur: what a failover of it cost */
};

/* The request was parsed: order the chain and start the first target. */
void gw_engine_start(struct gw_chat *chat);
/* The request cannot be served (bad input, unknown model...): answer it. */
void gw_engine_reject(struct gw_chat *chat, int status, const char *code, const char *msg);
/* The client went away: stop what runs (the upstream bills per token). */
void gw_engine_client_gone(struct gw_chat *chat);
/* The client drained its output: a paused stream reads its upstream again. */
void gw_engine_client_drained(struct gw_chat *chat);
void gw_engine_free(struct gw_chat *chat);

#endif
