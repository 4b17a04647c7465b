/*
 * gw_h1: the built-in HTTP/1.1 client for plain-http upstreams (a model
 * server in the same VPC, a TLS-terminating egress proxy), one per worker.
 * It does only what the request path needs: POST a body, frame the answer
 * (gw_h1_parse.c), keep connections alive per origin and reuse them, and
 * report how the transfer ended as an enum xfer_rc with libcurl's texts, so
 * that classification is the same as on the libcurl path (gw_up_curl.c), which carries
 * every https upstream.  Names are resolved with evdns and cached for
 * 60 s, as libcurl does.  docs/design.md explains why it exists.
 *
 * A transfer is the caller's struct gw_xfer (gw_upstream.h); the client
 * holds a pointer to it from gw_h1_start until it calls x->done (never from
 * inside x's own callbacks' call stack) or gw_h1_cancel returns.
 */
#ifndef BS_GW_H1_H
#define BS_GW_H1_H

#include <event2/event.h>
#include <stdbool.h>

struct gw_h1;
struct gw_xfer;

struct gw_h1 *gw_h1_new(struct event_base *base);
/* A worker keeps at most 1024 idle connections, each for at most 118 s
 * (libcurl's limits); the defaults, changed for tests and tuning. */
void gw_h1_set_idle_limits(struct gw_h1 *h1, size_t max_conns, int max_age_ms);
/* Closes every connection; transfers must be done or cancelled first. */
void gw_h1_free(struct gw_h1 *h1);

/* gw_h1_start's answer for a URL it does not carry: nothing was taken. */
#define GW_H1_DECLINED 1
/* 0; GW_H1_DECLINED; or -1, out of memory.  On anything but 0 done is not
 * called.  The URL is parsed once, here. */
int gw_h1_start(struct gw_h1 *h1, struct gw_xfer *x);
/* Stops x without calling done; its connection is closed if mid-answer. */
void gw_h1_cancel(struct gw_h1 *h1, struct gw_xfer *x);
/* Continues an answer the body callback paused. */
void gw_h1_resume(struct gw_h1 *h1, struct gw_xfer *x);

#endif
