/*
 * test_http_parse: unit tests for the pure HTTP/1.x parser (gateway/http_parse.c):
 * head scanning, head parsing, header lookup, chunked decoding, every
 * rejection rule.
 */
#include "http_parse.h"
#include "unit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static struct http_head H;
static char buf[64 * 1024];

/* Copies s (len bytes) into a writable buffer and parses it. */
static int parse_n(const char *s, size_t len, const char **msg)
{
    const char *m;
    memcpy(buf, s, len);
    int st = http_parse_head(buf, len, &H, &m);
    if (msg)
        *msg = m;
    return st;
}

static int parse(const char *s)
{
    return parse_n(s, strlen(s), NULL);
}

static void test_head_end(void)
{
    const char *r = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next";
    size_t scanned = 0;
    long end = http_head_end(r, strlen(r), &scanned);
    CHECK(end == (long)strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));

    /* byte by byte: found exactly when the last LF arrives */
    size_t full = strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    scanned = 0;
    int ok = 1;
    for (size_t n = 1; n <= full; n++) {
        long e = http_head_end(r, n, &scanned);
        if (n < full && e != 0)
            ok = 0;
        if (n == full && e != (long)full)
            ok = 0;
    }
    CHECK(ok);

    scanned = 0;
    CHECK(http_head_end("GET / HTTP/1.1\r\nHost: a\r\n", 25, &scanned) == 0);

    /* bare LF anywhere */
    scanned = 0;
    CHECK(http_head_end("GET / HTTP/1.1\nHost: a\n\n", 24, &scanned) == -1);
    scanned = 0;
    CHECK(http_head_end("GET / HTTP/1.1\r\nHost: a\n\r\n", 26, &scanned) == -1);
    /* TLS client hello, NUL, control bytes in the request line: at once */
    scanned = 0;
    CHECK(http_head_end("\x16\x03\x01\x02\x00", 5, &scanned) == -1);
    scanned = 0;
    CHECK(http_head_end("GE\0T", 4, &scanned) == -1);
    scanned = 0;
    CHECK(http_head_end("GET /\x01", 6, &scanned) == -1);
    scanned = 0;
    CHECK(http_head_end("\r\n", 2, &scanned) == -1); /* leading CRLF is skipped by the caller */
    /* HTTP/2 preface: the first head ends after the request line */
    const char *pri = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    scanned = 0;
    CHECK(http_head_end(pri, strlen(pri), &scanned) == 18);
}

