/*
 * gw_classify: the failure-class table of docs/architecture.md made code.
 * Status first, then the body's error code where the status alone is
 * ambiguous (429 rate vs quota, 400 context length).
 */
#include "gw_classify.h"

#include <string.h>

enum fail_class gw_classify_xfer(enum xfer_rc rc, bool connected, bool answered)
{
    switch (rc) {
    case XFER_OK:
        return FAIL_NONE;
    case XFER_RESOLVE:
        return FAIL_DNS;
    case XFER_CONNECT:
        return FAIL_CONNECT;
    case XFER_TIMEOUT:
        return connected ? FAIL_FIRST_TOKEN_TIMEOUT : FAIL_CONNECT_TIMEOUT;
    case XFER_TLS:
        return FAIL_TLS;
    case XFER_NOTHING:
    case XFER_RECV:
    case XFER_SEND:
    case XFER_PARTIAL:
        /* Reset or closed by the peer: before any answer it is a connection
         * failure, during one the answer was cut. */
        return answered ? FAIL_STREAM_CUT : FAIL_CONNECT;
    case XFER_NOMEM:
        return FAIL_INTERNAL;
    case XFER_BAD_REPLY:
    case XFER_WRITE:
    case XFER_OTHER:
        break;
    }
    return answered ? FAIL_BAD_RESPONSE : FAIL_CONNECT;
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
