/* gw_h1: the built-in HTTP/1.1 upstream client; see gw_h1.h. */
#include "gw_h1.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sodium.h>

#include "bs_time.h"
#include "gw_h1_parse.h"
#include "gw_upstream.h"
#include "log.h"

#define DNS_TTL_US (60ULL * 1000000)   /* libcurl's default DNS cache lifetime */
#define SCRATCH_SIZE (64 * 1024)
#define NBUCKETS 64
#define MAX_ADDRS 8
/* Kept-alive connections a worker holds, and for how long, as libcurl's
 * connection cache did for it (CURLMOPT_MAXCONNECTS 1024, and its default
 * CURLOPT_MAXAGE_CONN of 118 s): after a burst, idle sockets do not pile
 * up until every server gets round to closing them. */
#define IDLE_MAX 1024
#define IDLE_AGE_MS 118000

/* One scheme://host:port, with its addresses and kept-alive connections.
 * Origins live until gw_h1_free. */
struct h1_origin {
    struct h1_origin *next;       /* hash chain */
    char *host;                   /* brackets of an IPv6 literal removed */
    char port[6];
    char *host_line;              /* "Host: host[:port]\r\n" */
    size_t host_line_len;
    bool numeric;                 /* an address literal: never resolved */
    struct evutil_addrinfo *ai;   /* resolved addresses, or NULL */
    uint64_t ai_expires_us;
    struct h1_conn *idle;         /* kept-alive connections, most recently used first */
};

/* Addresses a new connection tries in turn, copied so that a refreshed
 * resolution can replace the origin's list meanwhile. */
struct h1_addrs {
    int n, i;
    struct sockaddr_storage a[MAX_ADDRS];
    socklen_t len[MAX_ADDRS];
};

/* A pending name lookup; it outlives a connection cancelled meanwhile. */
struct h1_dns {
    struct h1_conn *conn;         /* NULL once nobody waits */
    struct h1_origin *o;
};

/* One TCP connection.  Owned by the transfer it carries (conn->x) or by its
 * origin's idle list; freed by conn_close. */
struct h1_conn {
    struct gw_h1 *h1;
    struct h1_origin *o;
    struct h1_conn *idle_next, **idle_pprev;
    struct gw_xfer *x;
    int fd;
    short evkind;                 /* ev's registered flags; 0 = not added */
    bool ev_assigned;             /* ev was assigned: it may be active even when not added */
    bool connected;
    bool got_bytes;               /* a byte of the current answer came */
    bool paused;
    bool resuming;                /* ev was activated to offer the held bytes again */
    bool dropped;                 /* cancelled from inside its own callbacks */
    int busy;                     /* inside x's callbacks */
    enum xfer_rc fail_rc;                 /* a failure to report from the timer (never synchronously) */
    unsigned served;              /* answers completed on this connection */
    uint64_t parked_us;           /* when it last went idle */
    const char *path;             /* of the current request, inside x->url */
    size_t path_len;
    struct h1p parser;
    char *out;                    /* unsent request bytes after a short write */
    size_t out_len, out_off;
    size_t out_head;              /* of which head (holding the key) at the start */
    char *hold;                   /* answer bytes not consumed yet */
    size_t hold_len, hold_cap;
    struct h1_addrs *addrs;       /* while connecting */
    struct h1_dns *dns;           /* while resolving */
    struct event *ev;             /* the socket; storage after the struct */
    struct event *tmo;            /* connect timeout and deferred failures; idem */
};

struct gw_h1 {
    struct event_base *base;
    struct evdns_base *dns;       /* created on the first name to resolve */
    struct h1_origin *buckets[NBUCKETS];
    char *obuf;                   /* request head being built */
    size_t obuf_cap;
    size_t nidle;                 /* connections in the origins' idle lists */
    size_t idle_max;
    uint64_t idle_age_us;
    struct event *sweep;          /* closes idle connections past idle_age_us */
    char scratch[SCRATCH_SIZE];   /* each read lands here first */
};

