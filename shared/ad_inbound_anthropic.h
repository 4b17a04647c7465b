/* ad_inbound_anthropic: what the inbound files share (internal). */
#ifndef BS_AD_INBOUND_ANTHROPIC_H
#define BS_AD_INBOUND_ANTHROPIC_H

#include "ad_common.h"
#include "ad_inbound.h"

/* ad_inbound_anthropic_params.c: tools, tool_choice and parameters. */
int ad_in_params(const json_t *req, json_t *oreq, struct ad_error *err);
/* stop_reason for a finish_reason (NULL: the answer just ended). */
const char *ad_in_stop_reason(const char *finish);
/* Anthropic usage from OpenAI usage (NULL or absent fields count 0):
 * input_tokens excludes what the cache served or stored, as Anthropic
 * counts it. */
json_t *ad_in_usage(const json_t *usage);
/* A message id for the client: "msg_"-prefixed as Anthropic's are. */
char *ad_in_message_id(const char *id);
/* A tool call's arguments as the input object Anthropic wants; text that
 * is not a JSON object is kept whole as {"_raw": text} rather than lost. */
json_t *ad_in_tool_input(const char *arguments);

#endif
