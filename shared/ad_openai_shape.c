/*
 * ad_openai_shape: builders of the OpenAI-shaped objects that adapters hand
 * to the gateway (errors, usage, stream chunks), so every adapter answers
 * in exactly the same shape.
 */
#include "ad_common.h"

#include <stdio.h>

static time_t clock_now(void)
{
    return time(NULL);
}

time_t (*ad_clock)(void) = clock_now;

json_t *ad_openai_error(const char *message, const char *type, const char *code)
{
    return json_pack("{s:{s:s, s:s, s:n, s:s?}}", "error", "message", message ? message : "",
                     "type", type, "param", "code", code);
}

json_t *ad_openai_error_for(enum fail_class c, const char *message)
{
    /* The table's codes are the ones gw_classify_http recognises, so the
     * body classifies back into the class it came from. */
    return ad_openai_error(message, fail_openai_type(c), fail_openai_code(c));
}

json_t *ad_openai_usage(json_int_t input, json_int_t cache_read, json_int_t cache_write,
                        json_int_t output)
{
    json_int_t prompt = input + cache_read + cache_write;
    json_t *details = json_pack("{s:I}", "cached_tokens", cache_read);
    if (details && cache_write > 0 &&
        json_object_set_new(details, "cache_write_tokens", json_integer(cache_write)) < 0) {
        json_decref(details);
        return NULL;
    }
    if (!details)
        return NULL;
    return json_pack("{s:I, s:I, s:I, s:o}", "prompt_tokens", prompt, "completion_tokens", output,
                     "total_tokens", prompt + output, "prompt_tokens_details", details);
}

json_t *ad_openai_chunk(const char *id, json_int_t created, const char *model, json_t *delta,
                        const char *finish_reason, bool usage_null, json_t *usage)
{
    json_t *choices = json_array();
    json_t *chunk = json_pack("{s:s, s:s, s:I, s:s}", "id", id, "object", "chat.completion.chunk",
                              "created", created, "model", model);
    if (!choices || !chunk)
        goto fail;
    if (delta || !usage) {
        json_t *choice = json_pack("{s:i, s:o, s:o}", "index", 0, "delta",
                                   delta ? delta : json_object(), "finish_reason",
                                   finish_reason ? json_string(finish_reason) : json_null());
        delta = NULL; /* json_pack took it, on success or failure */
        if (json_array_append_new(choices, choice) < 0)
            goto fail;
    }
    if (json_object_set_new(chunk, "choices", choices) < 0) {
        choices = NULL;
        goto fail;
    }
    choices = NULL;
    if (usage) {
        if (json_object_set_new(chunk, "usage", usage) < 0) {
            usage = NULL;
            goto fail;
        }
    } else if (usage_null && json_object_set_new(chunk, "usage", json_null()) < 0) {
        goto fail;
    }
    return chunk;
fail:
    json_decref(delta);
    json_decref(usage);
    json_decref(choices);
    json_decref(chunk);
    return NULL;
}