static void on_event(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void conn_send(struct h1_conn *c);
static void connect_next(struct h1_conn *c);

/* --- URLs and origins */

struct url_parts {
    const char *host;
    size_t host_len;
    const char *port;
    size_t port_len;
    const char *path;             /* "/..." or "?..." or "" */
    bool bracketed;
};

static int split_url(const char *url, struct url_parts *u)
{
    if (strncasecmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7, *e;
    memset(u, 0, sizeof *u);
    if (*h == '[') {
        e = strchr(h, ']');
        if (!e)
            return -1;
        u->host = h + 1;
        u->host_len = (size_t)(e - h - 1);
        u->bracketed = true;
        e++;
    } else {
        e = h + strcspn(h, ":/?#@");
        u->host = h;
        u->host_len = (size_t)(e - h);
    }
    if (*e == '@' || *e == '#' || u->host_len == 0 || u->host_len > 253)
        return -1;
    if (*e == ':') {
        u->port = ++e;
        while (*e >= '0' && *e <= '9')
            e++;
        u->port_len = (size_t)(e - u->port);
        if (u->port_len == 0 || u->port_len > 5 || atoi(u->port) > 65535 || atoi(u->port) == 0)
            return -1;
    }
    if (*e != '\0' && *e != '/' && *e != '?')
        return -1;
    u->path = e;
    return 0;
}

static unsigned hash_origin(const struct url_parts *u)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < u->host_len; i++)
        h = (h ^ (unsigned char)u->host[i]) * 16777619u;
    for (size_t i = 0; i < u->port_len; i++)
        h = (h ^ (unsigned char)u->port[i]) * 16777619u;
    return h % NBUCKETS;
}

static bool origin_is(const struct h1_origin *o, const struct url_parts *u)
{
    size_t pl = u->port_len ? u->port_len : 2;
    const char *port = u->port_len ? u->port : "80";
    return strlen(o->host) == u->host_len && memcmp(o->host, u->host, u->host_len) == 0 &&
           strlen(o->port) == pl && memcmp(o->port, port, pl) == 0;
}

static struct h1_origin *origin_get(struct gw_h1 *h1, const struct url_parts *u)
{
    unsigned b = hash_origin(u);
    for (struct h1_origin *o = h1->buckets[b]; o; o = o->next)
        if (origin_is(o, u))
            return o;
    struct h1_origin *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->host = strndup(u->host, u->host_len);
    memcpy(o->port, u->port_len ? u->port : "80", u->port_len ? u->port_len : 2);
    /* The Host header as libcurl writes it: the port only when not 80. */
    bool p80 = strcmp(o->port, "80") == 0;
    size_t cap = u->host_len + 32;
    o->host_line = malloc(cap);
    if (!o->host || !o->host_line) {
        free(o->host);
        free(o->host_line);
        free(o);
        return NULL;
    }
    int n = snprintf(o->host_line, cap, "Host: %s%s%s%s%s\r\n", u->bracketed ? "[" : "", o->host,
                     u->bracketed ? "]" : "", p80 ? "" : ":", p80 ? "" : o->port);
    o->host_line_len = (size_t)n;
    struct in6_addr a6;
    struct in_addr a4;
    o->numeric = inet_pton(AF_INET, o->host, &a4) == 1 || inet_pton(AF_INET6, o->host, &a6) == 1;
    o->next = h1->buckets[b];
    h1->buckets[b] = o;
    return o;
}

/* --- connections */

static void watch(struct h1_conn *c, short kind)
{
    if (c->evkind == kind)
        return;
    if (c->evkind)
        event_del(c->ev);
    c->evkind = 0;
    if (!kind)
        return;
    event_assign(c->ev, c->h1->base, c->fd, kind, on_event, c);
    c->ev_assigned = true;
    if (event_add(c->ev, NULL) == 0)
        c->evkind = kind;
    else
        log_err("upstream: cannot watch socket %d", c->fd);
}

static void idle_unlink(struct h1_conn *c)
{
    if (!c->idle_pprev)
        return;
    c->h1->nidle--;
    *c->idle_pprev = c->idle_next;
    if (c->idle_next)
        c->idle_next->idle_pprev = c->idle_pprev;
    c->idle_next = NULL;
    c->idle_pprev = NULL;
}

/* The unsent rest of a request; its first out_head bytes are head, key
 * included, and are wiped before the memory goes back to malloc. */
static void out_free(struct h1_conn *c)
{
    if (c->out)
        sodium_memzero(c->out, c->out_head);
    free(c->out);
    c->out = NULL;
    c->out_head = 0;
}

