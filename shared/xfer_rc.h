/*
 * xfer_rc: how an upstream transfer ended, in Backstop's own terms, so that
 * no caller of an upstream client (gateway/gw_upstream.h) or of the
 * classifier (gw_classify.h) sees which HTTP client carried the request.
 * Only the libcurl backend (gateway/gw_up_curl.c) maps libcurl's codes to
 * these.  The texts are the ones libcurl gives for the same failure
 * (curl_easy_strerror), because the access log and the all-down answer
 * showed those before the built-in client existed and clients may match them.
 */
#ifndef BS_XFER_RC_H
#define BS_XFER_RC_H

enum xfer_rc {
    XFER_OK = 0,
    XFER_RESOLVE,    /* the host name (or the proxy's) did not resolve */
    XFER_CONNECT,    /* no connection could be made */
    XFER_TIMEOUT,    /* a transfer time limit passed */
    XFER_TLS,        /* the TLS handshake or the peer's certificate failed */
    XFER_SEND,       /* the request could not be sent */
    XFER_RECV,       /* the connection failed while the answer was read */
    XFER_PARTIAL,    /* the connection closed before the framed end of the answer */
    XFER_NOTHING,    /* the connection closed before any byte of an answer */
    XFER_BAD_REPLY,  /* the bytes were not an HTTP answer */
    XFER_WRITE,      /* the owner's callback refused the bytes */
    XFER_NOMEM,      /* out of memory */
    XFER_OTHER,      /* anything else (the backend's own text says what) */
};

/* libcurl's text for the same failure; "Unknown error" for XFER_OTHER. */
const char *xfer_rc_text(enum xfer_rc rc);

#endif
