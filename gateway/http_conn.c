/*
 * http_conn: one client connection's state machine.  Reads a request head
 * and body out of the bufferevent, hands the request to the handler, and
 * after the handler finishes goes back to reading (keep-alive) or flushes and
 * closes.  Also owns every timeout and the "client went away" detection.
 *
 * Reentrancy rule: user code (handler, on_drain, on_close) runs from inside
 * our callbacks and may finish, abort or close the very connection we are
 * working on.  Every callback brackets itself with conn_enter/conn_leave; a
 * connection killed while depth > 0 is only marked dead and is freed when
 * the outermost callback unwinds, so no frame ever touches freed memory.
 */
#include "http_conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Head storage that lives in the connection's own allocation: typical
 * request heads fit, so a keep-alive request allocates nothing. */
#define HBUF_INLINE 2048
/* How long a lingering close waits for the client to stop sending, so that
 * our error response is not destroyed by a TCP reset. */
#define LINGER_MS 2000
/* A body buffer larger than this is released after its request, so idle
 * keep-alive connections do not pin big allocations. */
#define BBUF_KEEP_MAX (64 * 1024)
#define RH_KEEP_MAX (16 * 1024)

static const char CONTINUE_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

uint64_t http_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static size_t align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

static void arm_timer(struct http_conn *c, int ms)
{
    if (ms <= 0) {
        event_del(c->timer);
        return;
    }
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(c->timer, &tv);
}

static struct evbuffer *in_buf(struct http_conn *c)
{
    return bufferevent_get_input(c->bev);
}

static struct evbuffer *out_buf(struct http_conn *c)
{
    return bufferevent_get_output(c->bev);
}

static void conn_free(struct http_conn *c)
{
    struct http_server *srv = c->srv;

    if (c->state == HC_HANDLER)
        srv->in_flight--; /* an orphaned request dies with the server */
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    event_del(c->timer);
    event_del(c->resume);
    event_del(c->flush);
    bufferevent_free(c->bev);
    if (c->hbuf != c->hbuf_inline)
        free(c->hbuf);
    free(c->bbuf);
    free(c->req.rh);
    free(c);
    srv->conn_gone(srv);
}

void http_conn_kill(struct http_conn *c)
{
    if (c->depth > 0) {
        if (!c->dead) {
            c->dead = 1;
            if (c->state == HC_HANDLER)
                c->srv->in_flight--;
            c->state = HC_DEAD;
            bufferevent_disable(c->bev, EV_READ | EV_WRITE);
            event_del(c->timer);
            event_del(c->resume);
            event_del(c->flush);
        }
        return;
    }
    conn_free(c);
}

static void conn_enter(struct http_conn *c)
{
    c->depth++;
}

static void conn_leave(struct http_conn *c)
{
    if (--c->depth == 0 && c->dead)
        conn_free(c);
}

/* ---- closing ---- */

static void after_flush(struct http_conn *c)
{
    /* Closing with unread request bytes in the kernel makes it send a reset,
     * which can destroy our response before the client reads it; so shut
     * our side and swallow input until the client closes or time runs out. */
    if (!c->eof && (c->linger || evbuffer_get_length(in_buf(c)) > 0)) {
        c->state = HC_LINGER;
        shutdown(bufferevent_getfd(c->bev), SHUT_WR);
        evbuffer_drain(in_buf(c), evbuffer_get_length(in_buf(c)));
        bufferevent_enable(c->bev, EV_READ);
        arm_timer(c, LINGER_MS);
        return;
    }
    http_conn_kill(c);
}

static void close_after_flush(struct http_conn *c)
{
    c->state = HC_CLOSING;
    event_del(c->timer);
    event_del(c->resume);
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(out_buf(c)) == 0)
        after_flush(c);
    else
        http_conn_push(c); /* the write path calls after_flush once the output is empty */
}

/* ---- request life cycle ---- */

