/*
 * ad_bedrock_sign: the request's URL and headers, signed with SigV4 when
 * the target has an AWS secret, else authorised with a Bedrock API key.
 *
 * What is signed is exactly what goes out: the Host header is set here
 * (curl sends a Host it is given instead of its own), the path is the one
 * in the URL, the payload hash is over out->body.  The signature carries
 * the time of the build, so every attempt builds (and signs) anew.
 */
#include "ad_bedrock.h"

#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

/* Splits base (trailing slashes ignored) into its authority and path
 * prefix; -1 when it is not scheme://authority[/prefix]. */
static int split_base(const char *base, char **authority, char **prefix)
{
    const char *p = strstr(base, "://");
    if (!p || p == base)
        return -1;
    p += 3;
    size_t alen = strcspn(p, "/?#");
    if (alen == 0 || p[alen] == '?' || p[alen] == '#')
        return -1;
    size_t plen = strlen(p + alen);
    while (plen && p[alen + plen - 1] == '/')
        plen--;
    *authority = strndup(p, alen);
    *prefix = strndup(p + alen, plen);
    if (!*authority || !*prefix) {
        free(*authority);
        free(*prefix);
        return -2;
    }
    return 0;
}

/* h[*n] = "name: value"; -1 when memory ran out (h[*n] stays NULL). */
static int line(char **h, size_t *n, const char *name, const char *value)
{
    if (asprintf(&h[*n], "%s: %s", name, value) < 0) {
        h[*n] = NULL;
        return -1;
    }
    (*n)++;
    return 0;
}

static int sign(const struct ad_target *t, const char *authority, const char *full_path, struct ad_request *out,
                struct ad_error *err)
{
    if (!t->aws_region || !*t->aws_region)
        return ad_fail(err, FAIL_INTERNAL, "bedrock target without a region to sign for");
    char date[17];
    sigv4_amz_date((long long)ad_clock(), date);
    char *h[4] = { NULL, NULL, NULL, NULL };
    size_t n = 0;
    int rc = 0;
    if (line(h, &n, "host", authority) < 0 || line(h, &n, "x-amz-date", date) < 0 ||
        line(h, &n, "content-type", "application/json") < 0)
        rc = -1;
    if (rc == 0 && t->aws_session_token && *t->aws_session_token) {
        if (strpbrk(t->aws_session_token, "\r\n"))
            rc = -2;
        else if (line(h, &n, "x-amz-security-token", t->aws_session_token) < 0)
            rc = -1;
    }
    char *auth = NULL;
    if (rc == 0) {
        struct sigv4_key k = { t->api_key, t->aws_secret_key, t->aws_region, AD_BEDROCK_SERVICE };
        struct sigv4_request r = { "POST", full_path, NULL, (const char *const *)h, n, out->body, out->body_len };
        if (!(auth = sigv4_authorization(&k, date, &r)))
            rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *colon = strchr(h[i], ':');
        *colon = '\0';
        if (ad_header_add(&out->headers, h[i], colon + 2) < 0)
            rc = -1;
    }
    if (rc == 0 && ad_header_add(&out->headers, "authorization", auth) < 0)
        rc = -2;
    for (size_t i = 0; i < n; i++)
        free(h[i]);
    free(auth);
    if (rc == -2)
        return ad_fail(err, FAIL_INTERNAL, "AWS credentials unusable in a header");
    return rc < 0 ? ad_oom(err) : 0;
}

int ad_bedrock_sign(const struct ad_target *t, const char *path, struct ad_request *out, struct ad_error *err)
{
    char *authority = NULL, *prefix = NULL, *full = NULL;
    int s = split_base(t->base_url, &authority, &prefix);
    if (s == -1)
        return ad_fail(err, FAIL_INTERNAL, "bedrock base_url is not scheme://host[:port][/path]");
    if (s < 0)
        return ad_oom(err);
    int rc = 0;
    if (asprintf(&full, "%s%s", prefix, path) < 0) {
        full = NULL;
        rc = ad_oom(err);
    }
    if (rc == 0 && !(out->url = ad_url_join(t->base_url, path)))
        rc = ad_oom(err);
    if (rc == 0 && t->api_key && t->aws_secret_key) {
        rc = sign(t, authority, full, out, err);
    } else if (rc == 0) {
        char *bearer = NULL;
        if (t->api_key && asprintf(&bearer, "Bearer %s", t->api_key) < 0)
            rc = ad_oom(err);
        else if (bearer && ad_header_add(&out->headers, "authorization", bearer) < 0)
            rc = ad_fail(err, FAIL_INTERNAL, "API key unusable in a header (or out of memory)");
        else if (ad_header_add(&out->headers, "content-type", "application/json") < 0)
            rc = ad_oom(err);
        free(bearer);
    }
    const char *accept = strstr(path, "/converse-stream") ? "application/vnd.amazon.eventstream" : "application/json";
    if (rc == 0 && ad_header_add(&out->headers, "accept", accept) < 0)
        rc = ad_oom(err);
    free(authority);
    free(prefix);
    free(full);
    return rc;
}
