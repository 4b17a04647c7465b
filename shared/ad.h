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
    /* AWS (bedrock): api_key is the access key id and the request is signed
     * with SigV4 for aws_region; without aws_secret_key, api_key is a
     * Bedrock API key sent as a Bearer token. */
    const char *aws_region;
    const char *aws_secret_key;
    const char *aws_session_token;  /* temporary credentials; may be NULL */
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

/* ---- Added with the first adapters: what wiring them needs. ---- */

/* The adapters.  "openai" serves OpenAI and every OpenAI-compatible server
 * (vLLM, Ollama, DeepSeek, Mistral, Groq, Together: base URL + key). */
extern const struct ad_ops ad_openai_ops;
extern const struct ad_ops ad_anthropic_ops;
/* AWS Bedrock Converse / ConverseStream (binary event-stream, SigV4). */
extern const struct ad_ops ad_bedrock_ops;
/* Gemini generateContent (Google AI Studio: x-goog-api-key). */
extern const struct ad_ops ad_gemini_ops;
/* Azure OpenAI: the OpenAI body at Azure's URLs, api-key, filter reports
 * removed.  The target's model is the deployment name; api_version a
 * date for the dated URL form, unset (or "v1") for the v1 form. */
extern const struct ad_ops ad_azure_ops;
/* Vertex AI, Gemini and Anthropic models: base_url is
 * ".../v1/projects/{project}/locations/{location}", api_key the OAuth
 * access token, api_version (Anthropic) the body's anthropic_version. */
extern const struct ad_ops ad_vertex_gemini_ops;
extern const struct ad_ops ad_vertex_anthropic_ops;
/* For the controller's health probes: a GET that costs no tokens and
 * checks the path, the key and (Gemini) the model.  malloc'd URL, NULL
 * when memory ran out.  Gemini: the model itself (models.get); Azure:
 * the resource's model list (dated form: /openai/models?api-version). */
char *ad_gemini_probe_url(const struct ad_target *t);
char *ad_azure_probe_url(const struct ad_target *t);

/* By ad_ops.name; "openai-compatible" is the openai adapter.  NULL when unknown. */
const struct ad_ops *ad_ops_find(const char *name);

/*
 * Conventions every adapter keeps, which the declarations above leave open:
 *
 * - build_request: the `stream` argument decides, not the body's "stream".
 *   t->model is what goes upstream.  A request the provider cannot express
 *   fails with FAIL_CLIENT and a message naming the part (e.g.
 *   "messages[3].tool_calls[0].function.arguments is not valid JSON").
 * - model (parse_response, stream_new): the name the client should see in
 *   the answer (its alias); NULL keeps the upstream's.  stream_new returns
 *   NULL only when memory ran out.
 * - parse_response and the stream decoder stamp "created" with the
 *   gateway's clock where the provider gives none; every chunk of a stream
 *   carries the same id, created and model, as OpenAI's do.
 * - stream_feed returns 0 while the stream goes on, and after it ended
 *   properly (emit had done = true; later bytes are ignored); the callback's
 *   non-zero value when it stopped decoding; -1 when the stream failed: an
 *   error event from the upstream, or bytes that are not a stream of this
 *   format.  On -1 emit was called once with error set (its class; for
 *   malformed input FAIL_BAD_RESPONSE) and chunk holding an OpenAI error
 *   object {"error":{"message","type","code"}} ready to be written to the
 *   client as a data: line.  After a non-zero return the stream is over:
 *   further calls return the same value.
 * - A stream that stops without its terminator never gets done = true: the
 *   caller sees the cut (FAIL_STREAM_CUT) when the transfer ends.
 */

/* True once the stream emitted a chunk carrying content: non-empty text or
 * refusal, or a tool call.  It turns true just before that chunk's emit
 * call, so inside the callback it already counts the chunk at hand.  The
 * gateway commits a stream to its client (and stops the first-token timer)
 * on this, not on the role-only chunk that opens every stream. */
bool ad_stream_has_content(const struct ad_stream *s);

/* The HTTP status to answer an OpenAI client with, for an upstream non-2xx
 * answer that classify() put in class c: the status OpenAI gives that case
 * (context length 400, exhausted quota 429, overloaded 503 for Anthropic's
 * 529), else the upstream's own (502 for one outside 400..599).  With the
 * body classify() made, gw_classify_http() reads it back as class c. */
int ad_client_status(enum fail_class c, long upstream_status);

#endif
