/*
 * ad_gemini_err: Google RPC errors ({"error":{"code","message","status",
 * "details"}}) as failure classes and OpenAI error bodies.  The status
 * name decides; details[].reason tells a bad key from a bad request (both
 * 400 INVALID_ARGUMENT), the message a context overflow, and a quota id
 * "PerDay" an exhausted daily quota from a rate limit (both 429).
 */
#include "ad_gemini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_classify.h"

static bool says(const char *msg, const char *what)
{
    return msg && strcasestr(msg, what) != NULL;
}

static bool has_reason(const json_t *e, const char *reason)
{
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(e, "details"), i, d) {
        const char *r = ad_str(d, "reason");
        if (r && strcmp(r, reason) == 0)
            return true;
    }
    return false;
}

static const struct {
    const char *status;
    enum fail_class fail;
} statuses[] = {
    { "INVALID_ARGUMENT", FAIL_CLIENT },     { "OUT_OF_RANGE", FAIL_CLIENT },
    /* Billing off or region not served: this target cannot serve anyone. */
    { "FAILED_PRECONDITION", FAIL_AUTH },    { "PERMISSION_DENIED", FAIL_AUTH },
    { "UNAUTHENTICATED", FAIL_AUTH },        { "NOT_FOUND", FAIL_NOT_FOUND },
    { "RESOURCE_EXHAUSTED", FAIL_RATE_LIMIT }, { "INTERNAL", FAIL_SERVER },
    { "UNAVAILABLE", FAIL_SERVER },          { "DEADLINE_EXCEEDED", FAIL_SERVER },
    { "ABORTED", FAIL_SERVER },              { "UNKNOWN", FAIL_SERVER },
    { "CANCELLED", FAIL_SERVER },
};

static enum fail_class error_class(const json_t *e, const char *status, const char *msg, long http, const char *body,
                                   size_t len)
{
    if (has_reason(e, "API_KEY_INVALID"))
        return FAIL_AUTH;
    if (says(msg, "input token count") || says(msg, "exceeds the maximum number of tokens") ||
        says(msg, "context window"))
        return FAIL_CONTEXT;
    if (status && strcmp(status, "RESOURCE_EXHAUSTED") == 0) {
        char *text = json_dumps(e, JSON_COMPACT);
        bool daily = says(text, "PerDay") || says(msg, "per day");
        free(text);
        return daily ? FAIL_QUOTA : FAIL_RATE_LIMIT;
    }
    for (size_t i = 0; status && i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(status, statuses[i].status) == 0)
            return statuses[i].fail;
    const json_t *code = json_object_get(e, "code");
    if (http == 0 && json_is_integer(code))
        http = (long)json_integer_value(code); /* inside a stream the error names its own status */
    if (http == 0)
        return FAIL_STREAM_ERROR;
    return gw_classify_http(http, body, len);
}

static json_t *openai_error(enum fail_class c, const char *status, const char *msg)
{
    if (c == FAIL_AUTH && status && strcmp(status, "PERMISSION_DENIED") == 0)
        return ad_openai_error(msg, "permission_error", "permission_denied");
    if (c == FAIL_AUTH)
        return ad_openai_error(msg, "invalid_request_error", "invalid_api_key");
    if (status && strcmp(status, "UNAVAILABLE") == 0)
        return ad_openai_error(msg, "server_error", "overloaded");
    if (status && strcmp(status, "DEADLINE_EXCEEDED") == 0)
        return ad_openai_error(msg, "server_error", "timeout");
    return ad_openai_error_for(c, msg);
}

enum fail_class ad_gemini_error(const json_t *e, long http, const char *body, size_t len, json_t **openai)
{
    const char *status = ad_str(e, "status");
    const char *msg = ad_str(e, "message");
    enum fail_class c = error_class(e, status, msg, http, body, len);
    if (openai) {
        char fallback[AD_FALLBACK_MSG_LEN];
        msg = ad_error_message(msg, http, fallback);
        *openai = openai_error(c, status, msg);
    }
    return c;
}

enum fail_class ad_gemini_classify(long status, const char *body, size_t len, json_t **openai_error)
{
    json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    /* Some Google front ends wrap the error in an array. */
    const json_t *e = json_object_get(json_is_array(doc) ? json_array_get(doc, 0) : doc, "error");
    enum fail_class c;
    if (status >= 200 && status < 300) {
        c = FAIL_NONE;
        if (openai_error)
            *openai_error = ad_openai_error_for(c, "no error");
    } else {
        c = ad_gemini_error(json_is_object(e) ? e : NULL, status > 0 ? status : 502, body, len, openai_error);
    }
    json_decref(doc);
    return c;
}