static void test_valid(void)
{
    const char *msg;
    int st = parse_n("GET /v1/models?limit=2&x=y HTTP/1.1\r\nHost: example\r\n"
                     "X-Empty:\r\nX-Spaces: \t  padded value \t \r\nAccept: */*\r\n\r\n",
                     strlen("GET /v1/models?limit=2&x=y HTTP/1.1\r\nHost: example\r\n"
                            "X-Empty:\r\nX-Spaces: \t  padded value \t \r\nAccept: */*\r\n\r\n"),
                     &msg);
    CHECK(st == 0);
    CHECK(strcmp(H.method, "GET") == 0);
    CHECK(strcmp(H.path, "/v1/models") == 0);
    CHECK(H.query && strcmp(H.query, "limit=2&x=y") == 0);
    CHECK(H.version_minor == 1);
    CHECK(H.nheaders == 4);
    CHECK(H.keep_alive == 1);
    CHECK(!H.has_content_length && !H.chunked && !H.expect_continue);
    CHECK(http_head_get(&H, "host") && strcmp(http_head_get(&H, "HOST"), "example") == 0);
    CHECK(http_head_get(&H, "x-empty") && strcmp(http_head_get(&H, "x-empty"), "") == 0);
    CHECK(strcmp(http_head_get(&H, "X-SPACES"), "padded value") == 0);
    CHECK(http_head_get(&H, "missing") == NULL);
    CHECK(http_head_get(&H, "hos") == NULL);
    CHECK(strcmp(H.headers[0].name, "Host") == 0);
    CHECK(strcmp(H.headers[3].name, "Accept") == 0 && strcmp(H.headers[3].value, "*/*") == 0);
    CHECK(H.headers[2].value_len == strlen("padded value"));

    /* first value wins, order kept */
    CHECK(parse("GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\nHost: t\r\n\r\n") == 0);
    CHECK(strcmp(http_head_get(&H, "X-A"), "1") == 0);
    CHECK(H.nheaders == 3 && strcmp(H.headers[1].value, "2") == 0);

    /* no query, no headers */
    CHECK(parse("DELETE /a/b HTTP/1.0\r\n\r\n") == 0);
    CHECK(strcmp(H.method, "DELETE") == 0 && strcmp(H.path, "/a/b") == 0 && H.query == NULL);
    CHECK(H.nheaders == 0);
    CHECK(parse("GET /? HTTP/1.1\r\nHost: t\r\n\r\n") == 0 && H.query && *H.query == '\0');

    /* Content-Length */
    CHECK(parse("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 42\r\n\r\n") == 0);
    CHECK(H.has_content_length && H.content_length == 42);
    CHECK(parse("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0007\r\ncontent-length: 7\r\n\r\n") == 0);
    CHECK(H.content_length == 7);
    CHECK(parse("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n") == 0);
    CHECK(H.content_length == UINT64_MAX);

    /* chunked, case-insensitive, with list syntax */
    CHECK(parse("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n") == 0 && H.chunked);
    CHECK(parse("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: ,chunked ,\r\n\r\n") == 0 && H.chunked);

    /* Expect */
    CHECK(parse("POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n") == 0);
    CHECK(H.expect_continue);
    CHECK(parse("POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n") == 0);
    CHECK(!H.expect_continue);

    /* absolute-form and asterisk-form */
    CHECK(parse("GET http://host:8080/v1/x?q=1 HTTP/1.1\r\nHost: host:8080\r\n\r\n") == 0);
    CHECK(strcmp(H.path, "/v1/x") == 0 && strcmp(H.query, "q=1") == 0);
    CHECK(parse("GET https://host HTTP/1.1\r\nHost: host\r\n\r\n") == 0 && strcmp(H.path, "/") == 0);
    CHECK(parse("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n") == 0 && strcmp(H.path, "*") == 0);

    /* obs-text in values is allowed */
    CHECK(parse("GET / HTTP/1.1\r\nHost: t\r\nX-U: caf\xc3\xa9\r\n\r\n") == 0);

    /* exactly 100 headers, Host among them */
    char big[8192];
    size_t n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS - 1; i++)
        n += (size_t)sprintf(big + n, "H%d: v\r\n", i);
    n += (size_t)sprintf(big + n, "\r\n");
    CHECK(parse_n(big, n, NULL) == 0 && H.nheaders == HTTP_MAX_HEADERS);
    CHECK(strcmp(H.headers[99].name, "H98") == 0);
}

