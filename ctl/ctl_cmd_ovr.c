/*
 * ctl_cmd_ovr: the operator overrides (docs/ctl.md):
 *   pin MODEL VERSION [--target PROVIDER/MODEL], unpin MODEL [--target ...], pins;
 *   fail TARGET|PROVIDER --mode MODE [--rate PCT] [--for DURATION] [--model M] [--key FPR],
 *   unfail ID|TARGET|--all, faults;
 *   drain TARGET|PROVIDER, undrain TARGET|PROVIDER|--all, drains.
 * Arguments are checked here (a bad mode or duration is a usage error);
 * whether the names exist is the controller's answer.
 */
#include "ctl.h"

#include <string.h>

#include "ovr.h"

static void print_generation(const json_t *r)
{
    char b[32];
    printf("generation %s: in force in every worker from its next request\n",
           ctl_str(r, "generation", b, sizeof b));
}

/* "f3, sim-a/x" from a list of entries' `field`. */
static void join(const json_t *list, const char *field, char *out, size_t n)
{
    size_t i;
    json_t *e;
    out[0] = '\0';
    json_array_foreach(list, i, e)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? ", " : "",
                 json_string_value(json_object_get(e, field)));
}

/* --- pins --- */

static void print_pin(const json_t *r, void *ctx)
{
    (void)ctx;
    const json_t *p = json_object_get(r, "pin");
    const char *target = json_string_value(json_object_get(p, "target"));
    printf("model %s pinned to %s on %s%s\n", json_string_value(json_object_get(p, "model")),
           json_string_value(json_object_get(p, "version")), target ? "target " : "every target",
           target ? target : "");
    print_generation(r);
}

int ctl_cmd_pin(struct ctl *ctl, int argc, char **argv)
{
    const char *pos[2], *target = NULL;
    const struct ctl_opt opts[] = { { "--target", &target, NULL }, { NULL, NULL, NULL } };
    if (ctl_parse_opts("pin", argc, argv, opts, pos, 2, 2,
                       "pin MODEL VERSION [--target PROVIDER/MODEL]") != CTL_OK)
        return CTL_USAGE;
    if (target && !strchr(target, '/'))
        return ctl_usage_error("pin: --target takes PROVIDER/MODEL, got \"%s\"", target);
    json_t *args = json_pack("{s:s, s:s, s:s*}", "model", pos[0], "version", pos[1], "target",
                             target);
    int rc = ctl_run(ctl, "pin", args, print_pin, NULL);
    json_decref(args);
    return rc;
}

static void print_removed(const json_t *r, void *ctx)
{
    char list[1024];
    const json_t *gone = json_object_get(r, "removed");
    if (json_is_array(gone))
        join(gone, (const char *)ctx, list, sizeof list);
    else
        snprintf(list, sizeof list, "%s%s%s", json_string_value(json_object_get(gone, "model")),
                 json_is_string(json_object_get(gone, "target")) ? " on " : "",
                 json_is_string(json_object_get(gone, "target"))
                     ? json_string_value(json_object_get(gone, "target")) : "");
    printf("removed: %s\n", list);
    print_generation(r);
}

int ctl_cmd_unpin(struct ctl *ctl, int argc, char **argv)
{
    const char *pos[1], *target = NULL;
    const struct ctl_opt opts[] = { { "--target", &target, NULL }, { NULL, NULL, NULL } };
    if (ctl_parse_opts("unpin", argc, argv, opts, pos, 1, 1,
                       "unpin MODEL [--target PROVIDER/MODEL]") != CTL_OK)
        return CTL_USAGE;
    json_t *args = json_pack("{s:s, s:s*}", "model", pos[0], "target", target);
    int rc = ctl_run(ctl, "unpin", args, print_removed, "model");
    json_decref(args);
    return rc;
}

