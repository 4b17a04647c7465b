/*
 * ctr_workers: forks, supervises and retires the worker processes.
 *
 * A worker is this same binary re-executed as `backstopd --worker`, so that
 * nothing stateful of the controller (event base, LMDB handle, curl) crosses
 * into it; it gets the listening socket on fd 3 and its telemetry channel on
 * fd 4 (Postfix's fixed-descriptor convention), and the trial claim region
 * (shared/brk_claim.c) on fd 5.  A worker that dies after
 * serving is replaced at once; one that dies before serving anything is
 * replaced with a growing delay, so a broken start cannot become a fork storm.
 */
#include "ctr.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bs_time.h"
#include "log.h"
#include "proc.h"

#define RESPAWN_FIRST_MS 250
#define RESPAWN_MAX_MS   30000

static void slot_respawn_cb(evutil_socket_t fd, short what, void *arg);

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void child_exec(int listen_fd, int tel_fd, int claims_fd, const sigset_t *mask,
                       char *const argv[])
{
    int l = fcntl(listen_fd, F_DUPFD, 10);
    int t = fcntl(tel_fd, F_DUPFD, 10);
    int k = fcntl(claims_fd, F_DUPFD, 10);
    if (l < 0 || t < 0 || k < 0 || dup2(l, CTR_WORKER_LISTEN_FD) < 0 ||
        dup2(t, CTR_WORKER_TEL_FD) < 0 || dup2(k, CTR_WORKER_CLAIMS_FD) < 0)
        _exit(127);
    close_range(CTR_WORKER_CLAIMS_FD + 1, ~0U, 0);
    sigprocmask(SIG_SETMASK, mask, NULL);
    execv("/proc/self/exe", argv);
    _exit(127);
}

static int slot_spawn(struct ctr *c, struct ctr_slot *s)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
        log_err("worker %d: socketpair: %s", s->index, strerror(errno));
        return -errno;
    }
    /* Built before fork: the child may only make async-signal-safe calls. */
    char slotstr[16];
    snprintf(slotstr, sizeof slotstr, "%d", s->index);
    /* The controller's own core limit is debug.core_dumps as read at start. */
    char *cores = proc_cores_allowed() ? "cores" : "nocores";
    char *argv[] = { "backstopd", "--worker", c->cfg->state_dir, slotstr, cores, NULL };

    /* The worker starts with its control signals blocked and unblocks them
     * once its handlers are in place: a SIGTERM that arrives while it is
     * still starting then drains it instead of killing it. */
    sigset_t all, old, child;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    child = old;
    sigaddset(&child, SIGTERM);
    sigaddset(&child, SIGINT);
    sigaddset(&child, SIGUSR1);
    pid_t pid = fork();
    if (pid == 0)
        child_exec(c->listen_fd, sv[1], c->claims_fd, &child, argv);
    int saved = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        log_err("worker %d: fork: %s", s->index, strerror(saved));
        return -saved;
    }
    s->pid = pid;
    s->tel_fd = sv[0];
    s->state = SLOT_RUNNING;
    s->served = false;
    s->started_us = bs_now_us();
    s->started_wall_ms = bs_wall_ms();
    memset(&s->last, 0, sizeof s->last);
    s->tel_ev = event_new(c->base, sv[0], EV_READ | EV_PERSIST, ctr_tel_read, s);
    if (!s->tel_ev || event_add(s->tel_ev, NULL) < 0)
        log_err("worker %d: cannot watch its telemetry channel", s->index);
    c->workers_dirty = true;
    log_info("worker %d started, pid %ld", s->index, (long)pid);
    return 0;
}

static void slot_schedule(struct ctr *c, struct ctr_slot *s, int delay_ms)
{
    if (!s->respawn_ev)
        s->respawn_ev = evtimer_new(c->base, slot_respawn_cb, s);
    struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
    s->state = SLOT_WAITING;
    if (!s->respawn_ev || evtimer_add(s->respawn_ev, &tv) < 0)
        log_err("worker %d: cannot schedule its restart", s->index);
}

static void slot_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctr_slot *s = arg;
    struct ctr *c = s->ctr;
    if (c->stopping || s->index >= c->cfg->workers) {
        s->state = SLOT_EMPTY;
        return;
    }
    if (slot_spawn(c, s) < 0) {
        s->quick_deaths++;
        slot_schedule(c, s, RESPAWN_MAX_MS);
    }
}

int ctr_workers_start(struct ctr *c)
{
    c->nslots = c->cfg->workers;
    for (int i = 0; i < CTR_MAX_WORKERS; i++) {
        c->slots[i].index = i;
        c->slots[i].ctr = c;
        c->slots[i].tel_fd = -1;
    }
    for (int i = 0; i < c->nslots; i++)
        if (slot_spawn(c, &c->slots[i]) < 0)
            return -1;
    return 0;
}

/* After a reload: start the slots the new count adds, retire the ones it
 * removes (they drain like on SIGTERM). */
