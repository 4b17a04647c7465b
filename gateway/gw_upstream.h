/*
 * gw_upstream: a worker's upstream transfers, behind one interface with
 * three backends:
 *   - the built-in HTTP/1.1 client (gw_h1.c) for plain-http URLs;
 *   - libcurl (gw_up_curl.c, on shared/curlm.c) for https, for a provider set
 *     to "http_client": "curl", and whenever a proxy variable is set;
 *   - forced failures (gw_fault.c, `backstopctl fail`): when a fault matches
 *     the transfer, it makes up what the upstream would have done.
 * gw_up_start picks one; the owner cannot tell them apart: the same
 * callbacks run with the same meaning, and the result is an enum xfer_rc.
 *
 * A transfer is described by a struct gw_xfer that its owner embeds in its
 * own state and fills in before gw_up_start; the backend holds a pointer to
 * it until done() runs or gw_up_cancel returns.  done() is called once when
 * the transfer ends (never from inside its own callbacks); gw_up_cancel()
 * removes a transfer without calling done().  gw_up_finish releases what
 * the transfer held, once it is done or cancelled.
 */
#ifndef BS_GW_UPSTREAM_H
#define BS_GW_UPSTREAM_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "curlm.h"
#include "gw_hdr.h"
#include "xfer_rc.h"

struct gw_up;
struct gw_ovr;
struct gw_fault_run;
struct h1_conn;

/* The body callback's answer meaning "not now": the same bytes are offered
 * again after gw_up_resume. */
#define GW_XFER_PAUSE SIZE_MAX

/* What forced failures match on and need to make up an answer; ovr NULL:
 * none can apply.  Read at gw_up_start, and by a fault while it runs. */
struct gw_xfer_match {
    struct gw_ovr *ovr;           /* the catalog's overrides (rate counters move) */
    const char *provider, *target_key, *chain, *key_fpr;  /* target_key: "provider/model" */
    const char *model;            /* the upstream model, for made-up answers */
    const char *request_id;       /* for the log line */
    bool stream;                  /* the client asked for a stream */
    /* The request in OpenAI form, built on first need (only a fault that
     * depends on the request's tools asks); arg is the xfer's arg. */
    json_t *(*openai_body)(void *arg);
};

struct gw_xfer {
    /* The request; read until the transfer ends. */
    const char *url;
    const struct gw_hdr *headers;  /* "Name: value"; "Name:" removes a default */
    const char *body;
    size_t body_len;
    long connect_timeout_ms;
    bool use_curl;                /* libcurl even for a plain-http URL */
    struct gw_xfer_match match;
    /* One head line at a time, CRLF included (status line, each header, the
     * empty line); anything but len stops the transfer. */
    size_t (*on_header)(void *arg, const char *line, size_t len);
    /* Body bytes: len, GW_XFER_PAUSE, or anything else to stop. */
    size_t (*on_body)(void *arg, const char *p, size_t len);
    void *arg;
    void (*done)(struct gw_xfer *x, enum xfer_rc rc);
    /* Set by the backend, all final when done() runs: the answer's status
     * (once its head came), whether a connection was made, a static text
     * saying how the transfer ended (libcurl's wording), and whether the
     * answer is in OpenAI's wire format whatever the URL's API is (a forced
     * failure's made-up answer: a translating owner reads it as OpenAI). */
    long status;
    bool connected;
    const char *why;
    bool openai_wire;
    /* The backends' own state. */
    struct curlm_job job;         /* libcurl (gw_up_curl.c); job.easy NULL otherwise */
    struct curl_slist *curl_headers; /* libcurl: headers as curl reads them */
    struct h1_conn *conn;         /* the built-in client's connection, or NULL */
    struct gw_fault_run *fault;   /* a forced failure runs it (gw_fault.c), or NULL */
};

struct gw_up *gw_up_new(struct event_base *base, long max_host_connections);
void gw_up_free(struct gw_up *up);

/* 0 or -1; on -1 done() is not called. */
int gw_up_start(struct gw_up *up, struct gw_xfer *x);
/* The same, skipping forced failures: a latency fault's real transfer. */
int gw_up_start_real(struct gw_up *up, struct gw_xfer *x);
/* Removes a running transfer (its connection is closed if mid-transfer). */
void gw_up_cancel(struct gw_up *up, struct gw_xfer *x);
/* Resumes a transfer whose body callback returned GW_XFER_PAUSE. */
void gw_up_resume(struct gw_up *up, struct gw_xfer *x);
/* The status of the answer's head, from inside the body callback too. */
long gw_up_status(const struct gw_xfer *x);
/* Releases what a done or cancelled transfer held. */
void gw_up_finish(struct gw_up *up, struct gw_xfer *x);
/* The event base, for a backend's timers. */
struct event_base *gw_up_base(const struct gw_up *up);

#endif
