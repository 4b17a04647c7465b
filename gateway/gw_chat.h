/*
 * gw_chat: one client chat-completions request and its upstream attempts.
 *
 * Ownership: a struct gw_chat is created by gw_chat_handle() and owns its
 * parsed body, its catalog reference and its current attempt; it frees
 * itself in chat_finish() once the client has its answer (or is gone).
 * An attempt (struct gw_attempt) is owned by its chat; one runs at a time.
 */
#ifndef BS_GW_CHAT_H
#define BS_GW_CHAT_H

#include <event2/buffer.h>
#include <jansson.h>

#include "ad.h"
#include "ad_inbound.h"
#include "gw.h"
#include "gw_repair.h"
#include "gw_upstream.h"
#include "sse.h"
#include "tel.h"

enum att_mode {
    ATT_HEAD,     /* waiting for the response head */
    ATT_BUFFER,   /* collecting a whole body (non-stream answer, or an error) */
    ATT_PRECOMMIT,/* a stream whose first event has not reached the client yet */
    ATT_RELAY,    /* relaying a stream to the client, chunk by chunk */
};

struct gw_attempt {
    struct gw_xfer xfer;          /* first member: the done() callback finds the attempt */
    struct gw_chat *chat;
    const struct gw_provider *prov;
    const struct cfg_target *tgt;
    const char *model;            /* upstream model: the target's, or a pin's (gw_ovr.c) */
    char *body;                   /* upstream request body */
    size_t body_len;
    struct gw_hdr rid_node;       /* "X-Request-Id" prepended to the provider's headers */
    char rid_header[96];
    enum att_mode mode;
    long status;
    bool sse;
    bool paused;
    bool saw_done;
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
    char brk_key[TEL_TARGET_MAX];            /* "provider/model": the breaker it reports to */
    uint64_t trial_epoch;         /* non-zero: this is a half-open breaker trial */
    bool cont;                    /* continues a stream another target broke */
    bool lost;                    /* lost a hedge race: cancelled from its timer, then freed */
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


struct gw_chat {
    struct gw *gw;
    struct http_req *req;         /* NULL once the client went away */
    struct gw_catalog *cat;
    const struct cfg_model *chain;
    json_t *body;                 /* the request in OpenAI form, as a document: for an OpenAI
                                     client built on first need, use gw_chat_body(); for an
                                     Anthropic client its translation */
    size_t model_vs, model_ve;    /* an OpenAI client's raw body: its "model" value, quotes
                                     included */
    bool contract_fields;         /* an OpenAI client's body has "tools" or "response_format":
                                     an answer contract may apply (gw_repair_init) */
    bool stream;
    bool include_usage;           /* stream_options.include_usage */
    enum gw_api api;
    struct ad_in_stream *in_stream;  /* Anthropic client, streamed: the event writer */
    char untranslatable[256];     /* why a target's format cannot express the request */
    char request_id[72];
    char peer[64];
    uint64_t start_us, deadline_us, first_out_us;
    int attempts;
    size_t *order;                /* targets in the order this request tries them */
    size_t norder;
    size_t next_target;           /* index into order */
    size_t cur_target;            /* target of the current (or last) attempt */
    int target_retries;           /* retries spent on cur_target */
    struct event *wait_ev;        /* back-off before a retry */
    struct gw_attempt *att;       /* the attempt the request follows */
    struct gw_attempt *hedge;     /* a second attempt racing att, before the first token */
    struct gw_attempt *loser;     /* the race's loser, until its cancellation runs */
    struct event *hedge_ev;
    bool committed;               /* the client has received the response head */
    bool deadline_hit;
    int status;
    char failover[512];           /* "provider/model=reason,..." */
    char reasons[768];            /* for the all-down answer */
    uint32_t prompt_tokens, completion_tokens;
    const char *served_provider, *served_model;
    uint64_t breaker_retry_at;    /* wall ms: earliest end of a cool-down that blocked a target */
    uint64_t target_start_us;     /* first attempt on cur_target: what a failover of it cost */
    /* Stream continuation (gw_continue.c): what the client has seen. */
    bool continuing;              /* the next attempt continues the stream */
    bool cont_broken;             /* tool calls, several choices, unparsable: cannot continue */
    bool cont_finished;           /* a finish_reason went out: nothing left to continue */
    json_t *cont_id, *cont_created, *cont_model;
    struct evbuffer *cont_raw;    /* the events relayed, length-prefixed, until needed */
    struct evbuffer *cont_text;   /* parsed from cont_raw when a continuation starts */
    /* Answer contracts (gw_repair.c): NULL when the request sets none. */
    struct gw_contract *contract;
    struct gw_repair rp;
};

/* gw_attempt.c */
/* trial_epoch: non-zero when the breaker granted this attempt as its trial. */
int gw_attempt_start(struct gw_chat *chat, size_t target, uint64_t trial_epoch);
void gw_attempt_cancel(struct gw_attempt *att, enum fail_class why);
/* Lost a hedge race: cancelled on the next loop turn, then handed to
 * gw_chat_attempt_done with FAIL_HEDGED. */
void gw_attempt_lose(struct gw_attempt *att);
/* The client drained its buffer: read the upstream again. */
void gw_attempt_resume(struct gw_attempt *att);
void gw_attempt_free(struct gw_attempt *att);
/* (Re)arms the attempt's timer for ms, capped by the request's deadline. */
void gw_attempt_arm(struct gw_attempt *att, int ms);

/* gw_attempt_ad.c: the translated path of an attempt. */
/* Builds url, headers and body through the adapter; -1 with the reason
 * added to chat->reasons when the request cannot be expressed. */
int gw_att_ad_build(struct gw_attempt *att);
/* A 2xx head on a streamed request: starts the decoder; -1 out of memory. */
int gw_att_ad_stream_start(struct gw_attempt *att);
/* Stream bytes; returns what curl's write callback must return. */
size_t gw_att_ad_feed(struct gw_attempt *att, const char *p, size_t len);
/* The transfer ended without a transport failure: classify the answer. */
void gw_att_ad_done(struct gw_attempt *att);
void gw_att_ad_free(struct gw_attempt *att);

/* gw_out.c: stream output in the client's API. */
/* The stream head went out: set up the client's event writer. */
int gw_out_stream_begin(struct gw_chat *chat);
int gw_out_chunk(struct gw_chat *chat, const char *chunk, size_t len);
int gw_out_done(struct gw_chat *chat);
/* Ends a started stream with an explicit error event; error: the OpenAI
 * error body the upstream's stream gave, or NULL. */
void gw_out_error(struct gw_chat *chat, enum fail_class c, const char *message, const json_t *error);
/* The same with the OpenAI error's type and code chosen by the caller. */
void gw_out_error_as(struct gw_chat *chat, enum fail_class c, const char *type, const char *code,
                     const char *message, const json_t *error);
/* An error the gateway raises itself, before the stream started, in the
 * client's API ({"error":{message,type,code,param}} for OpenAI). */
void gw_out_gateway_error(struct gw_chat *chat, int status, const char *type, const char *code,
                          const char *message);
/* A whole answer (an OpenAI chat.completion) in the client's API. */
void gw_out_answer(struct gw_chat *chat, int status, const json_t *completion);
/* An OpenAI error body from an upstream, in the client's API; status is
 * the upstream's. */
void gw_out_upstream_error(struct gw_chat *chat, enum fail_class c, long status, const json_t *error);

/* gw_continue.c */
void gw_cont_observe(struct gw_chat *chat, const char *data, size_t len);
/* Parses what was relayed (once) and says whether it can be continued. */
bool gw_cont_possible(struct gw_chat *chat);
/* The request for the next target: the client's, plus the partial answer
 * as a trailing assistant message.  NULL when out of memory. */
json_t *gw_cont_body(struct gw_chat *chat);
/* Relays one event of a continuing attempt, re-stamped; -1 on failure. */
int gw_cont_relay(struct gw_attempt *att, const char *data, size_t len, bool done);
void gw_cont_free(struct gw_chat *chat);

/* gw_order.c: fills chat->order from the chain's groups and strategy. */
int gw_chat_order(struct gw_chat *chat);

/* gw_chat.c: the request's life. */
/* The client's body as a jansson document, parsed on the first call (the
 * request path itself only scans it, gw_reqscan.h); NULL when the client is
 * gone or memory ran out.  Owned by the chat. */
json_t *gw_chat_body(struct gw_chat *chat);
/* Access log line, then frees the chat; error is the final class or NULL. */
void gw_chat_finish(struct gw_chat *chat, const char *error);
void gw_chat_report(struct gw_chat *chat, struct gw_attempt *att);   /* telemetry */
/* A failover event: the request moved from `from` to chat->att. */
void gw_chat_event(struct gw_chat *chat, const char *from, int reason, uint64_t added_us);
/* Appends one formatted item to buf, with sep before it unless first. */
void gw_chat_append(char *buf, size_t cap, const char *sep, const char *fmt, const char *a,
                    const char *b, const char *c, const char *d);

/* gw_answer.c: answers to the client. */
void gw_chat_reply_error(struct gw_chat *chat, int status, const char *code, const char *msg);
/* The attempt's stream is about to reach the client: send the head. */
int gw_chat_commit_stream(struct gw_chat *chat, struct gw_attempt *att);
void gw_answer_success(struct gw_chat *chat, struct gw_attempt *att);
void gw_answer_as_is(struct gw_chat *chat, struct gw_attempt *att);
void gw_answer_stream_broken(struct gw_chat *chat, struct gw_attempt *att);
/* An error whose "type" is not the default invalid_request_error. */
void gw_chat_reply_typed_error(struct gw_chat *chat, int status, const char *type, const char *code,
                               const char *msg);
void gw_answer_all_failed(struct gw_chat *chat);

/* gw_failover.c: after an attempt, what next. */
/* Starts the next target the chain allows; false when none is left. */
bool gw_chat_try_next(struct gw_chat *chat);
/* Called by the attempt when it ends, failed or not. */
void gw_chat_attempt_done(struct gw_chat *chat, struct gw_attempt *att);

/* gw_hedge.c */
void gw_hedge_arm(struct gw_chat *chat);
/* winner goes on, the other attempt of the race is stopped. */
void gw_hedge_settle(struct gw_chat *chat, struct gw_attempt *winner, bool in_callback);

#endif
