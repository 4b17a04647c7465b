/*
 * ctr_telemetry: reads the workers' telemetry channels and aggregates
 * attempt outcomes per target; a 100 ms timer writes whatever changed in one
 * LMDB transaction (many events, one write, no fsync: this state is
 * volatile and a lost tenth of a second of it costs nothing).
 */
#include "ctr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fail.h"
#include "log.h"

#define FLUSH_MS 100
#define EWMA_ALPHA 0.2

static void ewma(double *avg, double sample, uint64_t n)
{
    *avg = n <= 1 ? sample : *avg + EWMA_ALPHA * (sample - *avg);
}

static void on_attempt(struct ctr *c, struct ctr_target *t, const struct tel_attempt *a)
{
    struct ctr_target_health *h = &t->health;
    h->seen = true;
    h->attempts++;
    if (a->fail < FAIL__COUNT)
        h->by_class[a->fail]++;
    h->last_status = a->status;
    if (a->fail == FAIL_NONE) {
        h->ok++;
        h->last_ok_wall_ms = a->wall_ms;
        ewma(&h->latency_ewma_ms, a->latency_ms, h->ok);
        if (a->ttfb_ms)
            ewma(&h->ttfb_ewma_ms, a->ttfb_ms, h->ok);
    } else if (fail_counts_as_failure(a->fail)) {
        /* A broken answer says nothing about the target's health: it shows
         * in by_class only. */
        h->failures++;
        h->last_fail = a->fail;
        h->last_fail_wall_ms = a->wall_ms;
    }
    h->prompt_tokens += a->prompt_tokens;
    h->completion_tokens += a->completion_tokens;
    h->dirty = true;
    c->health_dirty = true;
}

/* n samples averaging `mean`: the same as n single updates would give for
 * samples all equal to it. */
static void ewma_n(double *avg, double mean, uint32_t n, uint64_t total)
{
    if (total <= n) {
        *avg = mean;
        return;
    }
    double keep = 1.0;
    for (uint32_t i = 0; i < n && keep > 1e-9; i++)
        keep *= 1.0 - EWMA_ALPHA;
    *avg = mean + keep * (*avg - mean);
}

static void on_oks(struct ctr *c, struct ctr_target *t, const struct tel_oks *o)
{
    struct ctr_target_health *h = &t->health;
    if (o->count == 0)
        return;
    h->seen = true;
    h->attempts += o->count;
    h->by_class[FAIL_NONE] += o->count;
    h->ok += o->count;
    h->last_status = o->status;
    h->last_ok_wall_ms = o->wall_ms;
    ewma_n(&h->latency_ewma_ms, (double)o->latency_ms_sum / o->count, o->count, h->ok);
    if (o->ttfb_count)
        ewma_n(&h->ttfb_ewma_ms, (double)o->ttfb_ms_sum / o->ttfb_count, o->ttfb_count, h->ok);
    h->prompt_tokens += o->prompt_tokens;
    h->completion_tokens += o->completion_tokens;
    h->dirty = true;
    c->health_dirty = true;
}

static void on_status(struct ctr_slot *s, const struct tel_status *st)
{
    s->last = *st;
    if (st->served > 0)
        s->served = true;
    s->ctr->workers_dirty = true;
}

/* One datagram of any kind. */
union tel_msg {
    struct tel_hdr hdr;
    struct tel_attempt attempt;
    struct tel_oks oks;
    struct tel_status status;
    struct tel_trial trial;
    struct tel_failover failover;
};

