/*
 * ctr_events: the failover event history.  Workers report every switch of
 * a request from one target to another; the controller queues them and
 * writes them with the next telemetry flush, keyed by time so that ctl and
 * drills read them in order, and trims the oldest past events.max_history.
 */
#include "ctr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"
#include "log.h"

#define QUEUE_MAX 4096

struct ctr_events {
    json_t *queue[QUEUE_MAX];
    uint64_t qtime[QUEUE_MAX];
    int n;
    uint32_t seq;
    uint64_t dropped;
    size_t stored;               /* entries in the database during a write */
};

static struct ctr_events *events(struct ctr *c)
{
    if (!c->events)
        c->events = calloc(1, sizeof *c->events);
    return c->events;
}

void ctr_events_add(struct ctr *c, int slot, const struct tel_failover *f)
{
    struct ctr_events *e = events(c);
    if (!e)
        return;
    if (e->n == QUEUE_MAX) {
        /* A flood between two flushes: count the loss, never block. */
        e->dropped++;
        return;
    }
    const char *reason = f->fail == TEL_REASON_BREAKER   ? "breaker_open"
                         : f->fail == TEL_REASON_DRAINED ? "drained"
                                                         : fail_class_name(f->fail);
    json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "ts_ms", (json_int_t)f->wall_ms,
                          "request_id", f->request_id, "chain", f->chain, "from", f->from, "to", f->to,
                          "reason", reason, "added_ms", (int)f->added_ms, "worker", slot);
    if (!j)
        return;
    e->queue[e->n] = j;
    e->qtime[e->n] = f->wall_ms;
    e->n++;
    c->health_dirty = true; /* rides on the next flush */
}

static int count_stored(struct ctr *c, MDB_txn *txn, struct ctr_events *e)
{
    MDB_stat ms;
    int rc = mdb_stat(txn, st_dbi(c->st, ST_DB_EVENTS), &ms);
    if (rc)
        return rc > 0 ? -rc : rc;
    e->stored = ms.ms_entries;
    return 0;
}

static int trim(struct ctr *c, MDB_txn *txn, struct ctr_events *e)
{
    size_t max = (size_t)c->cfg->events.max_history;
    if (e->stored <= max)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st_dbi(c->st, ST_DB_EVENTS), &cur);
    if (rc)
        return rc > 0 ? -rc : rc;
    MDB_val k, v;
    while (e->stored > max && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
        e->stored--;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : (rc > 0 ? -rc : rc);
}

/* Runs inside the telemetry flush transaction. */
int ctr_events_write(struct ctr *c, MDB_txn *txn)
{
    struct ctr_events *e = c->events;
    if (!e || (e->n == 0 && !e->dropped))
        return 0;
    /* Counted afresh in every transaction: st_write may run this twice
     * (after growing the map), and nothing may carry over from a try. */
    int rc = count_stored(c, txn, e);
    if (rc)
        return rc;
    for (int i = 0; i < e->n; i++) {
        /* Big-endian time then sequence: LMDB's byte order is time order. */
        unsigned char key[12];
        uint64_t t = e->qtime[i];
        uint32_t s = e->seq + (uint32_t)i;
        for (int b = 0; b < 8; b++)
            key[b] = (unsigned char)(t >> (56 - 8 * b));
        for (int b = 0; b < 4; b++)
            key[8 + b] = (unsigned char)(s >> (24 - 8 * b));
        char *text = json_dumps(e->queue[i], JSON_COMPACT);
        if (!text)
            return -12;
        MDB_val k = { sizeof key, key }, v = { strlen(text), text };
        rc = mdb_put(txn, st_dbi(c->st, ST_DB_EVENTS), &k, &v, 0);
        free(text);
        if (rc)
            return rc > 0 ? -rc : rc;
        e->stored++;
    }
    return trim(c, txn, e);
}

/* After a committed flush: the queue is on disk. */
void ctr_events_flushed(struct ctr *c)
{
    struct ctr_events *e = c->events;
    if (!e)
        return;
    if (e->dropped)
        log_warn("%llu failover event(s) dropped: more than %d between two flushes",
                 (unsigned long long)e->dropped, QUEUE_MAX);
    for (int i = 0; i < e->n; i++)
        json_decref(e->queue[i]);
    e->seq += (uint32_t)e->n;
    e->n = 0;
    e->dropped = 0;
}

void ctr_events_free(struct ctr *c)
{
    struct ctr_events *e = c->events;
    if (!e)
        return;
    for (int i = 0; i < e->n; i++)
        json_decref(e->queue[i]);
    free(e);
    c->events = NULL;
}
