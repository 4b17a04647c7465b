/* gw_h1_parse: HTTP/1.x response framing; see gw_h1_parse.h. */
#include "gw_h1_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hex.h"

void h1p_init(struct h1p *p)
{
    memset(p, 0, sizeof *p);
}

bool h1p_eof_ends(const struct h1p *p)
{
    return p->state == H1P_BODY_CLOSE || p->state == H1P_DONE;
}

static enum h1p_rc bad(char *err, size_t cap, const char *why)
{
    snprintf(err, cap, "%s", why);
    return H1P_BAD;
}

/* Whether the comma-separated header value holds `token`. */
static bool has_token(const char *v, size_t n, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
            return true;
    }
    return false;
}

/* The last coding of Transfer-Encoding is chunked. */
static bool last_is_chunked(const char *v, size_t n)
{
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    size_t s = n;
    while (s && v[s - 1] != ',')
        s--;
    while (s < n && (v[s] == ' ' || v[s] == '\t'))
        s++;
    return n - s == 7 && strncasecmp(v + s, "chunked", 7) == 0;
}

/* Status line: HTTP/1.0 or HTTP/1.1, a space, three digits. */
static int parse_status(const char *l, size_t n, bool *http11)
{
    if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (l[i] < '0' || l[i] > '9')
            return -1;
    if (n > 12 && l[12] != ' ' && l[12] != '\r' && l[12] != '\n')
        return -1;
    *http11 = l[7] == '1';
    return (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
}

/* A whole head is in buf[0..len): frame it and hand its lines on. */
static enum h1p_rc parse_head(struct h1p *p, const char *buf, size_t len, const struct h1p_cb *cb,
                              char *err, size_t cap)
{
    bool http11 = false, chunked = false, have_len = false, close = false, ka = false;
    uint64_t clen = 0;
    const char *end = buf + len;
    const char *l = buf;
    const char *nl = memchr(l, '\n', len);
    int status = parse_status(l, (size_t)(nl - l), &http11);
    if (status < 100)
        return bad(err, cap, "malformed status line");
    bool informational = status < 200;
    if (status == 101)
        return bad(err, cap, "the server switched protocols");
    if (!informational && cb->header(cb->arg, l, (size_t)(nl + 1 - l)) != (size_t)(nl + 1 - l))
        return H1P_STOPPED;
    for (l = nl + 1; l < end; l = nl + 1) {
        nl = memchr(l, '\n', (size_t)(end - l));
        size_t ll = (size_t)(nl + 1 - l);
        size_t content = ll - 1 - (ll >= 2 && nl[-1] == '\r');
        if (content == 0) {
            if (!informational && cb->header(cb->arg, l, ll) != ll)
                return H1P_STOPPED;
            break;
        }
        const char *colon = memchr(l, ':', content);
        if (!colon || colon == l || *l == ' ' || *l == '\t')
            return bad(err, cap, "malformed header line");
        size_t nlen = (size_t)(colon - l);
        const char *v = colon + 1;
        size_t vlen = content - nlen - 1;
        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        if (nlen == 14 && strncasecmp(l, "content-length", 14) == 0) {
            uint64_t n = 0;
            size_t i = 0;
            for (; i < vlen && v[i] >= '0' && v[i] <= '9'; i++) {
                if (n > (UINT64_MAX - 9) / 10)
                    return bad(err, cap, "Content-Length too large");
                n = n * 10 + (uint64_t)(v[i] - '0');
            }
            while (i < vlen && (v[i] == ' ' || v[i] == '\t'))
                i++;
            if (i == 0 || i != vlen || (have_len && n != clen))
                return bad(err, cap, "malformed Content-Length");
            have_len = true;
            clen = n;
        } else if (nlen == 17 && strncasecmp(l, "transfer-encoding", 17) == 0) {
            chunked = last_is_chunked(v, vlen);
        } else if (nlen == 10 && strncasecmp(l, "connection", 10) == 0) {
            close = close || has_token(v, vlen, "close");
            ka = ka || has_token(v, vlen, "keep-alive");
        }
        if (!informational && cb->header(cb->arg, l, ll) != ll)
            return H1P_STOPPED;
    }
    if (informational) {
        /* 100 Continue and the like: the real head follows. */
        p->state = H1P_HEAD;
        return H1P_NEED_MORE;
    }
    p->status = status;
    p->keep_alive = !close && (http11 || ka);
    if (status == 204 || status == 304) {
        p->state = H1P_DONE;
    } else if (chunked) {
        p->state = H1P_CHUNK_SIZE;
    } else if (have_len) {
        p->remaining = clen;
        p->state = clen ? H1P_BODY_LEN : H1P_DONE;
    } else {
        /* Neither length nor chunks: the body runs until the close. */
        p->keep_alive = false;
        p->state = H1P_BODY_CLOSE;
    }
    return H1P_NEED_MORE;
}

/* Where the head ends (after its empty line), or 0 when not yet. */
static size_t head_end(const char *buf, size_t n, size_t from)
{
    for (const char *q = buf + from; (q = memchr(q, '\n', (size_t)(buf + n - q))); q++) {
        const char *r = q + 1;
        if (r < buf + n && *r == '\n')
            return (size_t)(r + 1 - buf);
        if (r + 1 < buf + n && r[0] == '\r' && r[1] == '\n')
            return (size_t)(r + 2 - buf);
    }
    return 0;
}

/* "1a3;ext=v\r\n": the size; -1 when malformed. */
static int parse_chunk_size(const char *l, size_t n, uint64_t *size)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; i < n && hex_digit((unsigned char)l[i]) >= 0; i++) {
        if (v >> 59)
            return -1;
        v = v * 16 + (uint64_t)hex_digit((unsigned char)l[i]);
    }
    if (i == 0)
        return -1;
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    if (i < n && l[i] != ';' && l[i] != '\r' && l[i] != '\n')
        return -1;
    *size = v;
    return 0;
}