static void conn_close(struct h1_conn *c)
{
    idle_unlink(c);
    if (c->ev_assigned)
        event_del(c->ev);   /* also drops an activation gw_h1_resume queued */
    evtimer_del(c->tmo);
    if (c->dns)
        c->dns->conn = NULL;   /* the lookup finishes on its own and frees itself */
    if (c->fd >= 0)
        close(c->fd);
    free(c->addrs);
    out_free(c);
    free(c->hold);
    free(c);
}

static struct h1_conn *conn_new(struct gw_h1 *h1, struct h1_origin *o)
{
    size_t base = (sizeof(struct h1_conn) + 15) & ~(size_t)15;
    size_t evsz = (event_get_struct_event_size() + 15) & ~(size_t)15;
    struct h1_conn *c = calloc(1, base + 2 * evsz);
    if (!c)
        return NULL;
    c->h1 = h1;
    c->o = o;
    c->fd = -1;
    c->ev = (struct event *)((char *)c + base);
    c->tmo = (struct event *)((char *)c + base + evsz);
    evtimer_assign(c->tmo, h1->base, on_timer, c);
    return c;
}

static void sweep_arm(struct gw_h1 *h1)
{
    if (evtimer_pending(h1->sweep, NULL))
        return;
    uint64_t us = h1->idle_age_us / 4 > 10000000 ? 10000000 : h1->idle_age_us / 4 + 1000;
    struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };
    evtimer_add(h1->sweep, &tv);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_h1 *h1 = arg;
    uint64_t now = bs_now_us();
    for (int b = 0; b < NBUCKETS; b++)
        for (struct h1_origin *o = h1->buckets[b]; o; o = o->next)
            for (struct h1_conn *c = o->idle, *next; c; c = next) {
                next = c->idle_next;
                if (now - c->parked_us >= h1->idle_age_us)
                    conn_close(c);
            }
    if (h1->nidle)
        sweep_arm(h1);
}

/* The transfer is over: detach it, keep or close the connection, tell the
 * owner last (it may start the next transfer on this very connection). */
static void finish(struct h1_conn *c, enum xfer_rc rc)
{
    struct gw_xfer *x = c->x;
    c->x = NULL;
    x->conn = NULL;
    x->connected = c->connected;
    if (c->parser.status)
        x->status = c->parser.status;
    evtimer_del(c->tmo);
    if (rc == XFER_OK && c->parser.keep_alive && c->hold_len == 0 && !c->out &&
        c->h1->nidle < c->h1->idle_max) {
        c->served++;
        c->paused = c->resuming = false;
        c->parked_us = bs_now_us();
        struct h1_origin *o = c->o;
        c->idle_next = o->idle;
        if (o->idle)
            o->idle->idle_pprev = &c->idle_next;
        o->idle = c;
        c->idle_pprev = &o->idle;
        if (c->h1->nidle++ == 0)
            sweep_arm(c->h1);
        /* The read watch stays registered while parked: a close by the
         * server shows there, and reuse costs no epoll_ctl. */
        watch(c, EV_READ | EV_PERSIST);
    } else {
        conn_close(c);
    }
    x->why = xfer_rc_text(rc);
    x->done(x, rc);
}

/* Failures found while starting are reported from the timer, so that done
 * never runs inside gw_h1_start. */
static void fail_later(struct h1_conn *c, enum xfer_rc rc)
{
    c->fail_rc = rc;
    evtimer_del(c->tmo);
    event_active(c->tmo, EV_TIMEOUT, 1);
}

/* Connects to the origin's current addresses, one after the other. */
static void connect_addrs(struct h1_conn *c)
{
    struct h1_addrs *ad = calloc(1, sizeof *ad);
    if (!ad) {
        fail_later(c, XFER_NOMEM);
        return;
    }
    for (struct evutil_addrinfo *a = c->o->ai; a && ad->n < MAX_ADDRS; a = a->ai_next) {
        if (a->ai_addrlen > sizeof ad->a[0])
            continue;
        memcpy(&ad->a[ad->n], a->ai_addr, a->ai_addrlen);
        ad->len[ad->n++] = (socklen_t)a->ai_addrlen;
    }
    free(c->addrs);
    c->addrs = ad;
    connect_next(c);
}

