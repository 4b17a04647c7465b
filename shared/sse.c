/* sse: incremental Server-Sent Events parser; see sse.h. */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#define SSE_DEFAULT_MAX (1024 * 1024)

void sse_init(struct sse_parser *p, size_t max_event)
{
    memset(p, 0, sizeof *p);
    p->max_event = max_event ? max_event : SSE_DEFAULT_MAX;
}

void sse_free(struct sse_parser *p)
{
    free(p->line);
    free(p->data);
    memset(p, 0, sizeof *p);
}

static int grow(char **buf, size_t *cap, size_t need, size_t max)
{
    if (need <= *cap)
        return 0;
    if (need > max)
        return -1;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    char *b = realloc(*buf, n);
    if (!b)
        return -1;
    *buf = b;
    *cap = n;
    return 0;
}

static int dispatch(struct sse_parser *p, sse_event_fn fn, void *arg)
{
    int rc = 0;
    if (p->has_data) {
        if (grow(&p->data, &p->data_cap, p->data_len + 1, p->max_event + 1) < 0)
            return -1;
        p->data[p->data_len] = '\0';
        struct sse_event ev = { p->event, p->data, p->data_len };
        rc = fn(arg, &ev);
    }
    p->data_len = 0;
    p->has_data = false;
    p->event[0] = '\0';
    return rc;
}

static int on_line(struct sse_parser *p, const char *line, size_t len, sse_event_fn fn, void *arg)
{
    if (len == 0)
        return dispatch(p, fn, arg);
    if (line[0] == ':')
        return 0;
    const char *colon = memchr(line, ':', len);
    size_t nlen = colon ? (size_t)(colon - line) : len;
    const char *val = colon ? colon + 1 : line + len;
    size_t vlen = len - (size_t)(val - line);
    if (vlen && *val == ' ') {
        val++;
        vlen--;
    }
    if (nlen == 4 && memcmp(line, "data", 4) == 0) {
        size_t need = p->data_len + (p->has_data ? 1 : 0) + vlen + 1;
        if (grow(&p->data, &p->data_cap, need, p->max_event + 1) < 0)
            return -1;
        if (p->has_data)
            p->data[p->data_len++] = '\n';
        memcpy(p->data + p->data_len, val, vlen);
        p->data_len += vlen;
        p->has_data = true;
    } else if (nlen == 5 && memcmp(line, "event", 5) == 0) {
        size_t n = vlen < sizeof p->event - 1 ? vlen : sizeof p->event - 1;
        memcpy(p->event, val, n);
        p->event[n] = '\0';
    }
    /* id:, retry: and unknown fields carry nothing a gateway acts on. */
    return 0;
}

int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_fn fn, void *arg)
{
    size_t i = 0;
    p->blank_end = 0;
    if (p->skip_lf && len && buf[0] == '\n')
        i = 1;
    p->skip_lf = false;
    while (i < len) {
        /* Find the end of the line in the new bytes. */
        size_t j = i;
        while (j < len && buf[j] != '\n' && buf[j] != '\r')
            j++;
        if (j == len) {
            if (grow(&p->line, &p->line_cap, p->line_len + (j - i), p->max_event) < 0)
                return -1;
            memcpy(p->line + p->line_len, buf + i, j - i);
            p->line_len += j - i;
            return 0;
        }
        int rc;
        bool blank = p->line_len == 0 && j == i;
        if (p->line_len) {
            if (grow(&p->line, &p->line_cap, p->line_len + (j - i), p->max_event) < 0)
                return -1;
            memcpy(p->line + p->line_len, buf + i, j - i);
            p->line_len += j - i;
            rc = on_line(p, p->line, p->line_len, fn, arg);
            p->line_len = 0;
        } else {
            rc = on_line(p, buf + i, j - i, fn, arg);
        }
        if (rc)
            return rc;
        if (buf[j] == '\r') {
            if (j + 1 < len && buf[j + 1] == '\n')
                j++;
            else if (j + 1 == len)
                p->skip_lf = true;
        }
        i = j + 1;
        if (blank)
            p->blank_end = i;
    }
    return 0;
}
