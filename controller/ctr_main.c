/*
 * backstopd: the controller's entry point.
 *
 *   backstopd -c FILE       run: publish the config, bind, fork workers, supervise
 *   backstopd -t -c FILE    check the config, print every error, exit 0 or 1
 *   backstopd --worker DIR SLOT [cores|nocores]
 *                           internal: a worker process (see ctr_workers.c)
 *
 * Signals arrive as libevent events: SIGTERM/SIGINT drain and exit 0,
 * SIGHUP reloads all-or-nothing, SIGUSR1 reopens the logs (forwarded to the
 * workers), SIGCHLD reaps and replaces workers.
 */
#include "ctr.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bs_time.h"
#include "log.h"
#include "proc.h"
#include "version.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: backstopd -c FILE [-t]\n"
            "  -c FILE   configuration file (JSON, see docs/config.md)\n"
            "  -t        check the configuration, print every error, and exit\n"
            "  -V        print the version\n"
            "  -h        this help\n");
}

static int check_only(const char *path)
{
    struct cfg_errors errs = { 0 };
    struct cfg *cfg = cfg_load_file(path, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msg[i]);
        fprintf(stderr, "backstopd: configuration %s has %zu error(s)\n", path, errs.n);
        cfg_errors_clear(&errs);
        return 1;
    }
    printf("backstopd: configuration %s is ok (%zu providers, %zu models, %d workers)\n", path,
           cfg->nproviders, cfg->nmodels, cfg->workers);
    cfg_free(cfg);
    return 0;
}

/* Written after binding so tests and scripts learn an ephemeral port. */
static void write_runtime_files(const struct ctr *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?", path[4096], tmp[4200], line[128];
    int port = 0;
    if (getsockname(c->listen_fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
            port = ntohs(s6->sin6_port);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
            port = ntohs(s4->sin_port);
        }
    }
    log_notice("listening on %s%s%s:%d, generation %llu, %d workers",
               ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
               port, (unsigned long long)c->generation, c->cfg->workers);
    const char *names[2] = { "listen", "backstopd.pid" };
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", c->cfg->state_dir, names[i]);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        if (i == 0)
            snprintf(line, sizeof line, "%s%s%s:%d\n", ss.ss_family == AF_INET6 ? "[" : "",
                     host, ss.ss_family == AF_INET6 ? "]" : "", port);
        else
            snprintf(line, sizeof line, "%ld\n", (long)getpid());
        FILE *f = fopen(tmp, "w");
        if (!f || fputs(line, f) < 0 || fclose(f) != 0 || rename(tmp, path) < 0)
            log_warn("cannot write %s: %s", path, strerror(errno));
    }
}

static void remove_runtime_files(const struct ctr *c)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/listen", c->cfg->state_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/backstopd.pid", c->cfg->state_dir);
    unlink(path);
}

/* One controller per state directory: two writers would each think they own
 * the workers and the catalog. */
static int lock_state_dir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/backstopd.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        log_err("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        log_err("another backstopd is running on state directory %s", dir);
        close(fd);
        return -1;
    }
    return fd;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct ctr *c = arg;
    switch (sig) {
    case SIGCHLD:
        ctr_workers_reap(c);
        break;
    case SIGTERM:
    case SIGINT:
        if (!c->stopping)
            log_notice("%s: draining %d worker(s), grace %d ms", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                       ctr_workers_alive(c), c->cfg->timeouts.drain_grace_ms);
        ctr_workers_stop(c);
        break;
    case SIGHUP:
        if (!c->stopping)
            ctr_reload(c, NULL);
        break;
    case SIGUSR1:
        log_reopen();
        ctr_workers_signal(c, SIGUSR1);
        log_notice("logs reopened");
        break;
    }
}

