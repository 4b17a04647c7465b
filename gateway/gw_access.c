/* gw_access: formats and writes access-log lines; see gw_access.h. */
#include "gw_access.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

#define LINE_MAX_BYTES 2048
#define BUF_BYTES (32 * 1024)

struct gw_access_buf {
    const int *fd;             /* the worker's access_fd, read at each write */
    struct event *flush;
    bool pending;              /* the flush event is active */
    bool requeued;             /* ... for the second time this pass */
    size_t len;
    char data[BUF_BYTES];
    time_t ts_sec;             /* the second ts_prefix was made for */
    char ts_prefix[64];        /* "2026-12-04T22:39:23" */
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* a full disk or a closed pipe must not stop requests */
        p += w;
        n -= (size_t)w;
    }
}

static size_t put_lit(char *buf, size_t pos, size_t cap, const char *s, size_t n)
{
    if (pos + n >= cap)
        return pos;
    memcpy(buf + pos, s, n);
    return pos + n;
}
#define PUT(lit) (pos = put_lit(buf, pos, cap, lit, sizeof lit - 1))

/* Appends a JSON string (quoted, escaped) or null; returns the new length. */
static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s)
        return put_lit(buf, pos, cap, "null", 4);
    if (pos + 1 < cap)
        buf[pos++] = '"';
    for (; *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
        } else if (c < 0x20) {
            memcpy(buf + pos, "\\u00", 4);
            buf[pos + 4] = hex[c >> 4];
            buf[pos + 5] = hex[c & 15];
            pos += 6;
        } else {
            buf[pos++] = (char)c;
        }
    }
    if (pos + 1 < cap)
        buf[pos++] = '"';
    return pos;
}

static size_t put_u64(char *buf, size_t pos, size_t cap, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    if (pos + n >= cap)
        return pos;
    while (n > 0)
        buf[pos++] = tmp[--n];
    return pos;
}

static size_t put_int(char *buf, size_t pos, size_t cap, long v)
{
    if (v < 0) {
        pos = put_lit(buf, pos, cap, "-", 1);
        return put_u64(buf, pos, cap, (uint64_t)(-(v + 1)) + 1);
    }
    return put_u64(buf, pos, cap, (uint64_t)v);
}

/* Microseconds as milliseconds with three decimals, as "%.3f" would. */
static size_t put_ms(char *buf, size_t pos, size_t cap, uint64_t us)
{
    pos = put_u64(buf, pos, cap, us / 1000);
    if (pos + 4 >= cap)
        return pos;
    unsigned frac = (unsigned)(us % 1000);
    buf[pos++] = '.';
    buf[pos++] = (char)('0' + frac / 100);
    buf[pos++] = (char)('0' + frac / 10 % 10);
    buf[pos++] = (char)('0' + frac % 10);
    return pos;
}

/* The timestamp, as log_timestamp() writes it; gmtime only once a second. */
static size_t put_ts(struct gw_access_buf *b, char *buf, size_t pos, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char local[64];
    char *prefix = b ? b->ts_prefix : local;
    if (!b || b->ts_sec != ts.tv_sec || !prefix[0]) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(prefix, sizeof local, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (b)
            b->ts_sec = ts.tv_sec;
    }
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    char tail[7] = { '.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
                     (char)('0' + ms % 10), 'Z', '"', 0 };
    pos = put_lit(buf, pos, cap, "\"", 1);
    pos = put_lit(buf, pos, cap, prefix, strlen(prefix));
    return put_lit(buf, pos, cap, tail, 6);
}

static size_t format_line(struct gw_access_buf *b, char *buf, size_t cap, const struct gw_access *a)
{
    size_t pos = 0;
    PUT("{\"ts\":");
    pos = put_ts(b, buf, pos, cap);
    PUT(",\"request_id\":");
    pos = put_str(buf, pos, cap, a->request_id);
    PUT(",\"client\":");
    pos = put_str(buf, pos, cap, a->client);
    PUT(",\"method\":");
    pos = put_str(buf, pos, cap, a->method);
    PUT(",\"path\":");
    pos = put_str(buf, pos, cap, a->path);
    PUT(",\"model\":");
    pos = put_str(buf, pos, cap, a->model);
    PUT(",\"provider\":");
    pos = put_str(buf, pos, cap, a->provider);
    PUT(",\"upstream_model\":");
    pos = put_str(buf, pos, cap, a->upstream_model);
    PUT(",\"failover\":");
    pos = put_str(buf, pos, cap, a->failover);
    PUT(",\"error\":");
    pos = put_str(buf, pos, cap, a->error);
    PUT(",\"status\":");
    pos = put_int(buf, pos, cap, a->status);
    PUT(",\"attempts\":");
    pos = put_int(buf, pos, cap, a->attempts);
    PUT(",\"latency_ms\":");
    pos = put_ms(buf, pos, cap, a->latency_us);
    PUT(",\"ttfb_ms\":");
    pos = put_ms(buf, pos, cap, a->ttfb_us);
    PUT(",\"prompt_tokens\":");
    pos = put_u64(buf, pos, cap, a->prompt_tokens);
    PUT(",\"completion_tokens\":");
    pos = put_u64(buf, pos, cap, a->completion_tokens);
    if (a->stream)
        PUT(",\"stream\":true,\"worker\":");
    else
        PUT(",\"stream\":false,\"worker\":");
    pos = put_int(buf, pos, cap, a->worker);
    /* cap keeps two bytes back for these, however long the values were */
    buf[pos++] = '}';
    buf[pos++] = '\n';
    return pos;
}

void gw_access_flush(struct gw_access_buf *b)
{
    if (!b || b->len == 0)
        return;
    if (*b->fd >= 0)
        write_all(*b->fd, b->data, b->len);
    b->len = 0;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_access_buf *b = arg;
    if (!b->requeued) {
        /* Once to the back of the queue: the answers of this pass, pushed
         * after their lines were written here, leave before the log write. */
        b->requeued = true;
        event_active(b->flush, EV_TIMEOUT, 1);
        return;
    }
    b->requeued = false;
    b->pending = false;
    gw_access_flush(b);
}

struct gw_access_buf *gw_access_buf_new(struct event_base *base, const int *fd)
{
    struct gw_access_buf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->fd = fd;
    b->flush = event_new(base, -1, 0, on_flush, b);
    if (!b->flush) {
        free(b);
        return NULL;
    }
    return b;
}

void gw_access_buf_free(struct gw_access_buf *b)
{
    if (!b)
        return;
    gw_access_flush(b);
    event_free(b->flush);
    free(b);
}

void gw_access_write(struct gw_access_buf *b, int fd, const struct gw_access *a)
{
    if (fd < 0)
        return;
    if (!b || *b->fd != fd) {
        char line[LINE_MAX_BYTES];
        write_all(fd, line, format_line(NULL, line, sizeof line - 2, a));
        return;
    }
    if (BUF_BYTES - b->len < LINE_MAX_BYTES)
        gw_access_flush(b);
    b->len += format_line(b, b->data + b->len, LINE_MAX_BYTES - 2, a);
    if (!b->pending) {
        b->pending = true;
        event_active(b->flush, EV_TIMEOUT, 1);
    }
}
