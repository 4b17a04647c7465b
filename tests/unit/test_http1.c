/* http1: the HTTP/1.1 parsing core, from tables.  Every chunked case is fed
 * whole, split in two at every byte, byte by byte, and with the caller
 * taking chunk data one byte at a time; every way must give the same result,
 * data, leftover and reason, and those must be the case's.  Head ends are
 * found the same however the bytes arrive.  Field lines, lengths and token
 * lists are checked one row each. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "unit.h"

/* --- chunked bodies */

struct ccase {
    const char *name;
    const char *in;
    size_t in_len;             /* 0: strlen(in) */
    uint64_t max;              /* 0: UINT64_MAX */
    enum http1_chunk_rc rc;    /* DONE, BAD, TOO_LARGE, or MORE (ran out of input) */
    const char *data;          /* the decoded body (up to the end or the error) */
    size_t leftover;           /* bytes after the end (DONE only) */
    const char *why;           /* a part of the reason (BAD, TOO_LARGE) */
};

#define Q "\r\n"

static const struct ccase ccases[] = {
    { "last chunk only", "0" Q Q, 0, 0, HTTP1_CHUNK_DONE, "", 0, NULL },
    { "one chunk", "5" Q "hello" Q "0" Q Q, 0, 0, HTTP1_CHUNK_DONE, "hello", 0, NULL },
    { "hex digits of both cases", "a" Q "0123456789" Q "B" Q "abcdefghijk" Q "0" Q Q, 0, 0,
      HTTP1_CHUNK_DONE, "0123456789abcdefghijk", 0, NULL },
    { "leading zeros", "0005" Q "hello" Q "000" Q Q, 0, 0, HTTP1_CHUNK_DONE, "hello", 0, NULL },
    { "an extension", "5;name=val" Q "hello" Q "0" Q Q, 0, 0, HTTP1_CHUNK_DONE, "hello", 0, NULL },
    { "extensions with a quoted value", "5;a;b=\"q;x\"" Q "hello" Q "0;end" Q Q, 0, 0,
      HTTP1_CHUNK_DONE, "hello", 0, NULL },
    { "BWS before an extension", "5 \t;x" Q "hello" Q "0" Q Q, 0, 0, HTTP1_CHUNK_DONE, "hello", 0,
      NULL },
    { "BWS before the line end", "5\t " Q "hello" Q "0 " Q Q, 0, 0, HTTP1_CHUNK_DONE, "hello", 0,
      NULL },
    { "trailers", "3" Q "abc" Q "0" Q "X-T: 1" Q "Y: two" Q Q, 0, 0, HTTP1_CHUNK_DONE, "abc", 0,
      NULL },
    { "the next request after the end", "2" Q "hi" Q "0" Q Q "GET /", 0, 0, HTTP1_CHUNK_DONE, "hi",
      5, NULL },
    { "binary chunk data", "4" Q "\r\n\0\n" Q "0" Q Q, 14, 0, HTTP1_CHUNK_DONE, "\r\n\0\n", 0,
      NULL },
    { "a body cut in the data", "5" Q "hel", 0, 0, HTTP1_CHUNK_MORE, "hel", 0, NULL },
    { "a body cut in the trailers", "0" Q "X: 1" Q, 0, 0, HTTP1_CHUNK_MORE, "", 0, NULL },
    { "no input", "", 0, 0, HTTP1_CHUNK_MORE, "", 0, NULL },
    /* invalid sizes */
    { "a letter for a size", "x" Q, 0, 0, HTTP1_CHUNK_BAD, "", 0, "malformed chunk size" },
    { "an empty size line", Q, 0, 0, HTTP1_CHUNK_BAD, "", 0, "malformed chunk size" },
    { "a negative size", "-1" Q, 0, 0, HTTP1_CHUNK_BAD, "", 0, "malformed chunk size" },
    { "a 0x prefix", "0x5" Q, 0, 0, HTTP1_CHUNK_BAD, "", 0, "malformed chunk size" },
    { "two numbers", "5 5" Q, 0, 0, HTTP1_CHUNK_BAD, "", 0, "malformed chunk size" },
    { "junk after the digits", "5x" Q "hello" Q, 0, 0, HTTP1_CHUNK_BAD, "", 0,
      "malformed chunk size" },
    { "space before the digits", " 5" Q "hello" Q, 0, 0, HTTP1_CHUNK_BAD, "", 0,
      "malformed chunk size" },
    { "CR without LF after a size", "5\rhello" Q, 0, 0, HTTP1_CHUNK_BAD, "", 0, "no CRLF" },
    { "a control byte in an extension", "5;a\x01" Q "hello" Q, 0, 0, HTTP1_CHUNK_BAD, "", 0,
      "malformed chunk extension" },
    /* bare LF, everywhere */
    { "bare LF after a size", "5\nhello" Q "0" Q Q, 0, 0, HTTP1_CHUNK_BAD, "", 0,
      "malformed chunk size" },
    { "bare LF after an extension", "5;x\nhello" Q "0" Q Q, 0, 0, HTTP1_CHUNK_BAD, "", 0,
      "malformed chunk extension" },
    { "bare LF after chunk data", "5" Q "hello\n0" Q Q, 0, 0, HTTP1_CHUNK_BAD, "hello", 0,
      "not followed by CRLF" },
    { "bare LF ending a trailer", "0" Q "X: 1\n" Q, 0, 0, HTTP1_CHUNK_BAD, "", 0,
      "malformed trailer line" },
    { "bare LF ending the body", "0" Q "\n", 0, 0, HTTP1_CHUNK_BAD, "", 0, "malformed trailer line" },
    { "CR and junk ending the body", "0" Q "\rX", 0, 0, HTTP1_CHUNK_BAD, "", 0, "no CRLF" },
    { "data longer than its size", "3" Q "abcd" Q "0" Q Q, 0, 0, HTTP1_CHUNK_BAD, "abc", 0,
      "not followed by CRLF" },
    { "CR and junk after data", "3" Q "abc\rX", 0, 0, HTTP1_CHUNK_BAD, "abc", 0,
      "not followed by CRLF" },
    /* trailers */
    { "a folded trailer", "0" Q "A: 1" Q " more" Q Q, 0, 0, HTTP1_CHUNK_BAD, "", 0, "folding" },
    { "a control byte in a trailer", "0" Q "A: \x7f" Q Q, 0, 0, HTTP1_CHUNK_BAD, "", 0,
      "malformed trailer line" },
    /* limits */
    { "a chunk over the limit", "b" Q "0123456789a" Q "0" Q Q, 0, 10, HTTP1_CHUNK_TOO_LARGE, "",
      0, "too large" },
    { "a chunk at the limit", "a" Q "0123456789" Q "0" Q Q, 0, 10, HTTP1_CHUNK_DONE, "0123456789",
      0, NULL },
    { "chunks adding up past the limit", "6" Q "012345" Q "5" Q "6789a" Q "0" Q Q, 0, 10,
      HTTP1_CHUNK_TOO_LARGE, "012345", 0, "too large" },
    { "a size past 64 bits", "10000000000000000" Q, 0, 0, HTTP1_CHUNK_TOO_LARGE, "", 0,
      "too large" },
    { "the largest size", "ffffffffffffffff" Q "ab", 0, 0, HTTP1_CHUNK_MORE, "ab", 0, NULL },
    { "many zeros are not a large size", "00000000000000000000001" Q "z" Q "0" Q Q, 0, 0,
      HTTP1_CHUNK_DONE, "z", 0, NULL },
};

