/*
 * gw_admit: target admission, the engine's one answer to "may this target
 * take this request now?".  Every check of a target against a request is
 * here, in order: the provider is enabled (its key is there), the operator
 * has not drained it, and its breaker lets a request through (or grants
 * this one as the half-open trial).  The checks of later policies (the
 * caller's allowed models and regions, budgets, capabilities) belong here
 * too, which is why it gets the request's context.
 *
 * The verdict is composed by a pure function from the facts gathered
 * (gw_admit_judge, table-tested); the breaker is asked last, because its
 * answer may grant this request the trial.
 */
#ifndef BS_GW_ADMIT_H
#define BS_GW_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

struct gw_chat;
struct cfg_target;

enum gw_admit_verdict {
    GW_ADMIT_OK = 0,
    GW_ADMIT_DISABLED,       /* provider disabled: no key */
    GW_ADMIT_DRAINED,        /* drained by the operator */
    GW_ADMIT_BREAKER,        /* breaker open, or its half-open trial is elsewhere */
};

/* What is known of the target for this request. */
struct gw_admit_facts {
    bool enabled;
    bool drained;
    bool breaker_checked;    /* false: the breaker has not been asked yet */
    bool breaker_allows;
};

struct gw_admission {
    enum gw_admit_verdict verdict;
    uint64_t trial_epoch;    /* non-zero: admitted as the breaker's half-open trial */
    uint64_t retry_at;       /* GW_ADMIT_BREAKER: wall ms when the cool-down ends, 0 if unknown */
};

/* The verdict from the facts; GW_ADMIT_OK with breaker_checked false means
 * "ask the breaker". */
enum gw_admit_verdict gw_admit_judge(const struct gw_admit_facts *f);
/* Admits target t (of chat's chain) for chat now. */
void gw_admit(const struct gw_chat *chat, const struct cfg_target *t, struct gw_admission *out);
/* The reason as the failover header, the events and the all-down answer spell it. */
const char *gw_admit_reason(enum gw_admit_verdict v);

#endif
