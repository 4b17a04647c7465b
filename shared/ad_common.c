/* ad_common: error, request and JSON helpers the adapters share. */
#include "ad_common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ad_fail(struct ad_error *err, enum fail_class fail, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->fail = fail;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ad_oom(struct ad_error *err)
{
    return ad_fail(err, FAIL_INTERNAL, "out of memory");
}

const char *ad_error_message(const char *msg, long status, char fallback[AD_FALLBACK_MSG_LEN])
{
    if (msg)
        return msg;
    snprintf(fallback, AD_FALLBACK_MSG_LEN, "upstream answered HTTP %ld", status);
    return fallback;
}

void ad_request_free(struct ad_request *r)
{
    if (!r)
        return;
    free(r->url);
    if (r->headers)
        for (char **h = r->headers; *h; h++)
            free(*h);
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

int ad_header_add(char ***headers, const char *name, const char *value)
{
    if (strpbrk(value, "\r\n"))
        return -1;
    size_t n = 0;
    if (*headers)
        while ((*headers)[n])
            n++;
    char **h = realloc(*headers, (n + 2) * sizeof *h);
    if (!h)
        return -1;
    *headers = h;
    h[n + 1] = NULL;
    h[n] = NULL;
    if (asprintf(&h[n], "%s: %s", name, value) < 0) {
        h[n] = NULL;
        return -1;
    }
    return 0;
}

char *ad_url_join(const char *base, const char *path)
{
    size_t blen = strlen(base);
    /* ad_target promises no trailing slash; a config typo should still not
     * give "//v1". */
    while (blen && base[blen - 1] == '/')
        blen--;
    char *url = NULL;
    if (asprintf(&url, "%.*s%s", (int)blen, base, path) < 0)
        return NULL;
    return url;
}

int ad_request_body(struct ad_request *out, const json_t *doc, struct ad_error *err)
{
    out->body = json_dumps(doc, AD_JSON_FLAGS);
    if (!out->body)
        return ad_oom(err);
    out->body_len = strlen(out->body);
    return 0;
}

json_int_t ad_uint(const json_t *obj, const char *key, json_int_t dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : dflt;
}

const char *ad_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int ad_set_new(json_t *obj, const char *key, json_t *value)
{
    return value ? json_object_set_new(obj, key, value) : -1;
}

bool ad_has_text(const char *s)
{
    for (; s && *s; s++)
        if (!isspace((unsigned char)*s))
            return true;
    return false;
}

int ad_data_url(const char *url, char **mime, const char **payload)
{
    if (strncmp(url, "data:", 5) != 0)
        return -1;
    const char *m = url + 5;
    const char *comma = strchr(m, ',');
    if (!comma)
        return -1;
    /* Parameters such as ";charset=" may sit between the type and
     * ";base64"; only base64 payloads can become an image source. */
    const char *semi = memchr(m, ';', (size_t)(comma - m));
    if (!semi || comma - m < 7 || memcmp(comma - 7, ";base64", 7) != 0)
        return -1;
    *mime = strndup(m, (size_t)(semi - m));
    if (!*mime)
        return -2;
    *payload = comma + 1;
    return 0;
}
