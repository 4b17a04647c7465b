/*
 * http_server: the server object: listener, accepting (with the connection
 * limit and accept-error back-off), drain and teardown.  Connections live in
 * http_conn.c, responses in http_response.c.
 */
#include "http_conn.h"

#include <errno.h>
#include <stdlib.h>

/* After an accept error such as EMFILE the socket stays readable; retrying
 * at once would spin the worker at 100% CPU. */
#define ACCEPT_BACKOFF_MS 100

/* Fills in zero limits, so a zeroed struct still gives a usable server. */
static void sanitize(struct http_limits *l)
{
    if (l->max_header_bytes == 0)
        l->max_header_bytes = 16 * 1024;
    if (l->max_header_bytes > 16u * 1024 * 1024)
        l->max_header_bytes = 16u * 1024 * 1024;
    /* keeps max_body_bytes + max_header_bytes + slack from overflowing */
    if (l->max_body_bytes > (size_t)1 << 40)
        l->max_body_bytes = (size_t)1 << 40;
    if (l->output_high_water == 0)
        l->output_high_water = 256 * 1024;
    if (l->output_low_water > l->output_high_water)
        l->output_low_water = l->output_high_water;
}

static void listener_update(struct http_server *srv)
{
    if (!srv->listener)
        return;
    int want = !srv->draining && !srv->accept_backoff &&
               (srv->lim.max_connections <= 0 || srv->nconns < (size_t)srv->lim.max_connections);
    if (want && !srv->listener_on) {
        evconnlistener_enable(srv->listener);
        srv->listener_on = 1;
    } else if (!want && srv->listener_on) {
        evconnlistener_disable(srv->listener);
        srv->listener_on = 0;
    }
}

static void conn_gone(struct http_server *srv)
{
    listener_update(srv);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    struct http_server *srv = arg;
    (void)l;
    if (!http_conn_new(srv, fd, sa, socklen))
        evutil_closesocket(fd);
    listener_update(srv);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct http_server *srv = arg;
    struct timeval tv = {0, ACCEPT_BACKOFF_MS * 1000};
    (void)l;
    srv->accept_backoff = 1;
    listener_update(srv);
    evtimer_add(srv->accept_retry, &tv);
}

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *srv = arg;
    (void)fd;
    (void)what;
    srv->accept_backoff = 0;
    listener_update(srv);
}

struct http_server *http_server_new(struct event_base *base, evutil_socket_t listen_fd,
                                    const struct http_limits *limits,
                                    http_handler_fn handler, void *handler_arg,
                                    http_error_fn error_fn)
{
    struct http_server *srv = NULL;
    int err = ENOMEM;

    if (!base || !limits || !handler || listen_fd < 0) {
        err = EINVAL;
        goto fail;
    }
    srv = calloc(1, sizeof *srv);
    if (!srv)
        goto fail;
    srv->base = base;
    srv->lim = *limits;
    sanitize(&srv->lim);
    srv->handler = handler;
    srv->conn_gone = conn_gone;
    srv->handler_arg = handler_arg;
    srv->error_fn = error_fn;
    srv->scratch = evbuffer_new();
    srv->accept_retry = evtimer_new(base, accept_retry_cb, srv);
    if (!srv->scratch || !srv->accept_retry)
        goto fail;
    if (evutil_make_socket_nonblocking(listen_fd) != 0) {
        err = errno ? errno : EINVAL;
        goto fail;
    }
    /* backlog 0: the socket is already listening (bound by the parent) */
    srv->listener = evconnlistener_new(base, accept_cb, srv,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd);
    if (!srv->listener) {
        err = errno ? errno : ENOMEM;
        goto fail;
    }
    evconnlistener_set_error_cb(srv->listener, accept_error_cb);
    srv->listener_on = 1;
    return srv;

fail:
    /* we own listen_fd even when failing */
    if (listen_fd >= 0)
        evutil_closesocket(listen_fd);
    if (srv) {
        if (srv->accept_retry)
            event_free(srv->accept_retry);
        if (srv->scratch)
            evbuffer_free(srv->scratch);
        free(srv);
    }
    errno = err;
    return NULL;
}

void http_server_drain(struct http_server *srv)
{
    if (!srv)
        return;
    srv->draining = 1;
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    event_del(srv->accept_retry);
    struct http_conn *c = srv->conns, *next;
    for (; c; c = next) {
        next = c->next;
        http_conn_drain(c);
    }
}

size_t http_server_in_flight(const struct http_server *srv)
{
    return srv ? srv->in_flight : 0;
}

size_t http_server_connections(const struct http_server *srv)
{
    return srv ? srv->nconns : 0;
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    srv->draining = 1;
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    /* Re-read the head each time: an on_close may finish other requests,
     * which can free their connections. */
    while (srv->conns)
        http_conn_shutdown(srv->conns);
    event_free(srv->accept_retry);
    evbuffer_free(srv->scratch);
    free(srv);
}
