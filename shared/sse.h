/*
 * sse: an incremental Server-Sent Events parser.  Bytes go in as the
 * network delivers them, cut anywhere; complete events come out through a
 * callback.  Lines end with \n, \r\n or \r; an event ends at a blank line;
 * several data: lines join with \n; lines starting with ':' are comments.
 *
 * Ownership: the parser owns its buffers; sse_free() releases them.  The
 * strings passed to the callback are valid only during the call.
 */
#ifndef BS_SSE_H
#define BS_SSE_H

#include <stdbool.h>
#include <stddef.h>

struct sse_event {
    const char *event;   /* "event:" field, or "" */
    const char *data;    /* data lines joined with \n */
    size_t data_len;
};

/* Return non-zero to stop parsing; sse_feed then returns that value. */
typedef int (*sse_event_fn)(void *arg, const struct sse_event *ev);

struct sse_parser {
    char *line;          /* the current, unfinished line */
    size_t line_len, line_cap;
    char *data;          /* data of the event being built */
    size_t data_len, data_cap;
    char event[64];
    bool has_data;
    bool skip_lf;        /* the last byte was \r: a following \n belongs to it */
    size_t blank_end;    /* after sse_feed: how many bytes of its input run through the last
                            blank line in it (an event boundary), 0 when it had none */
    size_t max_event;    /* bound on one event's size; 0 = 1 MiB */
};

void sse_init(struct sse_parser *p, size_t max_event);
/* 0, the callback's non-zero value, or -1 (out of memory / event too large). */
int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_fn fn, void *arg);
void sse_free(struct sse_parser *p);

#endif