/* connect_ms covers the name lookup and every address tried. */
static void arm_connect_timer(struct h1_conn *c)
{
    long ms = c->x->connect_timeout_ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(c->tmo, &tv);
}

/* A kept-alive connection the server had closed before our request got
 * there: the request goes again on a new connection, as libcurl does.
 * True when it did (c is then freed). */
static bool retry_fresh(struct h1_conn *c)
{
    if (c->served == 0 || c->got_bytes || !c->x || !c->o->ai)
        return false;
    struct gw_xfer *x = c->x;
    struct h1_conn *n = conn_new(c->h1, c->o);
    if (!n)
        return false;
    n->x = x;
    x->conn = n;
    n->path = c->path;
    n->path_len = c->path_len;
    c->x = NULL;
    conn_close(c);
    arm_connect_timer(n);
    connect_addrs(n);
    return true;
}

/* The connection is up: the request goes out. */
static void connected(struct h1_conn *c)
{
    c->connected = true;
    free(c->addrs);
    c->addrs = NULL;
    evtimer_del(c->tmo);
    watch(c, EV_READ | EV_PERSIST);
    conn_send(c);
}

static void connect_next(struct h1_conn *c)
{
    while (c->addrs->i < c->addrs->n) {
        int k = c->addrs->i++;
        struct sockaddr *sa = (struct sockaddr *)&c->addrs->a[k];
        if (c->fd >= 0) {
            watch(c, 0);
            close(c->fd);
        }
        c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            continue;
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, sa, c->addrs->len[k]) == 0) {
            connected(c);
            return;
        }
        if (errno == EINPROGRESS) {
            watch(c, EV_WRITE | EV_PERSIST);
            return;
        }
    }
    fail_later(c, XFER_CONNECT);
}

static void on_connected(struct h1_conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err)
        connect_next(c);
    else
        connected(c);
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
    struct h1_dns *d = arg;
    struct h1_conn *c = d->conn;
    struct h1_origin *o = d->o;
    free(d);
    if (result == 0 && res) {
        if (o->ai)
            evutil_freeaddrinfo(o->ai);
        o->ai = res;
        o->ai_expires_us = bs_now_us() + DNS_TTL_US;
    } else if (res) {
        evutil_freeaddrinfo(res);
    }
    if (!c)
        return;
    c->dns = NULL;
    if (result != 0 || !o->ai) {
        log_warn("upstream: cannot resolve %s: %s", o->host, evutil_gai_strerror(result));
        fail_later(c, XFER_RESOLVE);
        return;
    }
    connect_addrs(c);
}

static void resolve(struct h1_conn *c)
{
    struct gw_h1 *h1 = c->h1;
    if (!h1->dns)
        h1->dns = evdns_base_new(h1->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                               EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    struct h1_dns *d = h1->dns ? calloc(1, sizeof *d) : NULL;
    if (!d) {
        log_err("upstream: no resolver for %s", c->o->host);
        fail_later(c, XFER_RESOLVE);
        return;
    }
    d->conn = c;
    d->o = c->o;
    c->dns = d;
    struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                     .ai_protocol = IPPROTO_TCP };
    /* May answer at once (the hosts file), calling on_resolved first. */
    evdns_getaddrinfo(h1->dns, c->o->host, c->o->port, &hints, on_resolved, d);
}

static int numeric_addrs(struct h1_origin *o)
{
    struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                     .ai_protocol = IPPROTO_TCP,
                                     .ai_flags = EVUTIL_AI_NUMERICHOST };
    return evutil_getaddrinfo(o->host, o->port, &hints, &o->ai) == 0 ? 0 : -1;
}

/* --- the request */

static int obuf_reserve(struct gw_h1 *h1, size_t need)
{
    if (need <= h1->obuf_cap)
        return 0;
    size_t cap = h1->obuf_cap ? h1->obuf_cap : 1024;
    while (cap < need)
        cap *= 2;
    char *b = realloc(h1->obuf, cap);
    if (!b)
        return -1;
    h1->obuf = b;
    h1->obuf_cap = cap;
    return 0;
}

/* Whether a header list entry ("Name: value", "Name:" or "Name;") is about
 * the header called name (lower case). */
static bool entry_names(const char *entry, const char *name)
{
    size_t l = strlen(name);
    return strncasecmp(entry, name, l) == 0 && (entry[l] == ':' || entry[l] == ';');
}

