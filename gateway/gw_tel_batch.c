/*
 * gw_tel_batch: what a worker holds back for its controller.  Successful
 * attempts are summed per target over one pass of the event loop and sent
 * as one TEL_OKS message per target at the end of the pass (see
 * shared/tel.h).  Under load a pass finishes many requests, so this replaces
 * a datagram per request, and the controller's work on it, by one per pass;
 * the controller hears of a success no later than before, give or take the
 * callbacks of the same pass.
 *
 * Failover events (TEL_FAILOVER) only feed the event history, which the
 * controller writes every 100 ms, so they wait for the next flush, at most
 * EVENT_HOLD_MS: a request that skipped a target behind an open breaker
 * ends with a success whose flush takes its event along, and the skip costs
 * the worker no system call of its own.  A flush hands everything to one
 * sendmmsg call.
 *
 * The sums are owned by struct gw (gw->telb), allocated on first use and
 * freed by gw_tel_batch_free.  They are indexed by target id (cfg_target.id,
 * which the attempt carries with its catalog generation), grown as ids are
 * met up to MAX_IDS; an attempt beyond it is sent unbatched, so a catalog of
 * any size stays correct and the cost per request stays constant.  A sum
 * holds one generation's id: an attempt of another generation on the same
 * id sends the old sum first.
 */
#include "gw.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "bs_time.h"
#include "fail.h"
#include "log.h"
#include "tel.h"

#define MAX_IDS 4096       /* target ids summed; beyond, attempts go unbatched */
#define EVENTS_MAX 64      /* held failover events; a full queue leaves at once */
#define EVENT_HOLD_MS 50   /* the longest an event waits for a flush */

struct ok_sum {
    bool used;             /* listed in used_at (count may be 0 after a target flush) */
    struct tel_oks msg;    /* its target_id and generation name the sum */
};

struct gw_tel_batch {
    struct gw *gw;
    struct event *flush;       /* active while sums are pending: runs at the end of the pass */
    struct event *hold;        /* timer while events wait and no flush is armed */
    bool armed, hold_armed;
    bool requeued;             /* the flush event went to the back of the queue once */
    size_t used;
    size_t nevents;
    size_t cap;                /* sums allocated: ids below it */
    uint32_t *used_at;         /* the ids in use, so a flush touches only them */
    struct ok_sum *sum;        /* by target id */
    struct iovec *out;         /* one flush's messages: cap + EVENTS_MAX */
    struct tel_failover events[EVENTS_MAX];
};

static void reset_sum(struct ok_sum *e)
{
    e->msg.count = 0;
    e->msg.latency_ms_sum = e->msg.ttfb_ms_sum = 0;
    e->msg.ttfb_count = 0;
    e->msg.prompt_tokens = e->msg.completion_tokens = 0;
}

void gw_tel_flush(struct gw *gw)
{
    struct gw_tel_batch *b = gw->telb;
    if (!b)
        return;
    size_t n = 0;
    for (size_t i = 0; i < b->used; i++) {
        struct ok_sum *e = &b->sum[b->used_at[i]];
        if (e->msg.count)
            b->out[n++] = (struct iovec){ &e->msg, sizeof e->msg };
    }
    for (size_t i = 0; i < b->nevents; i++)
        b->out[n++] = (struct iovec){ &b->events[i], sizeof b->events[i] };
    gw_tel_sendv(gw, b->out, n);
    /* The ids go too, so a catalog that moved on keeps none. */
    for (size_t i = 0; i < b->used; i++) {
        struct ok_sum *e = &b->sum[b->used_at[i]];
        reset_sum(e);
        e->used = false;
    }
    b->used = 0;
    b->nevents = 0;
    /* A flush event still active runs and finds nothing; one armed again
     * in this pass stays queued once (event_active on an active event). */
    b->armed = false;
    if (b->hold_armed) {
        evtimer_del(b->hold);
        b->hold_armed = false;
    }
}

/* The end of the pass (flush) or the end of an event's wait (hold). */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_tel_batch *b = arg;
    gw_tel_flush(b->gw);
}

/* The end of the pass. */
static void on_pass_end(evutil_socket_t fd, short what, void *arg)
{
    struct gw_tel_batch *b = arg;
    if (!b->requeued) {
        /* Once to the back of the queue: the answers of this pass, pushed
         * after their success was summed, leave before the datagram. */
        b->requeued = true;
        event_active(b->flush, EV_TIMEOUT, 1);
        return;
    }
    b->requeued = false;
    on_flush(fd, what, arg);
}

