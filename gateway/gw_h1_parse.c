/* gw_h1_parse: HTTP/1.x response framing; see gw_h1_parse.h. */
#include "gw_h1_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>


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
    if (n > 12 && l[12] != ' ' && l[12] != '\r')
        return -1;
    for (size_t i = 13; i + 1 < n; i++)   /* the reason phrase, up to the CR */
        if (((unsigned char)l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f)
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
        /* http1_head_end vouched for CRLF line ends. */
        nl = memchr(l, '\n', (size_t)(end - l));
        size_t ll = (size_t)(nl + 1 - l);
        size_t content = ll - 2;
        if (content == 0) {
            if (!informational && cb->header(cb->arg, l, ll) != ll)
                return H1P_STOPPED;
            break;
        }
        struct http1_field f;
        const char *why;
        if (http1_field(l, content, &f, &why) < 0)
            return bad(err, cap, why);
        const char *v = f.value;
        size_t nlen = f.name_len, vlen = f.value_len;
        if (nlen == 14 && strncasecmp(l, "content-length", 14) == 0) {
            uint64_t n = 0;
            if (http1_length(v, vlen, &n) < 0 || (have_len && n != clen))
                return bad(err, cap, "malformed Content-Length");
            if (n == UINT64_MAX)
                return bad(err, cap, "Content-Length too large");
            have_len = true;
            clen = n;
        } else if (nlen == 17 && strncasecmp(l, "transfer-encoding", 17) == 0) {
            chunked = last_is_chunked(v, vlen);
        } else if (nlen == 10 && strncasecmp(l, "connection", 10) == 0) {
            close = close || http1_has_token(v, vlen, "close");
            ka = ka || http1_has_token(v, vlen, "keep-alive");
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
        /* The answer's size is bounded by its reader, not here. */
        http1_chunked_init(&p->chunk, UINT64_MAX);
        p->state = H1P_CHUNKED;
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
             * its start with every piece. */
            long he = http1_head_end(at, avail, &p->head_seen);
            if (he < 0) {
                rc = bad(err, cap, "bare LF in the response head");
                break;
            }
            /* The limits hold however the bytes arrive: a head that came
             * whole in one read is refused just as one that came in pieces. */
            if ((size_t)he > H1P_HEAD_MAX || (!he && avail > H1P_HEAD_MAX)) {
                rc = bad(err, cap, "response head larger than 64 KiB");
                break;
            }
            if (!he) {
                *used = i;
                return rc;
            }
            p->head_seen = 0;
            rc = parse_head(p, at, (size_t)he, cb, err, cap);
            if (rc == H1P_NEED_MORE)
                i += (size_t)he;
            break;
        }
        case H1P_BODY_LEN: {
            size_t take = avail < p->remaining ? avail : (size_t)p->remaining;
            size_t took = 0;
            rc = deliver(cb, at, take, &took);
            i += took;
            p->remaining -= took;
            if (p->remaining == 0)
                p->state = H1P_DONE;
            break;
        }
        case H1P_BODY_CLOSE: {
            size_t took = 0;
            rc = deliver(cb, at, avail, &took);
            i += took;
            break;
        }
        case H1P_CHUNKED: {
            size_t u, data;
            const char *why;
            enum http1_chunk_rc cr = http1_chunked_next(&p->chunk, at, avail, &u, &data, &why);
            i += u;
            if (cr == HTTP1_CHUNK_DATA) {
                size_t took = 0;
                rc = deliver(cb, at + u, data, &took);
                i += took;
                http1_chunked_took(&p->chunk, took);
            } else if (cr == HTTP1_CHUNK_DONE) {
                p->state = H1P_DONE;
            } else if (cr == HTTP1_CHUNK_MORE) {
                *used = i;
                return rc;
            } else {
                rc = bad(err, cap, why);
            }
            break;
        }
        case H1P_DONE:
            break;
        }
    }
    *used = i;
    if (rc == H1P_NEED_MORE && p->state == H1P_DONE)
        rc = H1P_COMPLETE;
    return rc;
}
