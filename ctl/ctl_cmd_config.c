/* ctl_cmd_config: `reload`, `config check FILE`, `config show`. */
#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void print_reload(const json_t *r, void *ctx)
{
    (void)ctx;
    char b[5][64];
    printf("reloaded %s: generation %s -> %s (%s providers, %s models, %s workers)\n",
           json_string_value(json_object_get(r, "config")),
           ctl_str(r, "previous_generation", b[0], 64), ctl_str(r, "generation", b[1], 64),
           ctl_str(r, "providers", b[2], 64), ctl_str(r, "models", b[3], 64),
           ctl_str(r, "workers", b[4], 64));
}

int ctl_cmd_reload(struct ctl *ctl, int argc, char **argv)
{
    return ctl_run_noargs(ctl, "reload", argc, argv, print_reload);
}

static void print_check(const json_t *r, void *ctx)
{
    char b[3][64];
    printf("configuration %s is ok (%s providers, %s models, %s workers)\n", (const char *)ctx,
           ctl_str(r, "providers", b[0], 64), ctl_str(r, "models", b[1], 64),
           ctl_str(r, "workers", b[2], 64));
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(r, "warnings"), i, w)
        printf("warning: %s\n", json_string_value(w));
}

int ctl_cmd_config_check(struct ctl *ctl, int argc, char **argv)
{
    if (argc != 1)
        return ctl_usage_error("config check: %s", argc ? "one FILE only" : "FILE is required");
    /* The daemon resolves nothing against our directory: send it absolute. */
    char abs[PATH_MAX];
    if (!realpath(argv[0], abs))
        return ctl_fail("config check: %s: %s", argv[0], strerror(errno));
    json_t *args = json_pack("{s:s}", "path", abs);
    int rc = ctl_run(ctl, "config check", args, print_check, abs);
    json_decref(args);
    return rc;
}

static void print_show(const json_t *r, void *ctx)
{
    (void)ctx;
    char b[64];
    printf("# %s, generation %s\n", json_string_value(json_object_get(r, "path")),
           ctl_str(r, "generation", b, sizeof b));
    const char *name;
    json_t *src;
    json_object_foreach(json_object_get(r, "key_sources"), name, src)
        printf("# provider %s: key from %s\n", name, json_string_value(src));
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(r, "overridden"), i, m) {
        char v[4][256];
        printf("# %s = %s: operator override (%s; the file says %s)\n",
               ctl_str(m, "path", v[0], 256), ctl_str(m, "value", v[1], 256),
               ctl_str(m, "source", v[2], 256), ctl_str(m, "configured", v[3], 256));
    }
    const json_t *ovr = json_object_get(r, "overrides");
    printf("# forced failures in force: %zu; drains: %zu (`faults`, `drains`)\n",
           json_array_size(json_object_get(ovr, "faults")),
           json_array_size(json_object_get(ovr, "drains")));
    ctl_print_json(json_object_get(r, "config"));
}

int ctl_cmd_config_show(struct ctl *ctl, int argc, char **argv)
{
    return ctl_run_noargs(ctl, "config show", argc, argv, print_show);
}
