/*
 * gw_worker: a worker process's life: open the state store read-only, load
 * the catalog, serve HTTP on the inherited socket (fd 3) with upstream calls
 * on the same event loop, report to the controller on fd 4, drain on
 * SIGTERM (or when the controller disappears), and exit.
 */
#include "gw.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bs_time.h"
#include "worker.h"
#include "gw_access.h"
#include "gw_breaker.h"
#include "gw_upstream.h"
#include "log.h"
#include "tel.h"

#define STATUS_MS 1000
#define DRAIN_POLL_MS 20

static void drain_poll_cb(evutil_socket_t fd, short what, void *arg);

static void drain_start(struct gw *gw, const char *why)
{
    if (gw->draining)
        return;
    gw->draining = true;
    log_info("draining (%s): %zu request(s) in flight", why,
             gw->http ? http_server_in_flight(gw->http) : (size_t)0);
    if (gw->http)
        http_server_drain(gw->http);
    gw_tel_status(gw);
    gw->drain_ev = event_new(gw->base, -1, EV_PERSIST, drain_poll_cb, gw);
    struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
    if (gw->drain_ev)
        event_add(gw->drain_ev, &tv);
}

/* Done when every connection has flushed its last response and closed, or
 * when the grace is over (the server then closes what is left). */
static void drain_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw *gw = arg;
    static uint64_t started;
    if (!started)
        started = bs_now_us();
    int grace = gw->cat ? gw->cat->cfg->timeouts.drain_grace_ms : 30000;
    bool over = bs_now_us() - started > (uint64_t)grace * 1000;
    if (http_server_connections(gw->http) == 0 || over) {
        if (over)
            log_warn("drain grace of %d ms over: closing %zu request(s) still in flight", grace,
                     http_server_in_flight(gw->http));
        event_base_loopexit(gw->base, NULL);
    }
}

static void on_status_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gw_tel_status(arg);
}

/* The controller never writes to this channel: readable means EOF, that is,
 * the controller is gone.  Finish what is in flight and leave, so that no
 * orphan keeps the port once a new controller starts. */
static void on_tel_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct gw *gw = arg;
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        event_del(gw->tel_ev);
        close(gw->tel_fd);
        gw->tel_fd = -1;
        drain_start(gw, "controller gone");
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct gw *gw = arg;
    if (sig == SIGTERM || sig == SIGINT) {
        drain_start(gw, sig == SIGTERM ? "SIGTERM" : "SIGINT");
    } else if (sig == SIGUSR1) {
        log_reopen();
        int fd = log_open_append(gw->cat ? gw->cat->cfg->log.access_log : NULL);
        if (fd >= 0) {
            gw_access_flush(gw->accbuf);
            if (gw->access_fd >= 0)
                close(gw->access_fd);
            gw->access_fd = fd;
        }
    }
}

