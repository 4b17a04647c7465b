/* evs: AWS event-stream framing, decoded incrementally and encoded. */
#include "evs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRELUDE 12
#define OVERHEAD 16

static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = true;
}

uint32_t evs_crc32(uint32_t crc, const void *buf, size_t len)
{
    /* Workers are single-threaded; a second thread racing here would only
     * write the same values. */
    if (!crc_ready)
        crc_init();
    const unsigned char *p = buf;
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be_n(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

const char *evs_header_string(const struct evs_message *m, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct evs_header *h = &m->headers[i];
        if (h->name_len == n && memcmp(h->name, name, n) == 0) {
            if (h->type != EVS_STRING)
                return NULL;
            if (len)
                *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

bool evs_header_is(const struct evs_message *m, const char *name, const char *value)
{
    size_t len;
    const char *v = evs_header_string(m, name, &len);
    return v && len == strlen(value) && memcmp(v, value, len) == 0;
}

void evs_decoder_init(struct evs_decoder *d)
{
    memset(d, 0, sizeof *d);
}

void evs_decoder_free(struct evs_decoder *d)
{
    free(d->buf);
    memset(d, 0, sizeof *d);
}

static int fail(struct evs_decoder *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->error, sizeof d->error, fmt, ap);
    va_end(ap);
    d->failed = true;
    return -1;
}

/* Fixed value widths by type; -1 for the length-prefixed ones. */
static const int widths[] = { 0, 0, 1, 2, 4, 8, -1, -1, 8, 16 };

static int parse_headers(struct evs_decoder *d, const unsigned char *p, size_t n, struct evs_message *m)
{
    size_t at = 0;
    m->nheaders = 0;
    while (at < n) {
        size_t name_len = p[at++];
        if (name_len == 0 || at + name_len + 1 > n)
            return fail(d, "event-stream header name empty or past the headers");
        if (m->nheaders == EVS_MAX_HEADERS)
            return fail(d, "event-stream message with more than %d headers", EVS_MAX_HEADERS);
        struct evs_header *h = &m->headers[m->nheaders];
        h->name = (const char *)p + at;
        h->name_len = name_len;
        at += name_len;
        unsigned type = p[at++];
        if (type > EVS_UUID)
            return fail(d, "event-stream header of unknown type %u", type);
        h->type = (enum evs_type)type;
        h->num = 0;
        h->value = NULL;
        h->value_len = 0;
        int w = widths[type];
        if (w < 0) {
            if (at + 2 > n)
                return fail(d, "event-stream header value length past the headers");
            h->value_len = (size_t)be_n(p + at, 2);
            at += 2;
        } else {
            h->value_len = (size_t)w;
        }
        if (at + h->value_len > n)
            return fail(d, "event-stream header value past the headers");
        h->value = (const char *)p + at;
        if (type == EVS_TRUE || type == EVS_FALSE) {
            h->num = type == EVS_TRUE;
        } else if (w > 0 && type != EVS_UUID) {
            /* Sign-extend the big-endian integer of width w. */
            uint64_t v = be_n(p + at, (size_t)w);
            int shift = 64 - 8 * w;
            h->num = shift ? (int64_t)(v << shift) >> shift : (int64_t)v;
        }
        at += h->value_len;
        for (size_t i = 0; i < m->nheaders; i++)
            if (m->headers[i].name_len == name_len && memcmp(m->headers[i].name, h->name, name_len) == 0)
                return fail(d, "event-stream header %.*s repeated", (int)name_len, h->name);
        m->nheaders++;
    }
    return 0;
}

/* One message at p if it is whole: its length in *used (0 = wait), or -1. */
static int one(struct evs_decoder *d, const unsigned char *p, size_t avail, size_t *used, evs_message_fn fn,
               void *arg)
{
    *used = 0;
    if (avail < PRELUDE)
        return 0;
    uint32_t total = be32(p);
    uint32_t hlen = be32(p + 4);
    /* The prelude's own CRC first, so garbage is refused before its length
     * could make us wait for gigabytes. */
    if (evs_crc32(0, p, 8) != be32(p + 8))
        return fail(d, "event-stream prelude CRC mismatch");
    if (total < OVERHEAD || hlen > total - OVERHEAD || hlen > EVS_MAX_HEADERS_BYTES ||
        total - OVERHEAD - hlen > EVS_MAX_PAYLOAD)
        return fail(d, "event-stream message lengths out of bounds (total %u, headers %u)", total, hlen);
    if (avail < total)
        return 0;
    if (evs_crc32(0, p, total - 4) != be32(p + total - 4))
        return fail(d, "event-stream message CRC mismatch");
    struct evs_message m;
    if (parse_headers(d, p + PRELUDE, hlen, &m) < 0)
        return -1;
    m.payload = (const char *)p + PRELUDE + hlen;
    m.payload_len = total - OVERHEAD - hlen;
    *used = total;
    return fn(arg, &m);
}

int evs_feed(struct evs_decoder *d, const void *buf, size_t len, evs_message_fn fn, void *arg)
{
    if (d->failed)
        return -1;
    if (d->len + len > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < d->len + len)
            cap *= 2;
        unsigned char *nb = realloc(d->buf, cap);
        if (!nb)
            return fail(d, "out of memory");
        d->buf = nb;
        d->cap = cap;
    }
    if (len)
        memcpy(d->buf + d->len, buf, len);
    d->len += len;
    if (d->len == 0)
        return 0;
    size_t off = 0;
    int rc = 0;
    for (;;) {
        size_t used;
        rc = one(d, d->buf + off, d->len - off, &used, fn, arg);
        off += used;
        if (rc || used == 0)
            break;
    }
    if (off) {
        memmove(d->buf, d->buf + off, d->len - off);
        d->len -= off;
    }
    return rc;
}

unsigned char *evs_encode(const char *const *names, const char *const *values, size_t nheaders,
                          const void *payload, size_t payload_len, size_t *out_len)
{
    size_t hlen = 0;
    for (size_t i = 0; i < nheaders; i++) {
        size_t nl = strlen(names[i]), vl = strlen(values[i]);
        if (nl == 0 || nl > 255 || vl > 65535)
            return NULL;
        hlen += 1 + nl + 1 + 2 + vl;
    }
    if (hlen > EVS_MAX_HEADERS_BYTES || payload_len > EVS_MAX_PAYLOAD)
        return NULL;
    size_t total = OVERHEAD + hlen + payload_len;
    unsigned char *m = malloc(total);
    if (!m)
        return NULL;
    put32(m, (uint32_t)total);
    put32(m + 4, (uint32_t)hlen);
    put32(m + 8, evs_crc32(0, m, 8));
    unsigned char *p = m + PRELUDE;
    for (size_t i = 0; i < nheaders; i++) {
        size_t nl = strlen(names[i]), vl = strlen(values[i]);
        *p++ = (unsigned char)nl;
        memcpy(p, names[i], nl);
        p += nl;
        *p++ = EVS_STRING;
        *p++ = (unsigned char)(vl >> 8);
        *p++ = (unsigned char)vl;
        memcpy(p, values[i], vl);
        p += vl;
    }
    if (payload_len)
        memcpy(p, payload, payload_len);
    put32(m + total - 4, evs_crc32(0, m, total - 4));
    *out_len = total;
    return m;
}