/* Drives a decoder over in[0..len) in the pieces cuts[] marks, keeping the
 * bytes it did not consume for the next piece, as a connection would;
 * take_one: the caller takes chunk data one byte at a time. */
struct cres {
    enum http1_chunk_rc rc;
    char data[256];
    size_t data_len;
    size_t leftover;
    const char *why;
};

static void cfeed(const struct ccase *c, const size_t *cuts, size_t ncuts, bool take_one,
                  struct cres *r)
{
    size_t len = c->in_len ? c->in_len : strlen(c->in);
    struct http1_chunked d;
    http1_chunked_init(&d, c->max ? c->max : UINT64_MAX);
    memset(r, 0, sizeof *r);
    char *pend = malloc(len + 1);
    size_t plen = 0, at = 0;
    enum http1_chunk_rc rc = HTTP1_CHUNK_MORE;
    for (size_t k = 0; k <= ncuts && rc == HTTP1_CHUNK_MORE; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        memcpy(pend + plen, c->in + at, end - at);
        plen += end - at;
        at = end;
        size_t off = 0;
        for (;;) {
            size_t used, n;
            const char *why;
            rc = http1_chunked_next(&d, pend + off, plen - off, &used, &n, &why);
            off += used;
            if (rc != HTTP1_CHUNK_DATA) {
                r->why = why;
                break;
            }
            if (n == 0) {
                rc = HTTP1_CHUNK_MORE;   /* data state, no bytes: wait for the next piece */
                break;
            }
            size_t take = take_one ? 1 : n;
            if (r->data_len + take <= sizeof r->data) {
                memcpy(r->data + r->data_len, pend + off, take);
                r->data_len += take;
            }
            off += take;
            http1_chunked_took(&d, take);
        }
        memmove(pend, pend + off, plen - off);
        plen -= off;
    }
    r->rc = rc;
    r->leftover = plen + (len - at);
    free(pend);
}