static enum h1p_rc deliver(const struct h1p_cb *cb, const char *p, size_t n, size_t *took)
{
    size_t got = cb->body(cb->arg, p, n);
    if (got == H1P_PAUSE)
        return H1P_PAUSED;
    if (got != n)
        return H1P_STOPPED;
    *took = n;
    return H1P_NEED_MORE;
}

enum h1p_rc h1p_feed(struct h1p *p, const char *buf, size_t n, size_t *used,
                     const struct h1p_cb *cb, char *err, size_t cap)
{
    size_t i = 0;
    enum h1p_rc rc = H1P_NEED_MORE;
    while (rc == H1P_NEED_MORE && p->state != H1P_DONE) {
        const char *at = buf + i;
        size_t avail = n - i;
        if (avail == 0 && p->state != H1P_HEAD)
            break;
        switch (p->state) {
        case H1P_HEAD: {
            /* A head arriving in pieces is searched once, not again from
             * its start with every piece (the end marker may straddle). */
            size_t he = head_end(at, avail, p->head_seen > 3 ? p->head_seen - 3 : 0);
            p->head_seen = he ? 0 : avail;
            /* The limits hold however the bytes arrive: a head that came
             * whole in one read is refused just as one that came in pieces. */
            if (he > H1P_HEAD_MAX || (!he && avail > H1P_HEAD_MAX)) {
                rc = bad(err, cap, "response head larger than 64 KiB");
                break;
            }
            if (!he) {
                *used = i;
                return rc;
            }
            rc = parse_head(p, at, he, cb, err, cap);
            if (rc == H1P_NEED_MORE)
                i += he;
            break;
        }
        case H1P_BODY_LEN:
        case H1P_CHUNK_DATA: {
            size_t take = avail < p->remaining ? avail : (size_t)p->remaining;
            size_t took = 0;
            rc = deliver(cb, at, take, &took);
            i += took;
            p->remaining -= took;
            if (p->remaining == 0)
                p->state = p->state == H1P_BODY_LEN ? H1P_DONE : H1P_CHUNK_END;
            break;
        }
        case H1P_BODY_CLOSE: {
            size_t took = 0;
            rc = deliver(cb, at, avail, &took);
            i += took;
            break;
        }
        case H1P_CHUNK_SIZE:
        case H1P_TRAILER: {
            const char *nl = memchr(at, '\n', avail);
            if (!nl) {
                if (avail > H1P_LINE_MAX)
                    rc = bad(err, cap, "chunk-size or trailer line too long");
                *used = i;
                return rc;
            }
            size_t ll = (size_t)(nl + 1 - at);
            if (ll > H1P_LINE_MAX) {
                rc = bad(err, cap, "chunk-size or trailer line too long");
                break;
            }
            if (p->state == H1P_TRAILER) {
                if (ll == 1 || (ll == 2 && at[0] == '\r'))
                    p->state = H1P_DONE;
            } else if (parse_chunk_size(at, ll, &p->remaining) < 0) {
                rc = bad(err, cap, "malformed chunk size");
                break;
            } else {
                p->state = p->remaining ? H1P_CHUNK_DATA : H1P_TRAILER;
            }
            i += ll;
            break;
        }
        case H1P_CHUNK_END:
            if (at[0] == '\n') {
                i += 1;
            } else if (at[0] == '\r') {
                if (avail < 2) {
                    *used = i;
                    return H1P_NEED_MORE;
                }
                if (at[1] != '\n') {
                    rc = bad(err, cap, "chunk data not followed by CRLF");
                    break;
                }
                i += 2;
            } else {
                rc = bad(err, cap, "chunk data not followed by CRLF");
                break;
            }
            p->state = H1P_CHUNK_SIZE;
            break;
        case H1P_DONE:
            break;
        }
    }
    *used = i;
    if (rc == H1P_NEED_MORE && p->state == H1P_DONE)
        rc = H1P_COMPLETE;
    return rc;
}
