/*
 * ad_params: the OpenAI sampling parameters every translating adapter reads
 * the same way (limits, temperature, top_p, stop), checked once here so
 * each provider only decides where they go.
 */
#include "ad_common.h"

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

int ad_stop_sequences(const json_t *req, json_t **out, struct ad_error *err)
{
    *out = NULL;
    const json_t *stop = json_object_get(req, "stop");
    if (!stop || json_is_null(stop))
        return 0;
    json_t *seq = json_array();
    if (!seq)
        return ad_oom(err);
    int rc = 0;
    if (json_is_string(stop)) {
        if (json_string_length(stop))
            rc = json_array_append(seq, (json_t *)stop);
    } else if (json_is_array(stop)) {
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
    } else {
        json_decref(seq);
        return ad_fail(err, FAIL_CLIENT, "stop must be a string or an array of strings");
    }
    if (rc < 0 || json_array_size(seq) == 0) {
        json_decref(seq);
        return rc < 0 ? ad_oom(err) : 0;
    }
    *out = seq;
    return 1;
}
