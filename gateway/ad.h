/*
 * ad: provider adapters.  The gateway speaks OpenAI Chat Completions to its
 * clients; an adapter turns that into one provider's wire format and back.
 * Every adapter implements the same operations, so a chain can mix
 * providers and a failover between formats goes through the same code.
 *
 * Adapters are pure translation: no I/O, no libevent, no curl.  The attempt
 * (gw_attempt.c) sends what build_request produced and feeds what comes back
 * into parse_response or the stream decoder.
 *
 * Ownership: everything an operation returns belongs to the caller and is
 * released with the matching free function; inputs are borrowed.
 */
#ifndef BS_AD_H
#define BS_AD_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "fail.h"

/* What a provider needs to build a request: the parts of its configuration
 * that matter on the wire (the gateway fills it from struct cfg_provider). */
struct ad_target {
    const char *base_url;     /* no trailing slash */
    const char *model;        /* exact upstream model */
    const char *api_key;      /* may be NULL */
    const char *api_version;  /* e.g. anthropic-version, Azure api-version; NULL = default */
};

/* An upstream request, ready to send. */
struct ad_request {
    char *url;                /* malloc'd */
    char **headers;           /* malloc'd NULL-terminated array of "Name: value" */
    char *body;               /* malloc'd JSON text */
    size_t body_len;
};

/* A translation failure: which part of the input could not be expressed. */
struct ad_error {
    enum fail_class fail;     /* FAIL_CLIENT for the request's own fault, FAIL_BAD_RESPONSE for an
                                 unusable answer, FAIL_INTERNAL for out of memory */
    char message[256];
};

/* Called once per OpenAI chat.completion.chunk the decoder produces (the
 * JSON text of the chunk, without "data: "), and once with done = true
 * when the upstream stream ended properly (the caller then writes
 * "data: [DONE]").  An upstream error event arrives as error != NULL with
 * its class.  Return non-zero to stop decoding. */
typedef int (*ad_emit_fn)(void *arg, const char *chunk, size_t len, bool done,
                          const struct ad_error *error);

struct ad_stream;             /* one stream's decoding state; see stream_new */

struct ad_ops {
    const char *name;         /* "openai", "anthropic", ... */
    /* openai_req: the client's body (OpenAI shape), with include_usage etc. */
    int (*build_request)(const json_t *openai_req, bool stream, const struct ad_target *t,
                         struct ad_request *out, struct ad_error *err);
    /* A complete 2xx body -> an OpenAI chat.completion object. */
    json_t *(*parse_response)(const char *body, size_t len, const char *model,
                              struct ad_error *err);
    /* Stream decoding: bytes as the network delivers them, cut anywhere. */
    struct ad_stream *(*stream_new)(const char *model, bool include_usage);
    int (*stream_feed)(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit,
                       void *arg);
    void (*stream_free)(struct ad_stream *s);
    /* A non-2xx answer -> failure class, and an OpenAI-shaped error body for
     * the client (a new object). */
    enum fail_class (*classify)(long status, const char *body, size_t len, json_t **openai_error);
};

void ad_request_free(struct ad_request *r);

#endif
