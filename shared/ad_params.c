/* ad_params: the OpenAI request's parameters and message parts, read once
 * for every adapter. */
#include "ad_params.h"

#include <stdlib.h>
#include <string.h>

int ad_max_tokens(const json_t *req, json_int_t *n, struct ad_error *err)
{
    /* max_completion_tokens is the current name; max_tokens the old one. */
    const char *key = "max_completion_tokens";
    const json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v)) {
        key = "max_tokens";
        v = json_object_get(req, key);
    }
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return ad_fail(err, FAIL_CLIENT, "%s must be a positive integer", key);
    *n = json_integer_value(v);
    return 1;
}

int ad_temperature01(const json_t *req, double *out, struct ad_error *err)
{
    const json_t *t = json_object_get(req, "temperature");
    if (!t || json_is_null(t))
        return 0;
    if (!json_is_number(t))
        return ad_fail(err, FAIL_CLIENT, "temperature must be a number");
    /* OpenAI's range is 0..2, Anthropic's and Bedrock's 0..1.  Clamping
     * keeps every value a client picks in the shared range as it was
     * (scaling would change them all); above 1 means "as random as it goes". */
    double v = json_number_value(t);
    *out = v < 0 ? 0 : v > 1 ? 1 : v;
    return 1;
}

int ad_top_p(const json_t *req, const json_t **out, struct ad_error *err)
{
    const json_t *p = json_object_get(req, "top_p");
    if (!p || json_is_null(p))
        return 0;
    if (!json_is_number(p))
        return ad_fail(err, FAIL_CLIENT, "top_p must be a number");
    *out = p;
    return 1;
}

int ad_stop_list(const json_t *req, json_t **out, struct ad_error *err)
{
    const json_t *stop = json_object_get(req, "stop");
    *out = NULL;
    if (!stop || json_is_null(stop))
        return 0;
    if (!json_is_string(stop) && !json_is_array(stop))
        return ad_fail(err, FAIL_CLIENT, "stop must be a string or an array of strings");
    json_t *seq = json_array();
    if (!seq)
        return ad_oom(err);
    int rc = 0;
    if (json_is_string(stop)) {
        if (json_string_length(stop))
            rc = json_array_append(seq, (json_t *)stop);
    } else {
        size_t i;
        const json_t *s;
        json_array_foreach(stop, i, s) {
            if (!json_is_string(s)) {
                json_decref(seq);
                return ad_fail(err, FAIL_CLIENT, "stop[%zu] must be a string", i);
            }
            if (json_string_length(s) && (rc = json_array_append(seq, (json_t *)s)) < 0)
                break;
        }
    }
    if (rc < 0 || json_array_size(seq) == 0) {
        json_decref(seq);
        return rc < 0 ? ad_oom(err) : 0;
    }
    *out = seq;
    return 1;
}

json_t *ad_tool_args(const json_t *args, size_t mi, size_t ci, struct ad_error *err)
{
    json_t *input;
    if (json_is_object(args)) {
        input = json_deep_copy(args); /* lenient clients send the object itself */
    } else if (!args || json_is_null(args) || (json_is_string(args) && !ad_has_text(json_string_value(args)))) {
        input = json_object(); /* a call without arguments */
    } else if (json_is_string(args)) {
        json_error_t jerr;
        input = json_loads(json_string_value(args), 0, &jerr);
        if (!input) {
            ad_fail(err, FAIL_CLIENT, "messages[%zu].tool_calls[%zu].function.arguments is not valid JSON: %s", mi, ci,
                    jerr.text);
            return NULL;
        }
        if (!json_is_object(input)) {
            json_decref(input);
            ad_fail(err, FAIL_CLIENT, "messages[%zu].tool_calls[%zu].function.arguments is not a JSON object", mi, ci);
            return NULL;
        }
    } else {
        ad_fail(err, FAIL_CLIENT, "messages[%zu].tool_calls[%zu].function.arguments must be a string", mi, ci);
        return NULL;
    }
    if (!input)
        ad_oom(err);
    return input;
}

int ad_tool_call(const json_t *call, size_t mi, size_t ci, const char **id, const char **name, json_t **args,
                 struct ad_error *err)
{
    const json_t *fn = json_object_get(call, "function");
    *id = ad_str(call, "id");
    *name = ad_str(fn, "name");
    *args = NULL;
    if (!*id || !**id || !*name || !**name)
        return ad_fail(err, FAIL_CLIENT, "messages[%zu].tool_calls[%zu] needs an id and a function name", mi, ci);
    *args = ad_tool_args(json_object_get(fn, "arguments"), mi, ci, err);
    return *args ? 0 : -1;
}

int ad_image_data(const char *url, size_t mi, size_t pi, char **mime, const char **data, struct ad_error *err)
{
    *mime = NULL;
    int rc = ad_data_url(url, mime, data);
    if (rc == -2)
        return ad_oom(err);
    if (rc < 0 || !**data || !**mime) {
        free(*mime);
        *mime = NULL;
        return ad_fail(err, FAIL_CLIENT, "messages[%zu].content[%zu]: image_url must be http(s) or a base64 data URL",
                       mi, pi);
    }
    return 0;
}

int ad_content_parts(const json_t *content, size_t mi, bool images, bool refusal, const struct ad_part_ops *ops,
                     void *arg, struct ad_error *err)
{
    if (!content || json_is_null(content))
        return 0;
    if (json_is_string(content))
        return ops->text(arg, json_string_value(content), err);
    if (!json_is_array(content))
        return ad_fail(err, FAIL_CLIENT, "messages[%zu].content must be a string, an array or null", mi);
    size_t pi;
    const json_t *part;
    json_array_foreach(content, pi, part) {
        const char *type = ad_str(part, "type");
        const char *key = !type ? NULL : strcmp(type, "text") == 0 ? "text"
                                     : refusal && strcmp(type, "refusal") == 0 ? "refusal" : NULL;
        int rc;
        if (key && json_is_string(json_object_get(part, key))) {
            rc = ops->text(arg, ad_str(part, key), err);
        } else if (images && type && strcmp(type, "image_url") == 0) {
            const json_t *iu = json_object_get(part, "image_url");
            const char *url = json_is_string(iu) ? json_string_value(iu) : ad_str(iu, "url");
            rc = url ? ops->image(arg, url, mi, pi, err)
                     : ad_fail(err, FAIL_CLIENT, "messages[%zu].content[%zu].image_url.url is missing", mi, pi);
        } else {
            rc = ad_fail(err, FAIL_CLIENT, "messages[%zu].content[%zu]: a %.40s part cannot be sent to %s here", mi,
                         pi, type ? type : "untyped", ops->provider);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}
