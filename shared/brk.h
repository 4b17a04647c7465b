/*
 * brk: the circuit breaker of one target.
 *
 * Three parts, in three files with this prefix:
 *   - the record the controller publishes in LMDB and every worker reads
 *     (ST_DB_BREAKERS, key "provider/model"; brk.c names its states).  The
 *     controller is the only writer; a change of any record bumps
 *     ST_KEY_BREAKER_GEN in the same transaction, so a worker re-reads the
 *     table only when it moved.
 *   - the state machine (brk_fsm.c): a pure function
 *     (state, event, now, settings) -> state.  No clock, no I/O: the
 *     controller's shell (controller/ctr_breaker.c) reads the clock, feeds
 *     events, publishes what changed.
 *   - the trial claim words (brk_claim.c): one 64-bit word per target id in
 *     a shared memory region the controller creates and every worker maps;
 *     the first request that reaches a half-open target claims its trial
 *     with a compare-and-swap, on whichever worker.
 */
#ifndef BS_BRK_H
#define BS_BRK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum brk_state {
    BRK_CLOSED = 0,
    BRK_OPEN = 1,       /* no requests until until_wall_ms */
    BRK_HALF_OPEN = 2,  /* exactly one trial per trial_epoch, claimed by the first request */
};

#define BRK_NO_SLOT 0xffff

struct brk_record {
    uint8_t state;            /* enum brk_state */
    uint8_t reason;           /* enum fail_class that opened it (0 when closed) */
    uint16_t trial_slot;      /* half-open: the worker that claimed the trial, BRK_NO_SLOT */
    uint32_t trips;           /* cool-down periods since it last closed; the cool-down
                                 doubles with each (brk_fsm.c) */
    uint64_t trial_epoch;     /* half-open: the trial on offer; unique per grant */
    uint64_t until_wall_ms;   /* open: when the cool-down ends */
    uint64_t changed_wall_ms; /* when the controller last changed this record */
};

#define ST_KEY_BREAKER_GEN "breaker_gen"

const char *brk_state_name(int state);

/* --- the state machine (brk_fsm.c) --------------------------------------- */

#define BRK_BUCKETS 30

/* The breaker section of the config, as the machine needs it. */
struct brk_settings {
    uint32_t consecutive_failures;
    uint32_t error_rate_pct;
    uint32_t min_requests;
    uint64_t window_ms;
    uint64_t cooldown_ms;
    uint64_t cooldown_max_ms;
    uint64_t trial_timeout_ms;  /* a claimed trial that reports nothing by then expires (the
                                   shell passes at least the request deadline: a trial is a
                                   real request and may legitimately run that long) */
};

/* Everything the machine knows of one target.  Plain data, copied by value;
 * its owner (the controller's target table) keeps one per target. */
struct brk_fsm {
    struct brk_record rec;      /* changed_wall_ms is the shell's business */
    uint32_t consec;            /* closed: consecutive counted failures */
    uint64_t period_start_ms;   /* open/half-open: when the current cool-down began */
    uint64_t cool_ms;           /* ... and its length */
    uint64_t claimed_ms;        /* half-open: when the trial was claimed, 0 if not yet */
    uint32_t ok[BRK_BUCKETS], bad[BRK_BUCKETS];
    uint64_t bucket_of[BRK_BUCKETS]; /* the time slot each bucket counts, 0: empty */
};

enum brk_ev_kind {
    BRK_EV_OUTCOME = 1, /* n attempts ended with fail (n > 1 only for successes) */
    BRK_EV_CLAIM,       /* a worker claimed the trial of epoch */
    BRK_EV_TICK,        /* time passed */
    BRK_EV_PROBE_UP,    /* a probe of kind probe succeeded */
    BRK_EV_PROBE_DOWN,  /* the probes found the target down */
    BRK_EV_WORKER_GONE, /* worker `slot` exited: a trial it claimed will never report */
};

/* What a probe exercises, so what its success can speak for. */
enum brk_probe_kind {
    BRK_PROBE_MODELS = 0, /* GET /models or the like: the connection and the server */
    BRK_PROBE_CHAT,       /* a minimal real chat request of the target's model */
};

struct brk_event {
    enum brk_ev_kind kind;
    int fail;             /* OUTCOME: enum fail_class */
    uint32_t n;           /* OUTCOME: how many (0 counts as 1) */
    bool trial;           /* OUTCOME: this attempt was the half-open trial of epoch */
    uint64_t epoch;       /* OUTCOME (trial), CLAIM: the trial meant */
    uint16_t slot;        /* CLAIM: the worker */
    enum brk_probe_kind probe; /* PROBE_UP */
    uint64_t next_epoch;  /* the epoch to use if this step grants a trial; the shell
                             keeps them unique across targets and restarts */
};

enum brk_change {
    BRK_CH_NONE = 0,
    BRK_CH_OPENED,        /* closed -> open */
    BRK_CH_REOPENED,      /* half-open -> open: the trial failed (or probes went down) */
    BRK_CH_HALF_OPEN,     /* open -> half-open: a trial is on offer */
    BRK_CH_RENEWED,       /* half-open: the trial expired or told nothing; a new one */
    BRK_CH_CLAIMED,       /* half-open: the trial was claimed */
    BRK_CH_CLOSED,        /* half-open -> closed: the trial succeeded */
};

struct brk_step {
    struct brk_fsm st;
    enum brk_change change;
    char why[96];         /* for the log: what made it change */
};

/* A closed breaker that has seen nothing. */
void brk_fsm_init(struct brk_fsm *st);
/* The next state.  Pure: the same arguments give the same result. */
struct brk_step brk_fsm_step(const struct brk_fsm *st, const struct brk_event *ev, uint64_t now_ms,
                             const struct brk_settings *s);
/* Whether a probe of this kind exercises what a breaker opened for reason
 * (enum fail_class) saw fail. */
bool brk_fsm_probe_speaks(enum brk_probe_kind probe, int reason);
const char *brk_change_name(enum brk_change ch);

/* --- trial claims (brk_claim.c) ------------------------------------------ */

/* Words in the region: target ids at or beyond it have no claim word (their
 * trials cannot be claimed; cfg limits keep catalogs far below). */
#define BRK_CLAIM_WORDS 65536
#define BRK_CLAIMED (UINT64_C(1) << 63)  /* epochs stay below */

/* The region: created by the controller, mapped by the workers. */
struct brk_claims {
    uint64_t *words;
    size_t n;
};

/* Controller: a memfd of BRK_CLAIM_WORDS words, mapped; fd stays open for
 * the workers to inherit.  0 or -errno. */
int brk_claim_create(struct brk_claims *cl, int *fd);
/* Worker: maps the region behind fd.  0 or -errno. */
int brk_claim_map(struct brk_claims *cl, int fd);
void brk_claim_unmap(struct brk_claims *cl);
/* Controller: offers the trial of epoch on target tid (0: no trial). */
void brk_claim_offer(struct brk_claims *cl, uint32_t tid, uint64_t epoch);
/* Worker: claims the trial of epoch on tid; true for exactly one caller. */
bool brk_claim_take(struct brk_claims *cl, uint32_t tid, uint64_t epoch);
/* Controller: whether the trial of epoch on tid has been claimed. */
bool brk_claim_taken(const struct brk_claims *cl, uint32_t tid, uint64_t epoch);

#endif
