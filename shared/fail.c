/* fail: names of the attempt outcome classes, as logs and events show them. */
#include "fail.h"

static const char *const fail_names[FAIL__COUNT] = {
    [FAIL_NONE] = "ok",
    [FAIL_CONNECT] = "connect_failed",
    [FAIL_DNS] = "dns",
    [FAIL_TLS] = "tls",
    [FAIL_CONNECT_TIMEOUT] = "connect_timeout",
    [FAIL_FIRST_TOKEN_TIMEOUT] = "first_token_timeout",
    [FAIL_IDLE_TIMEOUT] = "idle_stream_timeout",
    [FAIL_RATE_LIMIT] = "rate_limited",
    [FAIL_QUOTA] = "quota_exhausted",
    [FAIL_SERVER] = "server_error",
    [FAIL_AUTH] = "auth_failed",
    [FAIL_NOT_FOUND] = "not_found",
    [FAIL_CONTEXT] = "context_length",
    [FAIL_CLIENT] = "client_error",
    [FAIL_STREAM_ERROR] = "stream_error",
    [FAIL_STREAM_CUT] = "stream_cut",
    [FAIL_BAD_RESPONSE] = "bad_response",
    [FAIL_CANCELLED] = "cancelled",
    [FAIL_DEADLINE] = "deadline",
    [FAIL_DISABLED] = "disabled",
    [FAIL_INTERNAL] = "internal",
    [FAIL_PROBE] = "probe_failed",
    [FAIL_HEDGED] = "hedged",
    [FAIL_INVALID_RESPONSE] = "invalid_response",
};

const char *fail_class_name(enum fail_class c)
{
    return (unsigned)c < FAIL__COUNT ? fail_names[c] : "unknown";
}

int fail_counts_against_health(enum fail_class c)
{
    switch (c) {
    case FAIL_CONNECT:
    case FAIL_DNS:
    case FAIL_TLS:
    case FAIL_CONNECT_TIMEOUT:
    case FAIL_FIRST_TOKEN_TIMEOUT:
    case FAIL_IDLE_TIMEOUT:
    case FAIL_RATE_LIMIT:
    case FAIL_QUOTA:
    case FAIL_SERVER:
    case FAIL_AUTH:
    case FAIL_NOT_FOUND:
    case FAIL_STREAM_ERROR:
    case FAIL_STREAM_CUT:
    case FAIL_BAD_RESPONSE:
    case FAIL_PROBE:
        return 1;
    default:
        return 0;
    }
}

int fail_is_hard(enum fail_class c)
{
    return c == FAIL_AUTH || c == FAIL_NOT_FOUND || c == FAIL_QUOTA;
}