/* A header list entry (gw_hdr.h, libcurl's conventions): "Name: value" is
 * sent, "Name:" removes a header the client would add (Host, Accept),
 * "Name;" sends it empty.  The
 * provider sees the same request head from either client, libcurl's
 * default Accept (any type) included. */
static size_t head_build(struct h1_conn *c, const struct gw_xfer *x)
{
    static const char accept_any[] = "Accept: */*\r\n";
    struct gw_h1 *h1 = c->h1;
    size_t need = 64 + sizeof accept_any + c->path_len + c->o->host_line_len;
    bool own_host = false, own_accept = false;
    for (const struct gw_hdr *h = x->headers; h; h = h->next) {
        need += strlen(h->line) + 4;
        own_host = own_host || entry_names(h->line, "host");
        own_accept = own_accept || entry_names(h->line, "accept");
    }
    if (obuf_reserve(h1, need) < 0)
        return 0;
    char *b = h1->obuf;
    size_t n = 0;
    memcpy(b + n, "POST ", 5), n += 5;
    if (c->path_len == 0 || c->path[0] == '?')
        b[n++] = '/';
    memcpy(b + n, c->path, c->path_len), n += c->path_len;
    memcpy(b + n, " HTTP/1.1\r\n", 11), n += 11;
    if (!own_host)
        memcpy(b + n, c->o->host_line, c->o->host_line_len), n += c->o->host_line_len;
    if (!own_accept)
        memcpy(b + n, accept_any, sizeof accept_any - 1), n += sizeof accept_any - 1;
    for (const struct gw_hdr *h = x->headers; h; h = h->next) {
        size_t l = strlen(h->line);
        const char *colon = memchr(h->line, ':', l);
        if (colon) {
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            if (*v == '\0')
                continue;
            memcpy(b + n, h->line, l), n += l;
        } else if (l && h->line[l - 1] == ';') {
            memcpy(b + n, h->line, l - 1), n += l - 1;
            b[n++] = ':';
        } else {
            continue;
        }
        b[n++] = '\r';
        b[n++] = '\n';
    }
    n += (size_t)snprintf(b + n, need - n, "Content-Length: %zu\r\n\r\n", x->body_len);
    return n;
}

/* False when c is gone (the request went again on a new connection). */
static bool send_failed(struct h1_conn *c, int err)
{
    if ((err == EPIPE || err == ECONNRESET) && retry_fresh(c))
        return false;
    fail_later(c, XFER_SEND);
    return true;
}

/* Writes the request: head and body in one call, and only a short write
 * copies anything. */
static void conn_send(struct h1_conn *c)
{
    struct gw_xfer *x = c->x;
    h1p_init(&c->parser);
    c->got_bytes = false;
    size_t hl = head_build(c, x);
    if (!hl) {
        fail_later(c, XFER_NOMEM);
        return;
    }
    struct iovec iov[2] = { { c->h1->obuf, hl }, { (void *)x->body, x->body_len } };
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = x->body_len ? 2 : 1 };
    ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
    int err = errno;
    bool failed = w < 0 && err != EAGAIN && err != EWOULDBLOCK;
    size_t sent = w < 0 ? 0 : (size_t)w;
    size_t total = hl + x->body_len;
    if (!failed && sent < total)
        c->out = malloc(total - sent);
    size_t k = 0;
    if (c->out && sent < hl) {
        memcpy(c->out, c->h1->obuf + sent, hl - sent);
        k = hl - sent;
    }
    /* The head holds the provider's key (Authorization, x-api-key): no copy
     * outlives its sending, so a core or a stray read finds none. */
    sodium_memzero(c->h1->obuf, hl);
    c->out_head = k;
    if (failed) {
        send_failed(c, err);
        return;
    }
    if (sent == total)
        return;
    if (!c->out) {
        fail_later(c, XFER_NOMEM);
        return;
    }
    if (sent < hl)
        sent = hl;
    if (total > sent)   /* x->body may be NULL when the body is empty */
        memcpy(c->out + k, x->body + (sent - hl), total - sent);
    c->out_len = k + (total - sent);
    c->out_off = 0;
    watch(c, EV_READ | EV_WRITE | EV_PERSIST);
}

