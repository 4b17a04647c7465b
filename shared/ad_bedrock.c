/*
 * ad_bedrock: the mappings the Bedrock Converse adapter's answer paths (whole
 * and streamed) share so they agree; its operations table is in
 * ad_bedrock_ops.c.
 */
#include "ad_bedrock.h"

#include <sodium.h>
#include <string.h>

const char *ad_bedrock_finish(const char *stop_reason, bool tool_calls)
{
    if (!stop_reason)
        return tool_calls ? "tool_calls" : "stop";
    if (strcmp(stop_reason, "max_tokens") == 0 || strcmp(stop_reason, "model_context_window_exceeded") == 0)
        return "length";
    if (strcmp(stop_reason, "guardrail_intervened") == 0 || strcmp(stop_reason, "content_filtered") == 0)
        return "content_filter";
    if (strcmp(stop_reason, "tool_use") == 0)
        return tool_calls ? "tool_calls" : "stop";
    /* end_turn, stop_sequence, and the malformed_* reasons: the model
     * stopped, and what it said is all there is. */
    return "stop";
}

json_t *ad_bedrock_usage(const json_t *u)
{
    /* As for Anthropic (providers.md 6.2): inputTokens leaves the cached
     * ones out, so the prompt is the sum of the three. */
    return ad_openai_usage(ad_uint(u, "inputTokens", 0), ad_uint(u, "cacheReadInputTokens", 0),
                           ad_uint(u, "cacheWriteInputTokens", 0), ad_uint(u, "outputTokens", 0));
}

void ad_bedrock_id(char out[40])
{
    unsigned char r[12];
    static const char digits[] = "0123456789abcdef";
    if (sodium_init() < 0)
        memset(r, 0, sizeof r); /* cannot happen once keys.c ran; an id need not be secret */
    else
        randombytes_buf(r, sizeof r);
    memcpy(out, "chatcmpl-", 9);
    for (size_t i = 0; i < sizeof r; i++) {
        out[9 + 2 * i] = digits[r[i] >> 4];
        out[10 + 2 * i] = digits[r[i] & 15];
    }
    out[9 + 2 * sizeof r] = '\0';
}
