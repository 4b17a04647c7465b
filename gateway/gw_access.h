/* gw_access: one structured (JSON) access-log line per client request.
 * Never the prompt or the completion: only ids, names, numbers. */
#ifndef BS_GW_ACCESS_H
#define BS_GW_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

struct gw_access {
    const char *request_id;
    const char *client;      /* peer address */
    const char *method;
    const char *path;
    const char *model;       /* client-facing name, or NULL */
    const char *provider;    /* what served it, or NULL */
    const char *upstream_model;
    int status;              /* to the client; 499 when it went away */
    int attempts;
    uint64_t latency_us;
    uint64_t ttfb_us;        /* to the first byte sent to the client */
    uint32_t prompt_tokens, completion_tokens;
    bool stream;
    const char *failover;    /* reasons, or NULL */
    const char *error;       /* final failure class, or NULL */
    int worker;              /* slot of the worker that served it */
};

/*
 * Lines written while the event loop handles one batch of events are
 * collected and written to the log together at the end of that loop pass,
 * after the answers of that pass were written to their clients: one
 * write() for many requests under load, and none ahead of an answer on its
 * way out.  A line is on disk before the worker next waits for events, so
 * at most microseconds after its answer left.  The buffer is owned by the
 * worker (struct gw) and lives as long as its event base.
 */
struct gw_access_buf;
struct event_base;
/* fd: where the worker keeps its access-log descriptor (it changes on
 * SIGUSR1; flush before closing the old one). */
struct gw_access_buf *gw_access_buf_new(struct event_base *base, const int *fd);
void gw_access_flush(struct gw_access_buf *b);
void gw_access_buf_free(struct gw_access_buf *b);   /* flushes first */
/* b may be NULL (then the line is written at once). */
void gw_access_write(struct gw_access_buf *b, int fd, const struct gw_access *a);

#endif
