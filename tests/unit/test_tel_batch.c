/*
 * test_tel_batch: the worker's telemetry batching (gateway/gw_tel_batch.c,
 * gw_tel.c) on a real SOCK_SEQPACKET socketpair and a real event loop: what
 * the controller's end receives, in which order, and when.
 */
#include "gw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fail.h"
#include "tel.h"
#include "unit.h"

union msg {
    struct tel_hdr hdr;
    struct tel_attempt attempt;
    struct tel_oks oks;
    struct tel_failover failover;
};

static int peer = -1;

/* Every datagram waiting at the controller's end, up to max. */
static int drain(union msg *out, size_t *len, int max)
{
    int n = 0;
    while (n < max) {
        ssize_t r = recv(peer, &out[n], sizeof out[n], MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len[n++] = (size_t)r;
    }
    return n;
}

static uint64_t generation = 7;

/* Target ids of the catalog the test pretends to run: "up" is 0, "other" 1,
 * anything else 5000, beyond what is summed. */
static uint32_t id_of(const char *provider)
{
    return strcmp(provider, "up") == 0 ? 0 : strcmp(provider, "other") == 0 ? 1 : 5000;
}

static void attempt(struct gw *gw, const char *provider, enum fail_class fail, uint32_t latency_ms)
{
    struct tel_attempt t;
    memset(&t, 0, sizeof t);
    t.hdr.kind = TEL_ATTEMPT;
    t.target_id = id_of(provider);
    t.generation = generation;
    t.fail = (uint16_t)fail;
    t.status = fail == FAIL_NONE ? 200 : 503;
    t.latency_ms = latency_ms;
    t.ttfb_ms = latency_ms / 2;
    t.prompt_tokens = 3;
    t.completion_tokens = 5;
    tel_copy(t.provider, sizeof t.provider, provider);
    tel_copy(t.model, sizeof t.model, "m1");
    gw_tel_attempt(gw, &t);
}

static void event(struct gw *gw, const char *request_id, int reason)
{
    struct tel_failover f;
    memset(&f, 0, sizeof f);
    f.hdr.kind = TEL_FAILOVER;
    f.wall_ms = 1234;
    f.fail = (uint16_t)reason;
    tel_copy(f.chain, sizeof f.chain, "chat");
    tel_copy(f.from, sizeof f.from, "dead/m1");
    tel_copy(f.to, sizeof f.to, "up/m1");
    tel_copy(f.request_id, sizeof f.request_id, request_id);
    gw_tel_event(gw, &f);
}

static bool is_event(const union msg *m, size_t len, const char *request_id)
{
    return len == sizeof m->failover && m->hdr.kind == TEL_FAILOVER && m->hdr.version == TEL_VERSION &&
           m->hdr.pid == 4242 && strcmp(m->failover.request_id, request_id) == 0 &&
           m->failover.fail == TEL_REASON_BREAKER && strcmp(m->failover.from, "dead/m1") == 0 &&
           strcmp(m->failover.to, "up/m1") == 0 && strcmp(m->failover.chain, "chat") == 0 &&
           m->failover.wall_ms == 1234;
}

static bool is_oks(const union msg *m, size_t len, const char *provider, uint32_t count)
{
    return len == sizeof m->oks && m->hdr.kind == TEL_OKS && m->hdr.pid == 4242 &&
           strcmp(m->oks.provider, provider) == 0 && m->oks.count == count &&
           m->oks.target_id == id_of(provider) && m->oks.generation == generation;
}

int main(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
        perror("socketpair");
        return 1;
    }
    peer = sv[1];
    struct gw gw;
    memset(&gw, 0, sizeof gw);
    gw.base = event_base_new();
    gw.tel_fd = sv[0];
    gw.pid = 4242;
    gw.access_fd = -1;
    CHECK(gw.base != NULL);
    union msg *m = calloc(1024, sizeof *m);
    size_t len[1024];

    /* A skip, then the success of the same request: both leave at the end
     * of the pass, the sum first, and not before. */
    event(&gw, "r1", TEL_REASON_BREAKER);
    attempt(&gw, "up", FAIL_NONE, 10);
    attempt(&gw, "up", FAIL_NONE, 20);
    CHECK(drain(m, len, 1024) == 0);
    event_base_loop(gw.base, EVLOOP_NONBLOCK);
    int n = drain(m, len, 1024);
    CHECK(n == 2);
    CHECK(is_oks(&m[0], len[0], "up", 2));
    CHECK(m[0].oks.latency_ms_sum == 30 && m[0].oks.ttfb_ms_sum == 15 && m[0].oks.ttfb_count == 2);
    CHECK(m[0].oks.prompt_tokens == 6 && m[0].oks.completion_tokens == 10);
    CHECK(is_event(&m[1], len[1], "r1"));
    /* Nothing is left armed: a blocking pass returns at once. */
    CHECK(event_base_loop(gw.base, EVLOOP_ONCE) == 1);

    /* An event alone waits for a flush, then for its timer. */
    event(&gw, "r2", TEL_REASON_BREAKER);
    event_base_loop(gw.base, EVLOOP_NONBLOCK);
    CHECK(drain(m, len, 1024) == 0);
    CHECK(event_base_loop(gw.base, EVLOOP_ONCE) == 0);
    n = drain(m, len, 1024);
    CHECK(n == 1 && is_event(&m[0], len[0], "r2"));
    CHECK(event_base_loop(gw.base, EVLOOP_ONCE) == 1);

    /* A held event rides with the success that comes in a later pass, and
     * the timer goes with it. */
    event(&gw, "r3", TEL_REASON_BREAKER);
    event_base_loop(gw.base, EVLOOP_NONBLOCK);
    attempt(&gw, "up", FAIL_NONE, 10);
    event_base_loop(gw.base, EVLOOP_NONBLOCK);
    n = drain(m, len, 1024);
    CHECK(n == 2 && is_oks(&m[0], len[0], "up", 1) && is_event(&m[1], len[1], "r3"));
    CHECK(event_base_loop(gw.base, EVLOOP_ONCE) == 1);

    /* A failure goes at once, after its target's pending sum (which is not
     * sent twice); another target's sum waits for the end of the pass. */
    attempt(&gw, "other", FAIL_NONE, 7);
    attempt(&gw, "up", FAIL_NONE, 10);
    attempt(&gw, "up", FAIL_SERVER, 10);
    n = drain(m, len, 1024);
    CHECK(n == 2 && is_oks(&m[0], len[0], "up", 1));
    CHECK(n == 2 && len[1] == sizeof m[1].attempt && m[1].hdr.kind == TEL_ATTEMPT &&
          m[1].attempt.fail == FAIL_SERVER && m[1].hdr.pid == 4242);
    event_base_loop(gw.base, EVLOOP_NONBLOCK);
    n = drain(m, len, 1024);
    CHECK(n == 1 && is_oks(&m[0], len[0], "other", 1));

    /* A success after a flush that came early in the pass (a full queue,
     * a drain) still leaves at the end of the pass. */
    attempt(&gw, "up", FAIL_NONE, 10);
    gw_tel_flush(&gw);
    attempt(&gw, "up", FAIL_NONE, 10);
    n = drain(m, len, 1024);
    CHECK(n == 1 && is_oks(&m[0], len[0], "up", 1));
    event_base_loop(gw.base, EVLOOP_NONBLOCK);
    n = drain(m, len, 1024);
    CHECK(n == 1 && is_oks(&m[0], len[0], "up", 1));
    CHECK(event_base_loop(gw.base, EVLOOP_ONCE) == 1);

    /* A full queue of events leaves at once, in order. */
    char rid[32];
    for (int i = 0; i < 65; i++) {
        snprintf(rid, sizeof rid, "q%d", i);
        event(&gw, rid, TEL_REASON_BREAKER);
    }
    n = drain(m, len, 1024);
    CHECK(n == 64);
    bool in_order = n == 64;
    for (int i = 0; i < n && in_order; i++) {
        snprintf(rid, sizeof rid, "q%d", i);
        in_order = is_event(&m[i], len[i], rid);
    }
    CHECK(in_order);
    gw_tel_flush(&gw);
    n = drain(m, len, 1024);
    CHECK(n == 1 && is_event(&m[0], len[0], "q64"));

    /* A channel the controller does not read: what does not fit is
     * dropped and counted, never blocks, and nothing is lost unaccounted. */
    uint32_t dropped0 = gw.tel_dropped;
    int sent = 0;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 64; i++, sent++) {
            snprintf(rid, sizeof rid, "d%d", sent);
            event(&gw, rid, TEL_REASON_BREAKER);
        }
        gw_tel_flush(&gw);
    }
    int got = 0;
    while ((n = drain(m, len, 1024)) > 0)
        got += n;
    CHECK(gw.tel_dropped > dropped0);
    CHECK((uint32_t)got + (gw.tel_dropped - dropped0) == (uint32_t)sent);

    /* Sums are by target id within a generation: an attempt of a new
     * generation on the same id sends the old sum first; an id beyond
     * what is summed goes unbatched. */
    attempt(&gw, "up", FAIL_NONE, 10);
    attempt(&gw, "up", FAIL_NONE, 10);
    generation = 8;
    attempt(&gw, "up", FAIL_NONE, 10);
    n = drain(m, len, 1024);
    CHECK(n == 1 && len[0] == sizeof m[0].oks && m[0].oks.generation == 7 && m[0].oks.count == 2);
    event_base_loop(gw.base, EVLOOP_NONBLOCK);
    n = drain(m, len, 1024);
    CHECK(n == 1 && is_oks(&m[0], len[0], "up", 1));
    attempt(&gw, "far", FAIL_NONE, 10);
    n = drain(m, len, 1024);
    CHECK(n == 1 && len[0] == sizeof m[0].attempt && m[0].attempt.target_id == 5000 &&
          m[0].attempt.fail == FAIL_NONE);
    CHECK(event_base_loop(gw.base, EVLOOP_ONCE) == 1);

    /* Freeing the batch sends what it holds. */
    event(&gw, "last", TEL_REASON_BREAKER);
    attempt(&gw, "up", FAIL_NONE, 1);
    gw_tel_batch_free(&gw);
    n = drain(m, len, 1024);
    CHECK(n == 2 && is_oks(&m[0], len[0], "up", 1) && is_event(&m[1], len[1], "last"));
    CHECK(gw.telb == NULL);

    free(m);
    event_base_free(gw.base);
    close(sv[0]);
    close(sv[1]);
    UNIT_END("tel_batch");
}
