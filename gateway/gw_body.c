/* gw_body: splices a new "model" value into a raw JSON request; see gw_body.h. */
#include "gw_body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
