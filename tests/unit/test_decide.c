/* Table tests of the request engine's decision point (gateway/gw_decide.h):
 * explicit rows of (situation -> step), then properties that must hold over
 * every combination of the inputs that matter. */
#include <stdio.h>
#include <string.h>

#include "gw_decide.h"
#include "unit.h"

/* A failed attempt of a fresh request with time and retries to spare, on a
 * chain whose action for the class is `act`. */
static struct gw_decide_in base(enum fail_class f, long status, enum cfg_action act)
{
    return (struct gw_decide_in){
        .event = GW_EV_ATTEMPT_END, .fail = f, .status = status, .action = act,
        .deadline_left_ms = 60000, .max_retries = 2, .retry_after_ms = -1,
        .retry_after_cap_ms = 5000, .backoff_ms = 100, .repair_max = 1,
    };
}

enum { R, F, T }; /* retry, failover, return: short names for the rows */
static const enum cfg_action acts[] = { [R] = CFG_ACT_RETRY, [F] = CFG_ACT_FAILOVER, [T] = CFG_ACT_RETURN };

/* Modifiers applied to base() by a row. */
#define M_GONE       0x0001u
#define M_COMMITTED  0x0002u
#define M_RACING     0x0004u
#define M_LATE       0x0008u
#define M_LOST       0x0010u
#define M_CONT       0x0020u
#define M_RETRIED    0x0040u  /* retries == max_retries */
#define M_RA_LONG    0x0080u  /* Retry-After over the cap */
#define M_RA_SHORT   0x0100u  /* Retry-After 300 ms */
#define M_TIGHT      0x0200u  /* 50 ms left of the deadline */
#define M_REPAIRED   0x0400u  /* repair_same == repair_max */
#define M_NOREPAIR   0x0800u  /* repair_max 0 */

struct row {
    const char *what;
    enum fail_class fail;
    long status;
    int act;
    unsigned mods;
    unsigned blocked;
    enum gw_step want;
    enum gw_final final;
    long delay;            /* -1: not checked */
};

#define B(s) GW_BLOCKED(GW_STEP_##s)
#define S(s) GW_STEP_##s
#define FN(f) GW_FINAL_##f

