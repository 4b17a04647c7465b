/* gw_access: formats and writes access-log lines; see gw_access.h. */
#include "gw_access.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Appends a JSON string (quoted, escaped) or null; returns the new length. */
static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
    if (!s) {
        if (pos + 4 < cap) {
            memcpy(buf + pos, "null", 4);
            pos += 4;
        }
        return pos;
    }
    if (pos + 1 < cap)
        buf[pos++] = '"';
    for (; *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
        } else if (c < 0x20) {
            pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", c);
        } else {
            buf[pos++] = (char)c;
        }
    }
    if (pos + 1 < cap)
        buf[pos++] = '"';
    return pos;
}

void gw_access_write(int fd, const struct gw_access *a)
{
    if (fd < 0)
        return;
    char buf[2048], ts[32];
    size_t cap = sizeof buf - 2, pos = 0;
    log_timestamp(ts, sizeof ts);
    const char *keys[] = { "ts", "request_id", "client", "method", "path", "model", "provider",
                           "upstream_model", "failover", "error" };
    const char *vals[] = { ts, a->request_id, a->client, a->method, a->path, a->model,
                           a->provider, a->upstream_model, a->failover, a->error };
    buf[pos++] = '{';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s\"%s\":", i ? "," : "", keys[i]);
        if (pos >= cap)
            break;
        pos = put_str(buf, pos, cap, vals[i]);
    }
    if (pos < cap)
        pos += (size_t)snprintf(buf + pos, cap - pos,
                                ",\"status\":%d,\"attempts\":%d,\"latency_ms\":%.3f,"
                                "\"ttfb_ms\":%.3f,\"prompt_tokens\":%u,\"completion_tokens\":%u,"
                                "\"stream\":%s,\"worker\":%d}",
                                a->status, a->attempts, (double)a->latency_us / 1000.0,
                                (double)a->ttfb_us / 1000.0, a->prompt_tokens,
                                a->completion_tokens, a->stream ? "true" : "false", a->worker);
    if (pos > cap)
        pos = cap;
    buf[pos++] = '\n';
    ssize_t n;
    do
        n = write(fd, buf, pos);
    while (n < 0 && errno == EINTR);
}
