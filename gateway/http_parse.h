/*
 * http_parse: the HTTP/1.x request parser, kept free of libevent so it can be
 * tested on plain byte buffers.  Three jobs: find where a request head ends,
 * parse that head in place (strings end up NUL-terminated inside the caller's
 * buffer, so a request costs no allocation), and decode a chunked body
 * incrementally.  The syntax requests share with responses (field lines,
 * Content-Length, token lists, chunked framing) is the core's (http1.h),
 * the same the upstream client reads responses with.
 */
#ifndef BS_HTTP_PARSE_H
#define BS_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "http1.h"

#define HTTP_MAX_HEADERS 100

struct http_header {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
};

struct http_head {
    const char *method;
    const char *path;        /* target without the query */
    const char *query;       /* after '?', or NULL */
    int version_minor;       /* 0 or 1 (HTTP/1.x only) */
    size_t nheaders;
    struct http_header headers[HTTP_MAX_HEADERS];

    /* framing and connection semantics derived from the headers */
    uint64_t content_length; /* UINT64_MAX when too large to represent */
    unsigned has_content_length : 1;
    unsigned chunked : 1;
    unsigned keep_alive : 1;
    unsigned expect_continue : 1;
};

/* Scans buf[0..len) for the blank line ending a request head, resuming at
 * *scanned (0 on the first call for a head; the caller keeps buf's earlier
 * bytes unchanged between calls).  Returns the head length including the
 * final CRLF CRLF, 0 when more bytes are needed (*scanned advanced), or -1
 * when the bytes cannot be the start of an HTTP/1.x request (bare LF, NUL,
 * control bytes or a non-token first byte in the request line), so garbage
 * and TLS handshakes fail at once instead of waiting for a timeout. */
long http_head_end(const char *buf, size_t len, size_t *scanned);

/* Parses a complete head (as delimited by http_head_end) in place.  Returns 0,
 * or the HTTP status to answer with (400, 431, 501, 505) and sets *errmsg to
 * a short human-readable reason. */
int http_parse_head(char *buf, size_t len, struct http_head *h, const char **errmsg);

/* First value of a header, case-insensitive name; NULL when absent. */
const char *http_head_get(const struct http_head *h, const char *name);

/* Incremental chunked-body decoder. */
enum http_chunk_rc {
    HTTP_CHUNK_MORE = 0,       /* all of the input (or all that fits in out) used */
    HTTP_CHUNK_DONE = 1,       /* terminating chunk and trailers consumed */
    HTTP_CHUNK_BAD = -1,       /* malformed framing: 400 */
    HTTP_CHUNK_TOO_LARGE = -2  /* decoded size would exceed max: 413 */
};

/* The core's decoder (http1.h), writing into the caller's buffer. */
struct http_chunked {
    struct http1_chunked core;
};

void http_chunked_init(struct http_chunked *c, uint64_t max);

/* Decodes from in[0..len), appending data to out (out_cap bytes of room).
 * *used is how many input bytes were consumed and *out_len how many data
 * bytes were written.  On HTTP_CHUNK_DONE, bytes after *used belong to the
 * next request.  On HTTP_CHUNK_MORE with *used < len, out was full. */
int http_chunked_decode(struct http_chunked *c, const char *in, size_t len, size_t *used,
                        char *out, size_t out_cap, size_t *out_len);

#endif