static const struct row rows[] = {
    { "success answers", FAIL_NONE, 200, R, 0, 0, S(ANSWER), FN(NONE), -1 },
    { "success of a committed stream answers", FAIL_NONE, 200, F, M_COMMITTED, 0, S(ANSWER), FN(NONE), -1 },
    { "success while racing answers", FAIL_NONE, 200, F, M_RACING, 0, S(ANSWER), FN(NONE), -1 },
    { "success after the deadline still answers", FAIL_NONE, 200, F, M_LATE, 0, S(ANSWER), FN(NONE), -1 },
    { "a lost racer waits", FAIL_HEDGED, 0, F, M_LOST, 0, S(WAIT), FN(NONE), -1 },
    { "a lost racer waits even when the client left", FAIL_HEDGED, 0, F, M_LOST | M_GONE, 0, S(WAIT), FN(NONE), -1 },
    { "a failed racer leaves it to the other", FAIL_SERVER, 503, F, M_RACING, 0, S(WAIT), FN(NONE), -1 },
    { "a failed racer with the client gone gives up", FAIL_CANCELLED, 0, F, M_RACING | M_GONE, 0, S(GIVE_UP), FN(CANCELLED), -1 },
    { "client gone: cancelled", FAIL_CANCELLED, 0, F, M_GONE, 0, S(GIVE_UP), FN(CANCELLED), -1 },
    { "client gone mid-stream: cancelled", FAIL_CANCELLED, 0, F, M_GONE | M_COMMITTED, 0, S(GIVE_UP), FN(CANCELLED), -1 },
    { "client gone beats a success", FAIL_NONE, 200, F, M_GONE, 0, S(GIVE_UP), FN(CANCELLED), -1 },
    { "503 with failover", FAIL_SERVER, 503, F, 0, 0, S(FAILOVER), FN(NONE), -1 },
    { "503 with retry", FAIL_SERVER, 503, R, 0, 0, S(RETRY), FN(NONE), 100 },
    { "503 retry: Retry-After wins over back-off", FAIL_SERVER, 503, R, M_RA_SHORT, 0, S(RETRY), FN(NONE), 300 },
    { "503 retry: Retry-After over the cap fails over", FAIL_SERVER, 503, R, M_RA_LONG, 0, S(FAILOVER), FN(NONE), -1 },
    { "503 retry: no retries left fails over", FAIL_SERVER, 503, R, M_RETRIED, 0, S(FAILOVER), FN(NONE), -1 },
    { "503 retry: back-off past the deadline fails over", FAIL_SERVER, 503, R, M_TIGHT, 0, S(FAILOVER), FN(NONE), -1 },
    { "503 retry: Retry-After past the deadline fails over", FAIL_SERVER, 503, R, M_TIGHT | M_RA_SHORT, 0, S(FAILOVER), FN(NONE), -1 },
    { "503 retry blocked fails over", FAIL_SERVER, 503, R, 0, B(RETRY), S(FAILOVER), FN(NONE), -1 },
    { "503 retry and failover blocked: all failed", FAIL_SERVER, 503, R, 0, B(RETRY) | B(FAILOVER), S(GIVE_UP), FN(ALL_FAILED), -1 },
    { "503 no target left: all failed", FAIL_SERVER, 503, F, 0, B(FAILOVER), S(GIVE_UP), FN(ALL_FAILED), -1 },
    { "503 after the deadline: all failed", FAIL_SERVER, 503, R, M_LATE, 0, S(GIVE_UP), FN(ALL_FAILED), -1 },
    { "503 with return: as is", FAIL_SERVER, 503, T, 0, 0, S(GIVE_UP), FN(AS_IS), -1 },
    { "connect failure with return moves on", FAIL_CONNECT, 0, T, 0, 0, S(FAILOVER), FN(NONE), -1 },
    { "connect failure with return, nothing left", FAIL_CONNECT, 0, T, 0, B(FAILOVER), S(GIVE_UP), FN(ALL_FAILED), -1 },
    { "connect failure retried", FAIL_CONNECT, 0, R, 0, 0, S(RETRY), FN(NONE), 100 },
    { "429 retried after Retry-After", FAIL_RATE_LIMIT, 429, R, M_RA_SHORT, 0, S(RETRY), FN(NONE), 300 },
    { "429 Retry-After too long fails over", FAIL_RATE_LIMIT, 429, R, M_RA_LONG, 0, S(FAILOVER), FN(NONE), -1 },
    { "401 fails over", FAIL_AUTH, 401, F, 0, 0, S(FAILOVER), FN(NONE), -1 },
    { "400 client error returned", FAIL_CLIENT, 400, T, 0, 0, S(GIVE_UP), FN(AS_IS), -1 },
    { "context length fails over to a larger target", FAIL_CONTEXT, 400, F, 0, 0, S(FAILOVER), FN(NONE), -1 },
    { "context length, none larger: as is", FAIL_CONTEXT, 400, F, 0, B(FAILOVER), S(GIVE_UP), FN(AS_IS), -1 },
    { "context length without a status, none left", FAIL_CONTEXT, 0, F, 0, B(FAILOVER), S(GIVE_UP), FN(ALL_FAILED), -1 },
    { "context length after the deadline: as is", FAIL_CONTEXT, 400, F, M_LATE, 0, S(GIVE_UP), FN(AS_IS), -1 },
    { "deadline: never retried", FAIL_DEADLINE, 0, R, 0, 0, S(GIVE_UP), FN(ALL_FAILED), -1 },
    { "deadline: never failed over", FAIL_DEADLINE, 0, F, 0, 0, S(GIVE_UP), FN(ALL_FAILED), -1 },
    { "first-token timeout fails over", FAIL_FIRST_TOKEN_TIMEOUT, 0, F, 0, 0, S(FAILOVER), FN(NONE), -1 },
    { "stream cut after commit continues", FAIL_STREAM_CUT, 200, F, M_COMMITTED | M_CONT, 0, S(CONTINUE), FN(NONE), -1 },
    { "stream cut after commit, not continuable", FAIL_STREAM_CUT, 200, F, M_COMMITTED, 0, S(GIVE_UP), FN(STREAM_BROKEN), -1 },
    { "stream cut, continuation finds no target", FAIL_STREAM_CUT, 200, F, M_COMMITTED | M_CONT, B(CONTINUE), S(GIVE_UP), FN(STREAM_BROKEN), -1 },
    { "stream cut after the deadline: broken", FAIL_STREAM_CUT, 200, F, M_COMMITTED | M_CONT | M_LATE, 0, S(GIVE_UP), FN(STREAM_BROKEN), -1 },
    { "deadline mid-stream: broken, not continued", FAIL_DEADLINE, 200, F, M_COMMITTED | M_CONT, 0, S(GIVE_UP), FN(STREAM_BROKEN), -1 },
    { "committed stream is never retried", FAIL_IDLE_TIMEOUT, 200, R, M_COMMITTED, 0, S(GIVE_UP), FN(STREAM_BROKEN), -1 },
    { "committed stream is never returned as is", FAIL_STREAM_ERROR, 200, T, M_COMMITTED, 0, S(GIVE_UP), FN(STREAM_BROKEN), -1 },
    { "stream error before commit fails over", FAIL_STREAM_ERROR, 200, F, 0, 0, S(FAILOVER), FN(NONE), -1 },
    { "invalid answer: corrective retry", FAIL_INVALID_RESPONSE, 200, F, 0, 0, S(REPAIR), FN(NONE), -1 },
    { "invalid answer: retries spent, next target", FAIL_INVALID_RESPONSE, 200, F, M_REPAIRED, 0, S(REPAIR_FAILOVER), FN(NONE), -1 },
    { "invalid answer: no corrective retries configured", FAIL_INVALID_RESPONSE, 200, F, M_NOREPAIR, 0, S(REPAIR_FAILOVER), FN(NONE), -1 },
    { "invalid answer: same target not admitted", FAIL_INVALID_RESPONSE, 200, F, 0, B(REPAIR), S(REPAIR_FAILOVER), FN(NONE), -1 },
    { "invalid answer: nothing left", FAIL_INVALID_RESPONSE, 200, F, M_REPAIRED, B(REPAIR_FAILOVER), S(GIVE_UP), FN(REPAIR_EXHAUSTED), -1 },
    { "invalid answer after the deadline", FAIL_INVALID_RESPONSE, 200, F, M_LATE, 0, S(GIVE_UP), FN(REPAIR_EXHAUSTED), -1 },
    { "invalid answer mid-stream", FAIL_INVALID_RESPONSE, 200, F, M_COMMITTED, 0, S(GIVE_UP), FN(INVALID_STREAM), -1 },
    { "invalid answer: the chain's action does not matter", FAIL_INVALID_RESPONSE, 200, T, 0, 0, S(REPAIR), FN(NONE), -1 },
    { "bad response fails over", FAIL_BAD_RESPONSE, 200, F, 0, 0, S(FAILOVER), FN(NONE), -1 },
    { "internal failure fails over", FAIL_INTERNAL, 0, F, 0, 0, S(FAILOVER), FN(NONE), -1 },
};