/* False when c is gone. */
static bool send_more(struct h1_conn *c)
{
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return send_failed(c, errno);
        return true;
    }
    c->out_off += (size_t)w;
    if (c->out_off < c->out_len)
        return true;
    out_free(c);
    c->out_len = c->out_off = 0;
    watch(c, EV_READ | EV_PERSIST);
    return true;
}

/* --- the answer */

static size_t cb_header(void *arg, const char *line, size_t len)
{
    struct h1_conn *c = arg;
    struct gw_xfer *x = c->x;
    if (!x)
        return 0;   /* cancelled from an earlier callback */
    return x->on_header(x->arg, line, len);
}

static size_t cb_body(void *arg, const char *p, size_t len)
{
    struct h1_conn *c = arg;
    struct gw_xfer *x = c->x;
    if (!x)
        return 0;
    x->status = c->parser.status;
    size_t got = x->on_body(x->arg, p, len);
    return got == GW_XFER_PAUSE ? H1P_PAUSE : got;
}

static int hold_set(struct h1_conn *c, const char *p, size_t n)
{
    if (n > c->hold_cap) {
        char *h = malloc(n);
        if (!h)
            return -1;
        free(c->hold);
        c->hold = h;
        c->hold_cap = n;
    }
    if (n)   /* hold is still NULL when nothing was ever held: memmove(NULL, ..., 0) is UB */
        memmove(c->hold, p, n);
    c->hold_len = n;
    return 0;
}

/* Offers the held bytes, then buf[0..n), to the parser.  Returns false
 * when the connection is gone (finished or dropped). */
static bool process(struct h1_conn *c, const char *buf, size_t n)
{
    if (c->hold_len && n) {
        if (c->hold_len + n > c->hold_cap) {
            size_t cap = c->hold_len + n;
            char *h = realloc(c->hold, cap);
            if (!h) {
                finish(c, XFER_NOMEM);
                return false;
            }
            c->hold = h;
            c->hold_cap = cap;
        }
        memcpy(c->hold + c->hold_len, buf, n);
        c->hold_len += n;
    }
    if (c->hold_len) {
        buf = c->hold;
        n = c->hold_len;
    }
    const struct h1p_cb cb = { cb_header, cb_body, c };
    char err[96] = "";
    size_t used = 0;
    c->busy++;
    enum h1p_rc rc = h1p_feed(&c->parser, buf, n, &used, &cb, err, sizeof err);
    c->busy--;
    if (c->dropped) {
        conn_close(c);
        return false;
    }
    if (hold_set(c, buf + used, n - used) < 0) {
        finish(c, XFER_NOMEM);
        return false;
    }
    switch (rc) {
    case H1P_NEED_MORE:
        return true;
    case H1P_PAUSED:
        c->paused = true;
        watch(c, 0);
        return true;
    case H1P_COMPLETE:
        if (c->hold_len)
            c->parser.keep_alive = false;   /* bytes after the answer: not ours to guess at */
        finish(c, XFER_OK);
        return false;
    case H1P_STOPPED:
        finish(c, XFER_WRITE);
        return false;
    case H1P_BAD:
    default:
        log_warn("upstream %s:%s: %s", c->o->host, c->o->port, err);
        finish(c, XFER_BAD_REPLY);
        return false;
    }
}

static void on_eof(struct h1_conn *c, int err)
{
    if (retry_fresh(c))
        return;
    if (!err && h1p_eof_ends(&c->parser))
        finish(c, c->hold_len ? XFER_PARTIAL : XFER_OK);
    else if (c->parser.state == H1P_HEAD)
        finish(c, err || c->got_bytes ? XFER_RECV : XFER_NOTHING);
    else
        finish(c, err ? XFER_RECV : XFER_PARTIAL);
}