static void reset_req(struct http_conn *c)
{
    struct http_req *r = &c->req;
    r->head.method = r->head.path = r->head.query = NULL;
    r->head.nheaders = 0;
    r->head.version_minor = 1;
    r->head.keep_alive = 0;
    r->body = "";
    r->body_len = 0;
    r->on_drain = NULL;
    r->on_close = NULL;
    r->cb_arg = NULL;
    r->rh_len = 0;
    r->streaming = r->stream_raw = r->no_body = r->force_close = r->drain_armed = 0;
    if (r->rh_cap > RH_KEEP_MAX) {
        free(r->rh);
        r->rh = NULL;
        r->rh_cap = 0;
    }
    if (c->bbuf_cap > BBUF_KEEP_MAX) {
        free(c->bbuf);
        c->bbuf = NULL;
        c->bbuf_cap = 0;
    }
    if (c->hbuf != c->hbuf_inline) {
        free(c->hbuf);
        c->hbuf = c->hbuf_inline;
        c->hbuf_cap = HBUF_INLINE < c->srv->lim.max_header_bytes + 1 ? HBUF_INLINE
                                                                      : c->srv->lim.max_header_bytes + 1;
    }
}

static int ensure_hbuf(struct http_conn *c, size_t need)
{
    if (need <= c->hbuf_cap)
        return 0;
    size_t cap = c->hbuf_cap * 2;
    if (cap < need)
        cap = need;
    if (cap > c->srv->lim.max_header_bytes + 1)
        cap = c->srv->lim.max_header_bytes + 1;
    char *n;
    if (c->hbuf == c->hbuf_inline) {
        n = malloc(cap);
        if (n)
            memcpy(n, c->hbuf, c->scanned);
    } else {
        n = realloc(c->hbuf, cap);
    }
    if (!n)
        return -1;
    c->hbuf = n;
    c->hbuf_cap = cap;
    return 0;
}

static int ensure_bbuf(struct http_conn *c, size_t need)
{
    if (need <= c->bbuf_cap)
        return 0;
    size_t cap = c->bbuf_cap * 2;
    if (cap < 4096)
        cap = 4096;
    if (cap < need)
        cap = need;
    if (cap > c->srv->lim.max_body_bytes + 1)
        cap = c->srv->lim.max_body_bytes + 1;
    if (cap < need)
        return -1;
    char *n = realloc(c->bbuf, cap);
    if (!n)
        return -1;
    c->bbuf = n;
    c->bbuf_cap = cap;
    return 0;
}

void http_conn_fail(struct http_conn *c, int status, const char *code, const char *message)
{
    struct http_server *srv = c->srv;
    struct evbuffer *body = srv->scratch;

    evbuffer_drain(body, evbuffer_get_length(body));
    http_format_error(srv, body, c->req.head.path, status, code, message);
    c->req.no_body = 0;
    c->req.stream_raw = 0;
    http_write_head(c, status, "application/json", (long long)evbuffer_get_length(body), 1);
    evbuffer_add_buffer(out_buf(c), body);
    close_after_flush(c);
}

static const char *code_for(int status)
{
    switch (status) {
    case 408: return "request_timeout";
    case 413: return "request_too_large";
    case 431: return "headers_too_large";
    case 501: return "not_implemented";
    case 505: return "http_version_not_supported";
    default: return "bad_request";
    }
}

static void dispatch(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    struct http_req *r = &c->req;

    c->linger = 0;
    event_del(c->timer);
    if (r->body_len) {
        c->bbuf[r->body_len] = '\0';
        r->body = c->bbuf;
    }
    r->no_body = strcmp(r->head.method, "HEAD") == 0;
    c->state = HC_HANDLER;
    srv->in_flight++;
    srv->handler(r, srv->handler_arg);
}

static void send_continue(struct http_conn *c)
{
    /* A client that already sent body bytes did not wait for us. */
    if (c->req.head.expect_continue && evbuffer_get_length(in_buf(c)) == 0) {
        evbuffer_add(out_buf(c), CONTINUE_100, sizeof CONTINUE_100 - 1);
        http_conn_push(c);
    }
}

