/*
 * ctr_admin: the admin socket (docs/admin.md).  A unix stream socket served
 * from the controller's event loop: every connection is a bufferevent, read
 * as lines of at most ADMIN_LINE_MAX bytes, each answered by one line.
 * Nothing here blocks, and one client cannot take more than a bounded share
 * of memory: a line over the limit is answered with an error and skipped,
 * and a client that does not read its answers is not read from either.
 *
 * Access is the socket file's: created under a umask that leaves it 0600,
 * then given the configured group and mode.  Each connection's peer
 * (SO_PEERCRED) is then checked again (ctr_admin_peer.c), so a mode widened
 * by hand does not open the control plane, and is what the audit log records.
 */
#include "ctr_admin.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <sodium.h>

#include "bs_time.h"
#include "log.h"

#define ADMIN_MAX_CONNS 64
#define ADMIN_OUT_MAX (8 * 1024 * 1024)   /* unread answers before reading pauses */
#define ADMIN_IDLE_S 600                   /* a silent client is closed */
#define ADMIN_WRITE_S 30                   /* ... and one that stops reading */
#define ADMIN_REFUSED_LOG_PER_S 10         /* refused peers logged and audited */

struct admin_conn {
    struct admin_conn *next, **pprev;
    struct ctr_admin *a;
    struct bufferevent *bev;
    struct admin_peer peer;
    bool discarding;     /* inside an over-long line: skipping to its end */
    bool paused;         /* not reading until the client reads its answers */
    bool closing;        /* EOF seen: close once the answers are out */
};

struct ctr_admin {
    struct ctr *c;
    char *path;
    bool bound;          /* the file at path is ours to remove */
    dev_t dev;
    ino_t ino;
    gid_t group;         /* admin.group's gid, or (gid_t)-1 */
    uint64_t refused_window_ms;   /* refused peers: logged per second, the rest counted */
    unsigned refused_logged, refused_quiet;
    struct evconnlistener *lev;
    struct admin_conn *conns;
    int nconns;
};

/* --- connections ------------------------------------------------------------ */

static void conn_free(struct admin_conn *k)
{
    *k->pprev = k->next;
    if (k->next)
        k->next->pprev = k->pprev;
    k->a->nconns--;
    bufferevent_free(k->bev);
    free(k);
}

static void reply(struct admin_conn *k, json_t *resp)
{
    struct evbuffer *out = bufferevent_get_output(k->bev);
    char *text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
    json_decref(resp);
    if (!text) {
        evbuffer_add_printf(out, "{\"ok\":false,\"error\":{\"code\":\"internal\","
                                 "\"message\":\"out of memory\"}}\n");
        return;
    }
    evbuffer_add(out, text, strlen(text));
    evbuffer_add(out, "\n", 1);
    free(text);
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static void handle_line(struct admin_conn *k, char *line, size_t len)
{
    if (len && line[len - 1] == '\r')
        len--;
    if (!blank(line, len))
        reply(k, admin_handle(k->a->c, &k->peer, line, len));
    /* The request may have carried a secret (keys set). */
    sodium_memzero(line, len);
}

static void too_long(struct admin_conn *k)
{
    char msg[128];
    snprintf(msg, sizeof msg, "request line longer than %d bytes; skipped", ADMIN_LINE_MAX);
    reply(k, admin_error_response("line_too_long", msg));
}

/* Answers every complete line there is, in order. */
static void conn_process(struct admin_conn *k)
{
    struct evbuffer *in = bufferevent_get_input(k->bev);
    struct evbuffer *out = bufferevent_get_output(k->bev);
    for (;;) {
        if (evbuffer_get_length(out) > ADMIN_OUT_MAX) {
            bufferevent_disable(k->bev, EV_READ);
            k->paused = true;
            return;
        }
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            return;
        struct evbuffer_ptr eol = evbuffer_search(in, "\n", 1, NULL);
        if (k->discarding) {
            evbuffer_drain(in, eol.pos < 0 ? avail : (size_t)eol.pos + 1);
            k->discarding = eol.pos < 0;
            continue;
        }
        if (eol.pos < 0) {
            if (avail > ADMIN_LINE_MAX) {
                too_long(k);
                k->discarding = true;
                evbuffer_drain(in, avail);
            }
            return; /* the rest of the line is on its way */
        }
        size_t n = (size_t)eol.pos;
        if (n > ADMIN_LINE_MAX) {
            too_long(k);
            evbuffer_drain(in, n + 1);
            continue;
        }
        char *line = (char *)evbuffer_pullup(in, (ssize_t)n + 1);
        if (!line) {
            reply(k, admin_error_response("internal", "out of memory"));
            evbuffer_drain(in, n + 1);
            continue;
        }
        handle_line(k, line, n);
        evbuffer_drain(in, n + 1);
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct admin_conn *k = arg;
    /* Called when the answers are all out. */
    if (k->closing) {
        conn_free(k);
        return;
    }
    if (k->paused) {
        k->paused = false;
        bufferevent_enable(bev, EV_READ);
        conn_process(k);
    }
}

/* A last request without its newline, then EOF, is still answered (as
 * from `printf '{"cmd":"status"}' | socat - UNIX:...`). */
static void finish(struct admin_conn *k)
{
    conn_process(k);
    struct evbuffer *in = bufferevent_get_input(k->bev);
    size_t n = evbuffer_get_length(in);
    if (!k->discarding && !k->paused && n > 0 && n <= ADMIN_LINE_MAX) {
        char *line = (char *)evbuffer_pullup(in, (ssize_t)n);
        if (line)
            handle_line(k, line, n);
    }
    evbuffer_drain(in, evbuffer_get_length(in));
    k->closing = true;
    bufferevent_disable(k->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(k->bev)) == 0)
        conn_free(k);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct admin_conn *k = arg;
    if (what & BEV_EVENT_EOF && !(what & BEV_EVENT_ERROR) && !k->closing) {
        finish(k);
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT | BEV_EVENT_EOF))
        conn_free(k);
}