static void print_pins(const json_t *r, void *ctx)
{
    (void)ctx;
    static const char *const heads[] = { "MODEL", "TARGET", "VERSION", "SET_AT", "ACTIVE" };
    struct ctl_table *t = ctl_table_new(5, heads);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(r, "pins"), i, p) {
        char b[4][128];
        ctl_fmt_time(json_integer_value(json_object_get(p, "set_ms")), b[3], 128);
        const char *row[] = { ctl_str(p, "model", b[0], 128),
                              json_is_string(json_object_get(p, "target"))
                                  ? ctl_str(p, "target", b[1], 128) : "(all)",
                              ctl_str(p, "version", b[2], 128), b[3],
                              json_is_true(json_object_get(p, "active"))
                                  ? "yes" : "no (not in the config)" };
        ctl_table_add(t, row);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

/* --- forced failures --- */

static void fault_row(struct ctl_table *t, const json_t *f)
{
    char b[7][128], in[32];
    ctl_fmt_dur((long long)json_integer_value(json_object_get(f, "until_ms")) -
                    (long long)ctl_now_ms(), in, sizeof in);
    snprintf(b[6], 128, "in %s", in);
    snprintf(b[3], 128, "%lld%%", (long long)json_integer_value(json_object_get(f, "rate")));
    const char *row[] = { ctl_str(f, "id", b[0], 128), ctl_str(f, "target", b[1], 128),
                          ctl_str(f, "mode", b[2], 128), b[3], ctl_str(f, "model", b[4], 128),
                          ctl_str(f, "key", b[5], 128), b[6] };
    ctl_table_add(t, row);
}

static const char *const fault_heads[] = { "ID", "TARGET", "MODE", "RATE", "MODEL", "KEY",
                                           "EXPIRES" };

static void print_faults_of(const json_t *list)
{
    struct ctl_table *t = ctl_table_new(7, fault_heads);
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
        fault_row(t, f);
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

static void print_fault(const json_t *r, void *ctx)
{
    (void)ctx;
    json_t *one = json_pack("[O]", json_object_get(r, "fault"));
    print_faults_of(one);
    json_decref(one);
    print_generation(r);
}

int ctl_cmd_fail(struct ctl *ctl, int argc, char **argv)
{
    const char *pos[1], *mode = NULL, *rate = NULL, *dur = NULL, *model = NULL, *key = NULL;
    const struct ctl_opt opts[] = {
        { "--mode", &mode, NULL }, { "--rate", &rate, NULL }, { "--for", &dur, NULL },
        { "--model", &model, NULL }, { "--key", &key, NULL }, { NULL, NULL, NULL },
    };
    static const char what[] = "fail TARGET|PROVIDER --mode MODE [--rate PCT] [--for DURATION] "
                               "[--model M] [--key FINGERPRINT]";
    if (ctl_parse_opts("fail", argc, argv, opts, pos, 1, 1, what) != CTL_OK)
        return CTL_USAGE;
    if (!mode)
        return ctl_usage_error("fail: --mode is required (%s)", what);
    struct ovr_mode_spec spec;
    char err[256];
    if (ovr_parse_mode(mode, &spec, err, sizeof err) < 0)
        return ctl_usage_error("fail: --mode: %s", err);
    long long pct = 100, for_ms = 0;
    if (rate && !ctl_parse_int(rate, 1, 100, &pct))
        return ctl_usage_error("fail: --rate takes a percentage, 1..100, got \"%s\"", rate);
    if (dur && (!ovr_parse_duration(dur, &for_ms) || for_ms < 1000 || for_ms > INT32_MAX))
        return ctl_usage_error("fail: --for takes a duration from 1s to 24d (90s, 5m, 1h30m), "
                               "got \"%s\"", dur);
    json_t *args = json_pack("{s:s, s:s, s:I, s:s*, s:s*}", "target", pos[0], "mode", mode, "rate",
                             (json_int_t)pct, "model", model, "key", key);
    if (args && dur)
        json_object_set_new(args, "for_ms", json_integer(for_ms));
    int rc = ctl_run(ctl, "fail", args, print_fault, NULL);
    json_decref(args);
    return rc;
}

/* ID|TARGET|--all: an id is what `fail` answered ("f12"). */
static bool is_fault_id(const char *s)
{
    if (s[0] != 'f' || !s[1])
        return false;
    for (s++; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* The selector of unfail / undrain: one positional or --all. */
static json_t *selector(const char *cmd, int argc, char **argv, const char *what, bool ids)
{
    const char *pos[1] = { NULL };
    bool all = false;
    const struct ctl_opt opts[] = { { "--all", NULL, &all }, { NULL, NULL, NULL } };
    if (ctl_parse_opts(cmd, argc, argv, opts, pos, 0, 1, what) != CTL_OK)
        return NULL;
    if (all == (pos[0] != NULL)) {
        ctl_usage_error("%s: give one of %s", cmd, what);
        return NULL;
    }
    if (all)
        return json_pack("{s:b}", "all", 1);
    return json_pack("{s:s}", ids && is_fault_id(pos[0]) ? "id" : "target", pos[0]);
}

int ctl_cmd_unfail(struct ctl *ctl, int argc, char **argv)
{
    json_t *args = selector("unfail", argc, argv, "ID, TARGET, PROVIDER or --all", true);
    if (!args)
        return CTL_USAGE;
    int rc = ctl_run(ctl, "unfail", args, print_removed, "id");
    json_decref(args);
    return rc;
}

static void print_faults(const json_t *r, void *ctx)
{
    (void)ctx;
    print_faults_of(json_object_get(r, "faults"));
}

/* --- drains --- */

static void print_drain(const json_t *r, void *ctx)
{
    (void)ctx;
    printf("%s drained: no new requests go to it; requests in flight finish\n",
           json_string_value(json_object_get(json_object_get(r, "drain"), "target")));
    print_generation(r);
}

int ctl_cmd_drain(struct ctl *ctl, int argc, char **argv)
{
    const char *pos[1];
    const struct ctl_opt opts[] = { { NULL, NULL, NULL } };
    if (ctl_parse_opts("drain", argc, argv, opts, pos, 1, 1, "drain TARGET|PROVIDER") != CTL_OK)
        return CTL_USAGE;
    json_t *args = json_pack("{s:s}", "target", pos[0]);
    int rc = ctl_run(ctl, "drain", args, print_drain, NULL);
    json_decref(args);
    return rc;
}

int ctl_cmd_undrain(struct ctl *ctl, int argc, char **argv)
{
    json_t *args = selector("undrain", argc, argv, "TARGET, PROVIDER or --all", false);
    if (!args)
        return CTL_USAGE;
    int rc = ctl_run(ctl, "undrain", args, print_removed, "target");
    json_decref(args);
    return rc;
}

static void print_drains(const json_t *r, void *ctx)
{
    (void)ctx;
    static const char *const heads[] = { "TARGET", "SINCE" };
    struct ctl_table *t = ctl_table_new(2, heads);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(r, "drains"), i, d) {
        char b[2][128];
        ctl_fmt_time(json_integer_value(json_object_get(d, "set_ms")), b[1], 128);
        const char *row[] = { ctl_str(d, "target", b[0], 128), b[1] };
        ctl_table_add(t, row);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

/* --- the listings --- */

int ctl_cmd_pins(struct ctl *ctl, int argc, char **argv)
{
    return ctl_run_noargs(ctl, "pins", argc, argv, print_pins);
}

int ctl_cmd_faults(struct ctl *ctl, int argc, char **argv)
{
    return ctl_run_noargs(ctl, "faults", argc, argv, print_faults);
}

int ctl_cmd_drains(struct ctl *ctl, int argc, char **argv)
{
    return ctl_run_noargs(ctl, "drains", argc, argv, print_drains);
}
