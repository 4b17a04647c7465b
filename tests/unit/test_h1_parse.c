/* gw_h1_parse: the framing of HTTP/1.x responses.  Each case of the table
 * is fed whole, split at every byte boundary, byte by byte, and with the
 * body callback pausing every first offer; every way must give the same
 * head lines, body bytes, result and error as the whole feed, and those
 * must be the case's expectations.  The driver keeps unconsumed bytes and
 * offers them again with the next piece, as gw_h1.c does. */
#include <stdlib.h>
#include <string.h>

#include "gw_h1_parse.h"
#include "unit.h"

struct run {
    /* what came out */
    enum h1p_rc rc;
    int status;
    bool keep_alive;
    bool eof_ends;
    char *hdr;
    size_t hdr_len, hdr_cap;
    int lines;
    bool line_bad;        /* a header callback got something but one whole line */
    char *body;
    size_t body_len, body_cap;
    size_t leftover;      /* bytes not consumed when the feed ended */
    char err[128];
    int pauses;
    /* how the callbacks behave */
    bool pause_first;     /* refuse each offer once with H1P_PAUSE */
    bool armed;
    int stop_at_line;     /* header callback refuses line N (1-based); 0 = never */
    size_t stop_after;    /* body callback refuses once this many bytes came; 0 = never */
};

static void append(char **b, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1)
            c *= 2;
        *b = realloc(*b, c);
        *cap = c;
    }
    memcpy(*b + *len, p, n);
    *len += n;
    (*b)[*len] = '\0';
}

static size_t on_header(void *arg, const char *line, size_t len)
{
    struct run *r = arg;
    r->lines++;
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len) != line + len - 1)
        r->line_bad = true;
    if (r->stop_at_line && r->lines == r->stop_at_line)
        return 0;
    append(&r->hdr, &r->hdr_len, &r->hdr_cap, line, len);
    return len;
}

static size_t on_body(void *arg, const char *p, size_t len)
{
    struct run *r = arg;
    if (r->pause_first && !r->armed) {
        r->armed = true;
        r->pauses++;
        return H1P_PAUSE;
    }
    r->armed = false;
    if (r->stop_after && r->body_len + len > r->stop_after) {
        size_t take = r->stop_after - r->body_len;
        append(&r->body, &r->body_len, &r->body_cap, p, take);
        return take;
    }
    append(&r->body, &r->body_len, &r->body_cap, p, len);
    return len;
}

static void run_free(struct run *r)
{
    free(r->hdr);
    free(r->body);
}

/* Feeds resp[0..len) in the pieces cuts[] marks (ascending offsets inside
 * (0, len)); a pause is answered by offering the same bytes again. */
static void feed(struct run *r, const char *resp, size_t len, const size_t *cuts, size_t ncuts)
{
    struct h1p p;
    h1p_init(&p);
    const struct h1p_cb cb = { on_header, on_body, r };
    char *pend = malloc(len + 1);
    size_t plen = 0, at = 0;
    enum h1p_rc rc = H1P_NEED_MORE;
    for (size_t k = 0; k <= ncuts && rc == H1P_NEED_MORE; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        memcpy(pend + plen, resp + at, end - at);
        plen += end - at;
        at = end;
        for (int guard = 0; guard < 1000; guard++) {
            size_t used = 0;
            rc = h1p_feed(&p, pend, plen, &used, &cb, r->err, sizeof r->err);
            if (used > plen) {
                rc = H1P_BAD;
                snprintf(r->err, sizeof r->err, "used %zu of %zu", used, plen);
                break;
            }
            memmove(pend, pend + used, plen - used);
            plen -= used;
            if (rc != H1P_PAUSED)
                break;
        }
    }
    r->rc = rc;
    r->status = p.status;
    r->keep_alive = p.keep_alive;
    r->eof_ends = h1p_eof_ends(&p);
    r->leftover = plen + (len - at);
    free(pend);
}

