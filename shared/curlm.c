/* curlm: libcurl multi on libevent, with pooled easy handles; see curlm.h. */
#include "curlm.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
struct curlm_sock {
    struct curlm *m;
    curl_socket_t fd;
    short kind;          /* the event's registered flags; 0 = not in the event base */
    bool ours;           /* opened by opensocket_cb, so closed through closesocket_cb */
    bool parked;         /* curl is not watching; the read watch waits for its next request */
    struct event *ev;    /* storage after the struct, assigned for each kind */
};

struct curlm {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    CURL *pool[EASY_POOL_MAX];
    int npool;
    struct curlm_sock **socks;   /* by fd; entries live until curlm_free */
    size_t nsocks;
};

static struct curlm_sock *sock_get(struct curlm *m, curl_socket_t fd, bool create)
{
    if (fd < 0)
        return NULL;
    size_t i = (size_t)fd;
    if (i < m->nsocks && m->socks[i])
        return m->socks[i];
    if (!create)
        return NULL;
    if (i >= m->nsocks) {
        size_t n = m->nsocks ? m->nsocks : 64;
        while (n <= i)
            n *= 2;
        struct curlm_sock **t = realloc(m->socks, n * sizeof *t);
        if (!t)
            return NULL;
        memset(t + m->nsocks, 0, (n - m->nsocks) * sizeof *t);
        m->socks = t;
        m->nsocks = n;
    }
    size_t base = (sizeof(struct curlm_sock) + 15) & ~(size_t)15;
    struct curlm_sock *s = calloc(1, base + event_get_struct_event_size());
    if (!s)
        return NULL;
    s->m = m;
    s->fd = fd;
    s->ev = (struct event *)((char *)s + base);
    m->socks[i] = s;
    return s;
}

static void sock_unwatch(struct curlm_sock *s)
{
    if (s->kind)
        event_del(s->ev);
    s->kind = 0;
    s->parked = false;
}

static void check_done(struct curlm *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        /* msg is invalid once the handle is removed: copy first. */
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        struct curlm_job *job = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&job);
        curl_multi_remove_handle(m->multi, easy);
        if (job && job->done)
            job->done(job, rc);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct curlm_sock *s = arg;
    struct curlm *m = s->m;
    if (s->parked) {
        /* Nobody asked: an idle connection closed by its server, or stray
         * bytes.  Stop watching rather than spin; curl's own liveness check
         * discards the connection when it next picks it. */
        sock_unwatch(s);
        return;
    }
    int action = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;   /* required by the call; the transfers' own state says more */
    curl_multi_socket_action(m->multi, fd, action, &running);
    check_done(m);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct curlm *m = arg;
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(m);
}

/* CURLMOPT_TIMERFUNCTION: only arm the timer here; curl must not be called
 * back from inside it. */
static int timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
    (void)multi;
    struct curlm *m = arg;
    if (timeout_ms < 0) {
        evtimer_del(m->timer);
        return 0;
    }
    if (timeout_ms == 0) {
        /* "As soon as possible" (a transfer just added): later in this
         * loop pass, not after another epoll_wait as a 0 ms timer would. */
        event_active(m->timer, EV_TIMEOUT, 1);
        return 0;
    }
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    return evtimer_add(m->timer, &tv) < 0 ? -1 : 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
    (void)easy;
    (void)sockp;
    struct curlm *m = arg;
    struct curlm_sock *s = sock_get(m, fd, what != CURL_POLL_REMOVE);
    if (what == CURL_POLL_REMOVE) {
        if (s && s->ours && s->kind == (EV_PERSIST | EV_READ))
            s->parked = true;
        else if (s)
            sock_unwatch(s);
        return 0;
    }
    if (!s) {
        log_err("curlm: cannot watch socket %d: out of memory", (int)fd);
        return -1;
    }
    short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    s->parked = false;
    if (s->kind == kind)
        return 0;
    sock_unwatch(s);
    event_assign(s->ev, m->base, fd, kind, on_socket_event, s);
    if (event_add(s->ev, NULL) < 0) {
        log_err("curlm: cannot watch socket %d", (int)fd);
        return -1;
    }
    s->kind = kind;
    return 0;
}

static curl_socket_t opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    struct curlm *m = arg;
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    if (fd == CURL_SOCKET_BAD)
        return fd;
    struct curlm_sock *s = sock_get(m, fd, true);
    if (s) {
        sock_unwatch(s); /* a number reused after a close we were told of */
        s->ours = true;
    }
    return fd;
}

static int closesocket_cb(void *arg, curl_socket_t fd)
{
    struct curlm_sock *s = sock_get(arg, fd, false);
    if (s) {
        /* Before close(): epoll forgets a closed descriptor by itself, but
         * libevent would not, and would skip the next socket's add. */
        sock_unwatch(s);
        s->ours = false;
    }
    return close(fd);
}

struct curlm *curlm_new(struct event_base *base, long max_host_connections)
{
    struct curlm *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->base = base;
    m->multi = curl_multi_init();
    m->timer = evtimer_new(base, on_timer, m);
    if (!m->multi || !m->timer) {
        curlm_free(m);
        return NULL;
    }
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    /* The connection cache is what keeps upstream connections alive
     * between requests; size it for a busy worker. */
    curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, 1024L);
    curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host_connections);
    return m;
}

void curlm_free(struct curlm *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->npool; i++)
        curl_easy_cleanup(m->pool[i]);
    if (m->multi)
        curl_multi_cleanup(m->multi);
    if (m->timer)
        event_free(m->timer);
    for (size_t i = 0; i < m->nsocks; i++)
        if (m->socks[i]) {
            sock_unwatch(m->socks[i]);
            free(m->socks[i]);
        }
    free(m->socks);
    free(m);
}

CURL *curlm_easy(struct curlm *m)
{
    if (m->npool > 0)
        return m->pool[--m->npool];
    return curl_easy_init();
}

void curlm_release(struct curlm *m, CURL *easy)
{
    if (!easy)
        return;
    /* Reset drops options (and any secret set as an option) but keeps the
     * handle's DNS and connection caches warm. */
    curl_easy_reset(easy);
    if (m->npool < EASY_POOL_MAX)
        m->pool[m->npool++] = easy;
    else
        curl_easy_cleanup(easy);
}

int curlm_add(struct curlm *m, struct curlm_job *job)
{
    CURL *e = job->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, job);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, m);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, m);
    CURLMcode rc = curl_multi_add_handle(m->multi, e);
    if (rc != CURLM_OK) {
        log_err("curlm: cannot start a transfer: %s", curl_multi_strerror(rc));
        return -1;
    }
    return 0;
}

void curlm_remove(struct curlm *m, struct curlm_job *job)
{
    if (job->easy)
        curl_multi_remove_handle(m->multi, job->easy);
}
