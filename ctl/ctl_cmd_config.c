/* ctl_cmd_config: `reload`, `config check FILE`, `config show`. */
#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int ctl_cmd_reload(struct ctl *ctl, int argc, char **argv)
{
    if (ctl_no_args("reload", argc, argv))
        return CTL_USAGE;
    json_t *r;
    if (ctl_call(ctl, "reload", NULL, &r) != CTL_OK)
        return CTL_FAILED;
    if (ctl->json) {
        ctl_print_json(r);
    } else {
        char b[5][64];
        printf("reloaded %s: generation %s -> %s (%s providers, %s models, %s workers)\n",
               json_string_value(json_object_get(r, "config")),
               ctl_str(r, "previous_generation", b[0], 64), ctl_str(r, "generation", b[1], 64),
               ctl_str(r, "providers", b[2], 64), ctl_str(r, "models", b[3], 64),
               ctl_str(r, "workers", b[4], 64));
    }
    json_decref(r);
    return CTL_OK;
}

int ctl_cmd_config_check(struct ctl *ctl, int argc, char **argv)
{
    if (argc != 1)
        return ctl_usage_error("config check: %s", argc ? "one FILE only" : "FILE is required");
    /* The daemon resolves nothing against our directory: send it absolute. */
    char abs[PATH_MAX];
    if (!realpath(argv[0], abs))
        return ctl_fail("config check: %s: %s", argv[0], strerror(errno));
    json_t *args = json_pack("{s:s}", "path", abs), *r;
    int rc = ctl_call(ctl, "config check", args, &r);
    json_decref(args);
    if (rc != CTL_OK)
        return CTL_FAILED;
    if (ctl->json) {
        ctl_print_json(r);
    } else {
        char b[3][64];
        printf("configuration %s is ok (%s providers, %s models, %s workers)\n", abs,
               ctl_str(r, "providers", b[0], 64), ctl_str(r, "models", b[1], 64),
               ctl_str(r, "workers", b[2], 64));
        size_t i;
        json_t *w;
        json_array_foreach(json_object_get(r, "warnings"), i, w)
            printf("warning: %s\n", json_string_value(w));
    }
    json_decref(r);
    return CTL_OK;
}

int ctl_cmd_config_show(struct ctl *ctl, int argc, char **argv)
{
    if (ctl_no_args("config show", argc, argv))
        return CTL_USAGE;
    json_t *r;
    if (ctl_call(ctl, "config show", NULL, &r) != CTL_OK)
        return CTL_FAILED;
    if (ctl->json) {
        ctl_print_json(r);
    } else {
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
            char v[3][256];
            printf("# %s = %s: operator override (%s; the file says %s)\n",
                   ctl_str(m, "path", v[0], 256), ctl_str(m, "value", v[1], 256),
                   ctl_str(m, "source", v[2], 256), json_string_value(json_object_get(m, "configured")));
        }
        const json_t *ovr = json_object_get(r, "overrides");
        printf("# forced failures in force: %zu; drains: %zu (`faults`, `drains`)\n",
               json_array_size(json_object_get(ovr, "faults")),
               json_array_size(json_object_get(ovr, "drains")));
        ctl_print_json(json_object_get(r, "config"));
    }
    json_decref(r);
    return CTL_OK;
}
