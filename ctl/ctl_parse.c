/* ctl_parse: numbers and times from the command line; anything else than
 * the whole word being valid is a usage error for the caller to report. */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool ctl_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    if (!s || !*s || s[0] == '+' || s[0] == ' ')
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

uint64_t ctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static long long unit_ms(const char *u, size_t n)
{
    static const struct { const char *name; long long ms; } units[] = {
        { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && strncmp(units[i].name, u, n) == 0)
            return units[i].ms;
    return 0;
}

/* "1h30m", "90s", "500ms": one or more NUMBER UNIT pairs. */
static bool parse_duration(const char *s, long long *out)
{
    long long total = 0;
    const char *p = s;
    if (!*p)
        return false;
    while (*p) {
        if (*p < '0' || *p > '9')
            return false;
        char *end;
        errno = 0;
        long long n = strtoll(p, &end, 10);
        const char *u = end;
        while (*end && (*end < '0' || *end > '9'))
            end++;
        long long ms = unit_ms(u, (size_t)(end - u));
        if (errno || ms == 0 || n > 100LL * 365 * 86400000 / ms)
            return false;
        total += n * ms;
        p = end;
    }
    *out = total;
    return true;
}

bool ctl_parse_since(const char *s, uint64_t now_ms, uint64_t *out)
{
    long long v;
    if (ctl_parse_int(s, 0, 253402300799999LL, &v)) {  /* up to year 9999 */
        *out = (uint64_t)v;
        return true;
    }
    if (!parse_duration(s, &v))
        return false;
    *out = (uint64_t)v > now_ms ? 0 : now_ms - (uint64_t)v;
    return true;
}