static void on_msg(struct ctr_slot *s, union tel_msg *m, size_t n)
{
    if (n < sizeof m->hdr || m->hdr.version != TEL_VERSION)
        return;
    struct ctr *c = s->ctr;
    struct ctr_target *t;
    if (m->hdr.kind == TEL_ATTEMPT && n == sizeof m->attempt) {
        struct tel_attempt *a = &m->attempt;
        a->provider[sizeof a->provider - 1] = '\0';
        a->model[sizeof a->model - 1] = '\0';
        if ((t = ctr_target_of(c, a->generation, a->target_id, a->provider, a->model))) {
            on_attempt(c, t, a);
            ctr_breaker_attempt(c, t, a);
        }
    } else if (m->hdr.kind == TEL_OKS && n == sizeof m->oks) {
        struct tel_oks *o = &m->oks;
        o->provider[sizeof o->provider - 1] = '\0';
        o->model[sizeof o->model - 1] = '\0';
        if ((t = ctr_target_of(c, o->generation, o->target_id, o->provider, o->model))) {
            on_oks(c, t, o);
            ctr_breaker_oks(c, t, o->count);
        }
    } else if (m->hdr.kind == TEL_FAILOVER && n == sizeof m->failover) {
        m->failover.chain[sizeof m->failover.chain - 1] = '\0';
        m->failover.from[sizeof m->failover.from - 1] = '\0';
        m->failover.to[sizeof m->failover.to - 1] = '\0';
        m->failover.request_id[sizeof m->failover.request_id - 1] = '\0';
        ctr_events_add(s->ctr, s->index, &m->failover);
    } else if (m->hdr.kind == TEL_TRIAL && n == sizeof m->trial) {
        struct tel_trial *tr = &m->trial;
        tr->target[sizeof tr->target - 1] = '\0';
        /* The key is one string here: the fallback looks it up whole. */
        if (tr->generation >= c->tgt.generation && tr->generation <= c->generation &&
            tr->target_id < c->tgt.n)
            t = c->tgt.v[tr->target_id];
        else
            t = ctr_target_find(c, tr->target);
        if (t)
            ctr_breaker_trial(c, t, s->index, tr->trial_epoch);
    } else if (m->hdr.kind == TEL_STATUS && n == sizeof m->status) {
        on_status(s, &m->status);
    }
}

/* Datagrams per recvmmsg call, and calls per wake-up: bounded so one
 * chatty worker cannot starve the loop (the rest waits for the next pass). */
#define RECV_BATCH 32
#define RECV_CALLS 8

void ctr_tel_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct ctr_slot *s = arg;
    union tel_msg m[RECV_BATCH];
    struct iovec iov[RECV_BATCH];
    struct mmsghdr mm[RECV_BATCH];
    for (int call = 0; call < RECV_CALLS; call++) {
        memset(mm, 0, sizeof mm);
        for (int i = 0; i < RECV_BATCH; i++) {
            iov[i] = (struct iovec){ &m[i], sizeof m[i] };
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
        }
        /* One call takes whatever is queued, up to RECV_BATCH: a worker's
         * flush of many messages wakes this once and costs one read. */
        int n = recvmmsg(fd, mm, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EAGAIN, or EOF: the worker is gone and SIGCHLD follows */
        for (int i = 0; i < n; i++) {
            if (mm[i].msg_len == 0)
                return; /* EOF (a worker never sends an empty datagram) */
            on_msg(s, &m[i], mm[i].msg_len);
        }
        if (n < RECV_BATCH)
            return; /* drained; level-triggered, so a later one wakes us */
    }
}

static json_t *health_json(const struct ctr_target *t)
{
    const struct ctr_target_health *h = &t->health;
    json_t *classes = json_object();
    for (int i = 1; i < FAIL__COUNT; i++)
        if (h->by_class[i])
            json_object_set_new(classes, fail_class_name(i), json_integer((json_int_t)h->by_class[i]));
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:s?, s:I, s:I, s:f, s:f, s:I, s:I, s:o}",
                     "provider", t->provider, "model", t->model,
                     "attempts", (json_int_t)h->attempts, "ok", (json_int_t)h->ok,
                     "failures", (json_int_t)h->failures, "last_status", h->last_status,
                     "last_failure", h->last_fail ? fail_class_name(h->last_fail) : NULL,
                     "last_failure_ms", (json_int_t)h->last_fail_wall_ms,
                     "last_ok_ms", (json_int_t)h->last_ok_wall_ms,
                     "latency_ewma_ms", h->latency_ewma_ms, "ttfb_ewma_ms", h->ttfb_ewma_ms,
                     "prompt_tokens", (json_int_t)h->prompt_tokens,
                     "completion_tokens", (json_int_t)h->completion_tokens,
                     "failures_by_class", classes);
}

