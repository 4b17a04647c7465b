/*
 * ad_anthropic_err: Anthropic errors as failure classes and OpenAI error
 * bodies.  The error type decides where it says enough; the message text
 * only where Anthropic folds a distinct case into invalid_request_error
 * (context overflow, exhausted credit); the status when there is no
 * usable body (a proxy's HTML page, a Google RPC wrapper on Vertex).
 */
#include "ad_anthropic.h"

#include <stdio.h>
#include <string.h>

#include "gw_classify.h"

static bool says(const char *msg, const char *what)
{
    return msg && strcasestr(msg, what) != NULL;
}

static bool context_overflow(const char *msg)
{
    return says(msg, "prompt is too long") || says(msg, "exceed context limit") ||
           says(msg, "context window") || says(msg, "context length");
}

static const struct {
    const char *type;
    enum fail_class fail;
} types[] = {
    { "invalid_request_error", FAIL_CLIENT },
    { "authentication_error", FAIL_AUTH },
    { "permission_error", FAIL_AUTH },
    { "billing_error", FAIL_QUOTA },
    { "not_found_error", FAIL_NOT_FOUND },
    /* Over Anthropic's 32 MB: another provider may take the request, and
     * the request says nothing about this target's health: the class that
     * fails over without counting against it. */
    { "request_too_large", FAIL_CONTEXT },
    { "rate_limit_error", FAIL_RATE_LIMIT },
    { "api_error", FAIL_SERVER },
    { "overloaded_error", FAIL_SERVER },
    { "timeout_error", FAIL_SERVER },
};

enum fail_class ad_anthropic_error_class(const char *type, const char *message, long status, const char *body,
                                         size_t len)
{
    if (context_overflow(message) && (status == 400 || status == 413 || status == 0 ||
                                      (type && strcmp(type, "invalid_request_error") == 0)))
        return FAIL_CONTEXT;
    /* Anthropic reports an empty prepaid balance as a 400. */
    if (says(message, "credit balance is too low"))
        return FAIL_QUOTA;
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i].type) == 0)
            return types[i].fail;
    if (status == 0)
        return FAIL_STREAM_ERROR;
    if (status == 413)
        return FAIL_CONTEXT;
    return gw_classify_http(status, body, len);
}

json_t *ad_anthropic_openai_error(enum fail_class c, const char *type, const char *message)
{
    /* The gateway's convention for overload (OpenAI has no such code). */
    if (type && strcmp(type, "overloaded_error") == 0)
        return ad_openai_error(message, "server_error", "overloaded");
    if (type && strcmp(type, "timeout_error") == 0)
        return ad_openai_error(message, "server_error", "timeout");
    if (type && strcmp(type, "permission_error") == 0)
        return ad_openai_error(message, "permission_error", "permission_denied");
    if (type && strcmp(type, "authentication_error") == 0)
        return ad_openai_error(message, "invalid_request_error", "invalid_api_key");
    return ad_openai_error_for(c, message);
}

/* The error object of a body: Anthropic's {"type":"error","error":{...}},
 * Google's {"error":{"code","message","status"}}, either one inside an
 * array (Vertex wraps some answers so). */
static const json_t *error_of(const json_t *doc)
{
    if (json_is_array(doc))
        doc = json_array_get(doc, 0);
    const json_t *e = json_object_get(doc, "error");
    return json_is_object(e) ? e : NULL;
}

enum fail_class ad_anthropic_classify(long status, const char *body, size_t len, json_t **openai_error)
{
    json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const json_t *e = error_of(doc);
    const char *type = ad_str(e, "type");
    const char *msg = ad_str(e, "message");
    enum fail_class c = status >= 200 && status < 300 ? FAIL_NONE
                                                      : ad_anthropic_error_class(type, msg, status, body, len);
    if (status == 529)
        type = "overloaded_error"; /* 529 means overloaded whatever the body */
    if (openai_error) {
        char fallback[AD_FALLBACK_MSG_LEN];
        msg = ad_error_message(msg, status, fallback);
        *openai_error = ad_anthropic_openai_error(c, type, msg);
    }
    json_decref(doc);
    return c;
}
