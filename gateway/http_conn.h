/*
 * http_conn: private structures shared by the http_*.c files (server,
 * connection state machine, request accessors, response writer).  Not part of
 * the public interface; include http_server.h for that.
 */
#ifndef BS_HTTP_CONN_H
#define BS_HTTP_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "http_parse.h"
#include "http_server.h"

enum http_conn_state {
    HC_IDLE,     /* between requests: no byte of the next one yet */
    HC_HEAD,     /* reading the request line and headers */
    HC_BODY,     /* reading the body */
    HC_HANDLER,  /* the handler owns the request */
    HC_CLOSING,  /* flushing the last response, then close (or linger) */
    HC_LINGER,   /* write side shut; discarding input until EOF or timeout */
    HC_DEAD      /* on_close is running or the connection is being freed */
};

struct http_conn;

/* Embedded in the connection so that a request costs no allocation; reset,
 * not freed, between keep-alive requests. */
struct http_req {
    struct http_conn *conn;
    struct http_head head;         /* strings point into conn->hbuf */
    const char *body;              /* conn->bbuf, or "" */
    size_t body_len;
    uint64_t start_us;

    void (*on_drain)(void *arg);
    void (*on_close)(void *arg);
    void *cb_arg;

    char *rh;                      /* extra response header lines, "Name: v\r\n"... */
    size_t rh_len, rh_cap;

    unsigned streaming : 1;        /* stream_start done */
    unsigned stream_raw : 1;       /* HTTP/1.0 stream: no chunk framing, close at end */
    unsigned no_body : 1;          /* HEAD request or bodiless status: send headers only */
    unsigned force_close : 1;      /* handler asked for Connection: close */
    unsigned drain_armed : 1;      /* output went above high water; on_drain due */
};

struct http_conn {
    struct http_req req;
    struct http_server *srv;
    struct http_conn *prev, *next;
    struct bufferevent *bev;
    struct event *timer;           /* header / keep-alive / linger deadline */
    struct event *resume;          /* restarts parsing after an asynchronous finish */
    struct event *flush;           /* writes the output straight to the socket (http_conn_push) */
    enum http_conn_state state;

    int depth;                     /* nesting of our callbacks on the stack */
    unsigned dead : 1;             /* free once depth drops to 0 */
    unsigned in_loop : 1;          /* conn_process is running */
    unsigned eof : 1;              /* client shut its write side */
    unsigned gone : 1;             /* client went away while the handler owned the request */
    unsigned linger : 1;           /* request not fully read: lingering close wanted */
    unsigned peer_done : 1;
    unsigned write_armed : 1;      /* output left over: the bufferevent waits for EV_WRITE */
    unsigned flush_pending : 1;    /* the flush event is active */

    size_t scanned;                /* http_head_end resume point */
    char *hbuf;                    /* head copy; inline storage or malloc'ed */
    size_t hbuf_cap;
    char *hbuf_inline;
    char *bbuf;                    /* body buffer, reused across requests */
    size_t bbuf_cap;
    struct http_chunked chunk;

    struct sockaddr_storage peer_sa;
    socklen_t peer_len;
    char peer[64];
};

struct http_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *accept_retry;
    struct http_limits lim;
    http_handler_fn handler;
    void *handler_arg;
    http_error_fn error_fn;
    /* A connection closed (http_server.c may accept again): called through
     * the struct so that the connection code does not depend on the server's. */
    void (*conn_gone)(struct http_server *srv);

    struct http_conn *conns;
    size_t nconns;
    size_t in_flight;
    int draining;
    int listener_on;
    int accept_backoff;

    struct evbuffer *scratch;      /* error bodies */
    time_t date_sec;
    char date[40];                 /* "Date: ...\r\n", refreshed once a second */
    size_t date_len;
};

/* http_conn.c */
struct http_conn *http_conn_new(struct http_server *srv, evutil_socket_t fd,
                                const struct sockaddr *sa, int socklen);
/* Frees now, or once our callbacks have unwound. */
void http_conn_kill(struct http_conn *c);
/* The response was fully queued: keep-alive or close. */
void http_conn_finish(struct http_conn *c);
/* Output was queued: write it to the socket later in this loop pass. */
void http_conn_push(struct http_conn *c);
/* stream_abort: drop the connection at once, no on_close. */
void http_conn_abort(struct http_conn *c);
/* Answers with a server-raised error and closes. */
void http_conn_fail(struct http_conn *c, int status, const char *code, const char *message);
/* Drain: close now if idle, else mark to close after the response. */
void http_conn_drain(struct http_conn *c);
/* Server teardown: notify a handler still owning the request, then free. */
void http_conn_shutdown(struct http_conn *c);
uint64_t http_now_us(void);

/* http_response.c */
const char *http_reason(int status);
/* Writes status line and common headers; body_len < 0: chunked / raw stream. */
void http_write_head(struct http_conn *c, int status, const char *content_type,
                     long long body_len, int closing);
void http_format_error(struct http_server *srv, struct evbuffer *out, const char *path,
                       int status, const char *code, const char *message);
/* Whether the response being written must end the connection. */
int http_must_close(const struct http_conn *c);
/* Arms on_drain once pending output exceeds high water. */
void http_check_high_water(struct http_conn *c);

#endif
