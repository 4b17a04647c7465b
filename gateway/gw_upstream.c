/* gw_upstream: libcurl multi on libevent; see gw_upstream.h. */
#include "gw_upstream.h"

#include <stdlib.h>

#include "log.h"

#define EASY_POOL_MAX 256

struct gw_sock {
    struct event *ev;
    curl_socket_t fd;
};

struct gw_up {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    int running;
    CURL *pool[EASY_POOL_MAX];
    int npool;
};

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
        if (x && x->done)
            x->done(x, rc);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct gw_up *up = arg;
    int action = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(up->multi, fd, action, &up->running);
    check_done(up);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_up *up = arg;
    curl_multi_socket_action(up->multi, CURL_SOCKET_TIMEOUT, 0, &up->running);
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
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    return evtimer_add(up->timer, &tv) < 0 ? -1 : 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
    (void)easy;
    struct gw_up *up = arg;
    struct gw_sock *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            event_free(s->ev);
            free(s);
            curl_multi_assign(up->multi, fd, NULL);
        }
        return 0;
    }
    short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return -1;
        s->fd = fd;
        curl_multi_assign(up->multi, fd, s);
    } else {
        event_free(s->ev);
    }
    s->ev = event_new(up->base, fd, kind, on_socket_event, up);
    if (!s->ev || event_add(s->ev, NULL) < 0) {
        log_err("upstream: cannot watch socket %d", (int)fd);
        return -1;
    }
    return 0;
}

struct gw_up *gw_up_new(struct event_base *base, long max_host_connections)
{
    struct gw_up *up = calloc(1, sizeof *up);
    if (!up)
        return NULL;
    up->base = base;
    up->multi = curl_multi_init();
    up->timer = evtimer_new(base, on_timer, up);
    if (!up->multi || !up->timer) {
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
    for (int i = 0; i < up->npool; i++)
        curl_easy_cleanup(up->pool[i]);
    if (up->multi)
        curl_multi_cleanup(up->multi);
    if (up->timer)
        event_free(up->timer);
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

int gw_up_start(struct gw_up *up, struct gw_xfer *x)
{
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    CURLMcode rc = curl_multi_add_handle(up->multi, x->easy);
    if (rc != CURLM_OK) {
        log_err("upstream: cannot start a transfer: %s", curl_multi_strerror(rc));
        return -1;
    }
    return 0;
}

void gw_up_cancel(struct gw_up *up, struct gw_xfer *x)
{
    curl_multi_remove_handle(up->multi, x->easy);
}

void gw_up_resume(struct gw_up *up, struct gw_xfer *x)
{
    (void)up;
    curl_easy_pause(x->easy, CURLPAUSE_CONT);
}

int gw_up_running(const struct gw_up *up)
{
    return up->running;
}
