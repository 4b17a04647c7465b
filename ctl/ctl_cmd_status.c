/* ctl_cmd_status: `backstopctl status`. */
#include "ctl.h"

static void print_status(const json_t *r, void *ctx)
{
    (void)ctx;
    char b[8][64], up[32];
    ctl_fmt_dur((long long)json_integer_value(json_object_get(r, "uptime_ms")), up, sizeof up);
    printf("controller    pid %s, backstopd %s, up %s%s\n", ctl_str(r, "pid", b[0], 64),
           ctl_str(r, "version", b[1], 64), up,
           json_is_true(json_object_get(r, "stopping")) ? ", STOPPING" : "");
    printf("generation    %s\n", ctl_str(r, "generation", b[0], 64));
    printf("listen        %s\n", ctl_str(r, "listen", b[0], 64));
    printf("config        %s\n", ctl_str(r, "config", b[0], 64));
    printf("state_dir     %s\n", ctl_str(r, "state_dir", b[0], 64));
    printf("admin socket  %s\n", ctl_str(r, "admin_socket", b[0], 64));
    json_t *workers = json_object_get(r, "workers");
    printf("workers       %zu (configured %s)\n\n", json_array_size(workers),
           ctl_str(r, "workers_configured", b[0], 64));
    static const char *const heads[] = { "SLOT", "PID", "STATE", "UPTIME", "SERVED", "IN_FLIGHT",
                                         "CONNECTIONS", "GENERATION" };
    struct ctl_table *t = ctl_table_new(8, heads);
    size_t i;
    json_t *w;
    json_array_foreach(workers, i, w) {
        json_t *u = json_object_get(w, "uptime_ms");
        if (json_is_integer(u))
            ctl_fmt_dur((long long)json_integer_value(u), up, sizeof up);
        else
            snprintf(up, sizeof up, "-");
        const char *state = ctl_str(w, "state", b[2], 64);
        if (json_is_true(json_object_get(w, "draining")))
            state = "draining";
        const char *row[] = { ctl_str(w, "slot", b[0], 64), ctl_str(w, "pid", b[1], 64), state, up,
                              ctl_str(w, "served", b[3], 64), ctl_str(w, "in_flight", b[4], 64),
                              ctl_str(w, "connections", b[5], 64),
                              ctl_str(w, "generation", b[6], 64) };
        ctl_table_add(t, row);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

int ctl_cmd_status(struct ctl *ctl, int argc, char **argv)
{
    return ctl_run_noargs(ctl, "status", argc, argv, print_status);
}
