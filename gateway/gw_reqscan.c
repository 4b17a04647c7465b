/* gw_reqscan: one-pass JSON well-formedness check and top-level member
 * index; see gw_reqscan.h. */
#include "gw_reqscan.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"

struct scan {
    const unsigned char *p, *start, *end;
    char *err;
    size_t errcap;
};

static int fail(struct scan *s, const unsigned char *at, const char *what)
{
    if (!s->err || !s->errcap)
        return -1;
    size_t line = 1, col = 1;
    for (const unsigned char *q = s->start; q < at && q < s->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(s->err, s->errcap, "%s at line %zu column %zu", what, line, col);
    return -1;
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Four hex digits at p (bounds checked by the caller); -1 when not hex. */
static long hex4(const unsigned char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_digit((unsigned char)p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Length of the UTF-8 sequence at p (2..4) when valid, else 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f; /* no UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* Bytes a string may hold without a second look: printable ASCII but the
 * quote and the backslash.  A table lookup per byte is what the scan costs
 * on prompt text. */
static const unsigned char plain[256] = {
#define R16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
    R16(0), R16(0),                                             /* 0x00-0x1f */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,             /* 0x20-0x2f, '"' */
    R16(1), R16(1),                                             /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,             /* 0x50-0x5f, '\\' */
    R16(1), R16(1),                                             /* 0x60-0x7f */
#undef R16
};

/* A string starting at the opening quote; leaves p after the closing one. */
static int scan_string(struct scan *s)
{
    const unsigned char *p = s->p + 1, *end = s->end;
    for (;;) {
        while (p + 4 <= end && plain[p[0]] && plain[p[1]] && plain[p[2]] && plain[p[3]])
            p += 4;
        while (p < end && plain[*p])
            p++;
        if (p >= end)
            return fail(s, p, "unterminated string");
        unsigned char c = *p;
        if (c == '"') {
            s->p = p + 1;
            return 0;
        }
        if (c < 0x20)
            return fail(s, p, "control character in a string");
        if (c >= 0x80) {
            size_t n = utf8_len(p, end);
            if (!n)
                return fail(s, p, "invalid UTF-8 in a string");
            p += n;
            continue;
        }
        /* backslash */
        if (end - p < 2)
            return fail(s, p, "unterminated string");
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            continue;
        case 'u':
            break;
        default:
            return fail(s, p, "invalid escape");
        }
        if (end - p < 6)
            return fail(s, p, "invalid \\u escape");
        long u = hex4(p + 2);
        if (u < 0)
            return fail(s, p, "invalid \\u escape");
        if (u == 0)
            return fail(s, p, "\\u0000 is not allowed");
        if (u >= 0xdc00 && u <= 0xdfff)
            return fail(s, p, "invalid Unicode: lone low surrogate");
        if (u >= 0xd800 && u <= 0xdbff) {
            long lo = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8) : -1;
            if (lo < 0xdc00 || lo > 0xdfff)
                return fail(s, p, "invalid Unicode: high surrogate without its low half");
            p += 12;
        } else {
            p += 6;
        }
    }
}

static int scan_number(struct scan *s)
{
    const unsigned char *p = s->p, *end = s->end, *at = s->p;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return fail(s, at, "invalid number");
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail(s, at, "invalid number");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail(s, at, "invalid number");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    s->p = p;
    return 0;
}

static int scan_literal(struct scan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, s->p, "invalid literal");
    s->p += n;
    return 0;
}

/* Unescapes a string's contents [p, p+n) into dst; its length, or -1 when it
 * does not fit.  The text was checked by scan_string. */
static long unescape(const char *p, size_t n, char *dst, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned long u;
        if (p[i] != '\\') {
            if (o + 1 >= cap)
                return -1;
            dst[o++] = p[i++];
            continue;
        }
        char e = p[i + 1];
        i += 2;
        switch (e) {
        case 'b': u = '\b'; break;
        case 'f': u = '\f'; break;
        case 'n': u = '\n'; break;
        case 'r': u = '\r'; break;
        case 't': u = '\t'; break;
        case 'u':
            u = (unsigned long)hex4((const unsigned char *)p + i);
            i += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
                unsigned long lo = (unsigned long)hex4((const unsigned char *)p + i + 2);
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
            break;
        default: u = (unsigned char)e; break;
        }
        unsigned char b[4];
        size_t k;
        if (u < 0x80) {
            b[0] = (unsigned char)u;
            k = 1;
        } else if (u < 0x800) {
            b[0] = (unsigned char)(0xc0 | (u >> 6));
            b[1] = (unsigned char)(0x80 | (u & 0x3f));
            k = 2;
        } else if (u < 0x10000) {
            b[0] = (unsigned char)(0xe0 | (u >> 12));
            b[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
            b[2] = (unsigned char)(0x80 | (u & 0x3f));
            k = 3;
        } else {
            b[0] = (unsigned char)(0xf0 | (u >> 18));
            b[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3f));
            b[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
            b[3] = (unsigned char)(0x80 | (u & 0x3f));
            k = 4;
        }
        if (o + k >= cap)
            return -1;
        memcpy(dst + o, b, k);
        o += k;
    }
    dst[o] = '\0';
    return (long)o;
}

/* Whether a key (as sent) names `name`; escaped keys are compared
 * unescaped, so "mod\u0065l" is "model". */
static bool key_is(const char *buf, const struct gw_member *m, const char *name, size_t nlen)
{
    const char *k = buf + m->key;
    if (!memchr(k, '\\', m->key_len))
        return m->key_len == nlen && memcmp(k, name, nlen) == 0;
    char tmp[256];
    long n = unescape(k, m->key_len, tmp, sizeof tmp);
    return n == (long)nlen && memcmp(tmp, name, nlen) == 0;
}

static bool same_key(const char *buf, const struct gw_member *a, const struct gw_member *b)
{
    const char *kb = buf + b->key;
    if (!memchr(kb, '\\', b->key_len))
        return key_is(buf, a, kb, b->key_len);
    char tmp[256];
    long n = unescape(kb, b->key_len, tmp, sizeof tmp);
    if (n < 0) /* longer than any key that matters: compare as sent */
        return a->key_len == b->key_len && memcmp(buf + a->key, kb, b->key_len) == 0;
    return key_is(buf, a, tmp, (size_t)n);
}

int gw_reqscan(const char *buf, size_t len, struct gw_reqscan *out, char *err, size_t errcap)
{
    struct scan s = { (const unsigned char *)buf, (const unsigned char *)buf,
                      (const unsigned char *)buf + len, err, errcap };
    char stack[GW_REQSCAN_MAX_DEPTH]; /* 'o' object, 'a' array */
    size_t depth = 0;
    struct gw_member *cur = NULL; /* the root member whose value is being read */
    out->object = false;
    out->nmembers = 0;

    skip_ws(&s);
    if (s.p < s.end && *s.p == '{')
        out->object = true;
    for (;;) {
        /* A value. */
        skip_ws(&s);
        if (s.p >= s.end)
            return fail(&s, s.p, "unexpected end of input");
        if (depth == 1 && cur)
            cur->val = (size_t)(s.p - s.start);
        unsigned char c = *s.p;
        bool opened = false;
        if (c == '{' || c == '[') {
            if (depth == GW_REQSCAN_MAX_DEPTH)
                return fail(&s, s.p, "nesting too deep");
            stack[depth++] = c == '{' ? 'o' : 'a';
            s.p++;
            skip_ws(&s);
            if (s.p < s.end && *s.p == (c == '{' ? '}' : ']')) {
                s.p++;
                depth--;
            } else {
                opened = true;
            }
        } else if (c == '"') {
            if (scan_string(&s) < 0)
                return -1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if (scan_number(&s) < 0)
                return -1;
        } else if (c == 't') {
            if (scan_literal(&s, "true", 4) < 0)
                return -1;
        } else if (c == 'f') {
            if (scan_literal(&s, "false", 5) < 0)
                return -1;
        } else if (c == 'n') {
            if (scan_literal(&s, "null", 4) < 0)
                return -1;
        } else {
            return fail(&s, s.p, "unexpected character");
        }

        /* What follows: a key (just opened an object, or after a comma in
         * one), the next value, or the end of containers. */
        bool need_key = opened && stack[depth - 1] == 'o';
        if (!opened) {
            for (;;) {
                if (depth == 1 && cur) {
                    cur->val_end = (size_t)(s.p - s.start);
                    cur = NULL;
                }
                if (depth == 0) {
                    skip_ws(&s);
                    if (s.p != s.end)
                        return fail(&s, s.p, "end of input expected");
                    return 0;
                }
                skip_ws(&s);
                if (s.p >= s.end)
                    return fail(&s, s.p, "unexpected end of input");
                char top = stack[depth - 1];
                if (*s.p == ',') {
                    s.p++;
                    need_key = top == 'o';
                    break;
                }
                if (*s.p == (top == 'o' ? '}' : ']')) {
                    s.p++;
                    depth--;
                    continue;
                }
                return fail(&s, s.p, top == 'o' ? "',' or '}' expected" : "',' or ']' expected");
            }
        }
        if (!need_key)
            continue;
        skip_ws(&s);
        if (s.p >= s.end || *s.p != '"')
            return fail(&s, s.p, "string or '}' expected");
        const unsigned char *k = s.p;
        if (scan_string(&s) < 0)
            return -1;
        if (depth == 1) {
            if (out->nmembers == GW_REQSCAN_MAX_MEMBERS)
                return fail(&s, k, "too many top-level members");
            struct gw_member *m = &out->members[out->nmembers];
            m->key = (size_t)(k + 1 - s.start);
            m->key_len = (size_t)(s.p - 1 - (k + 1));
            for (size_t i = 0; i < out->nmembers; i++)
                if (same_key(buf, &out->members[i], m))
                    return fail(&s, k, "duplicate top-level key");
            out->nmembers++;
            cur = m;
        }
        skip_ws(&s);
        if (s.p >= s.end || *s.p != ':')
            return fail(&s, s.p, "':' expected");
        s.p++;
    }
}

const struct gw_member *gw_reqscan_get(const struct gw_reqscan *s, const char *buf,
                                       const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < s->nmembers; i++)
        if (key_is(buf, &s->members[i], key, n))
            return &s->members[i];
    return NULL;
}

int gw_reqscan_string(const char *buf, const struct gw_member *m, char *dst, size_t cap)
{
    if (!m || m->val_end - m->val < 2 || buf[m->val] != '"' || cap == 0)
        return -1;
    return unescape(buf + m->val + 1, m->val_end - m->val - 2, dst, cap) < 0 ? -1 : 0;
}
