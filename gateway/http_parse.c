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

#include "hex.h"

/* RFC 9110 token characters. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
    ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
    ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
    ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

#define IS_TCHAR(c) (tchar[(unsigned char)(c)])
#define IS_CTL(c) ((unsigned char)(c) < 0x20 || (unsigned char)(c) == 0x7f)

long http_head_end(const char *buf, size_t len, size_t *scanned)
{
    size_t i = *scanned;
    /* Whether the request line is still open decides how strictly bytes are
     * checked; re-deriving it keeps the caller's state to one number. */
    int first_line = memchr(buf, '\n', i) == NULL;

    while (i < len) {
        if (first_line) {
            unsigned char c = (unsigned char)buf[i];
            if (c == '\n') {
                if (i == 0 || buf[i - 1] != '\r')
                    return -1;
                first_line = 0;
            } else if (i == 0 ? !IS_TCHAR(c) : (IS_CTL(c) && c != '\r')) {
                return -1;
            }
            i++;
            continue;
        }
        const char *nl = memchr(buf + i, '\n', len - i);
        if (!nl) {
            i = len;
            break;
        }
        i = (size_t)(nl - buf);
        if (buf[i - 1] != '\r')
            return -1;
        if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            *scanned = i + 1;
            return (long)(i + 1);
        }
        i++;
    }
    *scanned = i;
    return 0;
}

static int fail(const char **errmsg, const char *msg, int status)
{
    *errmsg = msg;
    return status;
}

/* Calls fn for each comma-separated, OWS-trimmed, non-empty element. */
static void for_each_token(const char *v, void (*fn)(const char *tok, size_t n, void *arg), void *arg)
{
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *s = v;
        while (*v && *v != ',')
            v++;
        const char *e = v;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s)
            fn(s, (size_t)(e - s), arg);
    }
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

/* Returns 0, or -1 for anything but 1*DIGIT.  Saturates instead of
 * overflowing: an absurd length is simply "too large" (413). */
static int parse_length(const char *v, uint64_t *out)
{
    uint64_t n = 0;
    if (!*v)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9')
            return -1;
        unsigned d = (unsigned)(*v - '0');
        n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
    }
    *out = n;
    return 0;
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
        if (*p == ' ' || *p == '\t')
            return fail(errmsg, "obsolete header line folding", 400);
        char *name = p;
        while (IS_TCHAR(*p))
            p++;
        if (*p != ':' || p == name)
            return fail(errmsg, "malformed header line", 400);
        size_t name_len = (size_t)(p - name);
        *p++ = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        char *v = p;
        while (*p != '\r') {
            if (IS_CTL(*p) && *p != '\t')
                return fail(errmsg, "invalid character in header value", 400);
            p++;
        }
        if (p[1] != '\n')
            return fail(errmsg, "malformed header line", 400);
        char *ve = p;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        *ve = '\0';
        p += 2;
        if (h->nheaders == HTTP_MAX_HEADERS)
            return fail(errmsg, "too many header fields", 431);
        struct http_header *hd = &h->headers[h->nheaders++];
        hd->name = name;
        hd->value = v;
        hd->name_len = (uint32_t)name_len;
        hd->value_len = (uint32_t)(ve - v);
    }

    /* framing and connection semantics */
    struct conn_tokens ct = {0, 0};
    struct te_tokens tt = {0, 0};
    int te_seen = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct http_header *hd = &h->headers[i];
        switch (hd->name_len) {
        case 14:
            if (strcasecmp(hd->name, "content-length") == 0) {
                uint64_t n;
                if (parse_length(hd->value, &n) != 0)
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
                for_each_token(hd->value, te_token, &tt);
            }
            break;
        case 10:
            if (strcasecmp(hd->name, "connection") == 0)
                for_each_token(hd->value, conn_token, &ct);
            break;
        case 6:
            if (strcasecmp(hd->name, "expect") == 0 && strcasecmp(hd->value, "100-continue") == 0)
                h->expect_continue = 1;
            break;
        }
    }
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

/* ---- chunked decoding ---- */

enum {
    CS_SIZE,         /* expecting the first hex digit */
    CS_SIZE_DIGITS,  /* in the hex digits */
    CS_SIZE_WS,      /* whitespace after the digits */
    CS_EXT,          /* chunk extension, ignored */
    CS_SIZE_LF,
    CS_DATA,
    CS_DATA_CR,
    CS_DATA_LF,
    CS_TRAILER_START,
    CS_TRAILER,
    CS_TRAILER_LF,
    CS_END_LF,
    CS_DONE
};

