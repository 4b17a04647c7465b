/* sigv4: AWS Signature Version 4 (see sigv4.h). */
#include "sigv4.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"

/* A growable string; on failure ok turns false and stays so. */
struct str {
    char *s;
    size_t len, cap;
    bool ok;
};

static void put(struct str *b, const char *s, size_t n)
{
    if (!b->ok)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->ok = false;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(struct str *b, const char *s)
{
    put(b, s, strlen(s));
}

static char *done(struct str *b)
{
    if (!b->ok) {
        free(b->s);
        return NULL;
    }
    return b->s ? b->s : strdup("");
}

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

static void encode_into(struct str *b, const char *s, size_t n, bool keep_slash)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            put(b, (const char *)&c, 1);
        } else {
            char hex[4];
            snprintf(hex, sizeof hex, "%%%02X", c);
            put(b, hex, 3);
        }
    }
}

char *sigv4_uri_encode(const char *s, bool keep_slash)
{
    struct str b = { .ok = true };
    encode_into(&b, s, strlen(s), keep_slash);
    return done(&b);
}

/* Percent-decoding of a query part, so it can be encoded canonically. */
static char *decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; out && i < n; i++) {
        int hi = s[i] == '%' && i + 2 < n ? hex_digit((unsigned char)s[i + 1]) : -1;
        int lo = hi < 0 ? -1 : hex_digit((unsigned char)s[i + 2]);
        if (lo >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    if (out)
        out[o] = '\0';
    return out;
}

/* The path with "." and ".." segments resolved, then encoded again. */
static void canonical_uri(struct str *b, const char *path)
{
    if (!path || !*path) {
        puts_(b, "/");
        return;
    }
    size_t n = strlen(path);
    const char **seg = malloc((n + 1) * sizeof *seg);
    size_t *len = malloc((n + 1) * sizeof *len);
    if (!seg || !len) {
        free(seg);
        free(len);
        b->ok = false;
        return;
    }
    size_t k = 0;
    const char *p = path[0] == '/' ? path + 1 : path;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 2 && p[0] == '.' && p[1] == '.') {
            if (k)
                k--;
        } else if (!(l == 1 && p[0] == '.')) {
            seg[k] = p;
            len[k++] = l;
        }
        if (!e)
            break;
        p = e + 1;
    }
    for (size_t i = 0; i < k; i++) {
        puts_(b, "/");
        encode_into(b, seg[i], len[i], false);
    }
    if (k == 0)
        puts_(b, "/");
    free(seg);
    free(len);
}

struct pair {
    char *name, *value;
};