static struct gw_decide_in from_row(const struct row *r)
{
    struct gw_decide_in in = base(r->fail, r->status, acts[r->act]);
    in.client_gone = r->mods & M_GONE;
    in.committed = r->mods & M_COMMITTED;
    in.racing = r->mods & M_RACING;
    in.deadline_passed = r->mods & M_LATE;
    in.lost = r->mods & M_LOST;
    in.cont_possible = r->mods & M_CONT;
    if (r->mods & M_RETRIED)
        in.retries = in.max_retries;
    if (r->mods & M_RA_LONG)
        in.retry_after_ms = 9000;
    if (r->mods & M_RA_SHORT)
        in.retry_after_ms = 300;
    if (r->mods & M_TIGHT)
        in.deadline_left_ms = 50;
    if (r->mods & M_LATE)
        in.deadline_left_ms = 0;
    if (r->mods & M_REPAIRED)
        in.repair_same = in.repair_max;
    if (r->mods & M_NOREPAIR)
        in.repair_max = 0;
    in.blocked = r->blocked;
    return in;
}

static void test_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        struct gw_decide_in in = from_row(r);
        struct gw_decision d = gw_decide(&in);
        bool ok = d.step == r->want && d.final == r->final && (r->delay < 0 || d.delay_ms == r->delay);
        if (!ok)
            fprintf(stderr, "row '%s': got %s/%s delay %ld, want %s/%s delay %ld\n", r->what,
                    gw_step_name(d.step), gw_final_name(d.final), d.delay_ms, gw_step_name(r->want),
                    gw_final_name(r->final), r->delay);
        CHECK(ok);
    }
}

