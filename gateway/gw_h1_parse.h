/*
 * gw_h1_parse: incremental framing of an HTTP/1.x response, for the
 * built-in upstream client (gw_h1.c).  It finds the head, hands each head
 * line and then the body bytes to callbacks, and knows where the response
 * ends: Content-Length, chunked transfer coding, or the connection's close.
 * It owns no memory; the caller keeps any bytes it did not consume and
 * offers them again with what arrives next.
 */
#ifndef BS_GW_H1_PARSE_H
#define BS_GW_H1_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest response head accepted, and longest chunk-size or trailer line. */
#define H1P_HEAD_MAX (64 * 1024)
#define H1P_LINE_MAX 4096

enum h1p_state {
    H1P_HEAD = 0,
    H1P_BODY_LEN,      /* Content-Length bytes left in `remaining` */
    H1P_BODY_CLOSE,    /* until the server closes */
    H1P_CHUNK_SIZE,
    H1P_CHUNK_DATA,    /* `remaining` bytes of the current chunk */
    H1P_CHUNK_END,     /* the CRLF after a chunk's data */
    H1P_TRAILER,
    H1P_DONE,
};

struct h1p {
    enum h1p_state state;
    int status;
    bool keep_alive;   /* the connection may carry another request afterwards */
    uint64_t remaining;
    size_t head_seen;  /* bytes of a head already searched for its end */
};

/* The body callback's answer meaning "not now": the same bytes are offered
 * again later (libcurl's CURL_WRITEFUNC_PAUSE has the same value). */
#define H1P_PAUSE ((size_t)0x10000001)

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