void ctr_workers_resize(struct ctr *c)
{
    int want = c->cfg->workers;
    for (int i = 0; i < CTR_MAX_WORKERS; i++) {
        struct ctr_slot *s = &c->slots[i];
        if (i < want && s->state == SLOT_EMPTY)
            slot_spawn(c, s);
        else if (i >= want && s->state == SLOT_RUNNING) {
            log_notice("worker %d (pid %ld) retired by reload", i, (long)s->pid);
            kill(s->pid, SIGTERM);
            s->state = SLOT_RETIRED;
        } else if (i >= want && s->state == SLOT_WAITING) {
            evtimer_del(s->respawn_ev);
            s->state = SLOT_EMPTY;
        }
    }
    if (want > c->nslots)
        c->nslots = want;
}

static void describe_exit(int status, char *buf, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
    else
        snprintf(buf, len, "exited with code %d", WEXITSTATUS(status));
}

static struct ctr_slot *slot_by_pid(struct ctr *c, pid_t pid)
{
    for (int i = 0; i < c->nslots; i++)
        if (c->slots[i].pid == pid)
            return &c->slots[i];
    return NULL;
}

static void slot_release(struct ctr_slot *s)
{
    if (s->tel_ev) {
        /* What the worker said last may still be unread. */
        ctr_tel_read(s->tel_fd, EV_READ, s);
        event_free(s->tel_ev);
        s->tel_ev = NULL;
    }
    if (s->tel_fd >= 0)
        close(s->tel_fd);
    s->tel_fd = -1;
    s->pid = 0;
}

void ctr_workers_reap(struct ctr *c)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct ctr_slot *s = slot_by_pid(c, pid);
        if (!s) {
            ctr_token_reaped(c, pid, status);
            continue;
        }
        char how[96];
        describe_exit(status, how, sizeof how);
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        slot_release(s);
        c->workers_dirty = true;
        ctr_breaker_worker_gone(c, s->index);
        if (!clean) {
            /* A killed reader leaves its LMDB slot marked in use. */
            int dead = st_reader_check(c->st);
            if (dead > 0)
                log_info("cleared %d stale LMDB reader slot(s)", dead);
        }
        if (c->stopping || s->state == SLOT_RETIRED || s->index >= c->cfg->workers) {
            log_info("worker %d (pid %ld) %s", s->index, (long)pid, how);
            s->state = SLOT_EMPTY;
            continue;
        }
        if (s->served) {
            s->quick_deaths = 0;
            log_err("worker %d (pid %ld) %s; restarting it now", s->index, (long)pid, how);
            if (slot_spawn(c, s) < 0)
                slot_schedule(c, s, RESPAWN_FIRST_MS);
            continue;
        }
        int delay = RESPAWN_FIRST_MS << (s->quick_deaths < 8 ? s->quick_deaths : 8);
        if (delay > RESPAWN_MAX_MS)
            delay = RESPAWN_MAX_MS;
        s->quick_deaths++;
        log_err("worker %d (pid %ld) %s before serving a request; restarting it in %d ms",
                s->index, (long)pid, how, delay);
        slot_schedule(c, s, delay);
    }
    if (c->stopping && ctr_workers_alive(c) == 0)
        event_base_loopexit(c->base, NULL);
}

int ctr_workers_alive(const struct ctr *c)
{
    int n = 0;
    for (int i = 0; i < c->nslots; i++)
        if (c->slots[i].pid > 0)
            n++;
    return n;
}

void ctr_workers_signal(struct ctr *c, int sig)
{
    for (int i = 0; i < c->nslots; i++)
        if (c->slots[i].pid > 0)
            kill(c->slots[i].pid, sig);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctr *c = arg;
    int n = ctr_workers_alive(c);
    if (n) {
        log_warn("drain grace over: killing %d worker(s) still busy", n);
        ctr_workers_signal(c, SIGKILL);
    }
}

/* SIGTERM: the workers stop accepting, finish what they have, and exit; the
 * loop ends when the last one is reaped.  Past the grace (plus a margin for
 * the workers' own deadline to act first) they are killed. */
void ctr_workers_stop(struct ctr *c)
{
    if (c->stopping)
        return;
    c->stopping = true;
    if (c->listen_fd >= 0) {
        close(c->listen_fd);
        c->listen_fd = -1;
    }
    for (int i = 0; i < c->nslots; i++)
        if (c->slots[i].state == SLOT_WAITING) {
            evtimer_del(c->slots[i].respawn_ev);
            c->slots[i].state = SLOT_EMPTY;
        }
    ctr_workers_signal(c, SIGTERM);
    int ms = c->cfg->timeouts.drain_grace_ms + 2000;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    c->grace_ev = evtimer_new(c->base, grace_cb, c);
    if (c->grace_ev)
        evtimer_add(c->grace_ev, &tv);
    if (ctr_workers_alive(c) == 0)
        event_base_loopexit(c->base, NULL);
}

void ctr_workers_free(struct ctr *c)
{
    for (int i = 0; i < CTR_MAX_WORKERS; i++) {
        struct ctr_slot *s = &c->slots[i];
        if (s->tel_ev)
            event_free(s->tel_ev);
        if (s->tel_fd >= 0)
            close(s->tel_fd);
        if (s->respawn_ev)
            event_free(s->respawn_ev);
        s->tel_ev = s->respawn_ev = NULL;
        s->tel_fd = -1;
    }
    if (c->grace_ev)
        event_free(c->grace_ev);
    c->grace_ev = NULL;
}
