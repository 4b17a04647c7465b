/* gw_decide: what a chat request does next (gw_decide.h). */
#include "gw_decide.h"

static struct gw_decision step(enum gw_step s)
{
    return (struct gw_decision){ .step = s };
}

static struct gw_decision give_up(enum gw_final f)
{
    return (struct gw_decision){ .step = GW_STEP_GIVE_UP, .final = f };
}

static bool blocked(const struct gw_decide_in *in, enum gw_step s)
{
    return (in->blocked & GW_BLOCKED(s)) != 0;
}

long gw_decide_backoff_cap(int base_ms, int max_ms, int retries)
{
    long cap = base_ms;
    for (int i = 0; i < retries && cap < max_ms; i++)
        cap *= 2;
    return cap > max_ms ? max_ms : cap;
}

/* How long to wait before retrying the same target, or -1 when a retry is
 * not worth it: no retries left, a Retry-After over the cap (the provider
 * will not be back soon enough: fail over instead of sleeping), or a wait
 * that does not fit in the deadline. */
static long retry_wait(const struct gw_decide_in *in)
{
    if (in->retries >= in->max_retries)
        return -1;
    long wait = in->retry_after_ms;
    if (wait > in->retry_after_cap_ms)
        return -1;
    if (wait < 0)
        wait = in->backoff_ms < 0 ? 0 : in->backoff_ms;
    if ((uint64_t)wait >= in->deadline_left_ms)
        return -1;
    return wait;
}

static struct gw_decision on_hedge_timer(const struct gw_decide_in *in)
{
    if (in->client_gone || in->committed || in->racing || in->continuing || !in->primary_waiting ||
        !in->hedge_budget_left || in->deadline_passed || blocked(in, GW_STEP_HEDGE))
        return step(GW_STEP_WAIT);
    return step(GW_STEP_HEDGE);
}

/* An answer broke the request's contract (gw_repair.h). */
static struct gw_decision on_invalid(const struct gw_decide_in *in)
{
    /* Text already reached the client: a retry would repeat it. */
    if (in->committed)
        return give_up(GW_FINAL_INVALID_STREAM);
    if (in->deadline_passed)
        return give_up(GW_FINAL_REPAIR_EXHAUSTED);
    if (in->repair_same < in->repair_max && !blocked(in, GW_STEP_REPAIR))
        return step(GW_STEP_REPAIR);
    if (!blocked(in, GW_STEP_REPAIR_FAILOVER))
        return step(GW_STEP_REPAIR_FAILOVER);
    return give_up(GW_FINAL_REPAIR_EXHAUSTED);
}

static struct gw_decision on_failure(const struct gw_decide_in *in)
{
    bool late = in->deadline_passed || in->fail == FAIL_DEADLINE;
    if (in->committed) {
        /* The client has part of the answer: only a continuation can
         * still make it whole. */
        if (in->cont_possible && !late && !blocked(in, GW_STEP_CONTINUE))
            return step(GW_STEP_CONTINUE);
        return give_up(GW_FINAL_STREAM_BROKEN);
    }
    /* "return" needs an upstream answer to return; without one (a
     * transport failure configured so) the chain moves on. */
    if (in->action == CFG_ACT_RETURN && in->status > 0)
        return give_up(GW_FINAL_AS_IS);
    if (in->action == CFG_ACT_RETRY && !late && !blocked(in, GW_STEP_RETRY)) {
        long wait = retry_wait(in);
        if (wait >= 0)
            return (struct gw_decision){ .step = GW_STEP_RETRY, .delay_ms = wait };
    }
    if (!late && !blocked(in, GW_STEP_FAILOVER))
        return step(GW_STEP_FAILOVER);
    /* Nothing left to try.  A context-length refusal is the request's to
     * fix when no larger target exists: the client gets it as is. */
    if (in->fail == FAIL_CONTEXT && in->status > 0)
        return give_up(GW_FINAL_AS_IS);
    return give_up(GW_FINAL_ALL_FAILED);
}

static struct gw_decision on_start(const struct gw_decide_in *in)
{
    if (in->client_gone)
        return give_up(GW_FINAL_CANCELLED);
    if (!in->deadline_passed && !blocked(in, GW_STEP_FAILOVER))
        return step(GW_STEP_FAILOVER);
    return give_up(GW_FINAL_ALL_FAILED);
}

/* The back-off is over: the retry goes now, unless it cannot (the target's
 * breaker opened meanwhile, the operator drained it): then the failure
 * that led to it decides, with no answer left to return as is. */
static struct gw_decision on_retry_due(const struct gw_decide_in *in)
{
    if (in->client_gone)
        return give_up(GW_FINAL_CANCELLED);
    if (!in->deadline_passed && !blocked(in, GW_STEP_RETRY))
        return step(GW_STEP_RETRY);
    struct gw_decide_in after = *in;
    after.status = 0;
    after.committed = false;
    after.blocked |= GW_BLOCKED(GW_STEP_RETRY);
    return on_failure(&after);
}

struct gw_decision gw_decide(const struct gw_decide_in *in)
{
    if (in->event == GW_EV_HEDGE_TIMER)
        return on_hedge_timer(in);
    if (in->event == GW_EV_START)
        return on_start(in);
    if (in->event == GW_EV_RETRY_DUE)
        return on_retry_due(in);
    if (in->lost)
        return step(GW_STEP_WAIT);
    /* One racer failed: the other goes on alone, and decides. */
    if (in->racing && in->fail != FAIL_NONE && !in->client_gone)
        return step(GW_STEP_WAIT);
    if (in->client_gone)
        return give_up(GW_FINAL_CANCELLED);
    if (in->fail == FAIL_NONE)
        return step(GW_STEP_ANSWER);
    if (in->fail == FAIL_INVALID_RESPONSE)
        return on_invalid(in);
    return on_failure(in);
}

const char *gw_step_name(enum gw_step s)
{
    static const char *const names[GW_STEP__COUNT] = {
        [GW_STEP_ANSWER] = "answer",        [GW_STEP_RETRY] = "retry",
        [GW_STEP_FAILOVER] = "failover",    [GW_STEP_CONTINUE] = "continue",
        [GW_STEP_REPAIR] = "repair",        [GW_STEP_REPAIR_FAILOVER] = "repair_failover",
        [GW_STEP_HEDGE] = "hedge",          [GW_STEP_WAIT] = "wait",
        [GW_STEP_GIVE_UP] = "give_up",
    };
    return (unsigned)s < GW_STEP__COUNT ? names[s] : "unknown";
}

const char *gw_final_name(enum gw_final f)
{
    switch (f) {
    case GW_FINAL_NONE: return "none";
    case GW_FINAL_CANCELLED: return "cancelled";
    case GW_FINAL_AS_IS: return "as_is";
    case GW_FINAL_ALL_FAILED: return "all_failed";
    case GW_FINAL_STREAM_BROKEN: return "stream_broken";
    case GW_FINAL_INVALID_STREAM: return "invalid_stream";
    case GW_FINAL_REPAIR_EXHAUSTED: return "repair_exhausted";
    }
    return "unknown";
}