static json_t *slot_json(const struct ctr_slot *s)
{
    return json_pack("{s:i, s:I, s:s, s:I, s:I, s:i, s:i, s:I, s:i, s:b}",
                     "slot", s->index, "pid", (json_int_t)s->pid,
                     "state", s->pid > 0 ? "running" : "restarting",
                     "started_ms", (json_int_t)s->started_wall_ms,
                     "served", (json_int_t)s->last.served, "in_flight", (int)s->last.in_flight,
                     "connections", (int)s->last.connections,
                     "generation", (json_int_t)s->last.generation,
                     "telemetry_dropped", (int)s->last.dropped, "draining", s->last.draining != 0);
}

static int put_json(struct st_env *st, MDB_txn *txn, enum st_db db, const char *key, json_t *v)
{
    if (!v)
        return -ENOMEM;
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!text)
        return -ENOMEM;
    int rc = st_put(st, txn, db, key, text, strlen(text));
    free(text);
    return rc;
}

static int flush_txn(struct st_env *st, MDB_txn *txn, void *arg)
{
    struct ctr *c = arg;
    int rc;
    for (size_t i = 0; i < c->tgt.n; i++) {
        const struct ctr_target *t = c->tgt.v[i];
        if (t->health.dirty && (rc = put_json(st, txn, ST_DB_HEALTH, t->key, health_json(t))))
            return rc;
    }
    if ((rc = ctr_events_write(c, txn)))
        return rc;
    if (c->workers_dirty) {
        /* Rewritten whole: slots come and go with reloads. */
        if ((rc = mdb_drop(txn, st_dbi(st, ST_DB_WORKERS), 0)))
            return rc > 0 ? -rc : rc;
        for (int i = 0; i < c->nslots; i++) {
            const struct ctr_slot *s = &c->slots[i];
            if (s->state == SLOT_EMPTY)
                continue;
            char key[24];
            snprintf(key, sizeof key, "slot:%02d", i);
            if ((rc = put_json(st, txn, ST_DB_WORKERS, key, slot_json(s))))
                return rc;
        }
    }
    return 0;
}

void ctr_tel_flush(struct ctr *c)
{
    if (!c->health_dirty && !c->workers_dirty)
        return;
    int rc = st_write(c->st, flush_txn, c, false);
    if (rc) {
        log_err("cannot write health state: %s", st_strerror(rc));
        return; /* stays dirty: the next tick tries again */
    }
    for (size_t i = 0; i < c->tgt.n; i++)
        c->tgt.v[i]->health.dirty = false;
    c->health_dirty = c->workers_dirty = false;
    ctr_events_flushed(c);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ctr_tel_flush(arg);
}

int ctr_tel_start(struct ctr *c)
{
    c->flush_ev = event_new(c->base, -1, EV_PERSIST, flush_cb, c);
    struct timeval tv = { 0, FLUSH_MS * 1000 };
    if (!c->flush_ev || event_add(c->flush_ev, &tv) < 0)
        return -ENOMEM;
    return 0;
}

void ctr_tel_free(struct ctr *c)
{
    ctr_events_free(c);
    if (c->flush_ev)
        event_free(c->flush_ev);
    c->flush_ev = NULL;
}

json_t *ctr_tel_health(struct ctr *c, const char *provider, const char *model)
{
    const struct ctr_target *t = ctr_target_find2(c, provider, model);
    return t && t->health.seen ? health_json(t) : NULL;
}