static void test_keep_alive(void)
{
    CHECK(parse("GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0 && H.keep_alive);
    CHECK(parse("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n") == 0 && !H.keep_alive);
    CHECK(parse("GET / HTTP/1.1\r\nHost: t\r\nConnection: Keep-Alive, CLOSE\r\n\r\n") == 0 && !H.keep_alive);
    CHECK(parse("GET / HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nConnection: close\r\n\r\n") == 0 &&
          !H.keep_alive);
    CHECK(parse("GET / HTTP/1.1\r\nHost: t\r\nConnection: closed\r\n\r\n") == 0 && H.keep_alive);
    CHECK(parse("GET / HTTP/1.0\r\n\r\n") == 0 && !H.keep_alive && H.version_minor == 0);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0 && H.keep_alive);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n") == 0 && !H.keep_alive);
}

static void expect_status(const char *req, int status, int line)
{
    const char *msg = NULL;
    int st = parse_n(req, strlen(req), &msg);
    unit_checkf(st == status && msg && *msg, __FILE__, line, "expected %d, got %d for %s", status, st, req);
}
#define EXPECT(req, st) expect_status(req, st, __LINE__)

/* RFC 9112 3.2: Host is required in HTTP/1.1, optional in 1.0, never twice. */
static void test_host(void)
{
    const char *msg = NULL;
    const char *r = "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n";
    CHECK(parse_n(r, strlen(r), &msg) == 400);
    CHECK(msg && strstr(msg, "Host"));
    EXPECT("POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400);
    EXPECT("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400);
    EXPECT("GET / HTTP/1.0\r\nHost: a\r\nHOST: a\r\n\r\n", 400);
    CHECK(parse("GET / HTTP/1.0\r\n\r\n") == 0);
    CHECK(parse("GET / HTTP/1.1\r\nhOsT: \r\n\r\n") == 0);   /* empty is allowed */
}

static void test_errors(void)
{
    EXPECT("GET / HTTP/1.1\r\nHost: a\r\n", 400);                 /* incomplete */
    EXPECT("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);               /* bare LF */
    EXPECT("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);          /* bare CR */
    EXPECT("GET / HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n", 400);
    EXPECT("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);            /* space before colon */
    EXPECT("GET / HTTP/1.1\r\nHost: t\r\n: empty-name\r\n\r\n", 400);
    EXPECT("GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n folded\r\n\r\n", 400);   /* obs-fold */
    EXPECT("GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400);
    EXPECT("GET / HTTP/1.1\r\nHost: t\r\n X-A: 1\r\n\r\n", 400);
    EXPECT("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x01 b\r\n\r\n", 400);        /* control byte */
    EXPECT("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x7f\r\n\r\n", 400);
    EXPECT("GET / HTTP/1.1\r\nHost: t\r\nX-\x80: a\r\n\r\n", 400);           /* non-token name */
    EXPECT("GET /\x01 HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    EXPECT("GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400);                       /* double space */
    EXPECT("GET / HTTP/1.1 \r\n\r\n", 400);
    EXPECT(" GET / HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    EXPECT("G(T / HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    EXPECT("GET / http/1.1\r\n\r\n", 400);
    EXPECT("GET / HTTP/1.10\r\n\r\n", 400);
    EXPECT("GET / HTTP/11\r\n\r\n", 400);
    EXPECT("GET /\r\n\r\n", 400);                                  /* HTTP/0.9 */
    EXPECT("GET\r\n\r\n", 400);
    EXPECT("\r\n\r\n", 400);
    EXPECT("GET foo HTTP/1.1\r\nHost: t\r\n\r\n", 400);                       /* bad target */
    EXPECT("GET ftp://x/ HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    EXPECT("PRI * HTTP/2.0\r\n\r\n", 400);                         /* h2 preface */
    EXPECT("GET / HTTP/2.0\r\n\r\n", 505);
    EXPECT("GET / HTTP/1.2\r\n\r\n", 505);
    EXPECT("GET / HTTP/3.0\r\n\r\n", 505);
    EXPECT("GET / HTTP/0.9\r\n\r\n", 505);

    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +1\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1 2\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x10\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", 501);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n\r\n", 400);
    EXPECT("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);

    /* NUL bytes inside the head */
    {
        const char r1[] = "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n";
        const char r2[] = "GET / HTTP/1.1\r\nHost: t\r\nX\0A: ab\r\n\r\n";
        const char r3[] = "GET /\0 HTTP/1.1\r\nHost: t\r\n\r\n";
        const char *m;
        CHECK(parse_n(r1, sizeof r1 - 1, &m) == 400);
        CHECK(parse_n(r2, sizeof r2 - 1, &m) == 400);
        CHECK(parse_n(r3, sizeof r3 - 1, &m) == 400);
    }

    /* 101 headers */
    char big[8192];
    size_t n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
        n += (size_t)sprintf(big + n, "H%d: v\r\n", i);
    n += (size_t)sprintf(big + n, "\r\n");
    const char *m = NULL;
    CHECK(parse_n(big, n, &m) == 431 && m);
}

/* ---- chunked ---- */

struct dec {
    struct http_chunked c;
    char out[4096];
    size_t out_len;
    size_t consumed;
    int rc;
};

static void dec_init(struct dec *d, uint64_t max)
{
    http_chunked_init(&d->c, max);
    d->out_len = d->consumed = 0;
    d->rc = HTTP_CHUNK_MORE;
}

/* Feeds one piece; returns the decoder's result. */
static int dec_feed(struct dec *d, const char *in, size_t len)
{
    size_t used, outn;
    d->rc = http_chunked_decode(&d->c, in, len, &used, d->out + d->out_len,
                                sizeof d->out - d->out_len, &outn);
    d->out_len += outn;
    d->consumed += used;
    return d->rc;
}

static const char CHUNKED[] =
    "5\r\nhello\r\n"
    "6;name=value;x=\"q\"\r\n, worl\r\n"
    "A  \r\nd! 0123456\r\n"
    "1\r\n\n\r\n"
    "0\r\n"
    "X-Trailer: yes\r\n"
    "Another: one\r\n"
    "\r\n";
static const char CHUNKED_DATA[] = "hello, world! 0123456\n";

static void test_chunked(void)
{
    struct dec d;
    size_t len = strlen(CHUNKED);

    dec_init(&d, 1000);
    CHECK(dec_feed(&d, CHUNKED, len) == HTTP_CHUNK_DONE);
    CHECK(d.consumed == len);
    CHECK(d.out_len == strlen(CHUNKED_DATA) && memcmp(d.out, CHUNKED_DATA, d.out_len) == 0);

    /* split at every byte boundary */
    int ok = 1;
    for (size_t cut = 0; cut <= len; cut++) {
        dec_init(&d, 1000);
        int r1 = dec_feed(&d, CHUNKED, cut);
        if (r1 != HTTP_CHUNK_MORE && !(cut == len && r1 == HTTP_CHUNK_DONE))
            ok = 0;
        if (d.consumed != cut)
            ok = 0;
        if (cut < len && dec_feed(&d, CHUNKED + cut, len - cut) != HTTP_CHUNK_DONE)
            ok = 0;
        if (d.consumed != len || d.out_len != strlen(CHUNKED_DATA) ||
            memcmp(d.out, CHUNKED_DATA, d.out_len) != 0)
            ok = 0;
    }
    CHECK(ok);

    /* one byte at a time */
    dec_init(&d, 1000);
    ok = 1;
    for (size_t i = 0; i < len; i++) {
        int r = dec_feed(&d, CHUNKED + i, 1);
        if ((i + 1 < len && r != HTTP_CHUNK_MORE) || (i + 1 == len && r != HTTP_CHUNK_DONE))
            ok = 0;
    }
    CHECK(ok && d.out_len == strlen(CHUNKED_DATA) && memcmp(d.out, CHUNKED_DATA, d.out_len) == 0);

    /* bytes after the end belong to the next request */
    {
        const char s[] = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n";
        dec_init(&d, 100);
        CHECK(dec_feed(&d, s, sizeof s - 1) == HTTP_CHUNK_DONE);
        CHECK(d.consumed == strlen("3\r\nabc\r\n0\r\n\r\n"));
        CHECK(d.out_len == 3 && memcmp(d.out, "abc", 3) == 0);
    }
    /* empty body, uppercase hex, leading zeros */
    dec_init(&d, 100);
    CHECK(dec_feed(&d, "0\r\n\r\n", 5) == HTTP_CHUNK_DONE && d.out_len == 0);
    dec_init(&d, 100);
    CHECK(dec_feed(&d, "00B\r\nhello world\r\n000\r\n\r\n", 26) == HTTP_CHUNK_DONE && d.out_len == 11);

    /* small output space: stops, then continues */
    {
        struct http_chunked c;
        char out[4];
        size_t used, outn;
        const char s[] = "a\r\n0123456789\r\n0\r\n\r\n";
        http_chunked_init(&c, 100);
        int r = http_chunked_decode(&c, s, sizeof s - 1, &used, out, sizeof out, &outn);
        CHECK(r == HTTP_CHUNK_MORE && outn == 4 && used == 3 + 4 && memcmp(out, "0123", 4) == 0);
        size_t off = used;
        r = http_chunked_decode(&c, s + off, sizeof s - 1 - off, &used, out, sizeof out, &outn);
        CHECK(r == HTTP_CHUNK_MORE && outn == 4 && memcmp(out, "4567", 4) == 0);
        off += used;
        r = http_chunked_decode(&c, s + off, sizeof s - 1 - off, &used, out, sizeof out, &outn);
        CHECK(r == HTTP_CHUNK_DONE && outn == 2 && memcmp(out, "89", 2) == 0);
        CHECK(off + used == sizeof s - 1);
    }

    /* size limit: exactly max passes, max+1 fails at the size line */
    dec_init(&d, 5);
    CHECK(dec_feed(&d, "5\r\nhello\r\n0\r\n\r\n", 15) == HTTP_CHUNK_DONE);
    dec_init(&d, 5);
    CHECK(dec_feed(&d, "3\r\nhel\r\n3\r\n", 11) == HTTP_CHUNK_TOO_LARGE);
    CHECK(d.out_len == 3);
    dec_init(&d, 5);
    CHECK(dec_feed(&d, "6\r\n", 3) == HTTP_CHUNK_TOO_LARGE); /* no data read */
    dec_init(&d, 1000000);
    CHECK(dec_feed(&d, "ffffffffffffffffffff\r\n", 22) == HTTP_CHUNK_TOO_LARGE);
    dec_init(&d, UINT64_MAX);
    CHECK(dec_feed(&d, "fffffffffffffffffffff\r\n", 23) == HTTP_CHUNK_TOO_LARGE); /* no wrap */
}

static void expect_chunk_bad(const char *s, size_t len, int line)
{
    struct dec d;
    dec_init(&d, 1000);
    int r = dec_feed(&d, s, len);
    unit_checkf(r == HTTP_CHUNK_BAD, __FILE__, line, "chunked input not rejected (rc %d)", r);
}
#define CHUNK_BAD(s) expect_chunk_bad(s, sizeof(s) - 1, __LINE__)

static void test_chunked_errors(void)
{
    CHUNK_BAD("\r\n");                    /* empty size line */
    CHUNK_BAD("g\r\n");                   /* not hex */
    CHUNK_BAD("-1\r\n");
    CHUNK_BAD(" 5\r\nhello\r\n");         /* leading space */
    CHUNK_BAD("5\nhello\r\n");            /* LF without CR */
    CHUNK_BAD("5\r\rhello\r\n");
    CHUNK_BAD("5 x\r\nhello\r\n");
    CHUNK_BAD("5\r\nhelloX\r\n");         /* data longer than announced */
    CHUNK_BAD("5\r\nhello\rX");
    CHUNK_BAD("5\r\nhello\n");
    CHUNK_BAD("5;ext\x01\r\nhello\r\n");  /* control byte in extension */
    CHUNK_BAD("0\r\n folded: x\r\n\r\n"); /* obs-fold in trailers */
    CHUNK_BAD("0\r\nX: a\rb\r\n\r\n");
    CHUNK_BAD("0\r\n\rx");
    CHUNK_BAD("0x5\r\nhello\r\n");

    /* endless size line and trailers are bounded */
    static char big[40000];
    memset(big, ' ', sizeof big);
    big[0] = '1';
    big[1] = ';';
    memset(big + 2, 'a', sizeof big - 2);
    expect_chunk_bad(big, sizeof big, __LINE__);
    memcpy(big, "0\r\nX: ", 6);
    memset(big + 6, 'a', sizeof big - 6);
    expect_chunk_bad(big, sizeof big, __LINE__);
}

/* Deterministic mutation fuzzing.  Inputs live in exact-size heap blocks
 * so AddressSanitizer sees any read past the end. */
static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static void test_fuzz(void)
{
    static const char *seeds[] = {
        "GET /v1/models?x=1 HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
        "POST /v1/chat HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n",
        "GET http://h/p HTTP/1.0\r\n\r\n",
    };
    static const char alphabet[] = "\r\n\0 :\t;,?/Hx0aF-";
    int crashes_would_show_in_asan = 1;
    long accepted = 0;
    for (int iter = 0; iter < 30000; iter++) {
        const char *seed = seeds[iter % 4];
        size_t len = strlen(seed);
        char tmp[512];
        memcpy(tmp, seed, len);
        int muts = 1 + (int)(rnd() % 4);
        for (int m = 0; m < muts; m++) {
            size_t pos = rnd() % len;
            switch (rnd() % 3) {
            case 0: tmp[pos] = alphabet[rnd() % (sizeof alphabet - 1)]; break;
            case 1: tmp[pos] = (char)(rnd() & 0xff); break;
            default:
                if (len < sizeof tmp - 1) {
                    memmove(tmp + pos + 1, tmp + pos, len - pos);
                    tmp[pos] = alphabet[rnd() % (sizeof alphabet - 1)];
                    len++;
                }
            }
        }
        char *in = malloc(len);
        memcpy(in, tmp, len);
        /* scan incrementally in random steps, as the server does */
        size_t scanned = 0, have = 0;
        long end = 0;
        while (have < len && end == 0) {
            have += 1 + rnd() % 16;
            if (have > len)
                have = len;
            end = http_head_end(in, have, &scanned);
        }
        if (end > 0) {
            char *head = malloc((size_t)end);
            memcpy(head, in, (size_t)end);
            struct http_head *h = malloc(sizeof *h);
            const char *msg;
            int st = http_parse_head(head, (size_t)end, h, &msg);
            if (st == 0) {
                accepted++;
                (void)http_head_get(h, "content-length");
                if (!h->method || !h->path)
                    crashes_would_show_in_asan = 0;
            } else if (!msg || (st != 400 && st != 431 && st != 501 && st != 505)) {
                crashes_would_show_in_asan = 0;
            }
            free(h);
            free(head);
        }
        /* the raw bytes straight into the parser too */
        char *raw = malloc(len);
        memcpy(raw, tmp, len);
        struct http_head *h2 = malloc(sizeof *h2);
        const char *msg2;
        (void)http_parse_head(raw, len, h2, &msg2);
        free(h2);
        free(raw);
        free(in);
    }
    CHECK(crashes_would_show_in_asan);
    CHECK(accepted > 100); /* the fuzzer also reaches the success path */

    /* chunked decoder on mutated bodies, random splits */
    int ok = 1;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = strlen(CHUNKED);
        char *in = malloc(len);
        memcpy(in, CHUNKED, len);
        int muts = (int)(rnd() % 3);
        for (int m = 0; m < muts; m++)
            in[rnd() % len] = (rnd() & 1) ? alphabet[rnd() % (sizeof alphabet - 1)] : (char)rnd();
        struct http_chunked c;
        http_chunked_init(&c, 1 + rnd() % 40);
        char *out = malloc(64);
        size_t off = 0, total_out = 0;
        int rc = HTTP_CHUNK_MORE;
        while (off < len && rc == HTTP_CHUNK_MORE) {
            size_t piece = 1 + rnd() % 10;
            if (piece > len - off)
                piece = len - off;
            size_t used, outn, cap = 1 + rnd() % 8;
            if (total_out + cap > 64)
                cap = 64 - total_out;
            rc = http_chunked_decode(&c, in + off, piece, &used, out + total_out, cap, &outn);
            if (used > piece || outn > cap)
                ok = 0;
            off += used;
            total_out += outn;
            if (rc == HTTP_CHUNK_MORE && used == 0 && outn == 0 && cap > 0) {
                ok = 0;
                break;
            }
            if (total_out >= 64)
                break;
        }
        if (total_out > c.core.max)
            ok = 0;
        free(out);
        free(in);
    }
    CHECK(ok);
}

int main(void)
{
    test_head_end();
    test_valid();
    test_keep_alive();
    test_host();
    test_errors();
    test_chunked();
    test_chunked_errors();
    test_fuzz();
    UNIT_END("http_parse");
}
