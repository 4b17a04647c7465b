/* Unit tests of the AWS event-stream framing: the providers.md 6.4 vectors
 * (encoded byte for byte, decoded at every cut), every header type skipped
 * by its width, and corrupted or impossible frames refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evs.h"
#include "unit.h"

static size_t unhex(const char *hex, unsigned char *out)
{
    size_t n = 0;
    unsigned v;
    while (*hex) {
        if (*hex == ' ' || *hex == '\n') {
            hex++;
            continue;
        }
        sscanf(hex, "%2x", &v);
        out[n++] = (unsigned char)v;
        hex += 2;
    }
    return n;
}

static const char vec1[] = "00 00 00 1e 00 00 00 00 ba f2 f6 8a 7b 22 66 6f 6f 22 3a 20 22 62 61 72 22 7d ae 72 58 e4";
static const char vec2[] =
    "0000007a00000051ca2c46650b3a6576656e742d7479706507000b6d65737361676553746f700d3a636f6e74"
    "656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d74797065070005"
    "6576656e747b2273746f70526561736f6e223a22656e645f7475726e227d5fbf09fc";

/* What the callback saw, one line per message. */
struct seen {
    char text[4096];
    int n;
    int stop_at;
};

static int record(void *arg, const struct evs_message *m)
{
    struct seen *s = arg;
    size_t at = strlen(s->text);
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct evs_header *h = &m->headers[i];
        at += (size_t)snprintf(s->text + at, sizeof s->text - at, "%.*s=", (int)h->name_len, h->name);
        if (h->type == EVS_STRING || h->type == EVS_BYTES)
            at += (size_t)snprintf(s->text + at, sizeof s->text - at, "%.*s;", (int)h->value_len, h->value);
        else
            at += (size_t)snprintf(s->text + at, sizeof s->text - at, "%d:%lld;", h->type, (long long)h->num);
    }
    snprintf(s->text + at, sizeof s->text - at, "|%.*s\n", (int)m->payload_len, m->payload);
    s->n++;
    return s->stop_at && s->n == s->stop_at ? 7 : 0;
}

