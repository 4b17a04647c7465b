/* gw_upstream: the built-in client or libcurl multi on libevent; see gw_upstream.h. */
#include "gw_upstream.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_h1.h"
#include "log.h"

#define EASY_POOL_MAX 256

/*
 * Sockets are watched through a table indexed by fd rather than
 * curl_multi_assign, so a watch can outlive curl's interest: when a transfer
 * ends, curl says CURL_POLL_REMOVE and, on a kept-alive connection, asks for
 * CURL_POLL_IN again with the next request.  Deleting and re-adding the
 * event each time cost two epoll_ctl calls per request; instead the read
 * watch of a connection curl opened through opensocket_cb stays registered
 * ("parked") until curl wants something else, the socket turns readable
 * while parked (the server closed it: the watch is dropped, curl finds out
 * on reuse), or curl closes it through closesocket_cb.  Sockets curl opens
 * any other way (its resolver's wake-up pair) are closed without telling
 * us, so they are never parked: a stale registration could otherwise hide a
 * new socket that reuses the number.
 */
struct gw_sock {
    struct gw_up *up;
    curl_socket_t fd;
    short kind;          /* the event's registered flags; 0 = not in the event base */
    bool ours;           /* opened by opensocket_cb, so closed through closesocket_cb */
    bool parked;         /* curl is not watching; the read watch waits for its next request */
    struct event *ev;    /* storage after the struct, assigned for each kind */
};

struct gw_up {
    struct event_base *base;
    struct gw_h1 *h1;         /* NULL: every URL goes through libcurl (a proxy is set) */
    CURLM *multi;
    struct event *timer;
    CURL *pool[EASY_POOL_MAX];
    int npool;
    struct gw_sock **socks;   /* by fd; entries live until gw_up_free */
    size_t nsocks;
};

static struct gw_sock *sock_get(struct gw_up *up, curl_socket_t fd, bool create)
{
    if (fd < 0)
        return NULL;
    size_t i = (size_t)fd;
    if (i < up->nsocks && up->socks[i])
        return up->socks[i];
    if (!create)
        return NULL;
    if (i >= up->nsocks) {
        size_t n = up->nsocks ? up->nsocks : 64;
        while (n <= i)
            n *= 2;
        struct gw_sock **t = realloc(up->socks, n * sizeof *t);
        if (!t)
            return NULL;
        memset(t + up->nsocks, 0, (n - up->nsocks) * sizeof *t);
        up->socks = t;
        up->nsocks = n;
    }
    size_t base = (sizeof(struct gw_sock) + 15) & ~(size_t)15;
    struct gw_sock *s = calloc(1, base + event_get_struct_event_size());
    if (!s)
        return NULL;
    s->up = up;
    s->fd = fd;
    s->ev = (struct event *)((char *)s + base);
    up->socks[i] = s;
    return s;
}

static void sock_unwatch(struct gw_sock *s)
{
    if (s->kind)
        event_del(s->ev);
    s->kind = 0;
    s->parked = false;
}

static void check_done(struct gw_up *up)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(up->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        /* msg is invalid once the handle is removed: copy first. */
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        struct gw_xfer *x = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(up->multi, easy);
        if (x) {
            curl_off_t connected = 0;
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &x->status);
            curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected);
            x->connected = connected > 0;
            if (x->done)
                x->done(x, rc);
        }
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct gw_sock *s = arg;
    struct gw_up *up = s->up;
    if (s->parked) {
        /* Nobody asked: an idle connection closed by its server, or stray
         * bytes.  Stop watching rather than spin; curl's own liveness check
         * discards the connection when it next picks it. */
        sock_unwatch(s);
        return;
    }
    int action = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;   /* required by the call; the transfers' own state says more */
    curl_multi_socket_action(up->multi, fd, action, &running);
    check_done(up);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_up *up = arg;
    int running;
    curl_multi_socket_action(up->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(up);
}

/* CURLMOPT_TIMERFUNCTION: only arm the timer here; curl must not be called
 * back from inside it. */
static int timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
    (void)multi;
    struct gw_up *up = arg;
    if (timeout_ms < 0) {
        evtimer_del(up->timer);
        return 0;
    }
    if (timeout_ms == 0) {
        /* "As soon as possible" (a transfer just added): later in this
         * loop pass, not after another epoll_wait as a 0 ms timer would. */
        event_active(up->timer, EV_TIMEOUT, 1);
        return 0;
    }
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    return evtimer_add(up->timer, &tv) < 0 ? -1 : 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
    (void)easy;
    (void)sockp;
    struct gw_up *up = arg;
    struct gw_sock *s = sock_get(up, fd, what != CURL_POLL_REMOVE);
    if (what == CURL_POLL_REMOVE) {
        if (s && s->ours && s->kind == (EV_PERSIST | EV_READ))
            s->parked = true;
        else if (s)
            sock_unwatch(s);
        return 0;
    }
    if (!s) {
        log_err("upstream: cannot watch socket %d: out of memory", (int)fd);
        return -1;
    }
    short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    s->parked = false;
    if (s->kind == kind)
        return 0;
    sock_unwatch(s);
    event_assign(s->ev, up->base, fd, kind, on_socket_event, s);
    if (event_add(s->ev, NULL) < 0) {
        log_err("upstream: cannot watch socket %d", (int)fd);
        return -1;
    }
    s->kind = kind;
    return 0;
}

