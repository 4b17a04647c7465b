/* gw_h1: the built-in HTTP/1.1 client against small servers of the test's
 * own on 127.0.0.1 (ephemeral ports).  Each server runs a thread that
 * accepts and a thread per connection running one scripted behaviour; the
 * client runs on the main thread's event base, driven in bounded spins.
 * libevent's debug mode is on, so misuse of an event aborts the test. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw_h1.h"
#include "gw_upstream.h"
#include "unit.h"

#define MAXC 16
#define HEAD_CAP 8192

/* --- the servers */

struct srv;
typedef void (*conn_fn)(struct srv *s, int fd, int idx);

struct srv {
    int lfd, port;
    conn_fn fn;
    pthread_t acc;
    pthread_t th[MAXC];
    atomic_int nth;
    atomic_int accepts;
    atomic_int finished;     /* connection threads done (their socket closed) */
    atomic_int requests;
    atomic_int peer_closed;  /* connections the client closed first */
    atomic_int stop;
    pthread_mutex_t mu;
    char head[HEAD_CAP];     /* the last request's head */
    size_t body_len;         /* and its body's length */
    bool body_ok;            /* its body was the expected pattern */
    size_t answer_len;       /* body length h_big_answer sends */
    int family;              /* AF_INET unless set before srv_new listens */
    const char *answer;      /* what h_once sends (NULL: nothing) */
    bool wait_client;        /* h_once waits for the client to close first */
};

struct conn_arg {
    struct srv *s;
    int fd, idx;
};