static void test_crc(void)
{
    CHECK(evs_crc32(0, "123456789", 9) == 0xCBF43926u);
    CHECK(evs_crc32(evs_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u);
    CHECK(evs_crc32(0, "", 0) == 0);
}

static void test_encode_vectors(void)
{
    unsigned char want[256];
    size_t wn = unhex(vec1, want), n = 0;
    unsigned char *m = evs_encode(NULL, NULL, 0, "{\"foo\": \"bar\"}", 14, &n);
    CHECK(m && n == wn && memcmp(m, want, n) == 0);
    free(m);
    wn = unhex(vec2, want);
    const char *names[] = { ":event-type", ":content-type", ":message-type" };
    const char *values[] = { "messageStop", "application/json", "event" };
    const char *payload = "{\"stopReason\":\"end_turn\"}";
    m = evs_encode(names, values, 3, payload, strlen(payload), &n);
    CHECK(m && n == wn && memcmp(m, want, n) == 0);
    free(m);
}

/* Both vectors back to back, cut at every pair of points. */
static void test_decode_every_cut(void)
{
    unsigned char buf[512];
    size_t n = unhex(vec1, buf);
    n += unhex(vec2, buf + n);
    const char *want = "|{\"foo\": \"bar\"}\n"
                       ":event-type=messageStop;:content-type=application/json;:message-type=event;"
                       "|{\"stopReason\":\"end_turn\"}\n";
    int bad = 0;
    for (size_t a = 0; a <= n; a++)
        for (size_t b = a; b <= n; b++) {
            struct evs_decoder d;
            struct seen s = { .text = "" };
            evs_decoder_init(&d);
            int rc = evs_feed(&d, buf, a, record, &s);
            rc |= evs_feed(&d, buf + a, b - a, record, &s);
            rc |= evs_feed(&d, buf + b, n - b, record, &s);
            bad += rc != 0 || strcmp(s.text, want) != 0 || d.len != 0;
            evs_decoder_free(&d);
        }
    CHECK(bad == 0);
    /* One byte at a time, and the message reachable by its header. */
    struct evs_decoder d;
    struct seen s = { .text = "" };
    evs_decoder_init(&d);
    for (size_t i = 0; i < n; i++)
        CHECK(evs_feed(&d, buf + i, 1, record, &s) == 0);
    CHECK(strcmp(s.text, want) == 0 && s.n == 2);
    evs_decoder_free(&d);
}

static void test_stop(void)
{
    unsigned char buf[512];
    size_t n = unhex(vec1, buf);
    n += unhex(vec2, buf + n);
    struct evs_decoder d;
    struct seen s = { .text = "", .stop_at = 1 };
    evs_decoder_init(&d);
    CHECK(evs_feed(&d, buf, n, record, &s) == 7);
    CHECK(s.n == 1);
    /* The second message is still there for a later call. */
    s.stop_at = 0;
    CHECK(evs_feed(&d, NULL, 0, record, &s) == 0 && s.n == 2);
    evs_decoder_free(&d);
}

static int feed_all(const unsigned char *buf, size_t n, struct seen *s, char *err, size_t errlen)
{
    struct evs_decoder d;
    evs_decoder_init(&d);
    int rc = evs_feed(&d, buf, n, record, s);
    snprintf(err, errlen, "%s", d.error);
    /* Once failed it stays failed. */
    if (rc == -1 && evs_feed(&d, buf, n, record, s) != -1)
        rc = -2;
    evs_decoder_free(&d);
    return rc;
}

static void test_corruption(void)
{
    unsigned char good[256], buf[256];
    size_t n = unhex(vec2, good);
    char err[128];
    /* Every single bit flipped anywhere is caught by one CRC or the other. */
    int missed = 0;
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            struct seen s = { .text = "" };
            memcpy(buf, good, n);
            buf[i] ^= (unsigned char)(1 << bit);
            int rc = feed_all(buf, n, &s, err, sizeof err);
            /* A flipped length may leave the decoder waiting for more,
             * which the transfer's end then reports as a cut stream. */
            missed += s.n != 0 || !(rc == -1 || (rc == 0 && i < 8));
        }
    CHECK(missed == 0);
    struct seen s = { .text = "" };
    memcpy(buf, good, n);
    buf[n - 1] ^= 1;
    CHECK(feed_all(buf, n, &s, err, sizeof err) == -1 && strstr(err, "message CRC") != NULL);
    memcpy(buf, good, n);
    buf[9] ^= 1;
    CHECK(feed_all(buf, n, &s, err, sizeof err) == -1 && strstr(err, "prelude CRC") != NULL);
    /* Plain text (an HTML error page) is refused at the first 12 bytes. */
    CHECK(feed_all((const unsigned char *)"<html>oops</html>", 17, &s, err, sizeof err) == -1);
}

/* A frame with raw headers, CRCs made right. */
static size_t frame(unsigned char *out, const unsigned char *headers, size_t hlen, const char *payload)
{
    size_t pl = strlen(payload), total = 16 + hlen + pl;
    out[0] = 0, out[1] = 0, out[2] = (unsigned char)(total >> 8), out[3] = (unsigned char)total;
    out[4] = 0, out[5] = 0, out[6] = (unsigned char)(hlen >> 8), out[7] = (unsigned char)hlen;
    uint32_t c = evs_crc32(0, out, 8);
    for (int i = 0; i < 4; i++)
        out[8 + i] = (unsigned char)(c >> (24 - 8 * i));
    memcpy(out + 12, headers, hlen);
    memcpy(out + 12 + hlen, payload, pl);
    c = evs_crc32(0, out, total - 4);
    for (int i = 0; i < 4; i++)
        out[total - 4 + i] = (unsigned char)(c >> (24 - 8 * i));
    return total;
}