static void on_readable(struct h1_conn *c)
{
    char *buf = c->h1->scratch;
    ssize_t r = recv(c->fd, buf, SCRATCH_SIZE, 0);
    if (r > 0) {
        c->got_bytes = true;
        process(c, buf, (size_t)r);
    } else if (r == 0) {
        on_eof(c, 0);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        on_eof(c, errno);
    }
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct h1_conn *c = arg;
    if (!c->x) {
        /* Parked and nobody asked: the server closed it, or sent stray
         * bytes.  Either way it cannot carry another request. */
        conn_close(c);
        return;
    }
    if (c->resuming) {
        c->resuming = false;
        if (c->hold_len && !process(c, NULL, 0))
            return;
        if (!c->paused)
            watch(c, EV_READ | EV_PERSIST);
        return;
    }
    if (!c->connected) {
        if (what & EV_WRITE)
            on_connected(c);
        return;
    }
    if ((what & EV_WRITE) && c->out && !send_more(c))
        return;
    if ((what & EV_READ) && !c->paused)
        on_readable(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct h1_conn *c = arg;
    if (!c->x)
        return;
    enum xfer_rc rc = c->fail_rc ? c->fail_rc : XFER_TIMEOUT;
    c->fail_rc = XFER_OK;
    finish(c, rc);
}

/* --- the interface */

struct gw_h1 *gw_h1_new(struct event_base *base)
{
    struct gw_h1 *h1 = calloc(1, sizeof *h1);
    if (!h1)
        return NULL;
    h1->base = base;
    h1->idle_max = IDLE_MAX;
    h1->idle_age_us = (uint64_t)IDLE_AGE_MS * 1000;
    h1->sweep = evtimer_new(base, on_sweep, h1);
    if (!h1->sweep) {
        free(h1);
        return NULL;
    }
    return h1;
}

void gw_h1_set_idle_limits(struct gw_h1 *h1, size_t max_conns, int max_age_ms)
{
    h1->idle_max = max_conns;
    h1->idle_age_us = (uint64_t)max_age_ms * 1000;
}

void gw_h1_free(struct gw_h1 *h1)
{
    if (!h1)
        return;
    for (int b = 0; b < NBUCKETS; b++) {
        struct h1_origin *o = h1->buckets[b];
        while (o) {
            struct h1_origin *next = o->next;
            while (o->idle)
                conn_close(o->idle);
            if (o->ai)
                evutil_freeaddrinfo(o->ai);
            free(o->host);
            free(o->host_line);
            free(o);
            o = next;
        }
    }
    if (h1->dns)
        evdns_base_free(h1->dns, 1);
    event_free(h1->sweep);
    free(h1->obuf);
    free(h1);
}

int gw_h1_start(struct gw_h1 *h1, struct gw_xfer *x)
{
    struct url_parts u;
    if (split_url(x->url, &u) < 0)
        return GW_H1_DECLINED;
    struct h1_origin *o = origin_get(h1, &u);
    if (!o)
        return -1;
    x->status = 0;
    x->connected = false;
    struct h1_conn *c = o->idle;
    uint64_t now = c ? bs_now_us() : 0;
    while (c && now - c->parked_us >= h1->idle_age_us) {
        conn_close(c);   /* too old to trust, and the sweep has not come by yet */
        c = o->idle;
    }
    if (c) {
        idle_unlink(c);
    } else if (!(c = conn_new(h1, o))) {
        return -1;
    }
    c->x = x;
    x->conn = c;
    c->path = u.path;
    c->path_len = strlen(u.path);
    if (c->connected) {
        conn_send(c);
        return 0;
    }
    arm_connect_timer(c);
    if (o->numeric && !o->ai && numeric_addrs(o) < 0) {
        fail_later(c, XFER_RESOLVE);
        return 0;
    }
    if (o->ai && (o->numeric || bs_now_us() < o->ai_expires_us)) {
        connect_addrs(c);
        return 0;
    }
    resolve(c);
    return 0;
}

void gw_h1_cancel(struct gw_h1 *h1, struct gw_xfer *x)
{
    (void)h1;
    struct h1_conn *c = x->conn;
    if (!c)
        return;
    x->conn = NULL;
    c->x = NULL;
    if (c->busy)
        c->dropped = true;   /* process() closes it when the callback returns */
    else
        conn_close(c);
}

void gw_h1_resume(struct gw_h1 *h1, struct gw_xfer *x)
{
    (void)h1;
    struct h1_conn *c = x->conn;
    if (!c || !c->paused)
        return;
    c->paused = false;
    /* The held bytes are offered from the loop, not from inside whatever
     * callback made room. */
    c->resuming = true;
    watch(c, 0);
    event_assign(c->ev, c->h1->base, c->fd, EV_READ | EV_PERSIST, on_event, c);
    c->ev_assigned = true;
    event_active(c->ev, EV_READ, 1);
}
