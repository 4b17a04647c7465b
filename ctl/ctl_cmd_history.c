/*
 * ctl_cmd_history: `backstopctl events` and `backstopctl audit`.
 *
 * --follow polls every 500 ms with a since_ms that overlaps the last seen
 * record by a few seconds (a worker's event can be stored up to one flush
 * after a later one) and prints only records whose id it has not printed.
 */
#include "ctl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FOLLOW_POLL_MS 500
#define FOLLOW_OVERLAP_MS 5000
#define FOLLOW_SEEN_MAX 4096

struct history_opts {
    bool since_set, follow;
    uint64_t since;
    long long limit;
};

static int parse_opts(const char *cmd, bool allow_follow, int argc, char **argv,
                      struct history_opts *o)
{
    memset(o, 0, sizeof *o);
    o->limit = 100;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        const char *eq = strchr(a, '=');
        char name[32];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        if (allow_follow && strcmp(a, "--follow") == 0) {
            o->follow = true;
            continue;
        }
        if (strcmp(name, "--since") != 0 && strcmp(name, "--limit") != 0)
            return ctl_usage_error("%s: unknown argument \"%s\"", cmd, a);
        v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v)
            return ctl_usage_error("%s: %s needs a value", cmd, name);
        if (strcmp(name, "--since") == 0) {
            if (!ctl_parse_since(v, ctl_now_ms(), &o->since))
                return ctl_usage_error("%s: --since \"%s\" is neither epoch milliseconds nor a "
                                       "duration such as 90s, 5m, 2h, 1d", cmd, v);
            o->since_set = true;
        } else if (!ctl_parse_int(v, 1, 10000, &o->limit)) {
            return ctl_usage_error("%s: --limit \"%s\" is not a number from 1 to 10000", cmd, v);
        }
    }
    return CTL_OK;
}

static json_t *history_args(const struct history_opts *o, bool since_set, uint64_t since)
{
    json_t *args = json_pack("{s:I}", "limit", (json_int_t)o->limit);
    if (args && since_set)
        json_object_set_new(args, "since_ms", json_integer((json_int_t)since));
    return args;
}

static void event_row(struct ctl_table *t, const json_t *e)
{
    char b[8][64];
    ctl_fmt_time(json_integer_value(json_object_get(e, "ts_ms")), b[0], 64);
    const char *row[] = { b[0], ctl_str(e, "chain", b[1], 64), ctl_str(e, "from", b[2], 64),
                          ctl_str(e, "to", b[3], 64), ctl_str(e, "reason", b[4], 64),
                          ctl_str(e, "worker", b[5], 64), ctl_str(e, "request_id", b[6], 64) };
    ctl_table_add(t, row);
}

