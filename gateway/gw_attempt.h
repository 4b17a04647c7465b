/*
 * gw_attempt: one upstream call of a chat request.  It builds the upstream
 * body, runs the transfer (gw_upstream.h), watches the first-token / idle /
 * deadline timers, holds a stream until its first event with content, relays
 * it from then on, and classifies how the call ended.
 *
 * Ownership: gw_attempt_start() returns a new attempt and writes nothing of
 * its chat; the engine (gw_engine.c) keeps it (as the request's current
 * attempt, a hedge racer or a race's loser) and frees it with
 * gw_attempt_free() after its end was reported.  An attempt reports upward
 * only through the callbacks of its struct gw_attempt_ops, so it depends on
 * nothing above it.  The struct's fields are written by the attempt's own
 * files (gw_attempt.c, gw_att_pace.c, the translated path gw_attempt_ad.c and
 * the checked-stream relay gw_repair_relay.c); everyone else only reads
 * them.
 */
#ifndef BS_GW_ATTEMPT_H
#define BS_GW_ATTEMPT_H

#include <event2/buffer.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ad.h"
#include "fail.h"
#include "gw_hdr.h"
#include "gw_upstream.h"
#include "sse.h"
#include "tel.h"

struct gw_chat;
struct gw_attempt;
struct gw_provider;
struct cfg_target;

enum att_mode {
    ATT_HEAD,     /* waiting for the response head */
    ATT_BUFFER,   /* collecting a whole body (non-stream answer, or an error) */
    ATT_PRECOMMIT,/* a stream whose first event with content has not come yet: held */
    ATT_RELAY,    /* relaying a stream to the client, chunk by chunk */
};

/* What an attempt tells the one that started it. */
struct gw_attempt_ops {
    /* The attempt ended (att->fail says how); never called from inside a
     * transfer callback.  The callee owns att from here. */
    void (*ended)(struct gw_attempt *att);
    /* The stream proved good (its first event with content): the client
     * is to get it from now on.  0, or -1 when the client cannot. */
    int (*commit)(struct gw_attempt *att);
};

/* How to start an attempt. */
struct gw_attempt_spec {
    uint64_t trial_epoch;         /* non-zero: this is the target's half-open breaker trial */
    bool cont;                    /* continues a stream another target broke */
    const struct gw_attempt_ops *ops;
};

struct gw_attempt {
    struct gw_xfer xfer;          /* first member: the done() callback finds the attempt */
    struct gw_chat *chat;         /* read only: the request it serves */
    const struct gw_attempt_ops *ops;
    const struct gw_provider *prov;
    const struct cfg_target *tgt;
    const char *key;              /* "provider/model" of the target (cfg_targets.c) */
    const char *model;            /* upstream model: the target's, or a pin's (gw_ovr.c) */
    char *body;                   /* upstream request body */
    size_t body_len;
    struct gw_hdr rid_node;       /* "X-Request-Id" prepended to the provider's headers */
    char rid_header[96];
    enum att_mode mode;
    long status;
    bool sse;
    bool paused;
    bool saw_done;                /* the stream's end event came: the answer is complete */
    bool saw_finish;              /* a chunk with a finish_reason came (OpenAI-format streams) */
    bool running;                 /* its transfer runs (gw_up_start until done or cancel) */
    struct evbuffer *resp;        /* buffered body, or stream bytes held before commit */
    struct sse_parser parser;
    char content_type[96];
    char retry_after[32];
    char retry_after_ms[32];
    uint64_t start_us, head_us;
    struct event *timer;
    bool timer_is_deadline;       /* the timer was armed for the request's deadline */
    enum fail_class fail;
    char detail[160];             /* why it failed, for logs and the all-down answer */
    uint64_t trial_epoch;         /* non-zero: this is a half-open breaker trial */
    bool cont;                    /* continues a stream another target broke */
    bool lost;                    /* lost a hedge race: cancelled from its timer */
    uint32_t prompt_tokens, completion_tokens;  /* the usage its answer reported */
    struct ct_stream *ct;         /* a stream checked against the contract (gw_contract_stream.h) */
    size_t target_idx;            /* index into chat->chain->targets */
    /* A translated attempt (gw_attempt_ad.c): ad is the target's adapter,
     * NULL on the native path (an OpenAI client on an OpenAI-format
     * target), where none of the members below are used. */
    const struct ad_ops *ad;
    char *url;                    /* from ad->build_request */
    struct gw_hdr *req_headers;
    struct ad_stream *ads;        /* the stream decoder, once a 2xx stream head came */
    json_t *answer;               /* a 2xx body as an OpenAI chat.completion */
    json_t *error_body;           /* a non-2xx body as an OpenAI error (ad->classify), or
                                     the error a stream ended with */
};

/* gw_attempt.c */
/* A started attempt, or NULL when it could not start (out of memory, or a
 * request the target's format cannot express: the reason is in the chat's
 * trace).  Writes nothing of the chat. */
struct gw_attempt *gw_attempt_start(struct gw_chat *chat, size_t target,
                                    const struct gw_attempt_spec *spec);
void gw_attempt_cancel(struct gw_attempt *att, enum fail_class why);
/* Lost a hedge race: cancelled on the next loop turn, then reported ended
 * with FAIL_HEDGED. */
void gw_attempt_lose(struct gw_attempt *att);
/* The client drained its buffer: read the upstream again. */
void gw_attempt_resume(struct gw_attempt *att);
void gw_attempt_free(struct gw_attempt *att);

/* gw_att_pace.c: the attempt's timers. */
/* (Re)arms the attempt's timer for ms, capped by the request's deadline. */
void gw_att_pace_arm(struct gw_attempt *att, int ms);
/* The stream is good: commit it to the client (ops->commit unless it
 * continues a stream the client already has) and switch to the idle-stream
 * limit.  0, or -1 when the client cannot take it. */
int gw_att_pace_commit(struct gw_attempt *att);

/* gw_attempt_ad.c: the translated path of an attempt. */
/* Builds url, headers and body through the adapter; -1 with the reason in
 * the chat's trace when the request cannot be expressed. */
int gw_att_ad_build(struct gw_attempt *att);
/* A 2xx head on a streamed request: starts the decoder; -1 out of memory. */
int gw_att_ad_stream_start(struct gw_attempt *att);
/* Stream bytes; returns what curl's write callback must return. */
size_t gw_att_ad_feed(struct gw_attempt *att, const char *p, size_t len);
/* The transfer ended without a transport failure: classify the answer. */
void gw_att_ad_done(struct gw_attempt *att);
void gw_att_ad_free(struct gw_attempt *att);

#endif
