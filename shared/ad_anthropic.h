/*
 * ad_anthropic: the Anthropic Messages adapter's parts (internal to
 * shared/ad_anthropic*.c, ad_inbound_anthropic*.c and their tests).
 */
#ifndef BS_AD_ANTHROPIC_H
#define BS_AD_ANTHROPIC_H

#include "ad_common.h"

/* The API version sent when the target names none: the one every
 * Anthropic deployment (and Vertex, Bedrock-Invoke) still accepts. */
#define AD_ANTHROPIC_VERSION "2023-06-01"

/* Anthropic requires max_tokens; OpenAI clients may leave it out.  4096 is
 * within every current Claude model's output limit, so a request without
 * a limit works everywhere (a client wanting more must say so). */
#define AD_ANTHROPIC_DEFAULT_MAX_TOKENS 4096

/* response_format without client tools is served by forcing this one tool
 * whose input_schema is the wanted schema; its input comes back as the
 * message text.  The name is reserved: a client tool may not take it. */
#define AD_ANTHROPIC_JSON_TOOL "backstop_json_response"

/* A bound on content block indexes a stream may use, so garbage cannot
 * make the decoder allocate without limit. */
#define AD_ANTHROPIC_MAX_BLOCKS 4096

/* ad_anthropic_req.c */
int ad_anthropic_build(const json_t *req, bool stream, const struct ad_target *t,
                       struct ad_request *out, struct ad_error *err);
/* ad_anthropic_msgs.c: OpenAI messages -> Anthropic system (string, text
 * block array, or NULL when there is none) and messages. */
int ad_anthropic_messages(const json_t *messages, json_t **system, json_t **out,
                          struct ad_error *err);
/* ad_anthropic_tools.c: tools, tool_choice and response_format into body. */
int ad_anthropic_tools(const json_t *req, json_t *body, struct ad_error *err);

/* ad_anthropic_resp.c */
json_t *ad_anthropic_parse(const char *body, size_t len, const char *model, struct ad_error *err);

/* ad_anthropic_stream.c */
struct ad_stream *ad_anthropic_stream_new(const char *model, bool include_usage);
int ad_anthropic_feed(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit, void *arg);

/* ad_anthropic_err.c */
enum fail_class ad_anthropic_classify(long status, const char *body, size_t len, json_t **openai_error);
/* The class of an Anthropic error by its type, its message (context
 * overflow and credit exhaustion are told by text only) and, when the
 * type says nothing, the HTTP status (0 inside a stream). */
enum fail_class ad_anthropic_error_class(const char *type, const char *message, long status,
                                         const char *body, size_t len);
/* The OpenAI error body for it. */
json_t *ad_anthropic_openai_error(enum fail_class c, const char *type, const char *message);

/* ad_anthropic.c: the mappings both answer paths share. */
/* finish_reason for a stop_reason; tool_calls: real tool calls were made
 * (a forced JSON tool is not one). */
const char *ad_anthropic_finish(const char *stop_reason, bool tool_calls);
/* OpenAI usage from an Anthropic usage object (absent fields count 0). */
json_t *ad_anthropic_usage(const json_t *usage);

#endif