/* Each step returns 1 when the state advanced and parsing may go on. */
static int begin_request(struct http_conn *c)
{
    struct evbuffer *in = in_buf(c);
    size_t len = evbuffer_get_length(in);

    /* RFC 9112 2.2: empty lines before a request line are ignored (some
     * clients send CRLF after a POST body). */
    while (len > 0) {
        unsigned char b[2];
        size_t n = len >= 2 ? 2 : 1;
        evbuffer_copyout(in, b, n);
        if (b[0] != '\r')
            break;
        if (n < 2)
            return 0;
        if (b[1] != '\n')
            break;
        evbuffer_drain(in, 2);
        len -= 2;
    }
    if (len == 0)
        return 0;
    c->state = HC_HEAD;
    c->scanned = 0;
    c->linger = 1;
    c->req.start_us = http_now_us();
    arm_timer(c, c->srv->lim.header_timeout_ms);
    return 1;
}

static int got_head(struct http_conn *c, size_t head_len)
{
    const struct http_limits *lim = &c->srv->lim;
    struct http_head *h = &c->req.head;
    const char *msg;

    int st = http_parse_head(c->hbuf, head_len, h, &msg);
    if (st) {
        http_conn_fail(c, st, code_for(st), msg);
        return 0;
    }
    c->req.body = "";
    c->req.body_len = 0;
    if (h->chunked) {
        http_chunked_init(&c->chunk, lim->max_body_bytes);
        send_continue(c);
        c->state = HC_BODY;
        return 1;
    }
    if (h->has_content_length && h->content_length > 0) {
        if (h->content_length > lim->max_body_bytes) {
            char m[128];
            snprintf(m, sizeof m, "request body is larger than the limit of %zu bytes",
                     lim->max_body_bytes);
            http_conn_fail(c, 413, "request_too_large", m);
            return 0;
        }
        if (ensure_bbuf(c, (size_t)h->content_length + 1) != 0) {
            http_conn_kill(c);
            return 0;
        }
        send_continue(c);
        c->state = HC_BODY;
        return 1;
    }
    dispatch(c);
    return 1;
}

static int read_head(struct http_conn *c)
{
    struct evbuffer *in = in_buf(c);
    size_t len = evbuffer_get_length(in);
    size_t max = c->srv->lim.max_header_bytes;
    size_t want = len < max ? len : max;

    if (want > c->scanned) {
        if (ensure_hbuf(c, want + 1) != 0) {
            http_conn_kill(c);
            return 0;
        }
        struct evbuffer_ptr pos;
        evbuffer_ptr_set(in, &pos, c->scanned, EVBUFFER_PTR_SET);
        evbuffer_copyout_from(in, &pos, c->hbuf + c->scanned, want - c->scanned);
        long end = http_head_end(c->hbuf, want, &c->scanned);
        if (end < 0) {
            http_conn_fail(c, 400, "bad_request", "malformed HTTP/1.1 request");
            return 0;
        }
        if (end > 0) {
            evbuffer_drain(in, (size_t)end);
            return got_head(c, (size_t)end);
        }
    }
    if (len >= max) {
        char m[128];
        snprintf(m, sizeof m, "request line and headers exceed the limit of %zu bytes", max);
        http_conn_fail(c, 431, "headers_too_large", m);
    }
    return 0;
}

