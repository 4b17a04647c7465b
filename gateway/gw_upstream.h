/*
 * gw_upstream: a worker's upstream transfers.  Plain-http URLs go through
 * the built-in HTTP/1.1 client (gw_h1.c); https, and any provider set to
 * "http_client": "curl", through one libcurl multi handle driven by the
 * worker's event base (the hiperfifo shape: curl tells us which sockets
 * and timeout to watch; libevent tells curl when they fire).  Either way
 * connections stay alive and are reused across requests, and libcurl's
 * easy handles are pooled so a request does not pay for curl_easy_init.
 *
 * A transfer is described by a struct gw_xfer that its owner embeds in its
 * own state and fills in before gw_up_start.  The callbacks have libcurl's
 * signatures and meaning on both paths (the body callback may answer
 * CURL_WRITEFUNC_PAUSE), and the result is a CURLcode on both, so the
 * owner cannot tell the paths apart.  done() is called once when the
 * transfer ends (never from inside its own callbacks); gw_up_cancel()
 * removes a transfer without calling done().  gw_up_finish releases what
 * the transfer held, once it is done or cancelled.
 */
#ifndef BS_GW_UPSTREAM_H
#define BS_GW_UPSTREAM_H

#include <curl/curl.h>
#include <event2/event.h>
#include <stdbool.h>

struct gw_up;
struct h1_conn;

struct gw_xfer {
    /* The request; read until the transfer ends. */
    const char *url;
    const struct curl_slist *headers;
    const char *body;
    size_t body_len;
    long connect_timeout_ms;
    bool use_curl;                /* libcurl even for a plain-http URL */
    size_t (*on_header)(char *line, size_t size, size_t n, void *arg);
    size_t (*on_body)(char *p, size_t size, size_t n, void *arg);
    void *arg;
    void (*done)(struct gw_xfer *x, CURLcode rc);
    /* Set by gw_up: the answer's status (once its head came) and whether a
     * connection was made; both final when done() runs. */
    long status;
    bool connected;
    CURL *easy;                   /* the libcurl path's handle, or NULL */
    struct h1_conn *conn;         /* the built-in client's connection, or NULL */
};

struct gw_up *gw_up_new(struct event_base *base, long max_host_connections);
void gw_up_free(struct gw_up *up);

/* libcurl only, for a caller that sets a handle up itself (the health
 * probes' GETs): a reset handle from the pool, or NULL on out of memory;
 * and back to the pool (not while in a transfer).  gw_up_start runs such
 * a handle as it is when x->url is NULL. */
CURL *gw_up_easy(struct gw_up *up);
void gw_up_release(struct gw_up *up, CURL *easy);

/* 0 or -1; on -1 done() is not called. */
int gw_up_start(struct gw_up *up, struct gw_xfer *x);
/* Removes a running transfer (its connection is closed if mid-transfer). */
void gw_up_cancel(struct gw_up *up, struct gw_xfer *x);
/* Resumes a transfer whose body callback returned CURL_WRITEFUNC_PAUSE. */
void gw_up_resume(struct gw_up *up, struct gw_xfer *x);
/* The status of the answer's head, from inside the body callback too. */
long gw_up_status(const struct gw_xfer *x);
/* Releases what a done or cancelled transfer held (its easy handle). */
void gw_up_finish(struct gw_up *up, struct gw_xfer *x);

#endif