struct pcase {
    const char *name;
    const char *resp;
    enum h1p_rc rc;        /* after every byte: COMPLETE, NEED_MORE or BAD */
    int status;
    int keep_alive;        /* 1, 0, or -1: not looked at */
    const char *head;      /* the lines the header callback got, concatenated */
    int lines;
    const char *body;
    size_t leftover;
    bool eof_ends;
    const char *err;       /* for H1P_BAD */
};

#define OK200 "HTTP/1.1 200 OK\r\n"

static const struct pcase cases[] = {
    { "content-length", OK200 "Content-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
      H1P_COMPLETE, 200, 1, OK200 "Content-Length: 5\r\nContent-Type: text/plain\r\n\r\n", 4,
      "hello", 0, true, NULL },
    { "content-length zero", OK200 "content-length:0\r\n\r\n", H1P_COMPLETE, 200, 1,
      OK200 "content-length:0\r\n\r\n", 3, "", 0, true, NULL },
    { "content-length repeated equal", OK200 "Content-Length: 2 \r\nContent-Length: 2\r\n\r\nokXY",
      H1P_COMPLETE, 200, 1, OK200 "Content-Length: 2 \r\nContent-Length: 2\r\n\r\n", 4, "ok", 2,
      true, NULL },
    { "bytes after the body are not consumed", OK200 "Content-Length: 3\r\n\r\nabcHTTP/1.1",
      H1P_COMPLETE, 200, 1, OK200 "Content-Length: 3\r\n\r\n", 3, "abc", 8, true, NULL },
    { "chunked: extensions, trailers, upper and lower hex",
      OK200 "Transfer-Encoding: chunked\r\n\r\n"
            "5;name=val\r\nhello\r\nA\r\n0123456789\r\na ; x=\"y\"\r\nabcdefghij\r\n"
            "1B\r\n<twenty-seven bytes chunk!>\r\n0;end\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n",
      H1P_COMPLETE, 200, 1, OK200 "Transfer-Encoding: chunked\r\n\r\n", 3,
      "hello0123456789abcdefghij<twenty-seven bytes chunk!>", 0, true, NULL },
    /* Strict as the server: a bare LF anywhere is not HTTP/1.1. */
    { "bare LF in the head", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n"
                             "2;x\nde\n0\nT: 1\n\n",
      H1P_BAD, 0, -1, "", 0, "", 0, false, "bare LF" },
    { "bare LF after the status line only", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
      H1P_BAD, 0, -1, "", 0, "", 0, false, "bare LF" },
    { "bare LF ends a chunk-size line", OK200 "Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
      H1P_BAD, 200, -1, OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "", 0, false,
      "malformed chunk size" },
    { "bare LF after chunk data", OK200 "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n",
      H1P_BAD, 200, -1, OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "abc", 0, false,
      "not followed by CRLF" },
    { "bare LF ends a trailer", OK200 "Transfer-Encoding: chunked\r\n\r\n0\r\nT: 1\n\r\n",
      H1P_BAD, 200, -1, OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "", 0, false,
      "malformed trailer line" },
    { "bare LF ends the last chunk", OK200 "Transfer-Encoding: chunked\r\n\r\n0\r\n\n",
      H1P_BAD, 200, -1, OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "", 0, false,
      "malformed trailer line" },
    { "CR without LF inside a header value", OK200 "X-A: 1\r2\r\nContent-Length: 0\r\n\r\n",
      H1P_BAD, 0, -1, OK200, 1, "", 0, false, "invalid character in header value" },
    { "control byte in a header value", OK200 "X-A: 1\x01\r\nContent-Length: 0\r\n\r\n",
      H1P_BAD, 0, -1, OK200, 1, "", 0, false, "invalid character in header value" },
    { "space before the colon", OK200 "X-A : 1\r\nContent-Length: 0\r\n\r\n",
      H1P_BAD, 0, -1, OK200, 1, "", 0, false, "malformed header line" },
    { "control byte in the reason phrase", "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n",
      H1P_BAD, 0, -1, "", 0, "", 0, false, "malformed status line" },
    { "chunk extension with a control byte",
      OK200 "Transfer-Encoding: chunked\r\n\r\n1;a\x01\r\nx\r\n0\r\n\r\n", H1P_BAD, 200, -1,
      OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "", 0, false, "malformed chunk extension" },
    { "BWS before a chunk extension and the line end",
      OK200 "Transfer-Encoding: chunked\r\n\r\n2 \t;e=1\r\nhi\r\n1\t\r\n!\r\n0\r\n\r\n",
      H1P_COMPLETE, 200, 1, OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "hi!", 0, true, NULL },
    { "chunked wins over content-length; last coding counts",
      OK200 "Content-Length: 100\r\nTransfer-Encoding: gzip, Chunked \r\n\r\n2\r\nhi\r\n0\r\n\r\n",
      H1P_COMPLETE, 200, 1,
      OK200 "Content-Length: 100\r\nTransfer-Encoding: gzip, Chunked \r\n\r\n", 4, "hi", 0, true,
      NULL },
    { "close-delimited (no length, no chunks)", OK200 "Content-Type: x\r\n\r\nuntil the close",
      H1P_NEED_MORE, 200, 0, OK200 "Content-Type: x\r\n\r\n", 3, "until the close", 0, true,
      NULL },
    { "chunked not last: close-delimited",
      OK200 "Transfer-Encoding: chunked, gzip\r\n\r\n2\r\nhi", H1P_NEED_MORE, 200, 0,
      OK200 "Transfer-Encoding: chunked, gzip\r\n\r\n", 3, "2\r\nhi", 0, true, NULL },
    { "100 Continue and 103 before the real head",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      OK200 "Content-Length: 2\r\n\r\nok",
      H1P_COMPLETE, 200, 1, OK200 "Content-Length: 2\r\n\r\n", 3, "ok", 0, true, NULL },
    { "204 has no body", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\nnextone",
      H1P_COMPLETE, 204, 1, "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", 3, "", 7,
      true, NULL },
    { "304 has no body", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
      H1P_COMPLETE, 304, 1, "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 3,
      "", 0, true, NULL },
    { "status line without a reason", "HTTP/1.1 503\r\nContent-Length: 1\r\n\r\nx",
      H1P_COMPLETE, 503, 1, "HTTP/1.1 503\r\nContent-Length: 1\r\n\r\n", 3, "x", 0, true, NULL },
    { "HTTP/1.0 closes by default", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
      H1P_COMPLETE, 200, 0, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 3, "x", 0, true,
      NULL },
    { "HTTP/1.0 with keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1"
                                  "\r\n\r\nx",
      H1P_COMPLETE, 200, 1, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n",
      4, "x", 0, true, NULL },
    { "HTTP/1.0 with a token that only starts like keep-alive",
      "HTTP/1.0 200 OK\r\nConnection: keep-alives\r\nContent-Length: 0\r\n\r\n", H1P_COMPLETE, 200,
      0, "HTTP/1.0 200 OK\r\nConnection: keep-alives\r\nContent-Length: 0\r\n\r\n", 4, "", 0, true,
      NULL },
    { "HTTP/1.1 with Connection: close among tokens",
      OK200 "Connection: Upgrade ,\tCLOSE \r\nContent-Length: 0\r\n\r\n", H1P_COMPLETE, 200, 0,
      OK200 "Connection: Upgrade ,\tCLOSE \r\nContent-Length: 0\r\n\r\n", 4, "", 0, true, NULL },
    { "HTTP/1.1 with close and keep-alive: close wins",
      OK200 "Connection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
      H1P_COMPLETE, 200, 0,
      OK200 "Connection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 5, "", 0,
      true, NULL },
    { "HTTP/1.1 with 'closed' is not close", OK200 "Connection: closed\r\nContent-Length: 0\r\n\r\n",
      H1P_COMPLETE, 200, 1, OK200 "Connection: closed\r\nContent-Length: 0\r\n\r\n", 4, "", 0, true,
      NULL },
    { "truncated Content-Length body", OK200 "Content-Length: 10\r\n\r\nabc", H1P_NEED_MORE, 200,
      1, OK200 "Content-Length: 10\r\n\r\n", 3, "abc", 0, false, NULL },
    { "truncated chunked body", OK200 "Transfer-Encoding: chunked\r\n\r\n5\r\nab", H1P_NEED_MORE,
      200, 1, OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "ab", 0, false, NULL },
    { "truncated head", OK200 "Content-Le", H1P_NEED_MORE, 0, -1, "", 0, "", 27, false, NULL },

    /* malformed */
    { "status line: HTTP/2", "HTTP/2 200 OK\r\n\r\n", H1P_BAD, 0, -1, "", 0, "", 0, false,
      "malformed status line" },
    { "status line: not HTTP", "ICY 200 OK\r\n\r\n", H1P_BAD, 0, -1, "", 0, "", 0, false,
      "malformed status line" },
    { "status line: letters in the code", "HTTP/1.1 2x0 OK\r\n\r\n", H1P_BAD, 0, -1, "", 0, "",
      0, false, "malformed status line" },
    { "status line: four digits", "HTTP/1.1 2000 OK\r\n\r\n", H1P_BAD, 0, -1, "", 0, "", 0,
      false, "malformed status line" },
    { "status line: below 100", "HTTP/1.1 099 Odd\r\n\r\n", H1P_BAD, 0, -1, "", 0, "", 0, false,
      "malformed status line" },
    { "101 Switching Protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
      H1P_BAD, 0, -1, "", 0, "", 0, false, "switched protocols" },
    { "header line without a colon", OK200 "Content-Length 5\r\n\r\nhello", H1P_BAD, 0, -1,
      OK200, 1, "", 0, false, "malformed header line" },
    { "header line with an empty name", OK200 ": x\r\n\r\n", H1P_BAD, 0, -1, OK200, 1, "", 0,
      false, "malformed header line" },
    { "obsolete line folding", OK200 "X-A: 1\r\n  folded\r\n\r\n", H1P_BAD, 0, -1,
      OK200 "X-A: 1\r\n", 2, "", 0, false, "obsolete header line folding" },
    { "conflicting Content-Lengths", OK200 "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      H1P_BAD, 0, -1, OK200 "Content-Length: 5\r\n", 2, "", 0, false, "malformed Content-Length" },
    { "Content-Length list", OK200 "Content-Length: 5, 5\r\n\r\nhello", H1P_BAD, 0, -1, OK200, 1,
      "", 0, false, "malformed Content-Length" },
    { "negative Content-Length", OK200 "Content-Length: -1\r\n\r\n", H1P_BAD, 0, -1, OK200, 1, "",
      0, false, "malformed Content-Length" },
    { "Content-Length overflow", OK200 "Content-Length: 99999999999999999999\r\n\r\n", H1P_BAD, 0,
      -1, OK200, 1, "", 0, false, "Content-Length too large" },
    { "bad chunk size", OK200 "Transfer-Encoding: chunked\r\n\r\nzz\r\n", H1P_BAD, 200, -1,
      OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "", 0, false, "malformed chunk size" },
    { "chunk size followed by junk", OK200 "Transfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n",
      H1P_BAD, 200, -1, OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "", 0, false,
      "malformed chunk size" },
    { "empty chunk size", OK200 "Transfer-Encoding: chunked\r\n\r\n\r\n", H1P_BAD, 200, -1,
      OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "", 0, false, "malformed chunk size" },
    { "chunk size overflow", OK200 "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
      H1P_BAD, 200, -1, OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "", 0, false,
      "chunk size too large" },
    { "chunk data not followed by CRLF", OK200 "Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
      H1P_BAD, 200, -1, OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "abc", 0, false,
      "not followed by CRLF" },
    { "chunk data followed by CR and junk",
      OK200 "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\rX0\r\n\r\n", H1P_BAD, 200, -1,
      OK200 "Transfer-Encoding: chunked\r\n\r\n", 3, "abc", 0, false, "not followed by CRLF" },
};

static bool same(const struct run *a, const struct run *b)
{
    return a->rc == b->rc && a->status == b->status && a->keep_alive == b->keep_alive &&
           a->eof_ends == b->eof_ends && a->lines == b->lines && a->line_bad == b->line_bad &&
           a->hdr_len == b->hdr_len && (!a->hdr_len || !memcmp(a->hdr, b->hdr, a->hdr_len)) &&
           a->body_len == b->body_len &&
           (!a->body_len || !memcmp(a->body, b->body, a->body_len)) &&
           a->leftover == b->leftover && (a->rc != H1P_BAD || !strcmp(a->err, b->err));
}

static bool expected(const struct pcase *c, const struct run *r)
{
    const char *hdr = r->hdr ? r->hdr : "";
    const char *body = r->body ? r->body : "";
    bool ok = r->rc == c->rc && r->lines == c->lines && !r->line_bad && !strcmp(hdr, c->head) &&
              r->body_len == strlen(c->body) && !memcmp(body, c->body, r->body_len) &&
              (c->rc == H1P_BAD || r->leftover == c->leftover) && r->eof_ends == c->eof_ends;
    if (c->rc != H1P_BAD)
        ok = ok && r->status == c->status && (c->keep_alive < 0 || r->keep_alive == c->keep_alive);
    else
        ok = ok && c->err && strstr(r->err, c->err);
    if (!ok)
        fprintf(stderr, "case \"%s\": rc %d status %d ka %d lines %d eof %d left %zu err \"%s\"\n"
                        "  head \"%s\"\n  body \"%s\"\n",
                c->name, r->rc, r->status, r->keep_alive, r->lines, r->eof_ends, r->leftover,
                r->err, hdr, body);
    return ok;
}

static void test_table(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct pcase *c = &cases[i];
        size_t len = strlen(c->resp);
        struct run whole = { 0 };
        feed(&whole, c->resp, len, NULL, 0);
        CHECK(expected(c, &whole));

        /* every split into two pieces, and into three around each byte */
        int diff2 = 0, diff3 = 0;
        for (size_t k = 1; k < len; k++) {
            struct run r = { 0 };
            feed(&r, c->resp, len, &k, 1);
            if (!same(&whole, &r)) {
                diff2++;
                fprintf(stderr, "case \"%s\": split at %zu differs\n", c->name, k);
            }
            run_free(&r);
            if (k + 1 < len) {
                size_t cuts[2] = { k, k + 1 };
                struct run r3 = { 0 };
                feed(&r3, c->resp, len, cuts, 2);
                diff3 += !same(&whole, &r3);
                run_free(&r3);
            }
        }
        CHECK(diff2 == 0);
        CHECK(diff3 == 0);

        size_t *all = malloc(len * sizeof *all);
        for (size_t k = 1; k < len; k++)
            all[k - 1] = k;
        struct run bytes = { 0 };
        feed(&bytes, c->resp, len, all, len - 1);
        CHECK(same(&whole, &bytes));

        /* the body callback pauses every first offer: same outcome */
        struct run pw = { .pause_first = true }, pb = { .pause_first = true };
        feed(&pw, c->resp, len, NULL, 0);
        feed(&pb, c->resp, len, all, len - 1);
        CHECK(same(&whole, &pw));
        CHECK(same(&whole, &pb));
        CHECK(whole.body_len == 0 || pw.pauses > 0);
        CHECK(pb.pauses >= (whole.body_len ? 1 : 0));
        free(all);
        run_free(&whole);
        run_free(&bytes);
        run_free(&pw);
        run_free(&pb);
    }
}

