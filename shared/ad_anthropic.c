/*
 * ad_anthropic: the mappings the Anthropic Messages adapter's answer paths (whole
 * and streamed) share so they agree; its operations table is in
 * ad_anthropic_ops.c.
 */
#include "ad_anthropic.h"

#include <string.h>

const char *ad_anthropic_finish(const char *stop_reason, bool tool_calls)
{
    if (!stop_reason)
        return tool_calls ? "tool_calls" : "stop";
    if (strcmp(stop_reason, "max_tokens") == 0 ||
        strcmp(stop_reason, "model_context_window_exceeded") == 0)
        return "length";
    if (strcmp(stop_reason, "refusal") == 0)
        return "content_filter";
    /* tool_use that only fed the forced JSON tool is a plain answer. */
    if (strcmp(stop_reason, "tool_use") == 0)
        return tool_calls ? "tool_calls" : "stop";
    /* end_turn, stop_sequence, and pause_turn: a paused server-tool turn
     * has nothing an OpenAI client could resume, so it reads as an end. */
    return "stop";
}

json_t *ad_anthropic_usage(const json_t *u)
{
    return ad_openai_usage(ad_uint(u, "input_tokens", 0), ad_uint(u, "cache_read_input_tokens", 0),
                           ad_uint(u, "cache_creation_input_tokens", 0), ad_uint(u, "output_tokens", 0));
}
