/*
 * gw_classify: the failure-class table of docs/architecture.md made code.
 * Status first, then the body's error code where the status alone is
 * ambiguous (429 rate vs quota, 400 context length).
 */
#include "gw_classify.h"

#include <string.h>

enum fail_class gw_classify_curl(CURLcode rc, bool connected, bool answered)
{
    switch (rc) {
    case CURLE_OK:
        return FAIL_NONE;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return FAIL_DNS;
    case CURLE_COULDNT_CONNECT:
        return FAIL_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return connected ? FAIL_FIRST_TOKEN_TIMEOUT : FAIL_CONNECT_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
        return FAIL_TLS;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        /* Reset or closed by the peer: before any answer it is a connection
         * failure, during one the answer was cut. */
        return answered ? FAIL_STREAM_CUT : FAIL_CONNECT;
    case CURLE_OUT_OF_MEMORY:
        return FAIL_INTERNAL;
    default:
        return answered ? FAIL_BAD_RESPONSE : FAIL_CONNECT;
    }
}

static bool body_has(const char *body, size_t len, const char *needle)
{
    return body && len && memmem(body, len, needle, strlen(needle)) != NULL;
}

enum fail_class gw_classify_http(long status, const char *body, size_t len)
{
    if (status >= 200 && status < 300)
        return FAIL_NONE;
    switch (status) {
    case 401:
    case 403:
        return FAIL_AUTH;
    case 402:
        return FAIL_QUOTA;
    case 404:
        return FAIL_NOT_FOUND;
    case 408:
        return FAIL_SERVER;
    case 409:
        return FAIL_SERVER;
    case 429:
        return body_has(body, len, "insufficient_quota") ? FAIL_QUOTA : FAIL_RATE_LIMIT;
    case 400:
        if (body_has(body, len, "context_length_exceeded") ||
            body_has(body, len, "maximum context length"))
            return FAIL_CONTEXT;
        return FAIL_CLIENT;
    }
    if (status >= 500)
        return FAIL_SERVER;
    if (status >= 400)
        return FAIL_CLIENT;
    /* 1xx/3xx as a final answer: nothing a client can use. */
    return FAIL_BAD_RESPONSE;
}
