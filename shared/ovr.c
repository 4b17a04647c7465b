/* ovr: parsing of forced-failure modes and durations (shared/ovr.h). */
#include "ovr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {
    [OVR_STATUS] = "status",
    [OVR_TIMEOUT] = "timeout",
    [OVR_HANG] = "hang",
    [OVR_RESET] = "reset",
    [OVR_STREAM_CUT] = "stream-cut",
    [OVR_STREAM_ERROR] = "stream-error",
    [OVR_EMPTY_TOOL_TURN] = "empty-tool-turn",
    [OVR_LATENCY] = "latency",
};

#define NMODES (sizeof mode_names / sizeof mode_names[0])

const char *ovr_mode_name(enum ovr_mode m)
{
    return (unsigned)m < NMODES ? mode_names[m] : "?";
}

/* A whole decimal word of at most n bytes in lo..hi. */
static bool number(const char *s, size_t n, long lo, long hi, long *out)
{
    char buf[24];
    if (n == 0 || n >= sizeof buf || s[0] < '0' || s[0] > '9')
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The options of status:CODE after its comma: retry-after=S, code=STR. */
static int status_options(const char *p, struct ovr_mode_spec *out, char *err, size_t errlen)
{
    if (!*p)
        return fail(err, errlen, "%s: trailing comma", "status");
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        size_t klen = eq ? (size_t)(eq - p) : n;
        const char *v = eq ? eq + 1 : NULL;
        size_t vlen = eq ? n - klen - 1 : 0;
        long num;
        if (klen == 11 && strncmp(p, "retry-after", 11) == 0) {
            if (!v || !number(v, vlen, 0, OVR_RETRY_AFTER_MAX, &num) || out->retry_after_s >= 0)
                return fail(err, errlen, "%s: retry-after takes seconds (0..86400), once",
                            "status");
            out->retry_after_s = (int)num;
        } else if (klen == 4 && strncmp(p, "code", 4) == 0) {
            bool ok = v && vlen > 0 && vlen < OVR_CODE_MAX && !out->code[0];
            for (size_t i = 0; ok && i < vlen; i++)
                ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_';
            if (!ok)
                return fail(err, errlen, "%s: code=STR takes [a-z0-9_], 1..63 characters, once",
                            "status");
            memcpy(out->code, v, vlen);
            out->code[vlen] = '\0';
        } else {
            char opt[48];
            snprintf(opt, sizeof opt, "%.*s", (int)(klen < 40 ? klen : 40), p);
            return fail(err, errlen, "status: unknown option \"%s\" (retry-after=S, code=STR)",
                        opt);
        }
        p = end ? end + 1 : p + n;
        if (end && !*p)
            return fail(err, errlen, "%s: trailing comma", "status");
    }
    return 0;
}

int ovr_parse_mode(const char *s, struct ovr_mode_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->retry_after_s = -1;
    if (!s || !*s)
        return fail(err, errlen, "%s", "the mode is empty");
    const char *colon = strchr(s, ':');
    size_t nlen = colon ? (size_t)(colon - s) : strlen(s);
    const char *arg = colon ? colon + 1 : NULL;
    size_t i = 0;
    while (i < NMODES && !(strlen(mode_names[i]) == nlen && strncmp(mode_names[i], s, nlen) == 0))
        i++;
    if (i == NMODES) {
        char name[48];
        snprintf(name, sizeof name, "%.*s", (int)(nlen < 40 ? nlen : 40), s);
        return fail(err, errlen, "unknown mode \"%s\" (status:CODE, timeout, hang, reset, "
                    "stream-cut[:N], stream-error[:N], empty-tool-turn, latency:MS)", name);
    }
    out->mode = (enum ovr_mode)i;
    long v;
    switch (out->mode) {
    case OVR_STATUS: {
        if (!arg)
            return fail(err, errlen, "%s", "status needs a code: status:CODE (400..599)");
        const char *comma = strchr(arg, ',');
        size_t n = comma ? (size_t)(comma - arg) : strlen(arg);
        if (!number(arg, n, 400, 599, &v))
            return fail(err, errlen, "%s", "status:CODE takes an HTTP error status, 400..599");
        out->status = (int)v;
        return comma ? status_options(comma + 1, out, err, errlen) : 0;
    }
    case OVR_STREAM_CUT:
    case OVR_STREAM_ERROR:
        out->after = 2;   /* the role chunk and one piece of content */
        if (arg && !number(arg, strlen(arg), 0, OVR_AFTER_MAX, &v))
            return fail(err, errlen, "%s:N takes a number of events, 0..10000",
                        mode_names[out->mode]);
        if (arg)
            out->after = (int)v;
        return 0;
    case OVR_LATENCY:
        if (!arg || !number(arg, strlen(arg), 1, OVR_LATENCY_MAX, &v))
            return fail(err, errlen, "%s", "latency:MS takes milliseconds, 1..600000");
        out->latency_ms = (int)v;
        return 0;
    default:
        if (arg)
            return fail(err, errlen, "mode %s takes no argument", mode_names[out->mode]);
        return 0;
    }
}

bool ovr_covers(const char *target, const char *provider, const char *target_key)
{
    return strcmp(target, target_key) == 0 || strcmp(target, provider) == 0;
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

bool ovr_parse_duration(const char *s, long long *out)
{
    const long long limit = 100LL * 365 * 86400000;
    long long total = 0;
    const char *p = s;
    if (!p || !*p)
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
        if (errno || ms == 0 || n > limit / ms || total + n * ms > limit)
            return false;
        total += n * ms;
        p = end;
    }
    *out = total;
    return true;
}
