/* ctl_parse: numbers and times from the command line; anything else than
 * the whole word being valid is a usage error for the caller to report. */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ovr.h"

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

bool ctl_parse_since(const char *s, uint64_t now_ms, uint64_t *out)
{
    long long v;
    if (ctl_parse_int(s, 0, 253402300799999LL, &v)) {  /* up to year 9999 */
        *out = (uint64_t)v;
        return true;
    }
    if (!ovr_parse_duration(s, &v))
        return false;
    *out = (uint64_t)v > now_ms ? 0 : now_ms - (uint64_t)v;
    return true;
}

static const struct ctl_opt *find_opt(const struct ctl_opt *opts, const char *arg, size_t n)
{
    for (; opts->name; opts++)
        if (strlen(opts->name) == n && strncmp(opts->name, arg, n) == 0)
            return opts;
    return NULL;
}

int ctl_parse_opts(const char *cmd, int argc, char **argv, const struct ctl_opt *opts,
                   const char **pos, int minpos, int maxpos, const char *what)
{
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (npos == maxpos)
                return ctl_usage_error("%s: unexpected argument \"%s\" (%s)", cmd, a, what);
            pos[npos++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        const struct ctl_opt *o = find_opt(opts, a, eq ? (size_t)(eq - a) : strlen(a));
        if (!o)
            return ctl_usage_error("%s: unknown option \"%s\" (%s)", cmd, a, what);
        if (o->flag) {
            if (eq)
                return ctl_usage_error("%s: %s takes no value", cmd, o->name);
            *o->flag = true;
            continue;
        }
        const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!v || !*v)
            return ctl_usage_error("%s: %s needs a value", cmd, o->name);
        if (*o->value)
            return ctl_usage_error("%s: %s given twice", cmd, o->name);
        *o->value = v;
    }
    if (npos < minpos)
        return ctl_usage_error("%s: too few arguments (%s)", cmd, what);
    return CTL_OK;
}
