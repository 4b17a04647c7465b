/*
 * gw: a worker process.  One struct gw per process, created by
 * gw_worker_main() and freed when it returns; every module of the worker
 * runs on its single event loop.
 */
#ifndef BS_GW_H
#define BS_GW_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/event.h>

#include "brk.h"
#include "cfg.h"
#include "fail.h"
#include "gw_hdr.h"
#include "http_server.h"
#include "keys.h"
#include "st.h"

struct gw_up;
struct gw_ovr;
struct gw_brk_table;

/* The runtime side of a configured provider: what every request to it
 * needs, computed once per catalog generation. */
struct gw_provider {
    const struct cfg_provider *cfg;
    bool enabled;                  /* false: key variable unset on an optional provider */
    char *chat_url;                /* base_url + "/chat/completions" */
    struct gw_hdr *headers;        /* auth + content type, shared by its requests */
    /* The adapter for its type (ad.h).  native: it speaks OpenAI, so an
     * OpenAI client's request goes out as the client's bytes (model
     * replaced) and the answer comes back byte for byte, without the
     * adapter; every other combination is translated by it. */
    const struct ad_ops *ad;
    bool native;
    char *api_key;                 /* sodium_malloc'd, for the adapter's headers; NULL: none */
    /* bedrock: the secret access key and session token SigV4 signs with
     * (api_key is then the access key id); sodium_malloc'd or NULL. */
    char *aws_secret;
    char *aws_token;
    char key_fpr[KEYS_HEX_LEN];    /* fingerprint of the key in use, "" without one */
};

/* An immutable snapshot of the catalog for one generation.  Requests hold a
 * reference, so a reload never changes a request in flight; the last
 * reference frees it. */
struct gw_catalog {
    int refs;
    uint64_t generation;
    struct cfg *cfg;
    struct gw_provider *providers;   /* parallel to cfg->providers */
    const struct cfg_model **slots;  /* open-addressing table of models by name */
    size_t nslots;                   /* power of two */
    char *models_json;               /* GET /v1/models body, built once */
    size_t models_json_len;
    struct gw_ovr *ovr;              /* operator overrides of this generation, or NULL */
};

struct gw {
    struct event_base *base;
    int slot;
    uint32_t pid;                    /* cached: telemetry stamps every message with it */
    struct st_env *st;
    struct gw_catalog *cat;          /* current; the worker holds one reference */
    struct gw_brk_table *brk;        /* breaker view, gw_breaker.c */
    struct brk_claims claims;        /* trial claim words, mapped from the controller's memfd */
    struct gw_tel_batch *telb;       /* successes summed per target, held events: gw_tel_batch.c */
    struct http_server *http;
    struct gw_up *up;
    int tel_fd;
    int access_fd;
    struct gw_access_buf *accbuf;    /* access-log lines of the current loop pass */
    bool draining;
    bool log_content;
    uint64_t served;
    uint32_t tel_dropped;
    uint64_t started_wall_ms;
    uint64_t req_seq;                /* for request ids */
    uint32_t req_salt;
    uint64_t rng;                    /* xorshift state: back-off jitter */
    uint64_t hedge_eligible, hedges; /* requests on hedging chains, and hedges started
                                        (written by gw_hedge.c only) */
    struct event *status_ev;
    struct event *drain_ev;
    struct event *tel_ev;
    struct event *sig_ev[4];
};

/* gw_catalog.c */
/* Brings gw->cat up to the generation in LMDB; 0, or an error (the old
 * catalog stays in use). */
int gw_catalog_refresh(struct gw *gw);
const struct cfg_model *gw_catalog_find(const struct gw_catalog *cat, const char *name);
struct gw_catalog *gw_catalog_ref(struct gw_catalog *cat);
void gw_catalog_unref(struct gw_catalog *cat);

/* gw_routes.c */
void gw_route(struct http_req *req, void *arg);
void gw_error_body(struct evbuffer *out, const char *path, int status, const char *code,
                   const char *message);
const char *gw_error_type(int status);

/* The API a client speaks.  Internally every request is an OpenAI chat
 * request; an Anthropic client's is translated on the way in and its
 * answers on the way out (ad_inbound.h). */
enum gw_api {
    GW_API_OPENAI = 0,            /* POST /v1/chat/completions */
    GW_API_ANTHROPIC,             /* POST /v1/messages */
};

/* gw_catalog_aws.c: a bedrock provider's AWS credentials (after its key is
 * in place); 0, or -1 when memory ran out.  Missing credentials disable
 * the provider with a logged reason. */
struct cfg_provider;
int gw_catalog_aws(struct gw_provider *gp, const struct cfg_provider *p);

/* gw_chat.c */
void gw_chat_handle(struct gw *gw, struct http_req *req, enum gw_api api);

/* gw_retry.c */
/* The worker's PRNG (xorshift): jitter and weighted choices, not secrets. */
uint64_t gw_random(struct gw *gw);
/* Parses Retry-After (delta seconds or HTTP date) / retry-after-ms; -1 when absent or bad. */
long gw_retry_after_ms(const char *retry_after, const char *retry_after_ms);

/* gw_tel.c */
struct tel_attempt;
struct tel_failover;
struct iovec;
void gw_tel_send(struct gw *gw, void *msg, size_t len);
/* Sends n messages, a datagram each, in as few system calls as it can;
 * each message's header gets the version and pid. */
void gw_tel_sendv(struct gw *gw, const struct iovec *msgs, size_t n);
void gw_tel_status(struct gw *gw);
void gw_request_finished(struct gw *gw);

/* gw_tel_batch.c: an attempt's outcome for the controller.  Successes are
 * summed per target and sent at the end of the event-loop pass; anything
 * else goes at once, after that target's pending sum. */
void gw_tel_attempt(struct gw *gw, struct tel_attempt *t);
/* A failover event (copied): it leaves with the next flush, within 50 ms. */
void gw_tel_event(struct gw *gw, struct tel_failover *f);
/* Sends every pending sum and event now (drain, exit). */
void gw_tel_flush(struct gw *gw);
void gw_tel_batch_free(struct gw *gw);

#endif