static int run(const char *config_path)
{
    struct ctr c = { .listen_fd = -1, .claims_fd = -1, .config_path = (char *)config_path,
                     .started_wall_ms = bs_wall_ms() };
    struct cfg_errors errs = { 0 };
    int rc = 1, lock_fd = -1;
    c.cfg = cfg_load_file(config_path, &errs);
    if (!c.cfg) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msg[i]);
        fprintf(stderr, "backstopd: configuration %s has %zu error(s)\n", config_path, errs.n);
        cfg_errors_clear(&errs);
        return 1;
    }
    if (log_open("controller", c.cfg->log.file, (int)c.cfg->log.level) < 0)
        fprintf(stderr, "backstopd: logging to stderr instead\n");
    /* Read at start only: ctr_workers.c passes the core limit set here to
     * every worker it starts. */
    if (c.cfg->debug.core_dumps) {
        int e = proc_secure(true);
        if (e)
            log_notice("debug.core_dumps: cannot allow cores: %s", strerror(-e));
        else
            log_notice("debug.core_dumps is on: a core of any process holds the provider keys");
    }
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_err("cannot initialise libcurl");
        goto out;
    }
    int err = st_open(&c.st, c.cfg->state_dir, c.cfg->lmdb_map_mb, ST_WRITER);
    if (err) {
        log_err("cannot open the state store in %s: %s", c.cfg->state_dir, st_strerror(err));
        goto out;
    }
    if ((lock_fd = lock_state_dir(c.cfg->state_dir)) < 0)
        goto out;
    st_reader_check(c.st);
    /* Keys before anything else reads the store's key table: a rotation a
     * crash interrupted is finished here. */
    if (ctr_keys_start(&c) < 0 || ctr_check_keys(&c, c.cfg, NULL) < 0 || ctr_ovr_start(&c) < 0)
        goto out;
    if (ctr_publish(&c, c.cfg) < 0 || ctr_target_rebuild(&c) < 0)
        goto out;
    char msg[256];
    if (ctr_listen_open(c.cfg->listen_host, c.cfg->listen_port, &c.listen_fd, msg, sizeof msg) < 0) {
        log_err("%s", msg);
        goto out;
    }
    c.base = event_base_new();
    if (!c.base) {
        log_err("cannot create the event base");
        goto out;
    }
    const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        c.sig_ev[i] = evsignal_new(c.base, sigs[i], on_signal, &c);
        if (!c.sig_ev[i] || event_add(c.sig_ev[i], NULL) < 0) {
            log_err("cannot watch signal %d", sigs[i]);
            goto out;
        }
    }
    /* Short-lived keys before the first worker needs them. */
    if (ctr_token_start(&c) < 0) {
        log_err("cannot set up the token sources");
        goto out;
    }
    if (ctr_tel_start(&c) < 0 || ctr_breaker_start(&c) < 0 || ctr_workers_start(&c) < 0 ||
        ctr_probe_start(&c) < 0) {
        log_err("cannot start the workers");
        ctr_workers_stop(&c);
        event_base_dispatch(c.base);
        goto out;
    }
    if (ctr_admin_start(&c) < 0) {
        ctr_workers_stop(&c);
        event_base_dispatch(c.base);
        goto out;
    }
    write_runtime_files(&c);
    event_base_dispatch(c.base);
    ctr_tel_flush(&c);
    remove_runtime_files(&c);
    log_notice("stopped");
    rc = c.exit_code;
out:
    ctr_admin_free(&c);
    ctr_probe_free(&c);
    ctr_breaker_free(&c);
    ctr_target_free(&c);
    ctr_workers_free(&c);
    ctr_tel_free(&c);
    ctr_token_free(&c);
    ctr_keys_free(&c);
    ctr_ovr_free(&c);
    for (size_t i = 0; i < sizeof c.sig_ev / sizeof c.sig_ev[0]; i++)
        if (c.sig_ev[i])
            event_free(c.sig_ev[i]);
    if (c.base)
        event_base_free(c.base);
    if (c.listen_fd >= 0)
        close(c.listen_fd);
    st_close(c.st);
    if (lock_fd >= 0)
        close(lock_fd);
    cfg_free(c.cfg);
    curl_global_cleanup();
    log_close();
    return rc;
}

int main(int argc, char **argv)
{
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "--worker") == 0) {
        char *end;
        long slot = strtol(argv[3], &end, 10);
        if (*end || slot < 0 || slot >= CTR_MAX_WORKERS) {
            fprintf(stderr, "backstopd: bad worker slot %s\n", argv[3]);
            return 2;
        }
        /* Before the worker reads a key; the controller decided about
         * cores (ctr_workers.c). */
        /* Without the fourth argument (a worker started by hand, as the
         * benchmark does), no cores. */
        const char *cores = argc == 5 ? argv[4] : "nocores";
        if (strcmp(cores, "cores") != 0 && strcmp(cores, "nocores") != 0) {
            fprintf(stderr, "backstopd: bad worker core setting %s\n", cores);
            return 2;
        }
        int err = proc_secure(strcmp(cores, "cores") == 0);
        if (err) {
            fprintf(stderr, "backstopd: worker %ld: cannot make the process non-dumpable: %s\n",
                    slot, strerror(-err));
            return 1;
        }
        char *state_dir = strdup(argv[2]);
        if (!state_dir)
            return 1;
        char title[32];
        snprintf(title, sizeof title, "backstopd: worker %ld", slot);
        proc_title(argc, argv, "backstopd", title);
        int rc = gw_worker_main(state_dir, (int)slot);
        free(state_dir);
        return rc;
    }
    /* Cores stay off until the configuration says otherwise (run()). */
    int err = proc_secure(false);
    if (err) {
        fprintf(stderr, "backstopd: cannot make the process non-dumpable: %s\n", strerror(-err));
        return 1;
    }
    const char *config = NULL;
    int test = 0, opt;
    while ((opt = getopt(argc, argv, "c:thV")) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 't': test = 1; break;
        case 'V': printf("backstopd %s\n", BACKSTOP_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!config || optind != argc) {
        fprintf(stderr, "backstopd: %s\n", config ? "unexpected argument" : "-c FILE is required");
        usage(stderr);
        return 2;
    }
    if (test)
        return check_only(config);
    /* config points into argv, which the title overwrites. */
    char *path = strdup(config);
    if (!path)
        return 1;
    proc_title(argc, argv, "backstopd", "backstopd: controller");
    int rc = run(path);
    free(path);
    return rc;
}
