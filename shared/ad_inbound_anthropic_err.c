/*
 * ad_inbound_anthropic_err: errors in the shape an Anthropic client reads,
 * {"type":"error","error":{"type","message"}}.  The SDKs pick their
 * exception by HTTP status; the type is for people and logs, so it follows
 * the status, except where the OpenAI body says more (exhausted quota).
 */
#include "ad_inbound_anthropic.h"

#include <stdio.h>
#include <string.h>

const char *ad_in_error_type_status(long status)
{
    switch (status) {
    case 400:
        return "invalid_request_error";
    case 401:
        return "authentication_error";
    case 402:
        return "billing_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 503:
    case 529:
        return "overloaded_error";
    case 504:
        return "timeout_error";
    }
    return status >= 400 && status < 500 ? "invalid_request_error" : "api_error";
}

const char *ad_in_error_type_class(enum fail_class c)
{
    return fail_anthropic_type(c);
}

json_t *ad_in_error(long status, const json_t *openai_error)
{
    const json_t *e = json_object_get(openai_error, "error");
    const char *msg = json_is_string(e) ? json_string_value(e) : ad_str(e, "message");
    const char *code = ad_str(e, "code");
    const char *type = ad_in_error_type_status(status);
    if ((code && strcmp(code, "insufficient_quota") == 0) ||
        (ad_str(e, "type") && strcmp(ad_str(e, "type"), "insufficient_quota") == 0))
        type = "billing_error";
    char fallback[AD_FALLBACK_MSG_LEN];
    msg = ad_error_message(msg, status, fallback);
    return json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type, "message", msg);
}