static int pair_cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static void canonical_query(struct str *b, const char *q)
{
    if (!q || !*q)
        return;
    size_t n = 1;
    for (const char *p = q; *p; p++)
        n += *p == '&';
    struct pair *v = calloc(n, sizeof *v);
    if (!v) {
        b->ok = false;
        return;
    }
    size_t k = 0;
    for (const char *p = q;;) {
        const char *e = strchr(p, '&');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l) {
            const char *eq = memchr(p, '=', l);
            size_t nl = eq ? (size_t)(eq - p) : l;
            struct str en = { .ok = true }, ev = { .ok = true };
            char *dn = decode(p, nl), *dv = eq ? decode(eq + 1, l - nl - 1) : strdup("");
            if (dn && dv) {
                encode_into(&en, dn, strlen(dn), false);
                encode_into(&ev, dv, strlen(dv), false);
            } else {
                b->ok = false;
            }
            free(dn);
            free(dv);
            v[k].name = done(&en);
            v[k].value = done(&ev);
            if (!v[k].name || !v[k].value)
                b->ok = false;
            k++;
        }
        if (!e)
            break;
        p = e + 1;
    }
    if (b->ok)
        qsort(v, k, sizeof *v, pair_cmp);
    for (size_t i = 0; i < k; i++) {
        if (b->ok) {
            if (i)
                puts_(b, "&");
            puts_(b, v[i].name);
            puts_(b, "=");
            puts_(b, v[i].value);
        }
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

struct hdr {
    char *name;          /* lower-case */
    char *value;         /* trimmed, inner blank runs collapsed */
    size_t order;        /* keeps repeated headers in the order sent */
};

static int hdr_cmp(const void *a, const void *b)
{
    const struct hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int split_header(const char *h, size_t order, struct hdr *out)
{
    const char *colon = strchr(h, ':');
    if (!colon || colon == h)
        return -1;
    out->order = order;
    out->name = strndup(h, (size_t)(colon - h));
    out->value = malloc(strlen(colon) + 1);
    if (!out->name || !out->value)
        return -1;
    for (char *p = out->name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const char *p = colon + 1;
    size_t o = 0;
    bool blank = false;
    while (*p == ' ' || *p == '\t')
        p++;
    for (; *p; p++) {
        if (*p == ' ' || *p == '\t') {
            blank = true;
            continue;
        }
        if (blank && o)
            out->value[o++] = ' ';
        blank = false;
        out->value[o++] = *p;
    }
    out->value[o] = '\0';
    return 0;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

char *sigv4_canonical(const struct sigv4_request *r, char **signed_headers)
{
    *signed_headers = NULL;
    struct str b = { .ok = true }, sh = { .ok = true };
    struct hdr *h = calloc(r->nheaders ? r->nheaders : 1, sizeof *h);
    int bad = !h;
    for (size_t i = 0; !bad && i < r->nheaders; i++)
        bad = split_header(r->headers[i], i, &h[i]) < 0;
    if (!bad) {
        qsort(h, r->nheaders, sizeof *h, hdr_cmp);
        puts_(&b, r->method);
        puts_(&b, "\n");
        canonical_uri(&b, r->path);
        puts_(&b, "\n");
        canonical_query(&b, r->query);
        puts_(&b, "\n");
        for (size_t i = 0; i < r->nheaders; i++) {
            bool repeat = i && strcmp(h[i].name, h[i - 1].name) == 0;
            if (repeat) {
                puts_(&b, ",");
            } else {
                if (i) {
                    puts_(&b, "\n");
                    puts_(&sh, ";");
                }
                puts_(&b, h[i].name);
                puts_(&b, ":");
                puts_(&sh, h[i].name);
            }
            puts_(&b, h[i].value);
        }
        if (r->nheaders)
            puts_(&b, "\n");
        puts_(&b, "\n");
        puts_(&b, sh.s ? sh.s : "");
        puts_(&b, "\n");
        unsigned char d[crypto_hash_sha256_BYTES];
        char dh[2 * crypto_hash_sha256_BYTES + 1];
        crypto_hash_sha256(d, r->body ? r->body : (const void *)"", r->body_len);
        hex(d, sizeof d, dh);
        puts_(&b, dh);
    }
    for (size_t i = 0; h && i < r->nheaders; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    if (bad) {
        free(b.s);
        free(sh.s);
        return NULL;
    }
    char *c = done(&b);
    *signed_headers = done(&sh);
    if (!c || !*signed_headers) {
        free(c);
        free(*signed_headers);
        *signed_headers = NULL;
        return NULL;
    }
    return c;
}

static void hmac(const unsigned char *key, size_t klen, const char *msg, unsigned char out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, klen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

void sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
                       unsigned char out[32])
{
    size_t n = strlen(secret) + 4;
    unsigned char *k = malloc(n + 1);
    unsigned char a[32], b[32];
    if (!k) {
        memset(out, 0, 32); /* a zero key signs nothing anyone accepts */
        return;
    }
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, n - 4);
    hmac(k, n, date, a);
    sodium_memzero(k, n);
    free(k);
    hmac(a, 32, region, b);
    hmac(b, 32, service, a);
    hmac(a, 32, "aws4_request", out);
    sodium_memzero(a, sizeof a);
    sodium_memzero(b, sizeof b);
}

int sigv4_signature(const struct sigv4_key *k, const char *amz_date, const struct sigv4_request *r, char sig[65],
                    char **signed_headers)
{
    if (sodium_init() < 0 || strlen(amz_date) != 16)
        return -1;
    char *canon = sigv4_canonical(r, signed_headers);
    if (!canon)
        return -1;
    unsigned char d[32];
    char dh[65], date[9];
    crypto_hash_sha256(d, (const unsigned char *)canon, strlen(canon));
    free(canon);
    hex(d, 32, dh);
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    char *sts = NULL;
    if (asprintf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date, k->region, k->service,
                 dh) < 0) {
        free(*signed_headers);
        *signed_headers = NULL;
        return -1;
    }
    unsigned char key[32], out[32];
    sigv4_signing_key(k->secret_key, date, k->region, k->service, key);
    hmac(key, 32, sts, out);
    sodium_memzero(key, sizeof key);
    free(sts);
    hex(out, 32, sig);
    return 0;
}

char *sigv4_authorization(const struct sigv4_key *k, const char *amz_date, const struct sigv4_request *r)
{
    char sig[65], *sh = NULL, *out = NULL;
    if (sigv4_signature(k, amz_date, r, sig, &sh) < 0)
        return NULL;
    if (asprintf(&out, "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                 k->access_key, amz_date, k->region, k->service, sh, sig) < 0)
        out = NULL;
    free(sh);
    return out;
}

/* The value after key= in a comma-separated list, cut in place. */
static const char *field(char *s, const char *key)
{
    size_t kl = strlen(key);
    for (char *p = s; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        char *end = strchr(p, ',');
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            if (end)
                *end = '\0';
            return p + kl + 1;
        }
        p = end;
    }
    return NULL;
}

int sigv4_parse_authorization(const char *auth, struct sigv4_auth *out)
{
    static const char algo[] = "AWS4-HMAC-SHA256 ";
    memset(out, 0, sizeof *out);
    if (!auth || strncmp(auth, algo, sizeof algo - 1) != 0 || strlen(auth) >= sizeof out->buf)
        return -1;
    /* Three copies side by side, so cutting one field out of its copy
     * leaves the others whole. */
    const char *rest = auth + sizeof algo - 1;
    size_t n = strlen(rest) + 1;
    if (3 * n > sizeof out->buf)
        return -1;
    char *a = out->buf, *b = a + n, *c = b + n;
    memcpy(a, rest, n);
    memcpy(b, rest, n);
    memcpy(c, rest, n);
    const char *cred = field(a, "Credential");
    out->signed_headers = field(b, "SignedHeaders");
    out->signature = field(c, "Signature");
    if (!cred || !out->signed_headers || !out->signature)
        return -1;
    /* AK/DATE/REGION/SERVICE/aws4_request */
    char *parts[5];
    char *p = (char *)cred;
    for (int i = 0; i < 5; i++) {
        parts[i] = p;
        p = strchr(p, '/');
        if (i < 4 && !p)
            return -1;
        if (p)
            *p++ = '\0';
    }
    if (p || strcmp(parts[4], "aws4_request") != 0 || strlen(parts[1]) != 8 || strlen(out->signature) != 64)
        return -1;
    out->access_key = parts[0];
    out->date = parts[1];
    out->region = parts[2];
    out->service = parts[3];
    return 0;
}

void sigv4_amz_date(long long unix_time, char buf[17])
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}
