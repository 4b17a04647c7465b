/*
 * ad_bedrock: the AWS Bedrock Converse adapter's parts (internal to
 * shared/ad_bedrock*.c and their tests).
 */
#ifndef BS_AD_BEDROCK_H
#define BS_AD_BEDROCK_H

#include "ad_common.h"

/* The SigV4 signing name: not the endpoint prefix bedrock-runtime. */
#define AD_BEDROCK_SERVICE "bedrock"

/* A bound on content block indexes a stream may use (as for Anthropic). */
#define AD_BEDROCK_MAX_BLOCKS 4096

/* ad_bedrock_req.c */
int ad_bedrock_build(const json_t *req, bool stream, const struct ad_target *t, struct ad_request *out,
                     struct ad_error *err);
/* ad_bedrock_msgs.c: OpenAI messages -> Converse system, messages and the
 * names of the tools the history uses (Bedrock wants them declared). */
int ad_bedrock_messages(const json_t *messages, struct ad_msgs *out, struct ad_error *err);
/* ad_bedrock_tools.c: toolConfig and JSON mode into body. */
int ad_bedrock_tools(const json_t *req, const json_t *history_tools, json_t *body, struct ad_error *err);
/* ad_bedrock_sign.c: the URL and the headers, signed. */
int ad_bedrock_sign(const struct ad_target *t, const char *path, struct ad_request *out, struct ad_error *err);

/* ad_bedrock_resp.c */
json_t *ad_bedrock_parse(const char *body, size_t len, const char *model, struct ad_error *err);

/* ad_bedrock_stream.c */
struct ad_stream *ad_bedrock_stream_new(const char *model, bool include_usage);
int ad_bedrock_feed(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit, void *arg);

/* ad_bedrock_err.c */
enum fail_class ad_bedrock_classify(long status, const char *body, size_t len, json_t **openai_error);
/* The class of an AWS error by its exception name (any "ns#" prefix or
 * ":..." suffix ignored), message and HTTP status (0 inside a stream). */
enum fail_class ad_bedrock_error_class(const char *type, const char *message, long status);
json_t *ad_bedrock_openai_error(enum fail_class c, const char *type, const char *message);

/* ad_bedrock.c: what both answer paths share. */
const char *ad_bedrock_finish(const char *stop_reason, bool tool_calls);
json_t *ad_bedrock_usage(const json_t *usage);
/* "chatcmpl-" and 24 random hex digits: Bedrock answers carry no id. */
void ad_bedrock_id(char out[40]);

#endif
