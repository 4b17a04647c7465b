/*
 * http_parse: HTTP/1.x request head parsing (in place) and incremental
 * chunked-body decoding.  Strict on purpose: anything that two HTTP
 * implementations could read differently (bare LF, obs-fold, both
 * Content-Length and Transfer-Encoding, conflicting lengths) is rejected,
 * because the gateway sits in front of other HTTP servers and must not be a
 * request-smuggling vector.
 */
#include "http_parse.h"

#include <string.h>
#include <strings.h>

#include "http1.h"

#define IS_TCHAR(c) http1_tchar((unsigned char)(c))
#define IS_CTL(c) ((unsigned char)(c) < 0x20 || (unsigned char)(c) == 0x7f)

long http_head_end(const char *buf, size_t len, size_t *scanned)
{
    size_t i = *scanned;
    /* The request line is checked byte by byte, so that garbage fails at
     * once; the header lines after it are the core's. */
    if (!memchr(buf, '\n', i)) {
        for (; i < len; i++) {
            unsigned char c = (unsigned char)buf[i];
            if (c == '\n') {
                if (i == 0 || buf[i - 1] != '\r')
                    return -1;
                i++;
                break;
            }
            if (i == 0 ? !IS_TCHAR(c) : (IS_CTL(c) && c != '\r'))
                return -1;
        }
        if (i == len && (i == 0 || buf[i - 1] != '\n')) {
            *scanned = i;
            return 0;
        }
    }
    *scanned = i;
    return http1_head_end(buf, len, scanned);
}

static int fail(const char **errmsg, const char *msg, int status)
{
    *errmsg = msg;
    return status;
}

struct conn_tokens { int close, keep_alive; };

static void conn_token(const char *t, size_t n, void *arg)
{
    struct conn_tokens *ct = arg;
    if (n == 5 && strncasecmp(t, "close", 5) == 0)
        ct->close = 1;
    else if (n == 10 && strncasecmp(t, "keep-alive", 10) == 0)
        ct->keep_alive = 1;
}

struct te_tokens { int chunked, other; };

static void te_token(const char *t, size_t n, void *arg)
{
    struct te_tokens *tt = arg;
    if (n == 7 && strncasecmp(t, "chunked", 7) == 0)
        tt->chunked++;
    else
        tt->other++;
}

/* Skips "scheme://authority" of an absolute-form target (what proxies send);
 * returns the origin-form part, "" when there is no path. */