static int read_chunked(struct http_conn *c)
{
    struct evbuffer *in = in_buf(c);
    size_t max = c->srv->lim.max_body_bytes;
    struct http_req *r = &c->req;
    int rc = HTTP_CHUNK_MORE;

    while (rc == HTTP_CHUNK_MORE && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v[8];
        int nv = evbuffer_peek(in, -1, NULL, v, 8);
        if (nv > 8)
            nv = 8;
        size_t consumed = 0;
        for (int k = 0; k < nv && rc == HTTP_CHUNK_MORE; k++) {
            const char *p = v[k].iov_base;
            size_t left = v[k].iov_len;
            while (left > 0 && rc == HTTP_CHUNK_MORE) {
                size_t room = left < max - r->body_len ? left : max - r->body_len;
                if (ensure_bbuf(c, r->body_len + room + 1) != 0) {
                    http_conn_kill(c);
                    return 0;
                }
                size_t used, outn;
                rc = http_chunked_decode(&c->chunk, p, left, &used, c->bbuf + r->body_len,
                                         c->bbuf_cap - 1 - r->body_len, &outn);
                r->body_len += outn;
                p += used;
                left -= used;
                consumed += used;
                if (rc == HTTP_CHUNK_MORE && used == 0 && outn == 0)
                    rc = HTTP_CHUNK_BAD; /* cannot happen; never spin */
            }
        }
        evbuffer_drain(in, consumed);
    }
    switch (rc) {
    case HTTP_CHUNK_DONE:
        dispatch(c);
        return 1;
    case HTTP_CHUNK_BAD:
        http_conn_fail(c, 400, "bad_request", "malformed chunked request body");
        return 0;
    case HTTP_CHUNK_TOO_LARGE: {
        char m[128];
        snprintf(m, sizeof m, "request body is larger than the limit of %zu bytes", max);
        http_conn_fail(c, 413, "request_too_large", m);
        return 0;
    }
    default:
        return 0;
    }
}

static int read_body(struct http_conn *c)
{
    struct http_req *r = &c->req;
    if (r->head.chunked)
        return read_chunked(c);

    struct evbuffer *in = in_buf(c);
    size_t need = (size_t)r->head.content_length - r->body_len;
    size_t avail = evbuffer_get_length(in);
    size_t n = avail < need ? avail : need;
    if (n > 0) {
        evbuffer_remove(in, c->bbuf + r->body_len, n);
        r->body_len += n;
    }
    if (r->body_len == r->head.content_length) {
        dispatch(c);
        return 1;
    }
    return 0;
}

/* Parses and dispatches requests while their bytes are buffered.  A handler
 * that answers synchronously lets the loop go straight on to the next
 * pipelined request without recursion. */
static void conn_process(struct http_conn *c)
{
    c->in_loop = 1;
    for (;;) {
        int go = 0;
        if (c->dead)
            break;
        switch (c->state) {
        case HC_IDLE: go = begin_request(c); break;
        case HC_HEAD: go = read_head(c); break;
        case HC_BODY: go = read_body(c); break;
        default: break;
        }
        if (!go)
            break;
    }
    c->in_loop = 0;
}

void http_conn_finish(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    int closing = http_must_close(c);

    srv->in_flight--;
    reset_req(c);
    if (c->gone) {
        c->state = HC_DEAD;
        http_conn_kill(c);
        return;
    }
    if (closing) {
        close_after_flush(c);
        return;
    }
    c->state = HC_IDLE;
    arm_timer(c, srv->lim.keepalive_timeout_ms);
    /* Never parse the next request from inside the handler's call stack
     * (the handler may still be unwinding from its reply); the loop in
     * conn_process picks it up, or the resume event does. */
    if (!c->in_loop && evbuffer_get_length(in_buf(c)) > 0)
        event_active(c->resume, EV_TIMEOUT, 1);
}

void http_conn_abort(struct http_conn *c)
{
    c->srv->in_flight--;
    c->state = HC_DEAD;
    http_conn_kill(c);
}

/* The client went away (error, reset, or EOF).  EOF while the handler owns
 * the request counts as a disconnect too: a client that half-closes after
 * its request is indistinguishable from one that gave up, and cancelling
 * upstream work early is the safer mistake (curl and SDKs never half-close). */
static void client_lost(struct http_conn *c)
{
    if (c->state != HC_HANDLER) {
        http_conn_kill(c);
        return;
    }
    if (c->req.on_close) {
        void (*fn)(void *) = c->req.on_close;
        void *arg = c->req.cb_arg;
        c->gone = 1;
        c->state = HC_DEAD;
        c->srv->in_flight--;
        fn(arg);
        http_conn_kill(c);
        return;
    }
    /* No on_close: the handler cannot be told, so keep the request memory
     * alive until it finishes; its writes are dropped. */
    c->gone = 1;
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
}

/* ---- libevent callbacks ---- */