static void refuse(evutil_socket_t fd, const char *code, const char *message)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n",
                     code, message);
    /* Best effort on a fresh socket: its buffer has room for one line. */
    if (n > 0 && send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        log_debug("admin: cannot tell a refused client why: %s", strerror(errno));
    evutil_closesocket(fd);
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)lev;
    (void)sa;
    (void)salen;
    struct ctr_admin *a = arg;
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        log_warn("admin: cannot read the peer's credentials: %s", strerror(errno));
        refuse(fd, "internal", "cannot read peer credentials");
        return;
    }
    struct admin_peer peer = { .pid = cred.pid, .uid = cred.uid, .gid = cred.gid };
    if (!admin_peer_allowed(&peer, a->group)) {
        struct admin_reply r = { .code = "forbidden" };
        snprintf(r.message, sizeof r.message,
                 "uid %ld may not use the admin socket: only root, uid %ld (the controller) "
                 "and members of admin.group are allowed", (long)cred.uid, (long)geteuid());
        /* Rate-limited: a local user who may not connect must not be able
         * to fill the log and the audit store by trying. */
        uint64_t now = bs_now_us() / 1000;
        if (now - a->refused_window_ms >= 1000) {
            if (a->refused_quiet)
                log_warn("admin: %u more connection(s) refused in the last second",
                         a->refused_quiet);
            a->refused_window_ms = now;
            a->refused_logged = 0;
            a->refused_quiet = 0;
        }
        if (a->refused_logged < ADMIN_REFUSED_LOG_PER_S) {
            a->refused_logged++;
            log_warn("admin: refused a connection from uid %ld gid %ld pid %ld: not root, not "
                     "uid %ld, not in admin.group", (long)cred.uid, (long)cred.gid,
                     (long)cred.pid, (long)geteuid());
            admin_audit(a->c, &peer, "connect", NULL, &r);
        } else {
            a->refused_quiet++;
        }
        refuse(fd, r.code, r.message);
        return;
    }
    if (a->nconns >= ADMIN_MAX_CONNS) {
        log_warn("admin: refused a connection from uid %ld pid %ld: %d connections open",
                 (long)cred.uid, (long)cred.pid, a->nconns);
        refuse(fd, "busy", "too many admin connections");
        return;
    }
    struct admin_conn *k = calloc(1, sizeof *k);
    struct bufferevent *bev = k ? bufferevent_socket_new(a->c->base, fd, BEV_OPT_CLOSE_ON_FREE)
                                : NULL;
    if (!bev) {
        free(k);
        refuse(fd, "internal", "out of memory");
        return;
    }
    k->a = a;
    k->bev = bev;
    k->peer = peer;
    k->next = a->conns;
    k->pprev = &a->conns;
    if (a->conns)
        a->conns->pprev = &k->next;
    a->conns = k;
    a->nconns++;
    bufferevent_setcb(bev, on_read, on_write, on_event, k);
    /* Reading stops while a line longer than the limit piles up, so the
     * input never holds much more than one request. */
    bufferevent_setwatermark(bev, EV_READ, 0, ADMIN_LINE_MAX + 4096);
    struct timeval rtv = { ADMIN_IDLE_S, 0 }, wtv = { ADMIN_WRITE_S, 0 };
    bufferevent_set_timeouts(bev, &rtv, &wtv);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    log_debug("admin: connection from uid %ld pid %ld", (long)cred.uid, (long)cred.pid);
}