static curl_socket_t opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    struct gw_up *up = arg;
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    if (fd == CURL_SOCKET_BAD)
        return fd;
    struct gw_sock *s = sock_get(up, fd, true);
    if (s) {
        sock_unwatch(s); /* a number reused after a close we were told of */
        s->ours = true;
    }
    return fd;
}

static int closesocket_cb(void *arg, curl_socket_t fd)
{
    struct gw_sock *s = sock_get(arg, fd, false);
    if (s) {
        /* Before close(): epoll forgets a closed descriptor by itself, but
         * libevent would not, and would skip the next socket's add. */
        sock_unwatch(s);
        s->ours = false;
    }
    return close(fd);
}

/* libcurl sends plain http through a proxy named by these; the built-in
 * client knows no proxies, so it stands aside when one is set. */
static const char *proxy_variable(void)
{
    static const char *const names[] = { "http_proxy", "all_proxy", "ALL_PROXY" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return names[i];
    }
    return NULL;
}

struct gw_up *gw_up_new(struct event_base *base, long max_host_connections)
{
    struct gw_up *up = calloc(1, sizeof *up);
    if (!up)
        return NULL;
    up->base = base;
    up->multi = curl_multi_init();
    up->timer = evtimer_new(base, on_timer, up);
    const char *proxy = proxy_variable();
    if (proxy)
        log_info("upstream: %s is set: plain-http upstreams go through libcurl and the proxy", proxy);
    else
        up->h1 = gw_h1_new(base);
    if (!up->multi || !up->timer || (!proxy && !up->h1)) {
        gw_up_free(up);
        return NULL;
    }
    curl_multi_setopt(up->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(up->multi, CURLMOPT_SOCKETDATA, up);
    curl_multi_setopt(up->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(up->multi, CURLMOPT_TIMERDATA, up);
    /* The connection cache is what keeps upstream connections alive
     * between requests; size it for a busy worker. */
    curl_multi_setopt(up->multi, CURLMOPT_MAXCONNECTS, 1024L);
    curl_multi_setopt(up->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host_connections);
    return up;
}

void gw_up_free(struct gw_up *up)
{
    if (!up)
        return;
    gw_h1_free(up->h1);
    for (int i = 0; i < up->npool; i++)
        curl_easy_cleanup(up->pool[i]);
    if (up->multi)
        curl_multi_cleanup(up->multi);
    if (up->timer)
        event_free(up->timer);
    for (size_t i = 0; i < up->nsocks; i++)
        if (up->socks[i]) {
            sock_unwatch(up->socks[i]);
            free(up->socks[i]);
        }
    free(up->socks);
    free(up);
}

CURL *gw_up_easy(struct gw_up *up)
{
    if (up->npool > 0)
        return up->pool[--up->npool];
    return curl_easy_init();
}

void gw_up_release(struct gw_up *up, CURL *easy)
{
    if (!easy)
        return;
    /* Reset drops options (and any secret set as an option) but keeps the
     * handle's DNS and connection caches warm. */
    curl_easy_reset(easy);
    if (up->npool < EASY_POOL_MAX)
        up->pool[up->npool++] = easy;
    else
        curl_easy_cleanup(easy);
}

static int curl_start(struct gw_up *up, struct gw_xfer *x)
{
    if (!x->easy && !(x->easy = gw_up_easy(up)))
        return -1;
    CURL *e = x->easy;
    if (!x->url)
        goto add;   /* the caller set the handle up itself */
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, x->on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x->arg);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, x->on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x->arg);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, x->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
add:
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, up);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, up);
    CURLMcode rc = curl_multi_add_handle(up->multi, e);
    if (rc != CURLM_OK) {
        log_err("upstream: cannot start a transfer: %s", curl_multi_strerror(rc));
        return -1;
    }
    return 0;
}

int gw_up_start(struct gw_up *up, struct gw_xfer *x)
{
    x->status = 0;
    x->connected = false;
    if (up->h1 && !x->use_curl && x->url) {
        int rc = gw_h1_start(up->h1, x);
        if (rc != GW_H1_DECLINED)
            return rc;
    }
    return curl_start(up, x);
}

void gw_up_cancel(struct gw_up *up, struct gw_xfer *x)
{
    if (x->conn)
        gw_h1_cancel(up->h1, x);
    else if (x->easy)
        curl_multi_remove_handle(up->multi, x->easy);
}

void gw_up_resume(struct gw_up *up, struct gw_xfer *x)
{
    if (x->conn)
        gw_h1_resume(up->h1, x);
    else if (x->easy)
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
}

long gw_up_status(const struct gw_xfer *x)
{
    long status = x->status;
    if (x->easy)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

void gw_up_finish(struct gw_up *up, struct gw_xfer *x)
{
    gw_up_release(up, x->easy);
    x->easy = NULL;
}
