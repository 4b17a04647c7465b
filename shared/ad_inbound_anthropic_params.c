/*
 * ad_inbound_anthropic_params: an Anthropic request's tools, tool_choice
 * and parameters in OpenAI terms.  Dropped for want of an equivalent:
 * top_k, thinking, service_tier.  Server tools (typed tools such as web
 * search) are refused: no OpenAI target can run them.
 */
#include "ad_inbound_anthropic.h"

#include <string.h>

static int append(json_t *arr, json_t *v, struct ad_error *err)
{
    return json_array_append_new(arr, v) < 0 ? ad_oom(err) : 0;
}

static int tools(const json_t *req, json_t *oreq, struct ad_error *err)
{
    const json_t *list = json_object_get(req, "tools");
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return ad_fail(err, FAIL_CLIENT, "tools must be an array");
    json_t *out = json_array();
    if (!out)
        return ad_oom(err);
    size_t i;
    const json_t *t;
    json_array_foreach(list, i, t) {
        const char *type = ad_str(t, "type");
        const char *name = ad_str(t, "name");
        const json_t *schema = json_object_get(t, "input_schema");
        int rc;
        if (type && strcmp(type, "custom") != 0)
            rc = ad_fail(err, FAIL_CLIENT, "tools[%zu]: server tool %.40s cannot be served through the gateway", i,
                         type);
        else if (!name || !json_is_object(schema))
            rc = ad_fail(err, FAIL_CLIENT, "tools[%zu] needs a name and an input_schema object", i);
        else {
            json_t *fn = json_pack("{s:s, s:O}", "name", name, "parameters", schema);
            const char *desc = ad_str(t, "description");
            if (fn && desc && json_object_set_new(fn, "description", json_string(desc)) < 0) {
                json_decref(fn);
                fn = NULL;
            }
            rc = fn ? append(out, json_pack("{s:s, s:o}", "type", "function", "function", fn), err) : ad_oom(err);
        }
        if (rc < 0) {
            json_decref(out);
            return -1;
        }
    }
    return json_object_set_new(oreq, "tools", out) < 0 ? ad_oom(err) : 0;
}

static int tool_choice(const json_t *req, json_t *oreq, struct ad_error *err)
{
    const json_t *tc = json_object_get(req, "tool_choice");
    if (!tc || json_is_null(tc))
        return 0;
    const char *type = ad_str(tc, "type");
    json_t *v = NULL;
    if (type && strcmp(type, "auto") == 0)
        v = json_string("auto");
    else if (type && strcmp(type, "any") == 0)
        v = json_string("required");
    else if (type && strcmp(type, "none") == 0)
        v = json_string("none");
    else if (type && strcmp(type, "tool") == 0 && ad_str(tc, "name"))
        v = json_pack("{s:s, s:{s:s}}", "type", "function", "function", "name", ad_str(tc, "name"));
    else
        return ad_fail(err, FAIL_CLIENT, "tool_choice type is not auto, any, tool or none");
    if (ad_set_new(oreq, "tool_choice", v) < 0)
        return ad_oom(err);
    if (json_is_true(json_object_get(tc, "disable_parallel_tool_use")) &&
        json_object_set_new(oreq, "parallel_tool_calls", json_false()) < 0)
        return ad_oom(err);
    return 0;
}

static int params(const json_t *req, json_t *oreq, struct ad_error *err)
{
    const json_t *mt = json_object_get(req, "max_tokens");
    if (mt && (!json_is_integer(mt) || json_integer_value(mt) < 1))
        return ad_fail(err, FAIL_CLIENT, "max_tokens must be a positive integer");
    /* max_tokens, not max_completion_tokens: every OpenAI-compatible
     * server takes it, while some reject or ignore the newer name. */
    if (mt && json_object_set(oreq, "max_tokens", (json_t *)mt) < 0)
        return ad_oom(err);
    static const char *const same[] = { "temperature", "top_p" };
    for (size_t i = 0; i < 2; i++) {
        const json_t *v = json_object_get(req, same[i]);
        if (v && !json_is_number(v))
            return ad_fail(err, FAIL_CLIENT, "%s must be a number", same[i]);
        if (v && json_object_set(oreq, same[i], (json_t *)v) < 0)
            return ad_oom(err);
    }
    const json_t *stop = json_object_get(req, "stop_sequences");
    if (stop && !json_is_array(stop))
        return ad_fail(err, FAIL_CLIENT, "stop_sequences must be an array");
    if (json_array_size(stop) && json_object_set(oreq, "stop", (json_t *)stop) < 0)
        return ad_oom(err);
    const char *user = ad_str(json_object_get(req, "metadata"), "user_id");
    if (user && json_object_set_new(oreq, "user", json_string(user)) < 0)
        return ad_oom(err);
    const json_t *fmt = json_object_get(json_object_get(req, "output_config"), "format");
    if (json_is_object(json_object_get(fmt, "schema")) &&
        ad_set_new(oreq, "response_format",
                   json_pack("{s:s, s:{s:s, s:O}}", "type", "json_schema", "json_schema", "name", "output", "schema",
                             json_object_get(fmt, "schema"))) < 0)
        return ad_oom(err);
    if (json_is_true(json_object_get(req, "stream")) &&
        (json_object_set_new(oreq, "stream", json_true()) < 0 ||
         ad_set_new(oreq, "stream_options", json_pack("{s:b}", "include_usage", 1)) < 0))
        return ad_oom(err);
    return 0;
}

int ad_in_params(const json_t *req, json_t *oreq, struct ad_error *err)
{
    if (tools(req, oreq, err) < 0 || tool_choice(req, oreq, err) < 0)
        return -1;
    return params(req, oreq, err);
}
