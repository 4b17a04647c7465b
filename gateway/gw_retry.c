/*
 * gw_retry: what an upstream said about retrying (Retry-After as delta
 * seconds or an HTTP date, retry-after-ms), and the worker's PRNG for
 * back-off jitter and weighted choices.  Whether and how long to wait is
 * decided by gw_decide.c.
 */
#include "gw.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

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