/* --- the socket file ---------------------------------------------------------- */

/* A socket file left by a controller that died is replaced; one that
 * answers belongs to a live process and is an error. */
static int clear_stale(const struct sockaddr_un *sun)
{
    const char *path = sun->sun_path;
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        log_err("admin socket %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        log_err("admin socket %s: the path exists and is not a socket; not replacing it", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_err("admin socket %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
    int e = errno;
    close(fd);
    if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
        log_err("admin socket %s is in use by a running process (another backstopd?); "
                "refusing to start", path);
        return -1;
    }
    if (e != ECONNREFUSED) {
        log_err("admin socket %s: cannot tell whether it is in use: %s", path, strerror(e));
        return -1;
    }
    if (unlink(path) < 0) {
        log_err("admin socket %s: cannot remove the stale socket: %s", path, strerror(errno));
        return -1;
    }
    log_notice("admin socket %s: replaced a stale socket file", path);
    return 0;
}

static int lookup_group(const char *name, gid_t *gid)
{
    char buf[16384];
    struct group gr, *res = NULL;
    int rc = getgrnam_r(name, &gr, buf, sizeof buf, &res);
    if (rc || !res) {
        log_err("admin socket: $.admin.group: %s", rc ? strerror(rc) : "no such group");
        return -1;
    }
    *gid = gr.gr_gid;
    return 0;
}

/* Bound under umask 0177, so the file is never wider than 0600 before the
 * chmod below sets the configured mode. */
static int bind_socket(struct ctr_admin *a, const struct sockaddr_un *sun, gid_t gid, int mode)
{
    const char *path = sun->sun_path;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_err("admin socket %s: %s", path, strerror(errno));
        return -1;
    }
    mode_t old = umask(0177);
    int rc = bind(fd, (const struct sockaddr *)sun, sizeof *sun);
    int e = errno;
    umask(old);
    if (rc < 0) {
        log_err("cannot bind the admin socket %s: %s", path, strerror(e));
        close(fd);
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        a->bound = true;
        a->dev = st.st_dev;
        a->ino = st.st_ino;
    }
    const char *what = NULL;
    if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)
        what = "cannot give it to group";
    else if (chmod(path, (mode_t)mode) < 0)
        what = "cannot set its mode";
    else if (listen(fd, 64) < 0)
        what = "cannot listen";
    if (what) {
        log_err("admin socket %s: %s: %s", path, what, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int ctr_admin_start(struct ctr *c)
{
    const struct cfg_admin *cfg = &c->cfg->admin;
    struct ctr_admin *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(cfg->socket))) {
        free(a);
        log_err("admin socket: out of memory");
        return -1;
    }
    c->admin = a;
    a->c = c;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(a->path) >= sizeof sun.sun_path) {
        log_err("admin socket path %s is too long: %zu bytes, a unix socket path has at most %zu "
                "($.admin.socket)", a->path, strlen(a->path), sizeof sun.sun_path - 1);
        return -1;
    }
    memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
    gid_t gid = (gid_t)-1;
    if (cfg->group && lookup_group(cfg->group, &gid) < 0)
        return -1;
    a->group = gid;
    if (clear_stale(&sun) < 0)
        return -1;
    int fd = bind_socket(a, &sun, gid, cfg->mode);
    if (fd < 0)
        return -1;
    /* Backlog 0: the socket is listening already. */
    a->lev = evconnlistener_new(c->base, on_accept, a, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                0, fd);
    if (!a->lev) {
        log_err("admin socket %s: cannot watch it", a->path);
        close(fd);
        return -1;
    }
    log_notice("admin socket %s (mode 0%03o%s%s)", a->path, (unsigned)cfg->mode,
               cfg->group ? ", group " : "", cfg->group ? cfg->group : "");
    return 0;
}

void ctr_admin_free(struct ctr *c)
{
    struct ctr_admin *a = c->admin;
    if (!a)
        return;
    while (a->conns)
        conn_free(a->conns);
    if (a->lev)
        evconnlistener_free(a->lev);
    /* Only the file this process bound: a successor may own the path. */
    struct stat st;
    if (a->bound && lstat(a->path, &st) == 0 && st.st_dev == a->dev && st.st_ino == a->ino)
        unlink(a->path);
    free(a->path);
    free(a);
    c->admin = NULL;
}
