/* ctl_cmd_targets: `backstopctl targets` (breakers, probes, keys) and
 * `backstopctl health` (attempt statistics): two views of one answer. */
#include "ctl.h"

#include <string.h>

/* "in 28s" for an open breaker's cool-down end. */
static const char *until(const json_t *brk, char *buf, size_t n)
{
    const json_t *u = json_object_get(brk, "until_ms");
    if (!json_is_integer(u))
        return "-";
    char d[32];
    ctl_fmt_dur((long long)json_integer_value(u) - (long long)ctl_now_ms(), d, sizeof d);
    snprintf(buf, n, "in %s", d);
    return buf;
}

/* "f2:reset,f3:status:503" for the target's forced failures. */
static void overrides(const json_t *e, char *buf, size_t n)
{
    size_t i;
    json_t *f;
    snprintf(buf, n, "-");
    json_array_foreach(json_object_get(e, "faults"), i, f)
        snprintf(buf + (i ? strlen(buf) : 0), n - (i ? strlen(buf) : 0), "%s%s:%s", i ? "," : "",
                 json_string_value(json_object_get(f, "id")),
                 json_string_value(json_object_get(f, "mode")));
}

static void print_targets(const json_t *r, void *ctx)
{
    (void)ctx;
    static const char *const heads[] = { "TARGET", "BREAKER", "REASON", "TRIPS", "UNTIL",
                                         "PROBE", "KEY", "DRAIN", "FORCED", "CHAINS" };
    struct ctl_table *t = ctl_table_new(10, heads);
    size_t i, j;
    json_t *e, *ch;
    json_array_foreach(json_object_get(r, "targets"), i, e) {
        char b[6][64], chains[512] = "";
        const json_t *brk = json_object_get(e, "breaker");
        json_array_foreach(json_object_get(e, "chains"), j, ch)
            snprintf(chains + strlen(chains), sizeof chains - strlen(chains), "%s%s",
                     j ? "," : "", json_string_value(ch));
        const json_t *probe = json_object_get(e, "probe");
        char forced[256];
        overrides(e, forced, sizeof forced);
        const char *row[] = { ctl_str(e, "target", b[0], 64), ctl_str(brk, "state", b[1], 64),
                              ctl_str(brk, "reason", b[2], 64), ctl_str(brk, "trips", b[3], 64),
                              until(brk, b[4], 64),
                              json_is_object(probe) ? ctl_str(probe, "state", b[5], 64) : "-",
                              json_string_value(json_object_get(e, "key_source")),
                              json_is_object(json_object_get(e, "drain")) ? "drained" : "-",
                              forced, chains };
        ctl_table_add(t, row);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

/* "drained,f2:reset", "drained", "f2:reset" or "-". */
static void overrides_cell(const json_t *e, char *buf, size_t n)
{
    char forced[256];
    overrides(e, forced, sizeof forced);
    if (!json_is_object(json_object_get(e, "drain")))
        snprintf(buf, n, "%s", forced);
    else if (strcmp(forced, "-") == 0)
        snprintf(buf, n, "drained");
    else
        snprintf(buf, n, "drained,%s", forced);
}

static void print_health(const json_t *r, void *ctx)
{
    (void)ctx;
    static const char *const heads[] = { "TARGET", "ATTEMPTS", "OK", "FAILED", "ERROR%",
                                         "LATENCY_MS", "TTFB_MS", "LAST_FAILURE", "AT",
                                         "OVERRIDES" };
    struct ctl_table *t = ctl_table_new(10, heads);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r, "targets"), i, e) {
        char b[9][64];
        const json_t *h = json_object_get(e, "health");
        json_int_t att = json_integer_value(json_object_get(h, "attempts"));
        json_int_t bad = json_integer_value(json_object_get(h, "failures"));
        if (att)
            snprintf(b[4], 64, "%.1f", 100.0 * (double)bad / (double)att);
        else
            snprintf(b[4], 64, "-");
        ctl_fmt_time(json_integer_value(json_object_get(h, "last_failure_ms")), b[8], 64);
        snprintf(b[5], 64, "%.0f", json_real_value(json_object_get(h, "latency_ewma_ms")));
        snprintf(b[6], 64, "%.0f", json_real_value(json_object_get(h, "ttfb_ewma_ms")));
        bool seen = json_is_object(h);
        char ovr[300];
        overrides_cell(e, ovr, sizeof ovr);
        const char *row[] = { ctl_str(e, "target", b[0], 64),
                              seen ? ctl_str(h, "attempts", b[1], 64) : "0",
                              seen ? ctl_str(h, "ok", b[2], 64) : "0",
                              seen ? ctl_str(h, "failures", b[3], 64) : "0", b[4],
                              seen ? b[5] : "-", seen ? b[6] : "-",
                              seen ? ctl_str(h, "last_failure", b[7], 64) : "-", b[8], ovr };
        ctl_table_add(t, row);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

int ctl_cmd_targets(struct ctl *ctl, int argc, char **argv)
{
    return ctl_run_noargs(ctl, "targets", argc, argv, print_targets);
}

int ctl_cmd_health(struct ctl *ctl, int argc, char **argv)
{
    return ctl_run_noargs(ctl, "health", argc, argv, print_health);
}