static bool cexpected(const struct ccase *c, const struct cres *r, const char *how)
{
    size_t dl = strlen(c->data);
    if (c->in_len)
        dl = 4;   /* the one binary case (its input and data hold a NUL) */
    bool ok = r->rc == c->rc && r->data_len == dl && memcmp(r->data, c->data, dl) == 0;
    if (c->rc == HTTP1_CHUNK_DONE)
        ok = ok && r->leftover == c->leftover;
    if (c->why)
        ok = ok && r->why && strstr(r->why, c->why);
    else
        ok = ok && r->why == NULL;
    if (!ok)
        fprintf(stderr, "chunked \"%s\" (%s): rc %d data %zu \"%.*s\" left %zu why \"%s\"\n",
                c->name, how, r->rc, r->data_len, (int)r->data_len, r->data, r->leftover,
                r->why ? r->why : "");
    return ok;
}

static void test_chunked_table(void)
{
    for (size_t i = 0; i < sizeof ccases / sizeof ccases[0]; i++) {
        const struct ccase *c = &ccases[i];
        size_t len = c->in_len ? c->in_len : strlen(c->in);
        struct cres r;
        cfeed(c, NULL, 0, false, &r);
        CHECK(cexpected(c, &r, "whole"));
        cfeed(c, NULL, 0, true, &r);
        CHECK(cexpected(c, &r, "taken byte by byte"));
        int bad = 0;
        for (size_t k = 1; k < len; k++) {
            cfeed(c, &k, 1, false, &r);
            bad += !cexpected(c, &r, "split in two");
        }
        CHECK(bad == 0);
        size_t *cuts = malloc(len * sizeof *cuts);
        for (size_t k = 1; k < len; k++)
            cuts[k - 1] = k;
        cfeed(c, cuts, len ? len - 1 : 0, false, &r);
        CHECK(cexpected(c, &r, "byte by byte"));
        free(cuts);
    }
}