static char *strip_absolute(char *t)
{
    size_t skip;
    if (strncasecmp(t, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(t, "https://", 8) == 0)
        skip = 8;
    else
        return NULL;
    t += skip;
    while (*t && *t != '/' && *t != '?')
        t++;
    return t;
}

int http_parse_head(char *buf, size_t len, struct http_head *h, const char **errmsg)
{
    char *p = buf, *end = buf + len;

    h->method = h->path = h->query = NULL;
    h->nheaders = 0;
    h->content_length = 0;
    h->has_content_length = h->chunked = h->keep_alive = h->expect_continue = 0;
    h->version_minor = 1;
    *errmsg = NULL;

    /* Everything below may scan for a terminator without bounds checks
     * because this guarantees one. */
    if (len < 4 || memcmp(end - 4, "\r\n\r\n", 4) != 0)
        return fail(errmsg, "incomplete request head", 400);

    /* request line: method SP target SP HTTP/d.d CRLF */
    char *m = p;
    while (IS_TCHAR(*p))
        p++;
    if (p == m || *p != ' ')
        return fail(errmsg, "malformed request line", 400);
    *p++ = '\0';
    char *t = p;
    while ((unsigned char)*p > 0x20 && *p != 0x7f)
        p++;
    if (p == t || *p != ' ')
        return fail(errmsg, "malformed request line", 400);
    *p++ = '\0';
    if (end - p < 10 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' || p[6] != '.' ||
        p[7] < '0' || p[7] > '9' || p[8] != '\r' || p[9] != '\n')
        return fail(errmsg, "malformed request line", 400);
    int major = p[5] - '0', minor = p[7] - '0';
    p += 10;
    if (major == 2 && strcmp(m, "PRI") == 0)
        return fail(errmsg, "HTTP/2 is not supported on this port", 400);
    if (major != 1 || minor > 1)
        return fail(errmsg, "HTTP version not supported", 505);
    h->method = m;
    h->version_minor = minor;

    char *path = t;
    if (*t != '/' && strcmp(t, "*") != 0) {
        path = strip_absolute(t);
        if (!path)
            return fail(errmsg, "malformed request target", 400);
    }
    char *q = strchr(path, '?');
    if (q) {
        *q = '\0';
        h->query = q + 1;
    }
    /* An absolute-form target without a path means "/". */
    h->path = *path ? path : "/";

    /* header fields */
    for (;;) {
        if (*p == '\r') {
            if (p + 2 != end)
                return fail(errmsg, "malformed header block", 400);
            break;
        }
        /* http_head_end vouched for CRLF line ends: the line ends at the
         * first CR, and a CR not followed by LF is the core's to refuse. */
        char *cr = memchr(p, '\r', (size_t)(end - p));
        if (cr[1] != '\n')
            return fail(errmsg, "malformed header line", 400);
        struct http1_field f;
        const char *why;
        if (http1_field(p, (size_t)(cr - p), &f, &why) < 0)
            return fail(errmsg, why, 400);
        if (h->nheaders == HTTP_MAX_HEADERS)
            return fail(errmsg, "too many header fields", 431);
        /* Strings end in place: the name's colon and the value's end. */
        p[f.name_len] = '\0';
        ((char *)f.value)[f.value_len] = '\0';
        struct http_header *hd = &h->headers[h->nheaders++];
        hd->name = f.name;
        hd->value = f.value;
        hd->name_len = (uint32_t)f.name_len;
        hd->value_len = (uint32_t)f.value_len;
        p = cr + 2;
    }

    /* framing and connection semantics */
    struct conn_tokens ct = {0, 0};
    struct te_tokens tt = {0, 0};
    int te_seen = 0;
    int hosts = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct http_header *hd = &h->headers[i];
        switch (hd->name_len) {
        case 14:
            if (strcasecmp(hd->name, "content-length") == 0) {
                uint64_t n;
                if (http1_length(hd->value, hd->value_len, &n) != 0)
                    return fail(errmsg, "invalid Content-Length", 400);
                if (h->has_content_length && n != h->content_length)
                    return fail(errmsg, "conflicting Content-Length headers", 400);
                h->has_content_length = 1;
                h->content_length = n;
            }
            break;
        case 17:
            if (strcasecmp(hd->name, "transfer-encoding") == 0) {
                te_seen = 1;
                http1_tokens(hd->value, hd->value_len, te_token, &tt);
            }
            break;
        case 10:
            if (strcasecmp(hd->name, "connection") == 0)
                http1_tokens(hd->value, hd->value_len, conn_token, &ct);
            break;
        case 4:
            if (strcasecmp(hd->name, "host") == 0)
                hosts++;
            break;
        case 6:
            if (strcasecmp(hd->name, "expect") == 0 && strcasecmp(hd->value, "100-continue") == 0)
                h->expect_continue = 1;
            break;
        }
    }
    /* RFC 9112 3.2: an HTTP/1.1 request carries exactly one Host; HTTP/1.0
     * predates the header and may omit it, but never repeat it. */
    if (hosts > 1)
        return fail(errmsg, "more than one Host header", 400);
    if (hosts == 0 && minor == 1)
        return fail(errmsg, "missing Host header (required in HTTP/1.1)", 400);
    if (te_seen) {
        if (h->has_content_length)
            return fail(errmsg, "both Content-Length and Transfer-Encoding", 400);
        if (minor == 0)
            return fail(errmsg, "Transfer-Encoding in an HTTP/1.0 request", 400);
        if (tt.other)
            return fail(errmsg, "unsupported Transfer-Encoding", 501);
        if (tt.chunked != 1)
            return fail(errmsg, "invalid Transfer-Encoding", 400);
        h->chunked = 1;
    }
    h->keep_alive = minor == 1 ? !ct.close : (ct.keep_alive && !ct.close);
    /* HTTP/1.0 clients do not know 100 Continue. */
    if (minor == 0)
        h->expect_continue = 0;
    return 0;
}

const char *http_head_get(const struct http_head *h, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < h->nheaders; i++)
        if (h->headers[i].name_len == n && strcasecmp(h->headers[i].name, name) == 0)
            return h->headers[i].value;
    return NULL;
}

/* ---- chunked decoding: the core's, copied into the caller's buffer ---- */

void http_chunked_init(struct http_chunked *c, uint64_t max)
{
    http1_chunked_init(&c->core, max);
}

int http_chunked_decode(struct http_chunked *c, const char *in, size_t len, size_t *used,
                        char *out, size_t out_cap, size_t *out_len)
{
    size_t i = 0, o = 0;
    int rc = HTTP_CHUNK_MORE;
    for (;;) {
        size_t u, n;
        const char *why;
        enum http1_chunk_rc r = http1_chunked_next(&c->core, in + i, len - i, &u, &n, &why);
        i += u;
        if (r == HTTP1_CHUNK_DATA) {
            if (n > out_cap - o)
                n = out_cap - o;
            if (n == 0)
                break;   /* out is full */
            memcpy(out + o, in + i, n);
            o += n;
            i += n;
            http1_chunked_took(&c->core, n);
            continue;
        }
        if (r == HTTP1_CHUNK_DONE)
            rc = HTTP_CHUNK_DONE;
        else if (r == HTTP1_CHUNK_BAD)
            rc = HTTP_CHUNK_BAD;
        else if (r == HTTP1_CHUNK_TOO_LARGE)
            rc = HTTP_CHUNK_TOO_LARGE;
        break;
    }
    *used = i;
    *out_len = o;
    return rc;
}