/* Room for ids below n; false when it cannot grow. */
static bool grow(struct gw_tel_batch *b, size_t n)
{
    if (n <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 16;
    while (cap < n)
        cap *= 2;
    struct ok_sum *sum = realloc(b->sum, cap * sizeof *sum);
    if (sum)
        b->sum = sum;
    uint32_t *used_at = realloc(b->used_at, cap * sizeof *used_at);
    if (used_at)
        b->used_at = used_at;
    struct iovec *out = realloc(b->out, (cap + EVENTS_MAX) * sizeof *out);
    if (out)
        b->out = out;
    if (!sum || !used_at || !out)
        return false;
    memset(&b->sum[b->cap], 0, (cap - b->cap) * sizeof *sum);
    b->cap = cap;
    return true;
}

static struct gw_tel_batch *batch_get(struct gw *gw)
{
    if (gw->telb)
        return gw->telb;
    struct gw_tel_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->gw = gw;
    b->flush = event_new(gw->base, -1, 0, on_pass_end, b);
    b->hold = evtimer_new(gw->base, on_flush, b);
    if (!b->flush || !b->hold || !grow(b, 16)) {
        if (b->flush)
            event_free(b->flush);
        if (b->hold)
            event_free(b->hold);
        free(b->sum);
        free(b->used_at);
        free(b->out);
        free(b);
        return NULL;
    }
    gw->telb = b;
    return b;
}

/* The sum of t's target, NULL when there is none (or no room).  With
 * create, one is started if there is room; an id holding another
 * generation's sum is handed back as it is (the caller sends it first). */
static struct ok_sum *find(struct gw_tel_batch *b, const struct tel_attempt *t, bool create)
{
    uint32_t id = t->target_id;
    if (id >= MAX_IDS || (id >= b->cap && (!create || !grow(b, (size_t)id + 1))))
        return NULL;
    struct ok_sum *e = &b->sum[id];
    if (e->used)
        return e;
    if (!create)
        return NULL;
    e->used = true;
    b->used_at[b->used++] = id;
    e->msg.hdr.kind = TEL_OKS;
    e->msg.target_id = id;
    e->msg.generation = t->generation;
    tel_copy(e->msg.provider, sizeof e->msg.provider, t->provider);
    tel_copy(e->msg.model, sizeof e->msg.model, t->model);
    return e;
}

void gw_tel_attempt(struct gw *gw, struct tel_attempt *t)
{
    struct gw_tel_batch *b = batch_get(gw);
    bool batch = b && t->fail == FAIL_NONE && !t->trial;
    struct ok_sum *e = b ? find(b, t, batch) : NULL;
    if (e && e->msg.generation != t->generation) {
        /* The id numbered another target then: that sum leaves first. */
        if (e->msg.count)
            gw_tel_send(gw, &e->msg, sizeof e->msg);
        reset_sum(e);
        e->msg.generation = t->generation;
        tel_copy(e->msg.provider, sizeof e->msg.provider, t->provider);
        tel_copy(e->msg.model, sizeof e->msg.model, t->model);
    }
    if (!batch || !e) {
        /* Keep the order the controller sees for this target: its pending
         * successes first, then this outcome, in one call. */
        struct iovec out[2];
        size_t n = 0;
        if (e && e->msg.count)
            out[n++] = (struct iovec){ &e->msg, sizeof e->msg };
        out[n++] = (struct iovec){ t, sizeof *t };
        gw_tel_sendv(gw, out, n);
        if (e)
            reset_sum(e);
        return;
    }
    e->msg.count++;
    e->msg.wall_ms = t->wall_ms;
    e->msg.status = t->status;
    e->msg.latency_ms_sum += t->latency_ms;
    if (t->ttfb_ms) {
        e->msg.ttfb_ms_sum += t->ttfb_ms;
        e->msg.ttfb_count++;
    }
    e->msg.prompt_tokens += t->prompt_tokens;
    e->msg.completion_tokens += t->completion_tokens;
    if (!b->armed) {
        b->armed = true;
        event_active(b->flush, EV_TIMEOUT, 1);
    }
}

void gw_tel_event(struct gw *gw, struct tel_failover *f)
{
    struct gw_tel_batch *b = batch_get(gw);
    if (!b) {
        gw_tel_send(gw, f, sizeof *f);
        return;
    }
    if (b->nevents == EVENTS_MAX)
        gw_tel_flush(gw);
    b->events[b->nevents++] = *f;
    /* An armed flush takes it at the end of this pass; else the timer
     * bounds its wait, and a success that comes first takes it along. */
    if (!b->armed && !b->hold_armed) {
        struct timeval tv = { 0, EVENT_HOLD_MS * 1000 };
        b->hold_armed = evtimer_add(b->hold, &tv) == 0;
        if (!b->hold_armed)
            gw_tel_flush(gw);
    }
}

void gw_tel_batch_free(struct gw *gw)
{
    struct gw_tel_batch *b = gw->telb;
    if (!b)
        return;
    gw_tel_flush(gw);
    event_free(b->flush);
    event_free(b->hold);
    free(b->sum);
    free(b->used_at);
    free(b->out);
    free(b);
    gw->telb = NULL;
}
