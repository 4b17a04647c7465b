/*
 * test_brk_fsm: the breaker's pure state machine (shared/brk_fsm.c), driven
 * by tables of event sequences: each step is (time, event) and what the
 * state must be after it.  Families of cases are generated over settings
 * and failure classes; the expectations come from the rules, not from
 * running the machine.
 */
#include "brk.h"

#include <string.h>

#include "fail.h"
#include "unit.h"

static uint64_t epoch_seq;

static struct brk_settings S(uint32_t consec, uint64_t cool, uint64_t cool_max, uint64_t trial)
{
    return (struct brk_settings){ .consecutive_failures = consec, .error_rate_pct = 50,
                                  .min_requests = 10, .window_ms = 30000, .cooldown_ms = cool,
                                  .cooldown_max_ms = cool_max, .trial_timeout_ms = trial };
}

/* One step; the machine gets a fresh epoch each time, as the shell gives. */
static struct brk_step step(struct brk_fsm *st, struct brk_event ev, uint64_t now,
                            const struct brk_settings *s)
{
    ev.next_epoch = ++epoch_seq;
    struct brk_step r = brk_fsm_step(st, &ev, now, s);
    *st = r.st;
    return r;
}

static struct brk_event outcome(int fail) { return (struct brk_event){ .kind = BRK_EV_OUTCOME, .fail = fail, .n = 1 }; }
static struct brk_event oks(uint32_t n) { return (struct brk_event){ .kind = BRK_EV_OUTCOME, .fail = FAIL_NONE, .n = n }; }
static struct brk_event trial(int fail, uint64_t epoch)
{
    return (struct brk_event){ .kind = BRK_EV_OUTCOME, .fail = fail, .n = 1, .trial = true, .epoch = epoch };
}
static struct brk_event claim(uint64_t epoch) { return (struct brk_event){ .kind = BRK_EV_CLAIM, .epoch = epoch, .slot = 1 }; }
static struct brk_event tick(void) { return (struct brk_event){ .kind = BRK_EV_TICK }; }
static struct brk_event probe_up(enum brk_probe_kind k) { return (struct brk_event){ .kind = BRK_EV_PROBE_UP, .probe = k }; }

/* --- a hand-written table of sequences --------------------------------------- */

struct row {
    uint64_t t;
    struct brk_event ev;
    int state;          /* expected after the step */
    enum brk_change change;
    int64_t until;      /* expected until_wall_ms when open, -1: not checked */
    int trips;          /* -1: not checked */
};

#define END { 0, { 0 }, -1, 0, 0, 0 }
/* The trial epoch on offer, patched in by run(): an event with epoch 1
 * means "the current one", 2 "the previous one". */
#define CUR 1
#define OLD 2

struct seq {
    const char *name;
    struct brk_settings s;
    struct row rows[16];
};