static void readcb(struct bufferevent *bev, void *arg)
{
    struct http_conn *c = arg;
    conn_enter(c);
    switch (c->state) {
    case HC_IDLE:
    case HC_HEAD:
    case HC_BODY:
        conn_process(c);
        break;
    case HC_LINGER:
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        break;
    default:
        /* HC_HANDLER: pipelined bytes wait their turn; the read high
         * watermark bounds them. */
        break;
    }
    conn_leave(c);
}

/* The output went down (a direct write, or the bufferevent's): wake a
 * handler waiting for room, finish a close, and hand writing back to
 * http_conn_push once nothing is left. */
static void output_progress(struct http_conn *c)
{
    size_t pending = evbuffer_get_length(out_buf(c));
    if (pending == 0 && c->write_armed) {
        c->write_armed = 0;
        bufferevent_disable(c->bev, EV_WRITE); /* already out of epoll: no syscall */
    }
    if (c->state == HC_HANDLER) {
        if (c->req.drain_armed && pending <= c->srv->lim.output_low_water) {
            c->req.drain_armed = 0;
            if (c->req.on_drain)
                c->req.on_drain(c->req.cb_arg);
        }
    } else if (c->state == HC_CLOSING && pending == 0) {
        after_flush(c);
    }
}

static void writecb(struct bufferevent *bev, void *arg)
{
    struct http_conn *c = arg;
    (void)bev;
    conn_enter(c);
    output_progress(c);
    conn_leave(c);
}

static void eventcb(struct bufferevent *bev, short what, void *arg)
{
    struct http_conn *c = arg;
    conn_enter(c);
    if (what & BEV_EVENT_TIMEOUT) {
        /* The write timeout: the client stopped reading.  While the handler
         * owns the request its own deadlines decide. */
        if (c->state == HC_HANDLER)
            bufferevent_enable(bev, EV_WRITE);
        else
            http_conn_kill(c);
    } else if (what & BEV_EVENT_ERROR) {
        client_lost(c);
    } else if (what & BEV_EVENT_EOF) {
        c->eof = 1;
        switch (c->state) {
        case HC_HANDLER:
            client_lost(c);
            break;
        case HC_CLOSING:
            break; /* a half-closed client still reads: finish flushing */
        case HC_IDLE:
        case HC_HEAD:
        case HC_BODY:
            if (evbuffer_get_length(out_buf(c)) == 0)
                http_conn_kill(c);
            else
                close_after_flush(c);
            break;
        default:
            http_conn_kill(c);
            break;
        }
    }
    conn_leave(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)fd;
    (void)what;
    conn_enter(c);
    switch (c->state) {
    case HC_IDLE:
        /* Idle means nothing in either direction; a response still being
         * sent is guarded by the write timeout instead. */
        if (evbuffer_get_length(out_buf(c)) > 0)
            arm_timer(c, c->srv->lim.keepalive_timeout_ms);
        else
            http_conn_kill(c);
        break;
    case HC_HEAD:
    case HC_BODY:
        http_conn_fail(c, 408, "request_timeout", "request not received in time");
        break;
    case HC_HANDLER:
        break;
    default:
        http_conn_kill(c);
        break;
    }
    conn_leave(c);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)fd;
    (void)what;
    conn_enter(c);
    if (c->state == HC_IDLE || c->state == HC_HEAD || c->state == HC_BODY)
        conn_process(c);
    conn_leave(c);
}

/* Writes what the handler queued straight to the socket, once per loop
 * pass however many pieces were queued.  Most responses leave in this one
 * writev and the socket's write interest never reaches epoll; only a client
 * that cannot take it all gets EV_WRITE (and the write timeout). */
static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)fd;
    (void)what;
    c->flush_pending = 0;
    if (c->dead || c->write_armed)
        return;
    struct evbuffer *out = out_buf(c);
    if (evbuffer_get_length(out) == 0)
        return;
    conn_enter(c);
    /* The bufferevent keeps its output's front frozen and thaws it only
     * around its own writes; this one is ours, so do the same. */
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write(out, bufferevent_getfd(c->bev));
    evbuffer_freeze(out, 1);
    if (evbuffer_get_length(out) > 0 || n < 0) {
        /* Short write or an error: the bufferevent retries, and reports a
         * dead socket through eventcb as it always did. */
        c->write_armed = 1;
        bufferevent_enable(c->bev, EV_WRITE);
    } else {
        output_progress(c);
    }
    conn_leave(c);
}