static void print_events(const json_t *list)
{
    static const char *const heads[] = { "TIME", "CHAIN", "FROM", "TO", "REASON", "WORKER",
                                         "REQUEST" };
    struct ctl_table *t = ctl_table_new(7, heads);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
        event_row(t, e);
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

static void print_event_line(const json_t *e)
{
    char b[8][64];
    ctl_fmt_time(json_integer_value(json_object_get(e, "ts_ms")), b[0], 64);
    printf("%s  %s  %s -> %s  %s  worker %s  %s\n", b[0], ctl_str(e, "chain", b[1], 64),
           ctl_str(e, "from", b[2], 64), ctl_str(e, "to", b[3], 64),
           ctl_str(e, "reason", b[4], 64), ctl_str(e, "worker", b[5], 64),
           ctl_str(e, "request_id", b[6], 64));
}

static volatile sig_atomic_t stop_following;

static void on_stop(int sig)
{
    (void)sig;
    stop_following = 1;
}

struct seen {
    char **ids;
    size_t n;
};

static bool seen_add(struct seen *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return false;
    if (s->n == FOLLOW_SEEN_MAX) {
        free(s->ids[0]);
        memmove(s->ids, s->ids + 1, (s->n - 1) * sizeof *s->ids);
        s->n--;
    }
    char *copy = strdup(id);
    if (copy)
        s->ids[s->n++] = copy;
    return true;
}

static int follow(struct ctl *ctl, struct history_opts *o)
{
    struct sigaction sa = { .sa_handler = on_stop };
    sigaction(SIGINT, &sa, NULL);  /* no SA_RESTART: a blocked read ends too */
    sigaction(SIGTERM, &sa, NULL);
    struct seen seen = { calloc(FOLLOW_SEEN_MAX, sizeof(char *)), 0 };
    if (!seen.ids)
        return ctl_fail("out of memory");
    /* Without --since, only what happens from now on. */
    uint64_t floor = o->since_set ? o->since : ctl_now_ms(), since = floor;
    int rc = CTL_OK;
    /* The whole overlap window fits in one page. */
    o->limit = 10000;
    while (!stop_following) {
        json_t *r;
        json_t *args = history_args(o, true, since > FOLLOW_OVERLAP_MS ? since - FOLLOW_OVERLAP_MS
                                                                        : 0);
        rc = ctl_call(ctl, "events", args, &r);
        json_decref(args);
        if (rc != CTL_OK) {
            rc = stop_following ? CTL_OK : CTL_FAILED;
            break;
        }
        size_t i, printed = 0;
        json_t *e;
        json_array_foreach(json_object_get(r, "events"), i, e) {
            json_int_t ts = json_integer_value(json_object_get(e, "ts_ms"));
            const char *id = json_string_value(json_object_get(e, "id"));
            if ((uint64_t)ts < floor || !seen_add(&seen, id ? id : ""))
                continue;
            printed++;
            if (ctl->json) {
                char *line = json_dumps(e, JSON_COMPACT);
                if (line)
                    puts(line);
                free(line);
            } else {
                print_event_line(e);
            }
            if ((uint64_t)ts > since)
                since = (uint64_t)ts;
        }
        fflush(stdout);
        /* More than a page waiting: ask again at once. */
        bool more = json_is_true(json_object_get(r, "more")) && printed > 0;
        json_decref(r);
        struct timespec ts = { 0, FOLLOW_POLL_MS * 1000000L };
        while (!more && !stop_following && nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    for (size_t i = 0; i < seen.n; i++)
        free(seen.ids[i]);
    free(seen.ids);
    return rc;
}

static void print_events_result(const json_t *r, void *ctx)
{
    (void)ctx;
    print_events(json_object_get(r, "events"));
}

int ctl_cmd_events(struct ctl *ctl, int argc, char **argv)
{
    struct history_opts o;
    int rc = parse_opts("events", true, argc, argv, &o);
    if (rc != CTL_OK)
        return rc;
    if (o.follow)
        return follow(ctl, &o);
    json_t *args = history_args(&o, o.since_set, o.since);
    rc = ctl_run(ctl, "events", args, print_events_result, NULL);
    json_decref(args);
    return rc;
}

static void print_audit(const json_t *r, void *ctx)
{
    (void)ctx;
    const json_t *list = json_object_get(r, "audit");
    static const char *const heads[] = { "TIME", "UID", "PID", "COMMAND", "ARGS", "RESULT" };
    struct ctl_table *t = ctl_table_new(6, heads);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        char b[6][64], *args = json_dumps(json_object_get(e, "args"), JSON_COMPACT | JSON_ENCODE_ANY);
        char result[600];
        const json_t *err = json_object_get(e, "error");
        if (json_is_true(json_object_get(e, "ok")))
            snprintf(result, sizeof result, "ok");
        else
            snprintf(result, sizeof result, "failed: %.580s",
                     json_string_value(json_object_get(err, "message"))
                         ? json_string_value(json_object_get(err, "message")) : "?");
        ctl_fmt_time(json_integer_value(json_object_get(e, "ts_ms")), b[0], 64);
        const char *row[] = { b[0], ctl_str(e, "uid", b[1], 64), ctl_str(e, "pid", b[2], 64),
                              ctl_str(e, "cmd", b[3], 64), args && strcmp(args, "{}") ? args : "-",
                              result };
        ctl_table_add(t, row);
        free(args);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

int ctl_cmd_audit(struct ctl *ctl, int argc, char **argv)
{
    struct history_opts o;
    int rc = parse_opts("audit", false, argc, argv, &o);
    if (rc != CTL_OK)
        return rc;
    json_t *args = history_args(&o, o.since_set, o.since);
    rc = ctl_run(ctl, "audit", args, print_audit, NULL);
    json_decref(args);
    return rc;
}