/* A pause hands back exactly the bytes not taken: used stops before them. */
static void test_pause_used(void)
{
    static const char resp[] = OK200 "Content-Length: 4\r\n\r\nabcd";
    size_t head = strlen(resp) - 4;
    struct run r = { .pause_first = true };
    struct h1p p;
    h1p_init(&p);
    const struct h1p_cb cb = { on_header, on_body, &r };
    size_t used = 99;
    enum h1p_rc rc = h1p_feed(&p, resp, sizeof resp - 1, &used, &cb, r.err, sizeof r.err);
    CHECK(rc == H1P_PAUSED);
    CHECK(used == head);
    CHECK(p.state == H1P_BODY_LEN && p.remaining == 4);
    rc = h1p_feed(&p, resp + used, sizeof resp - 1 - used, &used, &cb, r.err, sizeof r.err);
    CHECK(rc == H1P_COMPLETE);
    CHECK(used == 4);
    CHECK(r.body_len == 4 && memcmp(r.body, "abcd", 4) == 0);
    run_free(&r);
}

/* A callback that refuses stops the response where it was. */
static void test_stop(void)
{
    static const char resp[] = OK200 "X-A: 1\r\nContent-Length: 6\r\n\r\nabcdef";
    struct run h = { .stop_at_line = 2 };
    feed(&h, resp, sizeof resp - 1, NULL, 0);
    CHECK(h.rc == H1P_STOPPED);
    CHECK(h.lines == 2 && h.hdr_len == strlen(OK200));
    CHECK(h.body_len == 0);

    struct run b = { .stop_after = 4 };
    feed(&b, resp, sizeof resp - 1, NULL, 0);
    CHECK(b.rc == H1P_STOPPED);
    CHECK(b.body_len == 4 && memcmp(b.body, "abcd", 4) == 0);

    /* the refusal in a later piece */
    size_t cut = sizeof resp - 1 - 4;
    struct run b2 = { .stop_after = 3 };
    feed(&b2, resp, sizeof resp - 1, &cut, 1);
    CHECK(b2.rc == H1P_STOPPED);
    CHECK(b2.body_len == 3);

    /* the empty line that ends the head can be refused too */
    struct run e = { .stop_at_line = 4 };
    feed(&e, resp, sizeof resp - 1, NULL, 0);
    CHECK(e.rc == H1P_STOPPED && e.lines == 4 && e.body_len == 0);
    run_free(&h);
    run_free(&b);
    run_free(&b2);
    run_free(&e);
}