void http_conn_push(struct http_conn *c)
{
    if (c->dead || c->write_armed || c->flush_pending)
        return;
    c->flush_pending = 1;
    event_active(c->flush, EV_TIMEOUT, 1);
}

/* ---- creation, drain, teardown ---- */

struct http_conn *http_conn_new(struct http_server *srv, evutil_socket_t fd,
                                const struct sockaddr *sa, int socklen)
{
    size_t base = align16(sizeof(struct http_conn));
    size_t evsz = align16(event_get_struct_event_size());
    size_t inl = srv->lim.max_header_bytes + 1 < HBUF_INLINE ? srv->lim.max_header_bytes + 1
                                                             : HBUF_INLINE;
    char *mem = calloc(1, base + 3 * evsz + inl);
    if (!mem)
        return NULL;
    struct http_conn *c = (struct http_conn *)mem;
    c->srv = srv;
    c->timer = (struct event *)(mem + base);
    c->resume = (struct event *)(mem + base + evsz);
    c->flush = (struct event *)(mem + base + 2 * evsz);
    c->hbuf = c->hbuf_inline = mem + base + 3 * evsz;
    c->hbuf_cap = inl;
    c->req.conn = c;
    c->req.body = "";
    c->req.head.version_minor = 1;
    if (sa && socklen > 0 && (size_t)socklen <= sizeof c->peer_sa) {
        memcpy(&c->peer_sa, sa, (size_t)socklen);
        c->peer_len = (socklen_t)socklen;
    }

    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        free(mem);
        return NULL;
    }
    event_assign(c->timer, srv->base, -1, 0, timer_cb, c);
    event_assign(c->resume, srv->base, -1, 0, resume_cb, c);
    event_assign(c->flush, srv->base, -1, 0, flush_cb, c);

    /* Small responses and stream chunks must leave at once, not wait for
     * the peer's delayed ACK. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    bufferevent_setcb(c->bev, readcb, writecb, eventcb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, srv->lim.output_low_water, 0);
    /* Bounds what a client can pile up while its request is being handled
     * (pipelined requests); reading resumes once we consume the input. */
    bufferevent_setwatermark(c->bev, EV_READ, 0,
                             srv->lim.max_header_bytes + srv->lim.max_body_bytes + 4096);
    int wms = srv->lim.keepalive_timeout_ms > srv->lim.header_timeout_ms
                  ? srv->lim.keepalive_timeout_ms : srv->lim.header_timeout_ms;
    if (wms > 0) {
        struct timeval wtv = {wms / 1000, (wms % 1000) * 1000};
        bufferevent_set_timeouts(c->bev, NULL, &wtv);
    }
    /* EV_WRITE (on by default in a new socket bufferevent) stays off until
     * a direct write leaves bytes behind (see http_conn_push). */
    bufferevent_disable(c->bev, EV_WRITE);
    bufferevent_enable(c->bev, EV_READ);

    c->state = HC_IDLE;
    arm_timer(c, srv->lim.keepalive_timeout_ms);

    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    return c;
}

void http_conn_drain(struct http_conn *c)
{
    if (c->state != HC_IDLE)
        return; /* requests being read or handled finish with Connection: close */
    if (evbuffer_get_length(out_buf(c)) == 0 && evbuffer_get_length(in_buf(c)) == 0)
        http_conn_kill(c);
    else
        close_after_flush(c);
}

void http_conn_shutdown(struct http_conn *c)
{
    if (c->state == HC_HANDLER && !c->gone && c->req.on_close) {
        void (*fn)(void *) = c->req.on_close;
        void *arg = c->req.cb_arg;
        c->gone = 1;
        c->state = HC_DEAD;
        c->srv->in_flight--;
        conn_enter(c);
        fn(arg);
        c->depth--;
    }
    conn_free(c);
}
