/*
 * http1: the one HTTP/1.1 parsing core of the gateway, shared by the server
 * (http_parse.c: requests from clients) and the built-in upstream client
 * (gw_h1_parse.c: responses from providers).  It knows the syntax both
 * directions have in common (RFC 9112): where a head ends, one header field
 * line, Content-Length, comma-separated tokens, and chunked bodies with
 * their extensions and trailers.  No allocation, no libevent: plain bytes.
 *
 * Strict throughout, because the gateway sits between HTTP implementations
 * that could read lenient input differently (request smuggling one way,
 * response splitting the other):
 *   - every line ends in CRLF; a bare LF is an error, in heads, chunk-size
 *     lines, after chunk data and in trailers;
 *   - obsolete line folding (a line starting with SP or HTAB) is an error;
 *   - field names are RFC 9110 tokens; field values hold no control
 *     character but HTAB;
 *   - a chunk size is 1*HEXDIG, optionally followed by BWS and ";" extensions
 *     (ignored); anything else on the line is an error;
 *   - lengths are bounded: a chunk-size line and each trailer line at most
 *     HTTP1_LINE_MAX bytes with its CR, all trailers together
 *     HTTP1_TRAILER_MAX (their LFs not counted).
 * The only leniencies are in the callers, and are documented there: the
 * client accepts a status line without a reason phrase and "HTTP/1.1 200"
 * without the space before it (RFC 9112 4 asks recipients to), and BWS
 * (spaces or tabs) between a chunk size and its ";" or line end, which
 * RFC 9112 7.1.1 grammar allows.
 */
#ifndef BS_HTTP1_H
#define BS_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_LINE_MAX 4096
#define HTTP1_TRAILER_MAX 16384

/* Whether c may appear in a token (a method, a field name). */
bool http1_tchar(unsigned char c);

/* Scans buf[0..len) for the empty line that ends a head, resuming at
 * *scanned (0 for a new head; buf's earlier bytes unchanged between calls).
 * The head's length including its final CRLF CRLF; 0 when more bytes are
 * needed (*scanned advanced); -1 at a bare LF. */
long http1_head_end(const char *buf, size_t len, size_t *scanned);

/* One header field line, line[0..len) without its CRLF. */
struct http1_field {
    const char *name, *value;   /* inside line; value trimmed of OWS */
    size_t name_len, value_len;
};
/* 0, or -1 with *why: folding, an empty or non-token name, no colon, a
 * control character in the value. */
int http1_field(const char *line, size_t len, struct http1_field *f, const char **why);

/* Content-Length's value: 0 (*out, saturated at UINT64_MAX for an absurd
 * length), or -1 for anything but 1*DIGIT. */
int http1_length(const char *v, size_t n, uint64_t *out);

/* Whether the comma-separated list v[0..n) holds token (case-insensitive,
 * OWS around elements ignored). */
bool http1_has_token(const char *v, size_t n, const char *token);
/* Calls fn for each non-empty element of such a list. */
void http1_tokens(const char *v, size_t n, void (*fn)(const char *tok, size_t len, void *arg),
                  void *arg);

/* --- chunked bodies */

enum http1_chunk_rc {
    HTTP1_CHUNK_MORE,       /* all input consumed; offer more */
    HTTP1_CHUNK_DATA,       /* chunk data at in + *used, *data_len bytes (not yet taken) */
    HTTP1_CHUNK_DONE,       /* the last chunk and the trailers were consumed */
    HTTP1_CHUNK_BAD,        /* malformed framing; why says how */
    HTTP1_CHUNK_TOO_LARGE,  /* the body would exceed max */
};

struct http1_chunked {
    uint64_t max;        /* limit on the decoded body */
    uint64_t total;      /* decoded size announced so far */
    uint64_t remaining;  /* data bytes left in the current chunk */
    uint32_t line;       /* bytes of the current size or trailer line */
    uint32_t trailer;    /* bytes of all trailers */
    int state;
};

void http1_chunked_init(struct http1_chunked *c, uint64_t max);
/* Consumes framing from in[0..len) (*used bytes of it) up to the next
 * chunk data, the end, or an error.  On HTTP1_CHUNK_DATA the caller takes
 * any part of the data with http1_chunked_took and calls again with the
 * bytes after it.  On HTTP1_CHUNK_DONE, bytes after *used are not the body's. */
enum http1_chunk_rc http1_chunked_next(struct http1_chunked *c, const char *in, size_t len,
                                       size_t *used, size_t *data_len, const char **why);
/* n (at most the offered *data_len) bytes of chunk data were taken. */
void http1_chunked_took(struct http1_chunked *c, size_t n);

#endif
