/* gw_body: splices a new "model" value into a raw JSON request; see gw_body.h. */
#include "gw_body.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scan {
    const char *p;
    const char *end;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Past a string starting at its opening quote; false if unterminated. */
static bool skip_string(struct scan *s)
{
    s->p++;
    while (s->p < s->end) {
        if (*s->p == '\\') {
            s->p += 2;
            continue;
        }
        if (*s->p++ == '"')
            return true;
    }
    return false;
}

/* Past any value: strings are skipped as strings, so brackets inside them
 * do not count; containers by depth.  The text was already parsed by
 * jansson, so only valid JSON reaches here. */
static bool skip_value(struct scan *s)
{
    skip_ws(s);
    if (s->p >= s->end)
        return false;
    if (*s->p == '"')
        return skip_string(s);
    if (*s->p != '{' && *s->p != '[') {
        while (s->p < s->end && !strchr(",}] \t\r\n", *s->p))
            s->p++;
        return true;
    }
    int depth = 0;
    while (s->p < s->end) {
        char c = *s->p;
        if (c == '"') {
            if (!skip_string(s))
                return false;
            continue;
        }
        s->p++;
        if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return true;
    }
    return false;
}

int gw_body_find_model(const char *body, size_t len, size_t *vstart, size_t *vend)
{
    if (gw_body_find_member(body, len, "model", vstart, vend) < 0 || body[*vstart] != '"')
        return -1;
    return 0;
}

int gw_body_find_member(const char *body, size_t len, const char *want, size_t *vstart,
                        size_t *vend)
{
    size_t wlen = strlen(want);
    struct scan s = { body, body + len };
    int found = 0;
    skip_ws(&s);
    if (s.p >= s.end || *s.p++ != '{')
        return -1;
    for (;;) {
        skip_ws(&s);
        if (s.p < s.end && *s.p == '}')
            break;
        if (s.p >= s.end || *s.p != '"')
            return -1;
        const char *key = s.p;
        if (!skip_string(&s))
            return -1;
        /* A key spelled with escapes is not matched: re-serialise then. */
        bool is_model = (size_t)(s.p - key) == wlen + 2 && memcmp(key + 1, want, wlen) == 0;
        skip_ws(&s);
        if (s.p >= s.end || *s.p++ != ':')
            return -1;
        skip_ws(&s);
        const char *v = s.p;
        if (!skip_value(&s))
            return -1;
        if (is_model) {
            if (found++)
                return -1;
            *vstart = (size_t)(v - body);
            *vend = (size_t)(s.p - body);
        }
        skip_ws(&s);
        if (s.p < s.end && *s.p == ',') {
            s.p++;
            continue;
        }
        if (s.p < s.end && *s.p == '}')
            break;
        return -1;
    }
    return found == 1 ? 0 : -1;
}

/* JSON-escapes src into dst (which has room for 6 bytes per input byte + 3). */
static size_t escape(char *dst, const char *src)
{
    char *o = dst;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            o += sprintf(o, "\\u%04x", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    return (size_t)(o - dst);
}

char *gw_body_with_model(const char *body, size_t len, const char *model, size_t *outlen)
{
    size_t vs, ve;
    if (gw_body_find_model(body, len, &vs, &ve) < 0)
        return NULL;
    return gw_body_splice(body, len, vs, ve, model, outlen);
}

char *gw_body_splice(const char *body, size_t len, size_t vs, size_t ve, const char *model,
                     size_t *outlen)
{
    if (vs > ve || ve > len)
        return NULL;
    size_t mlen = strlen(model);
    char *out = malloc(len - (ve - vs) + 6 * mlen + 3);
    if (!out)
        return NULL;
    memcpy(out, body, vs);
    size_t n = vs + escape(out + vs, model);
    memcpy(out + n, body + ve, len - ve);
    n += len - ve;
    out[n] = '\0';
    *outlen = n;
    return out;
}