static const struct seq seqs[] = {
    { "three 503s open, cool-down ends, trial succeeds", { 3, 50, 10, 30000, 1000, 8000, 500 }, {
        { 0, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 10, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 20, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_OPENED, 1020, 1 },
        { 500, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_NONE, 1020, 1 },
        { 1019, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_NONE, 1020, 1 },
        { 1020, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_HALF_OPEN, -1, 1 },
        { 5000, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_NONE, -1, 1 },
        { 5001, { BRK_EV_CLAIM, 0, 0, 0, CUR, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_CLAIMED, -1, 1 },
        { 5002, { BRK_EV_OUTCOME, FAIL_NONE, 1, 1, CUR, 0, 0, 0 }, BRK_CLOSED, BRK_CH_CLOSED, -1, 0 },
        END } },
    { "a success between failures resets the count", { 3, 50, 10, 30000, 1000, 8000, 500 }, {
        { 0, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 1, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 2, { BRK_EV_OUTCOME, FAIL_NONE, 5, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 3, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 4, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 5, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_OPENED, 1005, 1 },
        END } },
    { "the request's own faults never count", { 2, 50, 10, 30000, 1000, 8000, 500 }, {
        { 0, { BRK_EV_OUTCOME, FAIL_CLIENT, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 1, { BRK_EV_OUTCOME, FAIL_CANCELLED, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 2, { BRK_EV_OUTCOME, FAIL_CLIENT, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        END } },
    { "half-open: stale outcomes and a foreign trial change nothing", { 1, 50, 10, 30000, 1000, 8000, 500 }, {
        { 0, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_OPENED, 1000, 1 },
        { 10, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_NONE, 1000, 1 },
        { 20, { BRK_EV_OUTCOME, FAIL_NONE, 1, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_NONE, 1000, 1 },
        { 1000, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_HALF_OPEN, -1, 1 },
        { 1001, { BRK_EV_OUTCOME, FAIL_NONE, 1, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_NONE, -1, 1 },
        { 1002, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 1, OLD, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_NONE, -1, 1 },
        { 1003, { BRK_EV_CLAIM, 0, 0, 0, OLD, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_NONE, -1, 1 },
        { 1004, { BRK_EV_CLAIM, 0, 0, 0, CUR, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_CLAIMED, -1, 1 },
        { 1005, { BRK_EV_CLAIM, 0, 0, 0, CUR, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_NONE, -1, 1 },
        { 1006, { BRK_EV_OUTCOME, FAIL_CLIENT, 1, 1, CUR, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_RENEWED, -1, 1 },
        { 1007, { BRK_EV_CLAIM, 0, 0, 0, CUR, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_CLAIMED, -1, 1 },
        { 1100, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 1, CUR, 0, 0, 0 }, BRK_OPEN, BRK_CH_REOPENED, 3100, 2 },
        END } },
    { "a claimed trial expires after trial_timeout_ms", { 1, 50, 10, 30000, 1000, 8000, 300 }, {
        { 0, { BRK_EV_OUTCOME, FAIL_CONNECT, 1, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_OPENED, 1000, 1 },
        { 1000, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_HALF_OPEN, -1, 1 },
        { 1500, { BRK_EV_CLAIM, 0, 0, 0, CUR, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_CLAIMED, -1, 1 },
        { 1799, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_NONE, -1, 1 },
        { 1800, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_RENEWED, -1, 1 },
        { 1801, { BRK_EV_OUTCOME, FAIL_NONE, 1, 1, OLD, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_NONE, -1, 1 },
        { 9000, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_NONE, -1, 1 },
        { 9001, { BRK_EV_CLAIM, 0, 0, 0, CUR, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_CLAIMED, -1, 1 },
        { 9002, { BRK_EV_OUTCOME, FAIL_NONE, 1, 1, CUR, 0, 0, 0 }, BRK_CLOSED, BRK_CH_CLOSED, -1, 0 },
        END } },
    { "the issue's run: models probe cannot speak for 503s, no escalation", { 3, 50, 10, 30000, 30000, 300000, 1000 }, {
        { 0, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 1, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 2, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_OPENED, 30002, 1 },
        { 100, { BRK_EV_PROBE_UP, 0, 0, 0, 0, 0, BRK_PROBE_MODELS, 0 }, BRK_OPEN, BRK_CH_NONE, 30002, 1 },
        { 1100, { BRK_EV_PROBE_UP, 0, 0, 0, 0, 0, BRK_PROBE_MODELS, 0 }, BRK_OPEN, BRK_CH_NONE, 30002, 1 },
        { 30002, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_HALF_OPEN, -1, 1 },
        END } },
    { "a chat probe speaks for 503s; its early trial failing does not double", { 3, 50, 10, 30000, 30000, 300000, 1000 }, {
        { 0, { BRK_EV_OUTCOME, FAIL_SERVER, 3, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_OPENED, 30000, 1 },
        { 2000, { BRK_EV_PROBE_UP, 0, 0, 0, 0, 0, BRK_PROBE_CHAT, 0 }, BRK_HALF_OPEN, BRK_CH_HALF_OPEN, -1, 1 },
        { 2100, { BRK_EV_CLAIM, 0, 0, 0, CUR, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_CLAIMED, -1, 1 },
        { 2200, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 1, CUR, 0, 0, 0 }, BRK_OPEN, BRK_CH_REOPENED, 30000, 1 },
        { 4000, { BRK_EV_PROBE_UP, 0, 0, 0, 0, 0, BRK_PROBE_CHAT, 0 }, BRK_HALF_OPEN, BRK_CH_HALF_OPEN, -1, 1 },
        { 4100, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 1, CUR, 0, 0, 0 }, BRK_OPEN, BRK_CH_REOPENED, 30000, 1 },
        { 30000, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_HALF_OPEN, -1, 1 },
        { 30100, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 1, CUR, 0, 0, 0 }, BRK_OPEN, BRK_CH_REOPENED, 90100, 2 },
        END } },
    { "probes down: closed opens, half-open reopens, open stays", { 3, 50, 10, 30000, 1000, 8000, 500 }, {
        { 0, { BRK_EV_PROBE_UP, 0, 0, 0, 0, 0, BRK_PROBE_MODELS, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 5, { BRK_EV_PROBE_DOWN, 0, 0, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_OPENED, 1005, 1 },
        { 6, { BRK_EV_PROBE_DOWN, 0, 0, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_NONE, 1005, 1 },
        { 500, { BRK_EV_PROBE_UP, 0, 0, 0, 0, 0, BRK_PROBE_MODELS, 0 }, BRK_HALF_OPEN, BRK_CH_HALF_OPEN, -1, 1 },
        { 600, { BRK_EV_PROBE_DOWN, 0, 0, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_REOPENED, 1005, 1 },
        { 1005, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_HALF_OPEN, BRK_CH_HALF_OPEN, -1, 1 },
        { 1010, { BRK_EV_PROBE_DOWN, 0, 0, 0, 0, 0, 0, 0 }, BRK_OPEN, BRK_CH_REOPENED, 3010, 2 },
        END } },
    { "closed ignores trial outcomes that arrive late", { 1, 50, 10, 30000, 1000, 8000, 500 }, {
        { 0, { BRK_EV_OUTCOME, FAIL_SERVER, 1, 1, 77, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 1, { BRK_EV_TICK, 0, 0, 0, 0, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        { 2, { BRK_EV_CLAIM, 0, 0, 0, 77, 0, 0, 0 }, BRK_CLOSED, BRK_CH_NONE, -1, 0 },
        END } },
};

static void run_seq(const struct seq *q)
{
    struct brk_fsm st;
    brk_fsm_init(&st);
    uint64_t cur = 0, old = 0;
    for (const struct row *r = q->rows; r->state >= 0; r++) {
        struct brk_event ev = r->ev;
        if (ev.epoch == CUR)
            ev.epoch = cur;
        else if (ev.epoch == OLD)
            ev.epoch = old;
        struct brk_step s = step(&st, ev, r->t, &q->s);
        if (st.rec.state == BRK_HALF_OPEN && st.rec.trial_epoch != cur) {
            old = cur;
            cur = st.rec.trial_epoch;
        }
        int ok = s.st.rec.state == r->state && s.change == r->change &&
                 (r->until < 0 || (int64_t)s.st.rec.until_wall_ms == r->until) &&
                 (r->trips < 0 || (int)s.st.rec.trips == r->trips);
        if (!ok)
            fprintf(stderr, "%s, step at %llu: state %s change %s until %llu trips %u\n", q->name,
                    (unsigned long long)r->t, brk_state_name(s.st.rec.state),
                    brk_change_name(s.change), (unsigned long long)s.st.rec.until_wall_ms,
                    s.st.rec.trips);
        CHECK(ok);
    }
}

/* --- generated families ------------------------------------------------------ */

/* N-1 failures of a soft counted class keep it closed, the Nth opens. */
static void consecutive_family(void)
{
    const int soft[] = { FAIL_SERVER, FAIL_RATE_LIMIT, FAIL_CONNECT, FAIL_CONNECT_TIMEOUT,
                         FAIL_FIRST_TOKEN_TIMEOUT, FAIL_STREAM_CUT, FAIL_STREAM_ERROR };
    for (uint32_t n = 1; n <= 12; n++)
        for (size_t k = 0; k < sizeof soft / sizeof soft[0]; k++) {
            if (fail_is_hard(soft[k]) || !fail_counts_against_health(soft[k]))
                continue;
            struct brk_settings s = S(n, 700, 5000, 100);
            s.min_requests = 100000; /* the rate trip out of the way */
            struct brk_fsm st;
            brk_fsm_init(&st);
            for (uint32_t i = 1; i < n; i++)
                step(&st, outcome(soft[k]), i, &s);
            CHECK(st.rec.state == BRK_CLOSED);
            struct brk_step r = step(&st, outcome(soft[k]), n, &s);
            CHECK(r.change == BRK_CH_OPENED && st.rec.reason == soft[k] &&
                  st.rec.until_wall_ms == n + 700 && st.rec.trips == 1);
        }
}

/* Per failure class: hard ones open at once, uncounted ones never. */
static void class_family(void)
{
    for (int c = 0; c < FAIL__COUNT; c++) {
        struct brk_settings s = S(1000, 1000, 1000, 100);
        s.min_requests = 100000;
        struct brk_fsm st;
        brk_fsm_init(&st);
        struct brk_step r = step(&st, outcome(c), 5, &s);
        bool counts = c != FAIL_NONE && fail_counts_against_health(c);
        if (counts && fail_is_hard(c))
            CHECK(r.change == BRK_CH_OPENED && st.rec.reason == c);
        else
            CHECK(r.change == BRK_CH_NONE && st.rec.state == BRK_CLOSED);
        if (!counts) {
            for (int i = 0; i < 200; i++)
                step(&st, outcome(c), 10 + (uint64_t)i, &s);
            CHECK(st.rec.state == BRK_CLOSED && st.consec == 0);
        }
    }
}

/* Failed trials after full cool-downs double it, capped. */
static void doubling_family(void)
{
    const uint64_t bases[] = { 10, 100, 600, 1000, 30000 };
    const uint64_t maxes[] = { 1, 3, 4, 10, 1000 };
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++)
        for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
            uint64_t base = bases[b], max = bases[b] * maxes[m];
            struct brk_settings s = S(1, base, max, 100);
            struct brk_fsm st;
            brk_fsm_init(&st);
            uint64_t now = 1000;
            step(&st, outcome(FAIL_SERVER), now, &s);
            uint64_t cool = base;
            CHECK(st.rec.until_wall_ms == now + cool);
            for (int k = 1; k <= 8; k++) {
                now = st.rec.until_wall_ms;
                step(&st, tick(), now, &s);
                CHECK(st.rec.state == BRK_HALF_OPEN);
                step(&st, claim(st.rec.trial_epoch), now + 1, &s);
                struct brk_step r = step(&st, trial(FAIL_SERVER, st.rec.trial_epoch), now + 2, &s);
                cool = cool * 2 > max ? max : cool * 2;
                CHECK(r.change == BRK_CH_REOPENED && st.rec.until_wall_ms == now + 2 + cool &&
                      st.rec.trips == (uint32_t)k + 1);
            }
        }
}

/* Any number of early trials failing in one period doubles nothing; the
 * first failed trial after the period has run doubles once. */
static void early_trial_family(void)
{
    for (int early = 1; early <= 6; early++)
        for (int kind = BRK_PROBE_MODELS; kind <= BRK_PROBE_CHAT; kind++) {
            struct brk_settings s = S(1, 10000, 1000000, 500);
            struct brk_fsm st;
            brk_fsm_init(&st);
            int reason = kind == BRK_PROBE_CHAT ? FAIL_SERVER : FAIL_CONNECT;
            step(&st, outcome(reason), 0, &s);
            for (int i = 0; i < early; i++) {
                uint64_t t = 1000 + (uint64_t)i * 1000;
                struct brk_step r = step(&st, probe_up((enum brk_probe_kind)kind), t, &s);
                CHECK(r.change == BRK_CH_HALF_OPEN);
                step(&st, claim(st.rec.trial_epoch), t + 10, &s);
                r = step(&st, trial(reason, st.rec.trial_epoch), t + 20, &s);
                CHECK(r.change == BRK_CH_REOPENED && st.rec.until_wall_ms == 10000 &&
                      st.rec.trips == 1 && st.cool_ms == 10000);
            }
            step(&st, tick(), 10000, &s);
            CHECK(st.rec.state == BRK_HALF_OPEN);
            step(&st, trial(reason, st.rec.trial_epoch), 10050, &s);
            CHECK(st.rec.state == BRK_OPEN && st.rec.until_wall_ms == 30050 && st.rec.trips == 2);
        }
}

/* Which probe may end which open state early. */
static void probe_family(void)
{
    for (int c = 1; c < FAIL__COUNT; c++)
        for (int kind = BRK_PROBE_MODELS; kind <= BRK_PROBE_CHAT; kind++) {
            bool conn = c == FAIL_CONNECT || c == FAIL_DNS || c == FAIL_TLS ||
                        c == FAIL_CONNECT_TIMEOUT || c == FAIL_FIRST_TOKEN_TIMEOUT || c == FAIL_PROBE;
            bool speaks = kind == BRK_PROBE_CHAT || conn;
            CHECK(brk_fsm_probe_speaks((enum brk_probe_kind)kind, c) == speaks);
            struct brk_settings s = S(1, 5000, 5000, 100);
            struct brk_fsm st;
            brk_fsm_init(&st);
            st.rec.state = BRK_OPEN; /* opened by c, whatever c is */
            st.rec.reason = (uint8_t)c;
            st.rec.trips = 1;
            st.cool_ms = 5000;
            st.rec.until_wall_ms = 5000;
            struct brk_step r = step(&st, probe_up((enum brk_probe_kind)kind), 100, &s);
            CHECK(r.change == (speaks ? BRK_CH_HALF_OPEN : BRK_CH_NONE));
        }
}

/* Trial expiry over timeouts: not a millisecond early, renewed on time, an
 * unclaimed trial waits for ever. */
static void expiry_family(void)
{
    const uint64_t timeouts[] = { 10, 100, 300, 1000, 5000, 60000 };
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++)
        for (uint64_t claim_at = 0; claim_at <= 4000; claim_at += 1000) {
            uint64_t to = timeouts[i];
            struct brk_settings s = S(1, 100, 100, to);
            struct brk_fsm st;
            brk_fsm_init(&st);
            step(&st, outcome(FAIL_SERVER), 0, &s);
            step(&st, tick(), 100, &s);
            uint64_t e1 = st.rec.trial_epoch;
            step(&st, tick(), 100 + claim_at + 1000000, &s); /* unclaimed: waits */
            CHECK(st.rec.state == BRK_HALF_OPEN && st.rec.trial_epoch == e1);
            uint64_t c = 2000000 + claim_at;
            step(&st, claim(e1), c, &s);
            struct brk_step r = step(&st, tick(), c + to - 1, &s);
            CHECK(r.change == BRK_CH_NONE && st.rec.trial_epoch == e1);
            r = step(&st, tick(), c + to, &s);
            CHECK(r.change == BRK_CH_RENEWED && st.rec.trial_epoch != e1 && !st.claimed_ms);
            r = step(&st, trial(FAIL_NONE, e1), c + to + 1, &s);
            CHECK(r.change == BRK_CH_NONE && st.rec.state == BRK_HALF_OPEN);
            r = step(&st, claim(e1), c + to + 2, &s);
            CHECK(r.change == BRK_CH_NONE);
            r = step(&st, claim(st.rec.trial_epoch), c + to + 3, &s);
            CHECK(r.change == BRK_CH_CLAIMED);
            r = step(&st, trial(FAIL_NONE, st.rec.trial_epoch), c + to + 4, &s);
            CHECK(r.change == BRK_CH_CLOSED && st.rec.trips == 0 && st.rec.reason == 0);
        }
}

/* A worker that exits with a claimed trial: only its own claim is offered
 * again, at once; another worker's exit, or one before the claim, changes
 * nothing. */
static void worker_gone_family(void)
{
    for (uint16_t claimer = 0; claimer < 4; claimer++)
        for (uint16_t gone = 0; gone < 4; gone++) {
            struct brk_settings s = S(1, 100, 100, 600000);
            struct brk_fsm st;
            brk_fsm_init(&st);
            step(&st, outcome(FAIL_SERVER), 0, &s);
            step(&st, tick(), 100, &s);
            uint64_t e1 = st.rec.trial_epoch;
            struct brk_event w = { .kind = BRK_EV_WORKER_GONE, .slot = gone };
            struct brk_step r = step(&st, w, 150, &s);       /* not claimed yet */
            CHECK(r.change == BRK_CH_NONE && st.rec.trial_epoch == e1);
            struct brk_event c = { .kind = BRK_EV_CLAIM, .epoch = e1, .slot = claimer };
            step(&st, c, 200, &s);
            r = step(&st, w, 300, &s);
            if (gone == claimer) {
                CHECK(r.change == BRK_CH_RENEWED && st.rec.trial_epoch != e1 && !st.claimed_ms &&
                      st.rec.trial_slot == BRK_NO_SLOT && st.rec.state == BRK_HALF_OPEN);
                /* the dead trial's late outcome says nothing */
                r = step(&st, trial(FAIL_NONE, e1), 400, &s);
                CHECK(r.change == BRK_CH_NONE && st.rec.state == BRK_HALF_OPEN);
            } else {
                CHECK(r.change == BRK_CH_NONE && st.rec.trial_epoch == e1 && st.claimed_ms);
            }
            /* A claim learnt from the shared word names no worker: no exit
             * can be blamed for it, the deadline expiry covers it. */
            brk_fsm_init(&st);
            step(&st, outcome(FAIL_SERVER), 0, &s);
            step(&st, tick(), 100, &s);
            struct brk_event anon = { .kind = BRK_EV_CLAIM, .epoch = st.rec.trial_epoch, .slot = BRK_NO_SLOT };
            step(&st, anon, 200, &s);
            r = step(&st, w, 300, &s);
            CHECK(r.change == BRK_CH_NONE && st.claimed_ms);
            /* Closed and open breakers ignore exits. */
            brk_fsm_init(&st);
            CHECK(step(&st, w, 10, &s).change == BRK_CH_NONE);
            step(&st, outcome(FAIL_SERVER), 20, &s);
            CHECK(step(&st, w, 30, &s).change == BRK_CH_NONE && st.rec.state == BRK_OPEN);
        }
}

/* The error rate over the window: every other request failing. */
static void rate_family(void)
{
    const uint32_t pcts[] = { 10, 25, 50, 75 };
    const uint32_t mins[] = { 2, 4, 10, 20 };
    for (size_t p = 0; p < 4; p++)
        for (size_t m = 0; m < 4; m++) {
            struct brk_settings s = S(1000, 1000, 1000, 100);
            s.error_rate_pct = pcts[p];
            s.min_requests = mins[m];
            struct brk_fsm st;
            brk_fsm_init(&st);
            /* fail, ok, fail, ok...: the rate after the i-th event (1-based,
             * odd ones failing) is ceil(i/2)/i. */
            int opened_at = 0;
            for (uint32_t i = 1; i <= 40 && !opened_at; i++) {
                bool bad = i % 2 == 1;
                struct brk_step r = step(&st, outcome(bad ? FAIL_SERVER : FAIL_NONE), i, &s);
                if (r.change == BRK_CH_OPENED)
                    opened_at = (int)i;
            }
            int want = 0;
            for (uint32_t i = 1; i <= 40 && !want; i++)
                if (i % 2 == 1 && i >= mins[m] && ((i + 1) / 2) * 100 >= pcts[p] * i)
                    want = (int)i;
            CHECK(opened_at == want);
        }
}

/* Failures older than the window no longer count. */
static void window_family(void)
{
    for (uint64_t w = 3000; w <= 30000; w += 3000) {
        struct brk_settings s = S(1000, 1000, 1000, 100);
        s.window_ms = w;
        s.min_requests = 4;
        struct brk_fsm st;
        brk_fsm_init(&st);
        for (int i = 0; i < 3; i++)
            step(&st, outcome(FAIL_SERVER), (uint64_t)i, &s);
        CHECK(st.rec.state == BRK_CLOSED);
        step(&st, oks(3), 2 * w, &s); /* the failures are out of the window now */
        struct brk_step r = step(&st, outcome(FAIL_SERVER), 2 * w + 1, &s);
        CHECK(r.change == BRK_CH_NONE); /* 1 of 4: 25 % */
        r = step(&st, outcome(FAIL_SERVER), 2 * w + 2, &s);
        r = step(&st, outcome(FAIL_SERVER), 2 * w + 3, &s);
        CHECK(r.change == BRK_CH_OPENED); /* 3 of 6 */
    }
}

/* Same arguments, same result; the input is never written. */
static void purity(void)
{
    struct brk_settings s = S(2, 100, 400, 50);
    struct brk_fsm st;
    brk_fsm_init(&st);
    for (int i = 0; i < 50; i++) {
        struct brk_event ev = i % 3 ? outcome(FAIL_SERVER) : tick();
        ev.next_epoch = 1000 + (uint64_t)i;
        struct brk_fsm before = st;
        struct brk_step a = brk_fsm_step(&st, &ev, (uint64_t)i * 37, &s);
        struct brk_step b = brk_fsm_step(&st, &ev, (uint64_t)i * 37, &s);
        CHECK(memcmp(&before, &st, sizeof st) == 0);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
        st = a.st;
        if (st.rec.state == BRK_HALF_OPEN && !st.claimed_ms) {
            ev = claim(st.rec.trial_epoch);
            st = brk_fsm_step(&st, &ev, (uint64_t)i * 37 + 1, &s).st;
        }
    }
}

int main(void)
{
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
        run_seq(&seqs[i]);
    consecutive_family();
    class_family();
    doubling_family();
    early_trial_family();
    probe_family();
    expiry_family();
    worker_gone_family();
    rate_family();
    window_family();
    purity();
    UNIT_END("brk_fsm");
}