static void *conn_main(void *arg)
{
    struct conn_arg *a = arg;
    struct timeval tv = { 5, 0 };   /* no server thread waits forever */
    setsockopt(a->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(a->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    a->s->fn(a->s, a->fd, a->idx);
    a->s->finished++;
    free(a);
    return NULL;
}

static void *acc_main(void *arg)
{
    struct srv *s = arg;
    while (!s->stop) {
        struct pollfd p = { s->lfd, POLLIN, 0 };
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int idx = s->accepts++;
        struct conn_arg *a = malloc(sizeof *a);
        *a = (struct conn_arg){ s, fd, idx };
        if (s->nth >= MAXC || pthread_create(&s->th[s->nth], NULL, conn_main, a) != 0) {
            close(fd);
            free(a);
            continue;
        }
        s->nth++;
    }
    return NULL;
}

/* A listening socket on the loopback address of family (127.0.0.1, ::1). */
static int listen_fam(int family, int backlog, int *port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    struct sockaddr *sa = family == AF_INET ? (struct sockaddr *)&a : (struct sockaddr *)&a6;
    socklen_t alen = family == AF_INET ? sizeof a : sizeof a6;
    if (fd < 0 || bind(fd, sa, alen) < 0 || listen(fd, backlog) < 0 ||
        getsockname(fd, sa, &alen) < 0) {
        perror("listen");
        exit(2);
    }
    *port = ntohs(family == AF_INET ? a.sin_port : a6.sin6_port);
    return fd;
}

static int listen_on(int backlog, int *port)
{
    return listen_fam(AF_INET, backlog, port);
}

static struct srv *srv_new_fam(int family, conn_fn fn, const char *answer, bool wait_client)
{
    struct srv *s = calloc(1, sizeof *s);
    s->family = family;
    s->fn = fn;
    s->answer = answer;
    s->wait_client = wait_client;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = listen_fam(s->family ? s->family : AF_INET, 16, &s->port);
    pthread_create(&s->acc, NULL, acc_main, s);
    return s;
}

static struct srv *srv_new(conn_fn fn, const char *answer, bool wait_client)
{
    return srv_new_fam(AF_INET, fn, answer, wait_client);
}

static struct srv *srv_start(conn_fn fn)
{
    return srv_new(fn, NULL, false);
}

static void srv_stop(struct srv *s)
{
    s->stop = 1;
    pthread_join(s->acc, NULL);
    for (int i = 0; i < s->nth; i++)
        pthread_join(s->th[i], NULL);
    close(s->lfd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        b += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

static char pattern(size_t i)
{
    return (char)('a' + i % 23 + (i / 4096) % 3);
}

/* Reads one request; records its head and checks its body against
 * pattern().  0, or -1 when the client closed (or went silent) first. */
static int read_req(struct srv *s, int fd)
{
    char head[HEAD_CAP];
    size_t hl = 0;
    char *end = NULL;
    while (!end) {
        if (hl == sizeof head - 1)
            return -1;
        ssize_t r = recv(fd, head + hl, 1, 0);   /* byte by byte: nothing of the body is taken */
        if (r <= 0)
            return -1;
        hl++;
        head[hl] = '\0';
        if (hl >= 4 && memcmp(head + hl - 4, "\r\n\r\n", 4) == 0)
            end = head + hl;
    }
    const char *cl = strcasestr(head, "\r\ncontent-length:");
    size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
    size_t got = 0;
    bool ok = true;
    char buf[65536];
    while (got < want) {
        size_t ask = want - got < sizeof buf ? want - got : sizeof buf;
        ssize_t r = recv(fd, buf, ask, 0);
        if (r <= 0)
            return -1;
        for (ssize_t i = 0; i < r; i++)
            ok = ok && buf[i] == pattern(got + (size_t)i);
        got += (size_t)r;
    }
    pthread_mutex_lock(&s->mu);
    memcpy(s->head, head, hl + 1);
    s->body_len = got;
    s->body_ok = ok;
    pthread_mutex_unlock(&s->mu);
    s->requests++;
    return 0;
}

/* Waits for the client to close (or 5 s); counts it. */
static void wait_close(struct srv *s, int fd)
{
    char b[4096];
    ssize_t r;
    while ((r = recv(fd, b, sizeof b, 0)) > 0)
        ;
    if (r == 0)
        s->peer_closed++;
}

/* Answers every request on the connection, keeping it alive. */
static void h_ok(struct srv *s, int fd, int idx)
{
    for (int k = 0; read_req(s, fd) == 0; k++) {
        char a[256];
        char body[64];
        int bl = snprintf(body, sizeof body, "hello %d.%d", idx, k);
        snprintf(a, sizeof a, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Conn: %d\r\n"
                              "Content-Length: %d\r\n\r\n%s", idx, bl, body);
        send_str(fd, a);
    }
    s->peer_closed++;
    close(fd);
}

/* Chunked answers in several writes, keeping the connection alive. */
static void h_chunked(struct srv *s, int fd, int idx)
{
    (void)idx;
    while (read_req(s, fd) == 0) {
        send_str(fd, "HTTP/1.1 100 Continue\r\n\r\n");
        send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        send_str(fd, "5\r\nhello\r\n");
        usleep(2000);
        send_str(fd, "1;x=y\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n");
    }
    close(fd);
}

/* One request, one fixed answer, the close (after the client's when
 * wait_client). */
static void h_once(struct srv *s, int fd, int idx)
{
    (void)idx;
    if (read_req(s, fd) == 0 && s->answer)
        send_str(fd, s->answer);
    if (s->wait_client)
        wait_close(s, fd);
    close(fd);
}

#define ANSWER_OK "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

static void h_reset(struct srv *s, int fd, int idx)
{
    (void)idx;
    read_req(s, fd);
    struct linger l = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* Answers with bytes after the announced body. */
static void h_extra(struct srv *s, int fd, int idx)
{
    (void)idx;
    while (read_req(s, fd) == 0)
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA");
    s->peer_closed++;
    close(fd);
}

/* HTTP/1.0, no length: the body ends with the close. */
/* A long answer of pattern() bytes, kept alive. */
static void h_big_answer(struct srv *s, int fd, int idx)
{
    (void)idx;
    while (read_req(s, fd) == 0) {
        char h[128];
        snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", s->answer_len);
        send_str(fd, h);
        char *b = malloc(s->answer_len);
        for (size_t i = 0; i < s->answer_len; i++)
            b[i] = pattern(i);
        send_all(fd, b, s->answer_len);
        free(b);
    }
    close(fd);
}

/* The head and part of a body, then waits for the client to go. */
static void h_hold(struct srv *s, int fd, int idx)
{
    (void)idx;
    if (read_req(s, fd) == 0)
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst part");
    wait_close(s, fd);
    close(fd);
}

/* --- the client side */

struct tx {
    struct gw_xfer x;
    struct gw_h1 *h1;
    struct event_base *base;
    char url[256];
    char hdr[HEAD_CAP];
    size_t hdr_len;
    int lines;
    char *body;
    size_t body_len, body_cap;
    int done_calls;
    enum xfer_rc rc;
    long status_in_body;
    /* behaviours */
    bool pause;              /* refuse each first offer, resume from a timer */
    bool armed;
    int pauses;
    char refused[64];        /* the start of the refused offer */
    size_t refused_len;
    bool reoffer_bad;        /* the re-offer did not start with the refused bytes */
    bool cancel_in_body, cancel_in_header;
    bool cancel_on_resume;   /* the resume timer cancels right after resuming */
    void (*then)(struct tx *t);   /* run from done */
};

static size_t tx_header(void *arg, const char *line, size_t len)
{
    struct tx *t = arg;
    t->lines++;
    if (t->hdr_len + len < sizeof t->hdr) {
        memcpy(t->hdr + t->hdr_len, line, len);
        t->hdr_len += len;
        t->hdr[t->hdr_len] = '\0';
    }
    if (t->cancel_in_header && t->lines == 2) {
        gw_h1_cancel(t->h1, &t->x);
        return 0;
    }
    return len;
}

static void tx_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct tx *t = arg;
    gw_h1_resume(t->h1, &t->x);
    if (t->cancel_on_resume)
        gw_h1_cancel(t->h1, &t->x);   /* the queued re-offer must not run */
}

static size_t tx_body(void *arg, const char *p, size_t len)
{
    struct tx *t = arg;
    t->status_in_body = t->x.status;
    if (t->pause) {
        if (!t->armed) {
            t->armed = true;
            t->pauses++;
            t->refused_len = len < sizeof t->refused ? len : sizeof t->refused;
            memcpy(t->refused, p, t->refused_len);
            struct timeval tv = { 0, 1000 };
            event_base_once(t->base, -1, EV_TIMEOUT, tx_resume, t, &tv);
            return GW_XFER_PAUSE;
        }
        t->armed = false;
        if (len < t->refused_len || memcmp(p, t->refused, t->refused_len) != 0)
            t->reoffer_bad = true;
    }
    if (t->body_len + len + 1 > t->body_cap) {
        t->body_cap = (t->body_len + len + 1) * 2;
        t->body = realloc(t->body, t->body_cap);
    }
    memcpy(t->body + t->body_len, p, len);
    t->body_len += len;
    t->body[t->body_len] = '\0';
    if (t->cancel_in_body) {
        gw_h1_cancel(t->h1, &t->x);
        return len;
    }
    return len;
}

static void tx_done(struct gw_xfer *x, enum xfer_rc rc)
{
    struct tx *t = x->arg;
    t->done_calls++;
    t->rc = rc;
    if (t->then)
        t->then(t);
}

/* Sets t up for a POST of body to url (t's buffers are emptied). */
static void tx_init(struct tx *t, struct gw_h1 *h1, struct event_base *base, const char *url,
                    const struct gw_hdr *hs, const char *body, size_t body_len)
{
    free(t->body);
    memset(t, 0, sizeof *t);
    t->h1 = h1;
    t->base = base;
    snprintf(t->url, sizeof t->url, "%s", url);
    t->x.url = t->url;
    t->x.headers = hs;
    t->x.body = body;
    t->x.body_len = body_len;
    t->x.connect_timeout_ms = 3000;
    t->x.on_header = tx_header;
    t->x.on_body = tx_body;
    t->x.arg = t;
    t->x.done = tx_done;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs the loop until cond holds or ms pass; whether cond held. */
static bool spin(struct event_base *b, bool (*cond)(void *), void *arg, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    while (!cond || !cond(arg)) {
        if (now_ms() > end)
            return false;
        event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(200);
    }
    return true;
}

static bool is_done(void *arg)
{
    return ((struct tx *)arg)->done_calls > 0;
}

/* Starts t and runs the loop until done (10 s at most). */
static bool run(struct tx *t)
{
    if (gw_h1_start(t->h1, &t->x) != 0)
        return false;
    return spin(t->base, is_done, t, 10000);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3;   /* ".", ".." and the DIR's own */
}

struct fds_want {
    int n;
    struct srv *s;
    int finished;
};

static bool fds_are(void *arg)
{
    struct fds_want *w = arg;
    return w->s->finished >= w->finished && count_fds() == w->n;
}

static bool peer_closed_1(void *arg)
{
    return ((struct srv *)arg)->peer_closed >= 1;
}

static int peer_want;

static bool peer_closed_n(void *arg)
{
    return ((struct srv *)arg)->peer_closed >= peer_want;
}

static struct event_base *base;

/* Runs the loop until the server saw n connections closed by the client
 * (5 s at most). */
static bool wait_peer(struct srv *s, int n)
{
    peer_want = n;
    return spin(base, peer_closed_n, s, 5000) && s->peer_closed == n;
}

static void url_of(struct srv *s, const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "http://127.0.0.1:%d%s", s->port, path);
}

/* --- the tests */

/* Whether gw_h1_start takes the URL (it is parsed once, there): a taken
 * transfer is cancelled at once, before its name is looked up. */
static bool takes(struct gw_h1 *h1, const char *url)
{
    struct tx t = { 0 };
    tx_init(&t, h1, base, url, NULL, "", 0);
    int rc = gw_h1_start(h1, &t.x);
    CHECK(rc == 0 || rc == GW_H1_DECLINED);
    if (rc == 0)
        gw_h1_cancel(h1, &t.x);
    CHECK(t.x.conn == NULL && t.done_calls == 0);
    free(t.body);
    return rc == 0;
}

static void test_handles(void)
{
    struct gw_h1 *h1 = gw_h1_new(base);
    CHECK(takes(h1, "http://h/"));
    CHECK(takes(h1, "HTTP://h:8080/v1/chat?x=1"));
    CHECK(takes(h1, "http://h"));
    CHECK(takes(h1, "http://h?x"));
    CHECK(takes(h1, "http://[::1]:8080/x"));
    CHECK(!takes(h1, "https://h/"));
    CHECK(!takes(h1, "http://"));
    CHECK(!takes(h1, "http:///x"));
    CHECK(!takes(h1, "http://h:0/"));
    CHECK(!takes(h1, "http://h:65536/"));
    CHECK(!takes(h1, "http://h:/"));
    CHECK(!takes(h1, "http://h:80x/"));
    CHECK(!takes(h1, "http://user@h/"));
    CHECK(!takes(h1, "http://h#frag"));
    CHECK(!takes(h1, "http://[::1/"));
    CHECK(!takes(h1, "ftp://h/"));
    gw_h1_free(h1);
}

/* A plain answer; the second request goes on the same connection. */
static void test_plain_and_reuse(void)
{
    struct srv *s = srv_start(h_ok);
    struct gw_h1 *h1 = gw_h1_new(base);
    char url[128];
    url_of(s, "/v1/chat", url, sizeof url);
    const char *body = "abcdefghijklmnopqrstuvw";
    struct tx t = { 0 };
    tx_init(&t, h1, base, url, NULL, body, strlen(body));
    CHECK(run(&t));
    CHECK(t.done_calls == 1 && t.rc == XFER_OK);
    CHECK(t.x.status == 200 && t.x.connected);
    CHECK(t.status_in_body == 200);
    CHECK(t.x.conn == NULL);
    CHECK(t.lines == 5);
    CHECK(strcmp(t.hdr, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Conn: 0\r\n"
                        "Content-Length: 9\r\n\r\n") == 0);
    CHECK(t.body_len == 9 && strcmp(t.body, "hello 0.0") == 0);
    CHECK(s->body_len == strlen(body) && s->body_ok);

    tx_init(&t, h1, base, url, NULL, body, 5);
    CHECK(run(&t));
    CHECK(t.rc == XFER_OK && t.x.connected && t.x.status == 200);
    CHECK(t.body && strcmp(t.body, "hello 0.1") == 0);
    CHECK(s->accepts == 1);
    CHECK(s->requests == 2);

    /* two at once need two connections; both are kept, a third reuses one */
    struct tx a = { 0 }, b = { 0 };
    tx_init(&a, h1, base, url, NULL, body, 3);
    tx_init(&b, h1, base, url, NULL, body, 4);
    CHECK(gw_h1_start(h1, &a.x) == 0);
    CHECK(gw_h1_start(h1, &b.x) == 0);
    CHECK(spin(base, is_done, &a, 10000) && spin(base, is_done, &b, 10000));
    CHECK(a.rc == XFER_OK && b.rc == XFER_OK);
    CHECK(s->accepts == 2);
    tx_init(&t, h1, base, url, NULL, body, 1);
    CHECK(run(&t) && t.rc == XFER_OK);
    CHECK(s->accepts == 2 && s->requests == 5);

    /* gw_h1_free closes the kept connections: the server sees both go */
    gw_h1_free(h1);
    CHECK(wait_peer(s, 2));
    srv_stop(s);
    free(t.body);
    free(a.body);
    free(b.body);
}

/* The idle limits: beyond max_conns a finished connection is closed, not
 * kept; a kept one older than max_age is closed by the sweep, and one the
 * sweep has not reached yet is not reused. */
static void test_idle_limits(void)
{
    struct srv *s = srv_start(h_ok);
    struct gw_h1 *h1 = gw_h1_new(base);
    gw_h1_set_idle_limits(h1, 1, 60000);
    char url[128];
    url_of(s, "/", url, sizeof url);
    struct tx a = { 0 }, b = { 0 }, t = { 0 };
    tx_init(&a, h1, base, url, NULL, "a", 1);
    tx_init(&b, h1, base, url, NULL, "b", 1);
    CHECK(gw_h1_start(h1, &a.x) == 0);
    CHECK(gw_h1_start(h1, &b.x) == 0);
    CHECK(spin(base, is_done, &a, 10000) && spin(base, is_done, &b, 10000));
    CHECK(a.rc == XFER_OK && b.rc == XFER_OK && s->accepts == 2);
    CHECK(wait_peer(s, 1));   /* the second to finish found the pool full */
    tx_init(&t, h1, base, url, NULL, "c", 1);
    CHECK(run(&t) && t.rc == XFER_OK && s->accepts == 2);   /* the kept one */

    /* an old connection is not reused, even before the sweep closes it */
    gw_h1_set_idle_limits(h1, 8, 30);
    spin(base, NULL, NULL, 5);   /* no sweep yet: it was armed for 60 s / 4 */
    usleep(40 * 1000);
    tx_init(&t, h1, base, url, NULL, "d", 1);
    CHECK(run(&t) && t.rc == XFER_OK && s->accepts == 3);
    CHECK(wait_peer(s, 2));

    /* the sweep closes a parked connection once it is too old */
    gw_h1_free(h1);
    CHECK(wait_peer(s, 3));
    srv_stop(s);
    s = srv_start(h_ok);
    h1 = gw_h1_new(base);
    gw_h1_set_idle_limits(h1, 8, 50);
    url_of(s, "/", url, sizeof url);
    tx_init(&t, h1, base, url, NULL, "e", 1);
    CHECK(run(&t) && t.rc == XFER_OK && s->accepts == 1);
    CHECK(wait_peer(s, 1));   /* closed by the sweep, with nothing else going on */
    gw_h1_free(h1);
    srv_stop(s);
    free(a.body);
    free(b.body);
    free(t.body);
}

/* The server closes a parked connection: it is dropped (its socket closed)
 * and the next request opens a new one. */
static void test_idle_close(void)
{
    struct srv *s = srv_new(h_once, ANSWER_OK, false);
    struct gw_h1 *h1 = gw_h1_new(base);
    char url[128];
    url_of(s, "/", url, sizeof url);
    int before = count_fds();
    struct tx t = { 0 };
    tx_init(&t, h1, base, url, NULL, "x", 1);
    CHECK(run(&t) && t.rc == XFER_OK);
    struct fds_want w = { before, s, 1 };
    CHECK(spin(base, fds_are, &w, 5000));   /* the parked socket closed too */
    tx_init(&t, h1, base, url, NULL, "y", 1);
    CHECK(run(&t) && t.rc == XFER_OK && t.x.connected);
    CHECK(t.body && strcmp(t.body, "ok") == 0);
    CHECK(s->accepts == 2 && s->requests == 2);
    gw_h1_free(h1);
    srv_stop(s);
    free(t.body);
}

/* The stale-connection race: the next request is written on the parked
 * connection (from inside done, before the loop can see the close) and
 * goes again on a fresh connection without the caller noticing. */
static struct tx race_next;

static void start_next(struct tx *t)
{
    (void)t;
    gw_h1_start(race_next.h1, &race_next.x);
}

static void test_stale_retry(void)
{
    struct srv *s = srv_new(h_once, ANSWER_OK, false);
    struct gw_h1 *h1 = gw_h1_new(base);
    char url[128];
    url_of(s, "/", url, sizeof url);
    for (int round = 0; round < 3; round++) {
        struct tx t = { 0 };
        tx_init(&t, h1, base, url, NULL, "first", 5);
        tx_init(&race_next, h1, base, url, NULL, "second", 6);
        t.then = start_next;
        int acc0 = s->accepts;
        CHECK(run(&t) && t.rc == XFER_OK);
        CHECK(spin(base, is_done, &race_next, 10000));
        CHECK(race_next.rc == XFER_OK);
        CHECK(race_next.x.status == 200 && race_next.x.connected);
        CHECK(race_next.body && strcmp(race_next.body, "ok") == 0);
        CHECK(s->accepts == acc0 + 2);
        pthread_mutex_lock(&s->mu);
        CHECK(s->body_len == 6 && s->body_ok == false);   /* "second" is not pattern() */
        pthread_mutex_unlock(&s->mu);
        free(t.body);
    }
    CHECK(s->requests == 6);
    gw_h1_free(h1);
    srv_stop(s);
    free(race_next.body);
    race_next.body = NULL;
}

static void test_refused(void)
{
    int port;
    int fd = listen_on(1, &port);
    close(fd);   /* the port is free now: nobody listens */
    struct gw_h1 *h1 = gw_h1_new(base);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    struct tx t = { 0 };
    tx_init(&t, h1, base, url, NULL, "x", 1);
    CHECK(run(&t));
    CHECK(t.done_calls == 1 && t.rc == XFER_CONNECT);
    CHECK(!t.x.connected && t.x.status == 0);
    CHECK(spin(base, NULL, NULL, 50) == false && t.done_calls == 1);
    gw_h1_free(h1);
    free(t.body);
}

/* One request against a server behaving badly; the result code. */
static enum xfer_rc one_bad(struct srv *s, struct tx *t)
{
    struct gw_h1 *h1 = gw_h1_new(base);
    char url[128];
    url_of(s, "/", url, sizeof url);
    tx_init(t, h1, base, url, NULL, "x", 1);
    CHECK(run(t));
    CHECK(t->done_calls == 1);
    gw_h1_free(h1);
    return t->rc;
}

static void test_failures(void)
{
    struct tx t = { 0 };
    struct srv *s = srv_start(h_reset);
    /* reset before any byte: an error on a fresh connection, not retried */
    CHECK(one_bad(s, &t) == XFER_RECV);
    CHECK(t.x.connected && t.x.status == 0 && s->accepts == 1);
    srv_stop(s);
    /* a clean close before any byte */
    s = srv_new(h_once, NULL, false);
    CHECK(one_bad(s, &t) == XFER_NOTHING);
    CHECK(t.x.connected && s->accepts == 1);
    srv_stop(s);
    s = srv_new(h_once, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", false);
    CHECK(one_bad(s, &t) == XFER_PARTIAL);
    CHECK(t.x.status == 200 && t.body_len == 10);
    srv_stop(s);
    s = srv_new(h_once, "SSH-2.0-OpenSSH_9.2\r\n\r\n", true);
    CHECK(one_bad(s, &t) == XFER_BAD_REPLY);
    CHECK(t.lines == 0 && t.body_len == 0);
    CHECK(wait_peer(s, 1));   /* the connection was closed, not parked */
    srv_stop(s);
    /* HTTP/1.0, no length: the body ends with the close */
    s = srv_new(h_once, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close",
                false);
    CHECK(one_bad(s, &t) == XFER_OK);
    CHECK(t.body && strcmp(t.body, "until the close") == 0);
    srv_stop(s);
    free(t.body);
}

/* Answers that must not leave their connection for the next request. */
static void test_not_reused(void)
{
    conn_fn fns[] = { h_extra, h_once, h_chunked };
    int want_accepts[] = { 2, 2, 1 };
    for (int i = 0; i < 3; i++) {
        struct srv *s = srv_new(fns[i],
                                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
                                true);
        struct gw_h1 *h1 = gw_h1_new(base);
        char url[128];
        url_of(s, "/", url, sizeof url);
        struct tx t = { 0 };
        for (int k = 0; k < 2; k++) {
            tx_init(&t, h1, base, url, NULL, "x", 1);
            CHECK(run(&t) && t.rc == XFER_OK && t.x.status == 200);
            /* the client itself closes a connection it must not reuse (well
             * before the server's 5 s receive timeout) */
            if (k == 0 && fns[i] != h_chunked)
                CHECK(spin(base, peer_closed_1, s, 2000));
        }
        CHECK(s->accepts == want_accepts[i]);
        if (fns[i] == h_chunked) {
            CHECK(t.body && strcmp(t.body, "hello world!") == 0);
            CHECK(strcmp(t.hdr, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == 0);
        } else {
            CHECK(t.body && strcmp(t.body, "ok") == 0);
        }
        gw_h1_free(h1);
        srv_stop(s);
        free(t.body);
    }
}

/* A body of 8 MiB cannot go in one write: it must arrive whole. */
static void test_big_request(void)
{
    size_t n = 8u << 20;
    char *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = pattern(i);
    struct srv *s = srv_start(h_ok);
    struct gw_h1 *h1 = gw_h1_new(base);
    char url[128];
    url_of(s, "/big", url, sizeof url);
    struct tx t = { 0 };
    for (int k = 0; k < 2; k++) {
        tx_init(&t, h1, base, url, NULL, body, n);
        CHECK(run(&t) && t.rc == XFER_OK);
        pthread_mutex_lock(&s->mu);
        CHECK(s->body_len == n && s->body_ok);
        pthread_mutex_unlock(&s->mu);
    }
    CHECK(s->accepts == 1);   /* a short write does not cost the connection */
    gw_h1_free(h1);
    srv_stop(s);
    free(body);
    free(t.body);
}

/* Pausing every first offer: each byte arrives once, in order, and each
 * re-offer starts with the bytes refused. */
static void test_pause(void)
{
    struct srv *s = srv_start(h_big_answer);
    s->answer_len = 3u << 20;
    struct gw_h1 *h1 = gw_h1_new(base);
    char url[128];
    url_of(s, "/", url, sizeof url);
    struct tx t = { 0 };
    for (int k = 0; k < 2; k++) {
        tx_init(&t, h1, base, url, NULL, "x", 1);
        t.pause = true;
        CHECK(run(&t) && t.rc == XFER_OK);
        CHECK(t.body_len == s->answer_len);
        bool ok = t.body_len == s->answer_len;
        for (size_t i = 0; ok && i < t.body_len; i++)
            ok = t.body[i] == pattern(i);
        CHECK(ok);
        CHECK(t.pauses > 1 && !t.reoffer_bad);
    }
    CHECK(s->accepts == 1);
    /* a resume of a transfer that is not paused does nothing */
    gw_h1_resume(h1, &t.x);
    gw_h1_free(h1);
    srv_stop(s);
    free(t.body);
}

/* Cancelled from inside its own callbacks: no crash, no done, the
 * connection closed; the client goes on working. */
static void test_cancel(void)
{
    for (int where = 0; where < 3; where++) {
        struct srv *s = srv_start(h_hold);
        struct gw_h1 *h1 = gw_h1_new(base);
        char url[128];
        url_of(s, "/", url, sizeof url);
        struct tx t = { 0 };
        tx_init(&t, h1, base, url, NULL, "x", 1);
        t.cancel_in_body = where == 0;
        t.cancel_in_header = where == 1;
        CHECK(gw_h1_start(h1, &t.x) == 0);
        if (where == 2) {
            /* from outside, mid-answer: after the first body bytes */
            for (int i = 0; i < 10000 && t.body_len == 0; i++)
                spin(base, NULL, NULL, 1);
            CHECK(t.body_len > 0);
            gw_h1_cancel(h1, &t.x);
        }
        CHECK(wait_peer(s, 1));
        spin(base, NULL, NULL, 50);
        CHECK(t.done_calls == 0);
        CHECK(t.x.conn == NULL);
        if (where == 0)
            CHECK(t.body && strcmp(t.body, "first part") == 0);
        if (where == 1)
            CHECK(t.body_len == 0 && t.lines == 2);
        /* a cancelled transfer's second cancel does nothing */
        gw_h1_cancel(h1, &t.x);
        gw_h1_free(h1);
        srv_stop(s);
        free(t.body);
    }
    /* resumed, then cancelled before the loop offers the held bytes */
    {
        struct srv *s = srv_start(h_hold);
        struct gw_h1 *h1 = gw_h1_new(base);
        char url[128];
        url_of(s, "/", url, sizeof url);
        struct tx t = { 0 };
        tx_init(&t, h1, base, url, NULL, "x", 1);
        t.pause = true;
        t.cancel_on_resume = true;
        CHECK(gw_h1_start(h1, &t.x) == 0);
        CHECK(wait_peer(s, 1));
        spin(base, NULL, NULL, 50);
        CHECK(t.pauses == 1 && t.body_len == 0 && t.done_calls == 0);
        gw_h1_free(h1);
        srv_stop(s);
        free(t.body);
    }
    /* cancelled while its name is being resolved, then the client freed */
    {
        struct gw_h1 *h1 = gw_h1_new(base);
        struct tx t = { 0 };
        tx_init(&t, h1, base, "http://no-such-host.invalid/", NULL, "", 0);
        CHECK(gw_h1_start(h1, &t.x) == 0);
        gw_h1_cancel(h1, &t.x);
        gw_h1_free(h1);
        spin(base, NULL, NULL, 100);
        CHECK(t.done_calls == 0);
        free(t.body);
    }
    /* cancelled before the connection is made */
    struct srv *s = srv_start(h_ok);
    struct gw_h1 *h1 = gw_h1_new(base);
    char url[128];
    url_of(s, "/", url, sizeof url);
    struct tx t = { 0 };
    tx_init(&t, h1, base, url, NULL, "x", 1);
    CHECK(gw_h1_start(h1, &t.x) == 0);
    gw_h1_cancel(h1, &t.x);
    spin(base, NULL, NULL, 100);
    CHECK(t.done_calls == 0);
    tx_init(&t, h1, base, url, NULL, "x", 1);
    CHECK(run(&t) && t.rc == XFER_OK);
    gw_h1_free(h1);
    srv_stop(s);
    free(t.body);
}

/* The request head the server got is want (prefix: starts with it). */
static void check_head(struct srv *s, const char *want, bool prefix)
{
    pthread_mutex_lock(&s->mu);
    bool ok = prefix ? strncmp(s->head, want, strlen(want)) == 0 : strcmp(s->head, want) == 0;
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", s->head, want);
    pthread_mutex_unlock(&s->mu);
}

/* The request as written: request line, Host, the caller's headers by
 * libcurl's rules, Content-Length, body. */
static void test_request_head(void)
{
    struct srv *s = srv_start(h_ok);
    struct gw_h1 *h1 = gw_h1_new(base);
    struct gw_hdr *hs = NULL;
    hs = gw_hdr_append(hs, "Content-Type: application/json");
    hs = gw_hdr_append(hs, "X-Empty;");
    hs = gw_hdr_append(hs, "X-Removed:");
    hs = gw_hdr_append(hs, "X-Removed-Too:   ");
    hs = gw_hdr_append(hs, "Authorization: Bearer k1");
    hs = gw_hdr_append(hs, "not a header");
    char url[128], want[1024];
    url_of(s, "/v1/chat/completions?api-version=1", url, sizeof url);
    struct tx t = { 0 };
    tx_init(&t, h1, base, url, hs, "abcde", 5);
    CHECK(run(&t) && t.rc == XFER_OK);
    snprintf(want, sizeof want,
             "POST /v1/chat/completions?api-version=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Accept: */*\r\nContent-Type: application/json\r\nX-Empty:\r\nAuthorization: Bearer k1\r\n"
             "Content-Length: 5\r\n\r\n", s->port);
    check_head(s, want, false);
    pthread_mutex_lock(&s->mu);
    CHECK(s->body_len == 5 && s->body_ok);
    pthread_mutex_unlock(&s->mu);

    /* the caller's own Host (libcurl's Accept still comes first); no
     * path; an empty body */
    struct gw_hdr *h2 = gw_hdr_append(NULL, "host: upstream.example");
    url_of(s, "", url, sizeof url);
    tx_init(&t, h1, base, url, h2, "", 0);
    CHECK(run(&t) && t.rc == XFER_OK);
    check_head(s, "POST / HTTP/1.1\r\nAccept: */*\r\nhost: upstream.example\r\n"
                  "Content-Length: 0\r\n\r\n", false);

    /* a query without a path */
    url_of(s, "?q=1", url, sizeof url);
    tx_init(&t, h1, base, url, NULL, "", 0);
    CHECK(run(&t) && t.rc == XFER_OK);
    snprintf(want, sizeof want, "POST /?q=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                "Accept: */*\r\nContent-Length: 0\r\n\r\n", s->port);
    check_head(s, want, false);
    CHECK(s->accepts == 1);
    gw_h1_free(h1);
    srv_stop(s);

    /* an IPv6 literal: connected to, and named in brackets in Host */
    s = srv_new_fam(AF_INET6, h_ok, NULL, false);
    h1 = gw_h1_new(base);
    snprintf(url, sizeof url, "http://[::1]:%d/v6", s->port);
    tx_init(&t, h1, base, url, NULL, "", 0);
    CHECK(run(&t) && t.rc == XFER_OK && t.x.status == 200);
    snprintf(want, sizeof want, "POST /v6 HTTP/1.1\r\nHost: [::1]:%d\r\n"
                                "Accept: */*\r\nContent-Length: 0\r\n\r\n", s->port);
    check_head(s, want, false);
    gw_h1_free(h1);
    srv_stop(s);
    gw_hdr_free(hs, false);
    gw_hdr_free(h2, false);
    free(t.body);
}

/* "localhost" goes through evdns (which reads the hosts file). */
static void test_localhost(void)
{
    struct srv *s = srv_start(h_ok);
    struct gw_h1 *h1 = gw_h1_new(base);
    char url[128], want[256];
    snprintf(url, sizeof url, "http://localhost:%d/x", s->port);
    struct tx t = { 0 };
    for (int k = 0; k < 2; k++) {   /* the second from the cached resolution */
        tx_init(&t, h1, base, url, NULL, "ab", 2);
        CHECK(run(&t));
        if (t.rc == XFER_RESOLVE)
            printf("test_h1: evdns could not resolve localhost on this machine\n");
        CHECK(t.rc == XFER_OK && t.x.status == 200);
    }
    snprintf(want, sizeof want, "POST /x HTTP/1.1\r\nHost: localhost:%d\r\n", s->port);
    check_head(s, want, true);
    CHECK(s->accepts == 1);

    /* a name that does not exist: an answer, not a hang */
    tx_init(&t, h1, base, "http://no-such-host.invalid:1/", NULL, "", 0);
    CHECK(run(&t));
    CHECK(t.done_calls == 1 && t.rc == XFER_RESOLVE && !t.x.connected);
    gw_h1_free(h1);
    srv_stop(s);
    free(t.body);
}

/* Connect timeout, on loopback only: a listener made with listen(fd, 0)
 * takes one connection into its accept queue; nobody accepts it, the queue
 * is full, and Linux drops the SYNs of the next connect, which stays
 * pending until the client gives up.  Where a network stack completes such
 * a connect anyway (syncookies answering for a full queue, say) the case
 * cannot be made and is counted as skipped, with the reason. */
static void test_connect_timeout(void)
{
    int port;
    int lfd = listen_on(0, &port);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    /* the one connection the queue holds, established before the probe */
    int fill = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int r = connect(fill, (struct sockaddr *)&a, sizeof a);
    struct pollfd pf = { fill, POLLOUT, 0 };
    bool filled = (r == 0 || (errno == EINPROGRESS && poll(&pf, 1, 2000) == 1 && !(pf.revents & POLLERR)));
    CHECK(filled);
    int probe = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    r = connect(probe, (struct sockaddr *)&a, sizeof a);
    struct pollfd pp = { probe, POLLOUT, 0 };
    bool pending = r < 0 && errno == EINPROGRESS && poll(&pp, 1, 300) == 0;
    close(probe);
    if (!filled || !pending) {
        SKIP("connect timeout", "a connect to a listener with a full accept queue completed here");
    } else {
        struct gw_h1 *h1 = gw_h1_new(base);
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
        struct tx t = { 0 };
        tx_init(&t, h1, base, url, NULL, "x", 1);
        t.x.connect_timeout_ms = 300;
        uint64_t t0 = now_ms();
        CHECK(run(&t));
        uint64_t took = now_ms() - t0;
        CHECK(t.done_calls == 1 && t.rc == XFER_TIMEOUT);
        CHECK(!t.x.connected);
        CHECKF(took >= 290 && took < 5000, "connect timeout of 300 ms took %llu ms", (unsigned long long)took);
        gw_h1_free(h1);
        free(t.body);
    }
    close(fill);
    close(lfd);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    event_enable_debug_mode();
    base = event_base_new();
    test_handles();
    test_plain_and_reuse();
    test_idle_close();
    test_idle_limits();
    test_stale_retry();
    test_refused();
    test_failures();
    test_not_reused();
    test_big_request();
    test_pause();
    test_cancel();
    test_request_head();
    test_localhost();
    test_connect_timeout();
    event_base_free(base);
    UNIT_END("h1");
}