static int setup(struct gw *gw, const char *state_dir)
{
    int rc = st_open(&gw->st, state_dir, 0, 0);
    if (rc) {
        log_err("cannot open the state store in %s: %s", state_dir, st_strerror(rc));
        return -1;
    }
    /* Without the claim words no half-open trial could be taken here. */
    rc = brk_claim_map(&gw->claims, CTR_WORKER_CLAIMS_FD);
    close(CTR_WORKER_CLAIMS_FD); /* the mapping stays */
    if (rc) {
        log_err("cannot map the trial claim region: %s", strerror(-rc));
        return -1;
    }
    if (gw_catalog_refresh(gw) < 0 || !gw->cat) {
        log_err("no usable catalog in %s", state_dir);
        return -1;
    }
    const struct cfg *cfg = gw->cat->cfg;
    char role[24];
    snprintf(role, sizeof role, "worker%d", gw->slot);
    log_open(role, cfg->log.file, (int)cfg->log.level);
    gw->access_fd = log_open_append(cfg->log.access_log);
    if (gw->access_fd < 0)
        log_err("cannot open the access log %s: %s", cfg->log.access_log, strerror(-gw->access_fd));
    /* The changelist folds an event deleted and re-added within one loop
     * turn (a client write enabled, flushed, disabled; curl switching a
     * socket from send to receive) into one epoll_ctl or none.  Its known
     * hazard is dup()ed descriptors, which the worker never watches. */
    struct event_config *ec = event_config_new();
    if (!ec)
        return -1;
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    gw->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (!gw->base)
        return -1;
    gw->accbuf = gw_access_buf_new(gw->base, &gw->access_fd);
    gw->up = gw_up_new(gw->base, 0);
    if (!gw->up)
        return -1;
    struct http_limits lim = {
        .max_header_bytes = cfg->limits.max_header_bytes,
        .max_body_bytes = cfg->limits.max_body_bytes,
        .max_connections = cfg->limits.max_connections,
        .header_timeout_ms = 30000,
        .keepalive_timeout_ms = 75000,
        .output_high_water = 256 * 1024,
        .output_low_water = 64 * 1024,
    };
    gw->http = http_server_new(gw->base, CTR_WORKER_LISTEN_FD, &lim, gw_route, gw, gw_error_body);
    if (!gw->http) {
        log_err("cannot serve on the inherited socket: %s", strerror(errno));
        return -1;
    }
    const int sigs[] = { SIGTERM, SIGINT, SIGUSR1 };
    sigset_t mask;
    sigemptyset(&mask);
    for (size_t i = 0; i < 3; i++) {
        gw->sig_ev[i] = evsignal_new(gw->base, sigs[i], on_signal, gw);
        if (!gw->sig_ev[i] || event_add(gw->sig_ev[i], NULL) < 0)
            return -1;
        sigaddset(&mask, sigs[i]);
    }
    /* The controller started us with these blocked (see ctr_workers.c);
     * one that arrived meanwhile is delivered now, to the handler. */
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    gw->tel_ev = event_new(gw->base, gw->tel_fd, EV_READ | EV_PERSIST, on_tel_readable, gw);
    gw->status_ev = event_new(gw->base, -1, EV_PERSIST, on_status_timer, gw);
    struct timeval tv = { STATUS_MS / 1000, 0 };
    if (!gw->tel_ev || !gw->status_ev || event_add(gw->tel_ev, NULL) < 0 ||
        event_add(gw->status_ev, &tv) < 0)
        return -1;
    return 0;
}

static void teardown(struct gw *gw)
{
    /* The server first: closing it cancels requests in flight, which hand
     * their transfers back to the upstream pool. */
    if (gw->http)
        http_server_free(gw->http);
    gw_up_free(gw->up);
    gw_tel_batch_free(gw); /* sends what it summed: before the channel closes */
    gw_access_buf_free(gw->accbuf);
    for (size_t i = 0; i < sizeof gw->sig_ev / sizeof gw->sig_ev[0]; i++)
        if (gw->sig_ev[i])
            event_free(gw->sig_ev[i]);
    if (gw->tel_ev)
        event_free(gw->tel_ev);
    if (gw->status_ev)
        event_free(gw->status_ev);
    if (gw->drain_ev)
        event_free(gw->drain_ev);
    if (gw->base)
        event_base_free(gw->base);
    gw_catalog_unref(gw->cat);
    gw_brk_free(gw);
    brk_claim_unmap(&gw->claims);
    st_close(gw->st);
    if (gw->tel_fd >= 0)
        close(gw->tel_fd);
    if (gw->access_fd >= 0 && gw->access_fd != 2)
        close(gw->access_fd);
}

int gw_worker_main(const char *state_dir, int slot)
{
    struct gw gw = { .slot = slot, .tel_fd = CTR_WORKER_TEL_FD, .access_fd = -1,
                     .pid = (uint32_t)getpid() };
    char role[24];
    snprintf(role, sizeof role, "worker%d", slot);
    log_set_role(role);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* the controller's business, even from a terminal */
    gw.started_wall_ms = bs_wall_ms();
    gw.req_salt = (uint32_t)(getpid() * 2654435761u ^ (uint32_t)gw.started_wall_ms);
    gw.rng = ((uint64_t)gw.req_salt << 32) | (uint32_t)bs_now_us() | 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_err("cannot initialise libcurl");
        return 1;
    }
    int rc = 1;
    if (setup(&gw, state_dir) == 0) {
        gw_tel_status(&gw);
        log_info("serving, catalog generation %llu", (unsigned long long)gw.cat->generation);
        event_base_dispatch(gw.base);
        log_info("stopped after %llu request(s)", (unsigned long long)gw.served);
        rc = 0;
    }
    teardown(&gw);
    curl_global_cleanup();
    log_close();
    return rc;
}