/* Line limits need long inputs: built here rather than in the table. */
static void test_chunked_limits(void)
{
    static char in[2 * HTTP1_TRAILER_MAX];
    struct ccase c = { "size line", in, 0, 0, 0, "", 0, NULL };
    struct cres r;
    /* a size line of exactly HTTP1_LINE_MAX bytes with its CR passes */
    size_t n = 0;
    in[n++] = '0';
    in[n++] = ';';
    while (n < HTTP1_LINE_MAX - 1)
        in[n++] = 'e';
    memcpy(in + n, Q Q, 5);
    c.rc = HTTP1_CHUNK_DONE;
    cfeed(&c, NULL, 0, false, &r);
    CHECK(cexpected(&c, &r, "longest size line"));
    /* one byte more is refused, however it arrives */
    memmove(in + 3, in + 2, n + 3);
    in[2] = 'e';
    c.rc = HTTP1_CHUNK_BAD;
    c.why = "line too long";
    cfeed(&c, NULL, 0, false, &r);
    CHECK(cexpected(&c, &r, "size line too long"));
    size_t len = strlen(in);
    size_t *cuts = malloc(len * sizeof *cuts);
    for (size_t k = 1; k < len; k++)
        cuts[k - 1] = k;
    cfeed(&c, cuts, len - 1, false, &r);
    CHECK(cexpected(&c, &r, "size line too long, byte by byte"));
    free(cuts);
    /* one trailer line too long */
    n = 0;
    memcpy(in, "0" Q "X: ", 6);
    n = 6;
    while (n < 3 + HTTP1_LINE_MAX)
        in[n++] = 'v';
    memcpy(in + n, Q Q, 5);
    cfeed(&c, NULL, 0, false, &r);
    CHECK(cexpected(&c, &r, "trailer line too long"));
    /* trailers too large together, each line short */
    n = 3;
    memcpy(in, "0" Q, 3);
    while (n < sizeof in - 40) {
        memcpy(in + n, "X-Trailer: 0123456789012345678901" Q, 35);
        n += 35;
    }
    memcpy(in + n, Q, 3);
    c.why = "trailers too large";
    cfeed(&c, NULL, 0, false, &r);
    CHECK(cexpected(&c, &r, "trailers too large"));
}

/* --- head ends */

struct hcase {
    const char *in;
    long end;   /* the head's length, 0 (more needed) or -1 (bare LF) */
};

static const struct hcase hcases[] = {
    { "X" Q Q, 5 },
    { "X" Q "A: 1" Q Q "body", 11 },
    { "X" Q "A: 1" Q "B: 2" Q Q, 17 },
    { "X" Q "A: 1" Q, 0 },
    { "X" Q "A: 1" Q "\r", 0 },
    { "X", 0 },
    { "", 0 },
    { "X\nA: 1" Q Q, -1 },
    { "X" Q "A: 1\n" Q, -1 },
    { "X" Q "A: 1" Q "\n", -1 },
    { "\n", -1 },
    { "X" Q "A: 1\r2" Q Q, 13 },   /* a lone CR is the field parser's to refuse */
};

static long head_end_pieces(const char *in, size_t len, size_t piece)
{
    size_t scanned = 0;
    for (size_t have = piece < len ? piece : len;; have = have + piece < len ? have + piece : len) {
        long e = http1_head_end(in, have, &scanned);
        if (e != 0 || have == len)
            return e;
    }
}

static void test_head_end(void)
{
    for (size_t i = 0; i < sizeof hcases / sizeof hcases[0]; i++) {
        const struct hcase *h = &hcases[i];
        size_t len = strlen(h->in);
        bool ok = true;
        for (size_t piece = 1; piece <= len + 1; piece++) {
            long e = head_end_pieces(h->in, len, piece);
            if (e != h->end) {
                fprintf(stderr, "head end of case %zu in pieces of %zu: %ld, want %ld\n", i, piece,
                        e, h->end);
                ok = false;
            }
        }
        CHECK(ok);
    }
}

/* --- field lines */

struct fcase {
    const char *line;
    size_t len;          /* 0: strlen(line) */
    const char *name;    /* NULL: refused */
    const char *value;
    const char *why;
};