static void test_header_types(void)
{
    static const unsigned char h[] = {
        1, 't', 0,                         /* true */
        1, 'f', 1,                         /* false */
        1, 'b', 2, 0xff,                   /* byte -1 */
        1, 's', 3, 0x01, 0x00,             /* short 256 */
        1, 'i', 4, 0xff, 0xff, 0xff, 0xfe, /* int -2 */
        1, 'l', 5, 0, 0, 0, 1, 0, 0, 0, 0, /* long 2^32 */
        1, 'y', 6, 0, 2, 'h', 'i',         /* bytes */
        1, 'm', 8, 0, 0, 0, 0, 0, 0, 0x03, 0xe8, /* timestamp 1000 */
        1, 'u', 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        1, 'z', 7, 0, 3, 'e', 'n', 'd',    /* string after all of them */
    };
    unsigned char buf[256];
    size_t n = frame(buf, h, sizeof h, "{}");
    struct seen s = { .text = "" };
    char err[128];
    CHECK(feed_all(buf, n, &s, err, sizeof err) == 0);
    CHECK(strcmp(s.text, "t=0:1;f=1:0;b=2:-1;s=3:256;i=4:-2;l=5:4294967296;y=hi;m=8:1000;u=9:0;z=end;|{}\n") == 0);
    if (s.n != 1)
        fprintf(stderr, "%s / %s\n", s.text, err);

    static const unsigned char dup[] = { 1, 'a', 0, 1, 'a', 1 };
    n = frame(buf, dup, sizeof dup, "");
    CHECK(feed_all(buf, n, &s, err, sizeof err) == -1 && strstr(err, "repeated"));
    static const unsigned char badtype[] = { 1, 'a', 10 };
    n = frame(buf, badtype, sizeof badtype, "");
    CHECK(feed_all(buf, n, &s, err, sizeof err) == -1 && strstr(err, "unknown type"));
    static const unsigned char past[] = { 1, 'a', 7, 0, 9, 'x' };
    n = frame(buf, past, sizeof past, "");
    CHECK(feed_all(buf, n, &s, err, sizeof err) == -1 && strstr(err, "past the headers"));
    static const unsigned char noname[] = { 0, 0 };
    n = frame(buf, noname, sizeof noname, "");
    CHECK(feed_all(buf, n, &s, err, sizeof err) == -1);
    unsigned char many[17 * 3];
    for (int i = 0; i < 17; i++)
        many[3 * i] = 1, many[3 * i + 1] = (unsigned char)('a' + i), many[3 * i + 2] = 0;
    n = frame(buf, many, sizeof many, "");
    CHECK(feed_all(buf, n, &s, err, sizeof err) == -1 && strstr(err, "more than"));

    /* Lengths that cannot be: total below the overhead, headers longer than
     * the message, a payload over 16 MiB (refused before it is waited for). */
    unsigned char p[12] = { 0, 0, 0, 8, 0, 0, 0, 0 };
    uint32_t c;
    c = evs_crc32(0, p, 8);
    for (int i = 0; i < 4; i++)
        p[8 + i] = (unsigned char)(c >> (24 - 8 * i));
    CHECK(feed_all(p, 12, &s, err, sizeof err) == -1 && strstr(err, "out of bounds"));
    unsigned char q[12] = { 0, 0, 0, 20, 0, 0, 0, 8 };
    c = evs_crc32(0, q, 8);
    for (int i = 0; i < 4; i++)
        q[8 + i] = (unsigned char)(c >> (24 - 8 * i));
    CHECK(feed_all(q, 12, &s, err, sizeof err) == -1);
    unsigned char r[12] = { 0x7f, 0, 0, 0, 0, 0, 0, 0 };
    c = evs_crc32(0, r, 8);
    for (int i = 0; i < 4; i++)
        r[8 + i] = (unsigned char)(c >> (24 - 8 * i));
    CHECK(feed_all(r, 12, &s, err, sizeof err) == -1);
}

static void test_encode_limits(void)
{
    size_t n;
    const char *names[] = { "" };
    const char *values[] = { "x" };
    CHECK(evs_encode(names, values, 1, "", 0, &n) == NULL);
    /* Round trip through the decoder. */
    const char *nm[] = { ":message-type", ":exception-type" };
    const char *vl[] = { "exception", "throttlingException" };
    unsigned char *m = evs_encode(nm, vl, 2, "{\"message\":\"slow\"}", 18, &n);
    struct seen s = { .text = "" };
    char err[128];
    CHECK(m && feed_all(m, n, &s, err, sizeof err) == 0);
    CHECK(strcmp(s.text, ":message-type=exception;:exception-type=throttlingException;|{\"message\":\"slow\"}\n") == 0);
    free(m);
}

int main(void)
{
    test_crc();
    test_encode_vectors();
    test_decode_every_cut();
    test_stop();
    test_corruption();
    test_header_types();
    test_encode_limits();
    UNIT_END("evs");
}
