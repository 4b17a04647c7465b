/*
 * gw_retry: when and how long to wait before trying the same target again.
 * Exponential back-off with full jitter (a random wait between 0 and the
 * exponential cap, so retries of many clients do not synchronise), unless
 * the upstream said how long with Retry-After / retry-after-ms; a wait that
 * is over the chain's cap or does not fit in the request's deadline is not
 * taken: the caller fails over instead of sleeping.
 */
#include "gw_chat.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bs_time.h"

long gw_retry_after_ms(const char *retry_after, const char *retry_after_ms)
{
    char *end;
    if (retry_after_ms && *retry_after_ms) {
        double v = strtod(retry_after_ms, &end);
        if (end != retry_after_ms && *end == '\0' && v >= 0 && v < 1e9)
            return (long)v;
    }
    if (!retry_after || !*retry_after)
        return -1;
    long secs = strtol(retry_after, &end, 10);
    if (end != retry_after && *end == '\0')
        return secs >= 0 && secs < 1000000 ? secs * 1000 : -1;
    time_t when = curl_getdate(retry_after, NULL);
    if (when < 0)
        return -1;
    time_t now = time(NULL);
    return when <= now ? 0 : (long)(when - now) * 1000;
}

uint64_t gw_random(struct gw *gw)
{
    uint64_t x = gw->rng ? gw->rng : 0x9E3779B97F4A7C15ULL;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    gw->rng = x;
    return x;
}

long gw_retry_delay(struct gw *gw, const struct gw_chat *chat, const struct gw_attempt *att)
{
    const struct cfg_retry *r = &chat->chain->retry;
    if (chat->target_retries >= r->max_retries)
        return -1;
    long wait = gw_retry_after_ms(att->retry_after, att->retry_after_ms);
    if (wait > r->retry_after_cap_ms)
        return -1;
    if (wait < 0) {
        long cap = r->base_ms;
        for (int i = 0; i < chat->target_retries && cap < r->max_ms; i++)
            cap *= 2;
        if (cap > r->max_ms)
            cap = r->max_ms;
        wait = (long)(gw_random(gw) % (uint64_t)(cap + 1));
    }
    if (bs_now_us() + (uint64_t)wait * 1000 >= chat->deadline_us)
        return -1;
    return wait;
}
