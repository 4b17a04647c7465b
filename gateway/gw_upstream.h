/*
 * gw_upstream: one libcurl multi handle per worker, driven by the worker's
 * event base (the hiperfifo shape: curl tells us which sockets and timeout
 * to watch; libevent tells curl when they fire).  Connections stay in the
 * multi handle's cache and are reused across requests (keep-alive), and easy
 * handles are pooled so a request does not pay for curl_easy_init.
 *
 * A transfer is described by a struct gw_xfer that its owner embeds in its
 * own state; CURLOPT_PRIVATE points at it and done() is called once when
 * curl finishes it (never from inside a curl callback), after the handle
 * has been removed from the multi.  gw_up_cancel() removes a transfer
 * without calling done().
 */
#ifndef BS_GW_UPSTREAM_H
#define BS_GW_UPSTREAM_H

#include <curl/curl.h>
#include <event2/event.h>

struct gw_up;

struct gw_xfer {
    CURL *easy;
    void (*done)(struct gw_xfer *x, CURLcode rc);
};

struct gw_up *gw_up_new(struct event_base *base, long max_host_connections);
void gw_up_free(struct gw_up *up);

/* A reset easy handle from the pool (or a new one); NULL on out of memory. */
CURL *gw_up_easy(struct gw_up *up);
/* Back to the pool.  The handle must not be in the multi. */
void gw_up_release(struct gw_up *up, CURL *easy);

/* x->easy must be set up; 0 or -1. */
int gw_up_start(struct gw_up *up, struct gw_xfer *x);
/* Removes a running transfer (its connection is closed if mid-transfer). */
void gw_up_cancel(struct gw_up *up, struct gw_xfer *x);
/* Resumes a transfer whose write callback returned CURL_WRITEFUNC_PAUSE. */
void gw_up_resume(struct gw_up *up, struct gw_xfer *x);

int gw_up_running(const struct gw_up *up);

#endif