/* Retries: the wait, Retry-After and the deadline interplay, row by row. */
static void test_retry_waits(void)
{
    static const struct {
        int retries, max;
        long ra, cap, backoff;
        uint64_t left;
        enum gw_step want;
        long delay;
    } t[] = {
        { 0, 2, -1, 5000, 0, 1000, GW_STEP_RETRY, 0 },
        { 0, 2, -1, 5000, 999, 1000, GW_STEP_RETRY, 999 },
        { 0, 2, -1, 5000, 1000, 1000, GW_STEP_FAILOVER, -1 },   /* would end exactly at the deadline */
        { 0, 2, -1, 5000, 1001, 1000, GW_STEP_FAILOVER, -1 },
        { 1, 2, -1, 5000, 10, 1000, GW_STEP_RETRY, 10 },
        { 2, 2, -1, 5000, 10, 1000, GW_STEP_FAILOVER, -1 },
        { 3, 2, -1, 5000, 10, 1000, GW_STEP_FAILOVER, -1 },
        { 0, 0, -1, 5000, 10, 1000, GW_STEP_FAILOVER, -1 },     /* max_retries 0: never */
        { 0, 2, 0, 5000, 800, 1000, GW_STEP_RETRY, 0 },         /* Retry-After: 0 means now */
        { 0, 2, 5000, 5000, 10, 60000, GW_STEP_RETRY, 5000 },   /* at the cap: waited */
        { 0, 2, 5001, 5000, 10, 60000, GW_STEP_FAILOVER, -1 },  /* over it: not */
        { 0, 2, 2000, 5000, 10, 2000, GW_STEP_FAILOVER, -1 },   /* Retry-After to the deadline */
        { 0, 2, 1999, 5000, 10, 2000, GW_STEP_RETRY, 1999 },
        { 0, 2, -1, 5000, -5, 1000, GW_STEP_RETRY, 0 },         /* a negative back-off is no wait */
        { 0, 2, -1, 5000, 10, 0, GW_STEP_FAILOVER, -1 },        /* nothing left: no retry */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct gw_decide_in in = base(FAIL_RATE_LIMIT, 429, CFG_ACT_RETRY);
        in.retries = t[i].retries;
        in.max_retries = t[i].max;
        in.retry_after_ms = t[i].ra;
        in.retry_after_cap_ms = t[i].cap;
        in.backoff_ms = t[i].backoff;
        in.deadline_left_ms = t[i].left;
        struct gw_decision d = gw_decide(&in);
        bool ok = d.step == t[i].want && (t[i].delay < 0 || d.delay_ms == t[i].delay);
        if (!ok)
            fprintf(stderr, "retry row %zu: got %s delay %ld\n", i, gw_step_name(d.step), d.delay_ms);
        CHECK(ok);
    }
}

