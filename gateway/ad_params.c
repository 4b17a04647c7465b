/* ad_params: OpenAI request parameters read once for every adapter. */
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
    return 0;
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
    return 0;
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

int ad_tool_choice(const json_t *req, const char *provider, enum ad_choice *kind, const char **name,
                   const json_t **allowed, struct ad_error *err)
{
    const json_t *tc = json_object_get(req, "tool_choice");
    *name = NULL;
    *allowed = NULL;
    *kind = AD_CHOICE_AUTO;
    if (!tc || json_is_null(tc))
        return 0;
    if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        if (strcmp(s, "auto") == 0)
            return 0;
        if (strcmp(s, "required") == 0 || strcmp(s, "none") == 0) {
            *kind = s[0] == 'r' ? AD_CHOICE_ANY : AD_CHOICE_NONE;
            return 0;
        }
    } else if (json_is_object(tc)) {
        const char *t = ad_str(tc, "type");
        if (t && strcmp(t, "function") == 0) {
            *name = ad_str(json_object_get(tc, "function"), "name");
            *kind = AD_CHOICE_NAMED;
            if (*name && **name)
                return 0;
        } else if (t && strcmp(t, "allowed_tools") == 0) {
            const json_t *at = json_object_get(tc, "allowed_tools");
            const char *mode = ad_str(at, "mode");
            *allowed = json_object_get(at, "tools");
            if (json_is_array(*allowed) && mode && (strcmp(mode, "auto") == 0 || strcmp(mode, "required") == 0)) {
                *kind = mode[0] == 'r' ? AD_CHOICE_ANY : AD_CHOICE_AUTO;
                return 0;
            }
        }
    }
    *name = NULL;
    *allowed = NULL;
    return ad_fail(err, FAIL_CLIENT, "tool_choice is not one %s can express", provider);
}

bool ad_allowed_has(const json_t *allowed, const char *name)
{
    size_t i;
    const json_t *t;
    json_array_foreach(allowed, i, t) {
        const char *n = ad_str(json_object_get(t, "function"), "name");
        if (!n)
            n = ad_str(t, "name");
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

json_t *ad_tools_map(const json_t *list, const json_t *allowed,
                     json_t *(*one)(const json_t *tool, size_t i, struct ad_error *err), struct ad_error *err)
{
    json_t *out = json_array();
    if (!out) {
        ad_oom(err);
        return NULL;
    }
    size_t i;
    const json_t *tool;
    json_array_foreach(list, i, tool) {
        const char *name = ad_str(json_object_get(tool, "function"), "name");
        if (allowed && (!name || !ad_allowed_has(allowed, name)))
            continue;
        json_t *t = one(tool, i, err);
        if (!t || json_array_append_new(out, t) < 0) {
            if (t)
                ad_oom(err);
            json_decref(out);
            return NULL;
        }
    }
    return out;
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
