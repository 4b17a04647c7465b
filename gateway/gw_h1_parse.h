/*
 * gw_h1_parse: incremental framing of an HTTP/1.x response, for the
 * built-in upstream client (gw_h1.c).  It finds the head, hands each head
 * line and then the body bytes to callbacks, and knows where the response
 * ends: Content-Length, chunked transfer coding, or the connection's close.
 * It owns no memory; the caller keeps any bytes it did not consume and
 * offers them again with what arrives next.
 *
 * The syntax is the gateway's one HTTP/1.1 core (http1.h), strict as the
 * server is: CRLF line ends only (a bare LF is a bad response), no
 * obsolete folding, token field names, no control characters.  What is
 * particular to responses follows RFC 9112 6.3: 1xx heads are skipped,
 * 204 and 304 have no body, Transfer-Encoding whose last coding is
 * chunked wins over a Content-Length, other codings mean "until the
 * close".  Lenient on two points only, both as RFC 9112 4 asks of
 * recipients: a status line without a reason phrase, and without the
 * space before it ("HTTP/1.1 503").
 */
#ifndef BS_GW_H1_PARSE_H
#define BS_GW_H1_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http1.h"

/* Longest response head accepted; chunk-size and trailer lines are bounded
 * by the core (HTTP1_LINE_MAX, HTTP1_TRAILER_MAX). */
#define H1P_HEAD_MAX (64 * 1024)

enum h1p_state {
    H1P_HEAD = 0,
    H1P_BODY_LEN,      /* Content-Length bytes left in `remaining` */
    H1P_BODY_CLOSE,    /* until the server closes */
    H1P_CHUNKED,       /* in a chunked body (the core's decoder in `chunk`) */
    H1P_DONE,
};

struct h1p {
    enum h1p_state state;
    int status;
    bool keep_alive;   /* the connection may carry another request afterwards */
    uint64_t remaining;
    size_t head_seen;  /* bytes of a head already searched for its end */
    struct http1_chunked chunk;
};

/* The body callback's answer meaning "not now": the same bytes are offered
 * again later.  The parser's own value; the client maps its owner's. */
#define H1P_PAUSE SIZE_MAX

struct h1p_cb {
    /* One head line at a time, its CRLF included: the status line, each
     * header, then the empty line.  Anything but len stops the response. */
    size_t (*header)(void *arg, const char *line, size_t len);
    /* Body bytes; len, H1P_PAUSE, or anything else to stop. */
    size_t (*body)(void *arg, const char *p, size_t len);
    void *arg;
};

enum h1p_rc {
    H1P_NEED_MORE,   /* everything usable was consumed; offer the rest with more bytes */
    H1P_COMPLETE,    /* the response ended (state H1P_DONE) */
    H1P_PAUSED,      /* the body callback paused */
    H1P_STOPPED,     /* a callback refused the bytes */
    H1P_BAD,         /* not a valid response; err says why */
};

void h1p_init(struct h1p *p);

/* Feeds buf[0..n); *used is how many bytes were consumed. */
enum h1p_rc h1p_feed(struct h1p *p, const char *buf, size_t n, size_t *used,
                     const struct h1p_cb *cb, char *err, size_t errcap);

/* The server closed the connection: does that end the response cleanly? */
bool h1p_eof_ends(const struct h1p *p);

#endif
