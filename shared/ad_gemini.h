/*
 * ad_gemini: the Gemini generateContent adapter's parts (internal to
 * shared/ad_gemini*.c, ad_vertex.c and their tests).  Vertex AI serves
 * the same body and answers, so its Gemini adapter reuses all of them
 * with another URL and credential.
 */
#ifndef BS_AD_GEMINI_H
#define BS_AD_GEMINI_H

#include "ad_common.h"

/* The API version put in front of models/ when the base URL names none. */
#define AD_GEMINI_VERSION "v1beta"

/* Put in front of a conversation that would otherwise open with a model
 * turn (or have no turn at all): Gemini wants user first, non-empty. */
#define AD_GEMINI_FIRST_USER "."

/* A Gemini 3 thoughtSignature must come back with its function call on the
 * next turn; it rides inside the OpenAI tool call id after this marker,
 * which clients echo unchanged. */
#define AD_GEMINI_SIG_MARK "~ts~"

/* Bounds on what a schema translation follows, so a hostile schema cannot
 * recurse without end. */
#define AD_GEMINI_MAX_SCHEMA_DEPTH 32

/* ad_gemini_req.c: the request body (contents, systemInstruction, tools,
 * toolConfig, generationConfig), shared with Vertex. */
int ad_gemini_body(const json_t *req, bool stream, json_t *body, struct ad_error *err);
/* ":generateContent" or ":streamGenerateContent?alt=sse" */
const char *ad_gemini_method(bool stream);
/* The path after base for model and method: "/v1beta/models/{model}{method}",
 * without the version when base already ends in one (/v1, /v1beta, ...),
 * and a "models/" prefix of the model taken off.  malloc'd. */
char *ad_gemini_model_path(const char *base, const char *model, const char *method);

/* ad_gemini_msgs.c: OpenAI messages -> contents and systemInstruction
 * (NULL when there is none). */
int ad_gemini_contents(const json_t *messages, json_t **system, json_t **contents, struct ad_error *err);

/* ad_gemini_tools.c: tools, toolConfig and JSON mode into body (and its
 * generationConfig gc). */
int ad_gemini_tools(const json_t *req, json_t *body, json_t *gc, struct ad_error *err);
/* A JSON Schema as Gemini's OpenAPI-subset Schema (a new object); what
 * has no equivalent is left out, what cannot be expressed fails naming
 * where (at, e.g. "tools[0].function.parameters"). */
json_t *ad_gemini_schema(const json_t *schema, const char *at, struct ad_error *err);

/* ad_gemini_resp.c */
json_t *ad_gemini_parse(const char *body, size_t len, const char *model, struct ad_error *err);
/* finish_reason for a finishReason; tool_calls: the answer made calls. */
const char *ad_gemini_finish(const char *reason, bool tool_calls);
/* OpenAI usage from usageMetadata (absent fields count 0). */
json_t *ad_gemini_usage(const json_t *meta);
/* A functionCall part as an OpenAI tool call (id synthesised from idbase
 * and n when the call has none; a thoughtSignature rides in the id). */
json_t *ad_gemini_tool_call(const json_t *part, const char *idbase, size_t n);

/* ad_gemini_stream.c */
struct ad_stream *ad_gemini_stream_new(const char *model, bool include_usage);
int ad_gemini_feed(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit, void *arg);

/* ad_gemini_err.c */
enum fail_class ad_gemini_classify(long status, const char *body, size_t len, json_t **openai_error);
/* The class and OpenAI error body of a Google RPC error object
 * {"code","message","status","details"} (status 0: inside a stream). */
enum fail_class ad_gemini_error(const json_t *e, long status, const char *body, size_t len, json_t **openai_error);

#endif