/* Feeds big in pieces of `piece` bytes. */
static void feed_pieces(struct run *r, const char *big, size_t len, size_t piece)
{
    size_t n = len / piece;
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    size_t k = 0;
    for (size_t at = piece; at < len; at += piece)
        cuts[k++] = at;
    feed(r, big, len, cuts, k);
    free(cuts);
}

/* The limits: a head over 64 KiB and a chunk-size or trailer line over
 * 4 KiB are refused however their bytes arrive. */
static void test_limits(void)
{
    size_t n = H1P_HEAD_MAX + 4096;
    char *big = malloc(n + 64);
    size_t len = (size_t)sprintf(big, OK200);
    while (len < n)
        len += (size_t)sprintf(big + len, "X-Filler: %060d\r\n", 0);
    size_t open_len = len;
    len += (size_t)sprintf(big + len, "Content-Length: 0\r\n\r\n");

    struct run a = { 0 }, b = { 0 }, c = { 0 };
    feed_pieces(&a, big, open_len, 1000);   /* the head never ends */
    CHECK(a.rc == H1P_BAD && strstr(a.err, "64 KiB"));
    feed_pieces(&b, big, len, 1000);
    CHECK(b.rc == H1P_BAD && strstr(b.err, "64 KiB"));
    feed(&c, big, len, NULL, 0);            /* all of it at once */
    CHECK(c.rc == H1P_BAD && strstr(c.err, "64 KiB"));
    run_free(&a);
    run_free(&b);
    run_free(&c);

    /* A head just under the limit is fine. */
    len = (size_t)sprintf(big, OK200 "Content-Length: 0\r\nX-F: ");
    size_t fill = H1P_HEAD_MAX - len - 4;
    memset(big + len, 'v', fill);
    len += fill;
    len += (size_t)sprintf(big + len, "\r\n\r\n");
    struct run d = { 0 }, e = { 0 };
    CHECK(len <= H1P_HEAD_MAX);
    feed(&d, big, len, NULL, 0);
    CHECK(d.rc == H1P_COMPLETE);
    feed_pieces(&e, big, len, 777);
    CHECK(e.rc == H1P_COMPLETE && e.lines == 4);
    run_free(&d);
    run_free(&e);

    /* a chunk-size line with an extension of 5000 bytes, and a trailer
     * line of 5000 bytes: all at once, in pieces, byte by byte */
    static const char *const around[2][2] = {
        { OK200 "Transfer-Encoding: chunked\r\n\r\n1;ext=", "\r\nx\r\n0\r\n\r\n" },
        { OK200 "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: ", "\r\n\r\n" },
    };
    for (int k = 0; k < 2; k++) {
        len = (size_t)sprintf(big, "%s", around[k][0]);
        memset(big + len, 'e', 5000);
        len += 5000;
        len += (size_t)sprintf(big + len, "%s", around[k][1]);
        size_t pieces[3] = { len, 100, 1 };
        for (int j = 0; j < 3; j++) {
            struct run f = { 0 };
            feed_pieces(&f, big, len, pieces[j]);
            CHECK(f.rc == H1P_BAD && strstr(f.err, "line too long"));
            run_free(&f);
        }
    }

    /* the largest chunk size accepted, and its body bytes passed on */
    len = (size_t)sprintf(big, OK200 "Transfer-Encoding: chunked\r\n\r\n7ffffffffffffff\r\nabc");
    struct run m = { 0 };
    feed(&m, big, len, NULL, 0);
    CHECK(m.rc == H1P_NEED_MORE && m.body_len == 3 && !m.eof_ends);
    run_free(&m);
    free(big);
}

