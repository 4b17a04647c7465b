/*
 * gw_repair: what a chat request does with an answer that broke its
 * contract (gw_contract.h): a corrective retry of the same target (the
 * broken turn and a message naming the problem appended to the request),
 * then the next target of the chain with the client's own request, and when
 * every attempt broke it, a 502 invalid_response or (chain option) the last
 * answer marked x-backstop-validation: failed.
 *
 * Ownership: struct gw_repair lives inside its chat; turn is its own
 * reference, released by gw_repair_free().
 */
#ifndef BS_GW_REPAIR_H
#define BS_GW_REPAIR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "gw_contract.h"

struct gw_chat;
struct gw_attempt;

struct gw_repair {
    struct ct_verdict v;   /* the last problem found */
    json_t *turn;          /* the broken assistant message it was found in */
    size_t target;         /* the target that sent it: only it gets the corrective request */
    bool corrective;       /* the next attempt on `target` carries the correction */
    int same;              /* corrective retries spent on `target` */
    char notes[384];       /* x-backstop-repair: "problem@provider/model->retry,..." */
    char problems[768];    /* for the exhausted error: "provider/model: message; ..." */
};

/* At the request's start: builds the contract when the chain checks answers
 * and the request sets one.  -1 when out of memory. */
int gw_repair_init(struct gw_chat *chat);
void gw_repair_free(struct gw_chat *chat);

/* The attempt is a stream to check as it relays (sets att->ct). */
int gw_repair_attempt_init(struct gw_attempt *att);
/* A whole non-stream 2xx answer: FAIL_INVALID_RESPONSE when it breaks the contract. */
void gw_repair_check_answer(struct gw_attempt *att);
/* One SSE event of a checked stream: releases what is known good to the
 * client (committing the stream at the first), holds the rest.  Non-zero
 * stops the attempt (att->fail set). */
int gw_repair_relay(struct gw_attempt *att, const char *data, size_t len);
/* Whether the attempt on target should carry the corrective request, and
 * that request (a new reference; NULL without memory). */
bool gw_repair_applies(const struct gw_chat *chat, size_t target);
json_t *gw_repair_body(struct gw_chat *chat);
/* The request for an attempt on target: the corrective one or the client's
 * (a new reference; NULL without memory). */
json_t *gw_repair_request(struct gw_chat *chat, size_t target);
/* return_last for a stream: the broken attempt's held events, as a stream. */
void gw_repair_answer_held(struct gw_chat *chat, const struct gw_attempt *att);

/* The engine's side (gw_engine.c decides, gw_decide.h): */
/* att ended FAIL_INVALID_RESPONSE: its problem goes into the notes. */
void gw_repair_broke(struct gw_chat *chat, const struct gw_attempt *att);
/* The next attempt on target carries the corrective request ... */
void gw_repair_arm(struct gw_chat *chat, size_t target);
/* ... and it started (a corrective retry spent) or did not. */
void gw_repair_started(struct gw_chat *chat, bool started);
/* x-backstop-repair: "problem@from->how". */
void gw_repair_note(struct gw_chat *chat, const char *from, const char *how);
/* Moving to another target: it gets the client's own request. */
void gw_repair_reset(struct gw_chat *chat);
/* Every attempt broke the contract: the chain's on_exhausted answer. */
void gw_repair_answer_exhausted(struct gw_chat *chat, const struct gw_attempt *att);
/* The contract broke after text reached the client: the stream ends with
 * an explicit invalid_response error (a retry would repeat the text). */
void gw_repair_answer_broken_stream(struct gw_chat *chat);

#endif