static void test_backoff_cap(void)
{
    static const struct { int base, max, retries; long want; } t[] = {
        { 100, 2000, 0, 100 }, { 100, 2000, 1, 200 }, { 100, 2000, 2, 400 }, { 100, 2000, 3, 800 },
        { 100, 2000, 4, 1600 }, { 100, 2000, 5, 2000 }, { 100, 2000, 30, 2000 }, { 100, 100, 3, 100 },
        { 300, 200, 0, 200 }, { 0, 2000, 5, 0 }, { 1, 1000000, 10, 1024 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        CHECK(gw_decide_backoff_cap(t[i].base, t[i].max, t[i].retries) == t[i].want);
}

static void test_hedge_timer(void)
{
    /* Only a request whose first attempt is still silent, alone, in
     * budget and in time is hedged. */
    for (unsigned m = 0; m < 256; m++) {
        struct gw_decide_in in = { .event = GW_EV_HEDGE_TIMER, .deadline_left_ms = 1000 };
        in.client_gone = m & 1;
        in.committed = m & 2;
        in.racing = m & 4;
        in.continuing = m & 8;
        in.primary_waiting = !(m & 16);
        in.hedge_budget_left = !(m & 32);
        in.deadline_passed = m & 64;
        in.blocked = (m & 128) ? GW_BLOCKED(GW_STEP_HEDGE) : 0;
        struct gw_decision d = gw_decide(&in);
        CHECK(d.step == (m == 0 ? GW_STEP_HEDGE : GW_STEP_WAIT));
    }
}

/* Properties over every combination of the inputs that steer the decision. */
static void test_properties(void)
{
    static const enum fail_class fails[] = {
        FAIL_NONE, FAIL_CONNECT, FAIL_SERVER, FAIL_RATE_LIMIT, FAIL_CONTEXT, FAIL_CLIENT, FAIL_AUTH,
        FAIL_STREAM_CUT, FAIL_STREAM_ERROR, FAIL_DEADLINE, FAIL_CANCELLED, FAIL_INVALID_RESPONSE,
        FAIL_FIRST_TOKEN_TIMEOUT, FAIL_HEDGED,
    };
    static const long statuses[] = { 0, 200, 429, 503 };
    static const long ras[] = { -1, 300, 9000 };
    static const uint64_t lefts[] = { 0, 50, 60000 };
    unsigned all_blocked = GW_BLOCKED(GW_STEP_RETRY) | GW_BLOCKED(GW_STEP_FAILOVER) |
                           GW_BLOCKED(GW_STEP_CONTINUE) | GW_BLOCKED(GW_STEP_REPAIR) |
                           GW_BLOCKED(GW_STEP_REPAIR_FAILOVER);
    long n = 0, bad = 0;
    for (size_t fi = 0; fi < sizeof fails / sizeof fails[0]; fi++)
    for (size_t si = 0; si < sizeof statuses / sizeof statuses[0]; si++)
    for (int a = 0; a < 3; a++)
    for (unsigned flags = 0; flags < 64; flags++)
    for (size_t ri = 0; ri < sizeof ras / sizeof ras[0]; ri++)
    for (size_t li = 0; li < sizeof lefts / sizeof lefts[0]; li++)
    for (unsigned bl = 0; bl < 32; bl++) {
        struct gw_decide_in in = base(fails[fi], statuses[si], acts[a]);
        in.client_gone = flags & 1;
        in.committed = flags & 2;
        in.racing = flags & 4;
        in.deadline_passed = flags & 8;
        in.cont_possible = flags & 16;
        in.lost = flags & 32;
        in.retry_after_ms = ras[ri];
        in.deadline_left_ms = in.deadline_passed ? 0 : lefts[li];
        in.blocked = 0;
        static const enum gw_step bsteps[] = { GW_STEP_RETRY, GW_STEP_FAILOVER, GW_STEP_CONTINUE,
                                               GW_STEP_REPAIR, GW_STEP_REPAIR_FAILOVER };
        for (int b = 0; b < 5; b++)
            if (bl & (1u << b))
                in.blocked |= GW_BLOCKED(bsteps[b]);
        struct gw_decision d = gw_decide(&in);
        n++;
        bool starts = d.step == GW_STEP_RETRY || d.step == GW_STEP_FAILOVER || d.step == GW_STEP_CONTINUE ||
                      d.step == GW_STEP_REPAIR || d.step == GW_STEP_REPAIR_FAILOVER || d.step == GW_STEP_HEDGE;
        bool ok = true;
        /* A blocked step is never asked for again: the engine's loop ends. */
        ok &= !(in.blocked & GW_BLOCKED(d.step));
        /* Giving up always says how; nothing else carries a final. */
        ok &= (d.step == GW_STEP_GIVE_UP) == (d.final != GW_FINAL_NONE);
        /* Nothing starts for a client that left, a lost racer, or after the deadline. */
        if (in.client_gone || in.lost || in.deadline_passed || in.fail == FAIL_DEADLINE)
            ok &= !starts;
        /* Only a success answers; a success is never retried. */
        ok &= (d.step == GW_STEP_ANSWER) == (in.fail == FAIL_NONE && !in.client_gone && !in.lost);
        /* A started stream is never retried, failed over, repaired or returned as is. */
        if (in.committed)
            ok &= d.step != GW_STEP_RETRY && d.step != GW_STEP_FAILOVER && d.step != GW_STEP_REPAIR &&
                  d.step != GW_STEP_REPAIR_FAILOVER && d.final != GW_FINAL_AS_IS &&
                  d.final != GW_FINAL_ALL_FAILED;
        /* ... and continued only when it can be. */
        if (d.step == GW_STEP_CONTINUE)
            ok &= in.committed && in.cont_possible;
        /* A retry's wait fits in the deadline and respects the cap. */
        if (d.step == GW_STEP_RETRY)
            ok &= (uint64_t)d.delay_ms < in.deadline_left_ms && d.delay_ms <= in.retry_after_cap_ms &&
                  in.action == CFG_ACT_RETRY && in.retries < in.max_retries;
        /* An answer as is needs an upstream answer. */
        if (d.final == GW_FINAL_AS_IS)
            ok &= in.status > 0;
        /* Everything blocked and nothing to answer: the request gives up
         * (or waits for its other racer). */
        if (in.blocked == all_blocked && in.fail != FAIL_NONE)
            ok &= d.step == GW_STEP_GIVE_UP || d.step == GW_STEP_WAIT;
        if (!ok && bad++ < 10)
            fprintf(stderr, "property broken: fail %s status %ld act %d flags %#x ra %ld left %llu "
                            "blocked %#x -> %s/%s\n", fail_class_name(in.fail), in.status, a, flags,
                    in.retry_after_ms, (unsigned long long)in.deadline_left_ms, in.blocked,
                    gw_step_name(d.step), gw_final_name(d.final));
        CHECK(ok);
    }
    printf("properties checked over %ld combinations\n", n);
}

static void test_names(void)
{
    for (int s = 0; s < GW_STEP__COUNT; s++)
        CHECK(strcmp(gw_step_name((enum gw_step)s), "unknown") != 0);
    CHECK(strcmp(gw_step_name(GW_STEP__COUNT), "unknown") == 0);
    CHECK(strcmp(gw_final_name(GW_FINAL_REPAIR_EXHAUSTED), "repair_exhausted") == 0);
    CHECK(strcmp(gw_final_name((enum gw_final)99), "unknown") == 0);
}

int main(void)
{
    test_rows();
    test_retry_waits();
    test_backoff_cap();
    test_hedge_timer();
    test_properties();
    test_names();
    UNIT_END("decide");
}