/* A body of 1 MiB in Content-Length and in chunks, fed in odd pieces. */
static void test_big_body(void)
{
    size_t bl = 1 << 20;
    char *resp = malloc(bl * 2 + 4096);
    size_t len = (size_t)sprintf(resp, OK200 "Content-Length: %zu\r\n\r\n", bl);
    for (size_t i = 0; i < bl; i++)
        resp[len + i] = (char)(i % 251);
    len += bl;
    struct run r = { .pause_first = true };
    feed_pieces(&r, resp, len, 4093);
    CHECK(r.rc == H1P_COMPLETE && r.body_len == bl);
    bool ok = r.body_len == bl;
    for (size_t i = 0; ok && i < bl; i++)
        ok = r.body[i] == (char)(i % 251);
    CHECK(ok);
    run_free(&r);

    len = (size_t)sprintf(resp, OK200 "Transfer-Encoding: chunked\r\n\r\n");
    size_t sent = 0;
    for (size_t sz = 1; sent < bl; sz = sz * 3 + 1) {
        size_t take = sz < bl - sent ? sz : bl - sent;
        len += (size_t)sprintf(resp + len, "%zx\r\n", take);
        for (size_t i = 0; i < take; i++)
            resp[len + i] = (char)((sent + i) % 251);
        len += take;
        sent += take;
        len += (size_t)sprintf(resp + len, "\r\n");
    }
    len += (size_t)sprintf(resp + len, "0\r\n\r\n");
    struct run c = { 0 };
    feed_pieces(&c, resp, len, 1021);
    CHECK(c.rc == H1P_COMPLETE && c.body_len == bl);
    ok = c.body_len == bl;
    for (size_t i = 0; ok && i < bl; i++)
        ok = c.body[i] == (char)(i % 251);
    CHECK(ok);
    run_free(&c);
    free(resp);
}

int main(void)
{
    test_table();
    test_pause_used();
    test_stop();
    test_limits();
    test_big_body();
    UNIT_END("h1_parse");
}