/* Bounds on framing overhead, so a client cannot stream an endless size
 * line or trailer section. */
#define CHUNK_LINE_MAX 4096
#define CHUNK_TRAILER_MAX 16384

void http_chunked_init(struct http_chunked *c, uint64_t max)
{
    memset(c, 0, sizeof *c);
    c->max = max;
    c->state = CS_SIZE;
}

int http_chunked_decode(struct http_chunked *c, const char *in, size_t len, size_t *used,
                        char *out, size_t out_cap, size_t *out_len)
{
    size_t i = 0, o = 0;
    int rc = HTTP_CHUNK_MORE;

    while (i < len) {
        unsigned char ch = (unsigned char)in[i];
        switch (c->state) {
        case CS_SIZE:
        case CS_SIZE_DIGITS: {
            int d = hex_digit((unsigned char)ch);
            if (d >= 0) {
                uint64_t room = c->max - c->total;
                if (c->remaining > room >> 4)
                    goto too_large;
                c->remaining = (c->remaining << 4) | (uint64_t)d;
                if (c->remaining > room)
                    goto too_large;
                c->state = CS_SIZE_DIGITS;
            } else if (c->state == CS_SIZE) {
                goto bad;
            } else if (ch == ' ' || ch == '\t') {
                c->state = CS_SIZE_WS;
            } else if (ch == ';') {
                c->state = CS_EXT;
            } else if (ch == '\r') {
                c->state = CS_SIZE_LF;
            } else {
                goto bad;
            }
            if (++c->line > CHUNK_LINE_MAX)
                goto bad;
            i++;
            break;
        }
        case CS_SIZE_WS:
            if (ch == ';')
                c->state = CS_EXT;
            else if (ch == '\r')
                c->state = CS_SIZE_LF;
            else if (ch != ' ' && ch != '\t')
                goto bad;
            if (++c->line > CHUNK_LINE_MAX)
                goto bad;
            i++;
            break;
        case CS_EXT:
            if (ch == '\r')
                c->state = CS_SIZE_LF;
            else if (IS_CTL(ch) && ch != '\t')
                goto bad;
            if (++c->line > CHUNK_LINE_MAX)
                goto bad;
            i++;
            break;
        case CS_SIZE_LF:
            if (ch != '\n')
                goto bad;
            i++;
            c->line = 0;
            if (c->remaining == 0) {
                c->state = CS_TRAILER_START;
            } else {
                c->total += c->remaining;
                c->state = CS_DATA;
            }
            break;
        case CS_DATA: {
            size_t n = len - i;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            if (n > out_cap - o)
                n = out_cap - o;
            if (n == 0)
                goto out; /* out is full */
            memcpy(out + o, in + i, n);
            o += n;
            i += n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = CS_DATA_CR;
            break;
        }
        case CS_DATA_CR:
            if (ch != '\r')
                goto bad;
            c->state = CS_DATA_LF;
            i++;
            break;
        case CS_DATA_LF:
            if (ch != '\n')
                goto bad;
            c->state = CS_SIZE;
            i++;
            break;
        case CS_TRAILER_START:
            if (ch == '\r') {
                c->state = CS_END_LF;
                i++;
                break;
            }
            if (ch == ' ' || ch == '\t')
                goto bad; /* obs-fold in trailers, same rule as headers */
            c->state = CS_TRAILER;
            /* fall through */
        case CS_TRAILER:
            if (ch == '\r')
                c->state = CS_TRAILER_LF;
            else if (IS_CTL(ch) && ch != '\t')
                goto bad;
            if (++c->trailer > CHUNK_TRAILER_MAX)
                goto bad;
            i++;
            break;
        case CS_TRAILER_LF:
            if (ch != '\n')
                goto bad;
            c->state = CS_TRAILER_START;
            i++;
            break;
        case CS_END_LF:
            if (ch != '\n')
                goto bad;
            c->state = CS_DONE;
            i++;
            rc = HTTP_CHUNK_DONE;
            goto out;
        case CS_DONE:
            rc = HTTP_CHUNK_DONE;
            goto out;
        default:
            goto bad;
        }
    }
    if (c->state == CS_DONE)
        rc = HTTP_CHUNK_DONE;
out:
    *used = i;
    *out_len = o;
    return rc;
bad:
    *used = i;
    *out_len = o;
    return HTTP_CHUNK_BAD;
too_large:
    *used = i;
    *out_len = o;
    return HTTP_CHUNK_TOO_LARGE;
}