static const struct fcase fcases[] = {
    { "Host: x", 0, "Host", "x", NULL },
    { "Host:x", 0, "Host", "x", NULL },
    { "Host: \t x \t ", 0, "Host", "x", NULL },
    { "X-Empty:", 0, "X-Empty", "", NULL },
    { "X-Empty: \t", 0, "X-Empty", "", NULL },
    { "A: b\tc  d", 0, "A", "b\tc  d", NULL },
    { "A: caf\xc3\xa9", 0, "A", "caf\xc3\xa9", NULL },   /* obs-text is allowed */
    { "!#$%&'*+-.^_`|~09azAZ: v", 0, "!#$%&'*+-.^_`|~09azAZ", "v", NULL },
    { " folded", 0, NULL, NULL, "obsolete header line folding" },
    { "\tfolded", 0, NULL, NULL, "obsolete header line folding" },
    { ": v", 0, NULL, NULL, "malformed header line" },
    { "no colon", 0, NULL, NULL, "malformed header line" },
    { "NoColon", 0, NULL, NULL, "malformed header line" },
    { "Bad Name: v", 0, NULL, NULL, "malformed header line" },
    { "A : v", 0, NULL, NULL, "malformed header line" },
    { "A\x01: v", 0, NULL, NULL, "malformed header line" },
    { "A(b): v", 0, NULL, NULL, "malformed header line" },
    { "A: v\x01", 0, NULL, NULL, "invalid character in header value" },
    { "A: v\r", 0, NULL, NULL, "invalid character in header value" },
    { "A: v\nB: w", 0, NULL, NULL, "invalid character in header value" },
    { "A: v\x7f", 0, NULL, NULL, "invalid character in header value" },
    { "A: v\0w", 6, NULL, NULL, "invalid character in header value" },
    { "", 0, NULL, NULL, "malformed header line" },
};

static void test_fields(void)
{
    for (size_t i = 0; i < sizeof fcases / sizeof fcases[0]; i++) {
        const struct fcase *c = &fcases[i];
        struct http1_field f;
        const char *why = NULL;
        int rc = http1_field(c->line, c->len ? c->len : strlen(c->line), &f, &why);
        bool ok;
        if (c->name)
            ok = rc == 0 && f.name_len == strlen(c->name) && !memcmp(f.name, c->name, f.name_len) &&
                 f.value_len == strlen(c->value) && !memcmp(f.value, c->value, f.value_len);
        else
            ok = rc == -1 && why && strcmp(why, c->why) == 0;
        if (!ok)
            fprintf(stderr, "field case %zu \"%s\": rc %d why \"%s\"\n", i, c->line, rc,
                    why ? why : "");
        CHECK(ok);
    }
}

/* --- Content-Length and token lists */

static void test_length(void)
{
    static const struct {
        const char *v;
        int rc;
        uint64_t n;
    } cases[] = {
        { "0", 0, 0 },
        { "123", 0, 123 },
        { "007", 0, 7 },
        { "18446744073709551614", 0, UINT64_MAX - 1 },
        { "18446744073709551615", 0, UINT64_MAX },
        { "99999999999999999999", 0, UINT64_MAX },   /* saturated: the caller says "too large" */
        { "", -1, 0 },
        { " 1", -1, 0 },
        { "1 ", -1, 0 },
        { "1a", -1, 0 },
        { "+1", -1, 0 },
        { "-1", -1, 0 },
        { "1,1", -1, 0 },
        { "0x10", -1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t n = 42;
        int rc = http1_length(cases[i].v, strlen(cases[i].v), &n);
        CHECK(rc == cases[i].rc && (rc != 0 || n == cases[i].n));
    }
}

static void test_tokens(void)
{
    static const struct {
        const char *list, *token;
        bool has;
    } cases[] = {
        { "close", "close", true },
        { "keep-alive, Close", "close", true },
        { "Upgrade ,\tCLOSE ", "close", true },
        { ", ,close ,", "close", true },
        { "closed", "close", false },
        { "close-ish, x", "close", false },
        { "", "close", false },
        { " , ", "close", false },
        { "gzip, chunked", "chunked", true },
        { "keep-alives", "keep-alive", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(http1_has_token(cases[i].list, strlen(cases[i].list), cases[i].token) ==
              cases[i].has);
}

static void test_tchar(void)
{
    int n = 0;
    for (int c = 0; c < 256; c++)
        n += http1_tchar((unsigned char)c);
    CHECK(n == 26 * 2 + 10 + 15);   /* ALPHA, DIGIT and the 15 marks of RFC 9110 */
    CHECK(!http1_tchar(' ') && !http1_tchar(':') && !http1_tchar('"') && !http1_tchar(0x80));
}

int main(void)
{
    test_chunked_table();
    test_chunked_limits();
    test_head_end();
    test_fields();
    test_length();
    test_tokens();
    test_tchar();
    UNIT_END("http1");
}
