/*
 * gw_att_pace: an attempt's timers, and the commit that switches them from
 * the first-token limit to the idle-stream limit.  A leaf of the attempt's
 * files, so that the native relay, the translated one and the checked one
 * share it without depending on each other.
 */
#include "gw_attempt.h"

#include <event2/event.h>

#include "bs_time.h"
#include "gw_chat.h"

void gw_att_pace_arm(struct gw_attempt *att, int ms)
{
    const struct gw_chat *chat = att->chat;
    uint64_t now = bs_now_us();
    uint64_t at = now + (uint64_t)ms * 1000;
    /* Which limit the timer stands for is decided here: the clock read when
     * it fires may be a hair early. */
    att->timer_is_deadline = at >= chat->deadline_us;
    if (at > chat->deadline_us)
        at = chat->deadline_us;
    uint64_t us = at > now ? at - now : 0;
    struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };
    evtimer_add(att->timer, &tv);
}

int gw_att_pace_commit(struct gw_attempt *att)
{
    if (!att->cont && att->ops->commit(att) < 0)
        return -1;
    att->mode = ATT_RELAY;
    evtimer_del(att->timer);
    gw_att_pace_arm(att, att->chat->cat->cfg->timeouts.idle_stream_ms);
    return 0;
}
