/* http1: the strict HTTP/1.1 parsing core; see http1.h. */
#include "http1.h"

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

bool http1_tchar(unsigned char c)
{
    return tchar[c];
}

long http1_head_end(const char *buf, size_t len, size_t *scanned)
{
    size_t i = *scanned;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (!nl) {
            i = len;
            break;
        }
        i = (size_t)(nl - buf);
        if (i == 0 || buf[i - 1] != '\r')
            return -1;
        if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            *scanned = i + 1;
            return (long)(i + 1);
        }
        i++;
    }
    /* The end marker may straddle two reads: resume where it could begin. */
    *scanned = i;
    return 0;
}

int http1_field(const char *line, size_t len, struct http1_field *f, const char **why)
{
    if (len && (line[0] == ' ' || line[0] == '\t')) {
        *why = "obsolete header line folding";
        return -1;
    }
    size_t i = 0;
    while (i < len && IS_TCHAR(line[i]))
        i++;
    if (i == 0 || i == len || line[i] != ':') {
        *why = "malformed header line";
        return -1;
    }
    f->name = line;
    f->name_len = i;
    i++;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t vs = i;
    for (; i < len; i++)
        if (IS_CTL(line[i]) && line[i] != '\t') {
            *why = "invalid character in header value";
            return -1;
        }
    size_t ve = len;
    while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
        ve--;
    f->value = line + vs;
    f->value_len = ve - vs;
    return 0;
}

int http1_length(const char *v, size_t n, uint64_t *out)
{
    if (n == 0)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        unsigned d = (unsigned)(v[i] - '0');
        x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
    }
    *out = x;
    return 0;
}

void http1_tokens(const char *v, size_t n, void (*fn)(const char *tok, size_t len, void *arg),
                  void *arg)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s)
            fn(v + s, e - s, arg);
    }
}

struct token_find {
    const char *token;
    size_t len;
    bool found;
};

static void token_is(const char *t, size_t n, void *arg)
{
    struct token_find *tf = arg;
    if (n == tf->len && strncasecmp(t, tf->token, n) == 0)
        tf->found = true;
}

bool http1_has_token(const char *v, size_t n, const char *token)
{
    struct token_find tf = { token, strlen(token), false };
    http1_tokens(v, n, token_is, &tf);
    return tf.found;
}

/* --- chunked bodies */

enum {
    CS_SIZE,         /* expecting the first hex digit */
    CS_SIZE_DIGITS,  /* in the hex digits */
    CS_SIZE_WS,      /* BWS after the digits */
    CS_EXT,          /* a chunk extension, ignored */
    CS_SIZE_LF,
    CS_DATA,
    CS_DATA_CR,
    CS_DATA_LF,
    CS_TRAILER_START,
    CS_TRAILER,
    CS_TRAILER_LF,
    CS_END_LF,
    CS_DONE,
};

void http1_chunked_init(struct http1_chunked *c, uint64_t max)
{
    memset(c, 0, sizeof *c);
    c->max = max;
    c->state = CS_SIZE;
}

void http1_chunked_took(struct http1_chunked *c, size_t n)
{
    c->remaining -= n < c->remaining ? n : c->remaining;
    if (c->remaining == 0 && c->state == CS_DATA)
        c->state = CS_DATA_CR;
}

#define BAD(msg) do { *why = (msg); rc = HTTP1_CHUNK_BAD; goto out; } while (0)

enum http1_chunk_rc http1_chunked_next(struct http1_chunked *c, const char *in, size_t len,
                                       size_t *used, size_t *data_len, const char **why)
{
    size_t i = 0;
    enum http1_chunk_rc rc = HTTP1_CHUNK_MORE;
    *data_len = 0;
    *why = NULL;
    while (i < len || c->state == CS_DONE) {
        unsigned char ch = i < len ? (unsigned char)in[i] : 0;
        switch (c->state) {
        case CS_SIZE:
        case CS_SIZE_DIGITS: {
            int d = hex_digit(ch);
            if (d >= 0) {
                /* Checked before the shift: a size past 64 bits is too
                 * large for any limit, not a wrapped small one. */
                uint64_t room = c->max - c->total;
                if (c->remaining > room >> 4 ||
                    (c->remaining = (c->remaining << 4) | (uint64_t)d) > room) {
                    *why = "chunk size too large";
                    rc = HTTP1_CHUNK_TOO_LARGE;
                    goto out;
                }
                c->state = CS_SIZE_DIGITS;
            } else if (c->state == CS_SIZE) {
                BAD("malformed chunk size");
            } else if (ch == ' ' || ch == '\t') {
                c->state = CS_SIZE_WS;
            } else if (ch == ';') {
                c->state = CS_EXT;
            } else if (ch == '\r') {
                c->state = CS_SIZE_LF;
            } else {
                BAD("malformed chunk size");
            }
            break;
        }
        case CS_SIZE_WS:
            if (ch == ';')
                c->state = CS_EXT;
            else if (ch == '\r')
                c->state = CS_SIZE_LF;
            else if (ch != ' ' && ch != '\t')
                BAD("malformed chunk size");
            break;
        case CS_EXT:
            if (ch == '\r')
                c->state = CS_SIZE_LF;
            else if (IS_CTL(ch) && ch != '\t')
                BAD("malformed chunk extension");
            break;
        case CS_SIZE_LF:
            if (ch != '\n')
                BAD("malformed chunk size: no CRLF");
            c->line = 0;
            if (c->remaining == 0) {
                c->state = CS_TRAILER_START;
            } else {
                c->total += c->remaining;
                c->state = CS_DATA;
            }
            i++;
            continue;
        case CS_DATA:
            *data_len = len - i < c->remaining ? len - i : (size_t)c->remaining;
            rc = HTTP1_CHUNK_DATA;
            goto out;
        case CS_DATA_CR:
            if (ch != '\r')
                BAD("chunk data not followed by CRLF");
            c->state = CS_DATA_LF;
            i++;
            continue;
        case CS_DATA_LF:
            if (ch != '\n')
                BAD("chunk data not followed by CRLF");
            c->state = CS_SIZE;
            i++;
            continue;
        case CS_TRAILER_START:
            if (ch == '\r') {
                c->state = CS_END_LF;
                i++;
                continue;
            }
            if (ch == ' ' || ch == '\t')
                BAD("obsolete line folding in the trailers");
            c->state = CS_TRAILER;
            /* fall through */
        case CS_TRAILER:
            if (ch == '\r')
                c->state = CS_TRAILER_LF;
            else if (IS_CTL(ch) && ch != '\t')
                BAD("malformed trailer line");
            if (++c->trailer > HTTP1_TRAILER_MAX)
                BAD("trailers too large");
            break;
        case CS_TRAILER_LF:
            if (ch != '\n')
                BAD("malformed trailer line: no CRLF");
            c->line = 0;
            c->state = CS_TRAILER_START;
            i++;
            continue;
        case CS_END_LF:
            if (ch != '\n')
                BAD("malformed last chunk: no CRLF");
            c->state = CS_DONE;
            i++;
            rc = HTTP1_CHUNK_DONE;
            goto out;
        case CS_DONE:
            rc = HTTP1_CHUNK_DONE;
            goto out;
        default:
            BAD("chunked decoder in an unknown state");
        }
        /* A byte of a size or trailer line. */
        if (++c->line > HTTP1_LINE_MAX)
            BAD("chunk-size or trailer line too long");
        i++;
    }
out:
    *used = i;
    return rc;
}
