/*
 * ad_inbound_anthropic_resp: an OpenAI chat.completion as the Anthropic
 * message a client on the Anthropic SDK expects, and the mappings the
 * streamed form shares with it.
 */
#include "ad_inbound_anthropic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ad_in_stop_reason(const char *finish)
{
    if (!finish || strcmp(finish, "stop") == 0)
        return "end_turn"; /* which stop sequence matched, if any, is not known */
    if (strcmp(finish, "length") == 0)
        return "max_tokens";
    if (strcmp(finish, "tool_calls") == 0 || strcmp(finish, "function_call") == 0)
        return "tool_use";
    if (strcmp(finish, "content_filter") == 0)
        return "refusal";
    return "end_turn";
}

json_t *ad_in_usage(const json_t *u)
{
    const json_t *d = json_object_get(u, "prompt_tokens_details");
    json_int_t prompt = ad_uint(u, "prompt_tokens", 0);
    json_int_t read = ad_uint(d, "cached_tokens", 0);
    json_int_t write = ad_uint(d, "cache_write_tokens", 0);
    json_int_t input = prompt > read + write ? prompt - read - write : 0;
    return json_pack("{s:I, s:I, s:I, s:I}", "input_tokens", input, "cache_creation_input_tokens", write,
                     "cache_read_input_tokens", read, "output_tokens", ad_uint(u, "completion_tokens", 0));
}

char *ad_in_message_id(const char *id)
{
    char *out = NULL;
    if (!id || !*id)
        id = "gateway";
    if (strncmp(id, "msg_", 4) == 0)
        return strdup(id);
    return asprintf(&out, "msg_%s", id) < 0 ? NULL : out;
}

json_t *ad_in_tool_input(const char *arguments)
{
    if (!arguments || !ad_has_text(arguments))
        return json_object();
    json_t *v = json_loads(arguments, 0, NULL);
    if (json_is_object(v))
        return v;
    json_decref(v);
    return json_pack("{s:s}", "_raw", arguments);
}

static int text_blocks(json_t *content, const json_t *msg)
{
    const json_t *c = json_object_get(msg, "content");
    if (json_is_string(c) && json_string_length(c))
        return json_array_append_new(content, json_pack("{s:s, s:O}", "type", "text", "text", c));
    size_t i;
    const json_t *p;
    json_array_foreach(c, i, p) {
        const json_t *t = json_object_get(p, "text");
        if (!json_is_string(t))
            t = json_object_get(p, "refusal");
        if (json_string_length(t) &&
            json_array_append_new(content, json_pack("{s:s, s:O}", "type", "text", "text", t)) < 0)
            return -1;
    }
    const json_t *refusal = json_object_get(msg, "refusal");
    if (json_string_length(refusal))
        return json_array_append_new(content, json_pack("{s:s, s:O}", "type", "text", "text", refusal));
    return 0;
}

static int tool_blocks(json_t *content, const json_t *msg, struct ad_error *err)
{
    size_t i;
    const json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call) {
        const json_t *fn = json_object_get(call, "function");
        const char *id = ad_str(call, "id");
        const char *name = ad_str(fn, "name");
        if (!id || !name)
            return ad_fail(err, FAIL_BAD_RESPONSE, "upstream tool_calls[%zu] has no id or name", i);
        json_t *input = ad_in_tool_input(ad_str(fn, "arguments"));
        json_t *b = input ? json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", id, "name", name, "input", input)
                          : NULL;
        if (json_array_append_new(content, b) < 0)
            return ad_oom(err);
    }
    return 0;
}

json_t *ad_in_response(const json_t *completion, const char *model, struct ad_error *err)
{
    const json_t *choice = json_array_get(json_object_get(completion, "choices"), 0);
    const json_t *msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answer has no choices[0].message");
        return NULL;
    }
    json_t *content = json_array();
    char *id = ad_in_message_id(ad_str(completion, "id"));
    if (!content || !id || text_blocks(content, msg) < 0) {
        json_decref(content);
        free(id);
        ad_oom(err);
        return NULL;
    }
    if (tool_blocks(content, msg, err) < 0) {
        json_decref(content);
        free(id);
        return NULL;
    }
    if (!model)
        model = ad_str(completion, "model");
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:n, s:o}", "id", id, "type", "message", "role",
                            "assistant", "model", model ? model : "unknown", "content", content, "stop_reason",
                            ad_in_stop_reason(ad_str(choice, "finish_reason")), "stop_sequence", "usage",
                            ad_in_usage(json_object_get(completion, "usage")));
    free(id);
    if (!out)
        ad_oom(err);
    return out;
}
