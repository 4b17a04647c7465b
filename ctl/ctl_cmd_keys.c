/* ctl_cmd_keys: `keys set PROVIDER [--from-file PATH]`, `keys list`,
 * `keys rotate-master`.  The secret never comes from argv (ps shows argv to
 * every user); it travels only in the request over the admin socket. */
#include "ctl.h"

#include <string.h>

#include <sodium.h>

#include "keys.h"

static void print_set(const json_t *r, void *ctx)
{
    char b[3][64];
    printf("key of provider %s stored: fingerprint %s, version %s; generation %s\n",
           (const char *)ctx, ctl_str(r, "fingerprint", b[0], 64), ctl_str(r, "version", b[1], 64),
           ctl_str(r, "generation", b[2], 64));
}

int ctl_cmd_keys_set(struct ctl *ctl, int argc, char **argv)
{
    const char *provider = NULL, *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--from-file") == 0) {
            if (i + 1 >= argc || !*argv[i + 1])
                return ctl_usage_error("keys set: --from-file needs a path");
            file = argv[++i];
        } else if (strncmp(argv[i], "--from-file=", 12) == 0 && argv[i][12]) {
            file = argv[i] + 12;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ctl_usage_error("keys set: unknown option \"%s\" (the secret is read from "
                                   "stdin or --from-file, never from the command line)", argv[i]);
        } else if (provider) {
            return ctl_usage_error("keys set: unexpected argument (the secret is read from stdin "
                                   "or --from-file, never from the command line)");
        } else {
            provider = argv[i];
        }
    }
    if (!provider)
        return ctl_usage_error("keys set: PROVIDER is required");
    char *secret;
    size_t len;
    if (ctl_read_secret(file, provider, &secret, &len) != CTL_OK)
        return CTL_FAILED;
    json_t *args = json_pack("{s:s, s:s%}", "provider", provider, "secret", secret, len);
    keys_free(secret);
    if (!args)
        return ctl_fail("out of memory");
    int rc = ctl_run(ctl, "keys set", args, print_set, (void *)provider);
    json_t *s = json_object_get(args, "secret");
    sodium_memzero((char *)json_string_value(s), json_string_length(s));
    json_decref(args);
    return rc;
}

static void print_list(const json_t *r, void *ctx)
{
    (void)ctx;
    static const char *const heads[] = { "PROVIDER", "FINGERPRINT", "VERSION", "SET_AT", "NOTE" };
    struct ctl_table *t = ctl_table_new(5, heads);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(r, "keys"), i, k) {
        char b[4][64];
        ctl_fmt_time(json_integer_value(json_object_get(k, "set_ms")), b[3], 64);
        const char *note = !json_is_true(json_object_get(k, "usable"))
                               ? "encrypted under another master key"
                           : !json_is_true(json_object_get(k, "in_config")) ? "not in the config"
                                                                            : "-";
        const char *row[] = { ctl_str(k, "provider", b[0], 64), ctl_str(k, "fingerprint", b[1], 64),
                              ctl_str(k, "version", b[2], 64), b[3], note };
        ctl_table_add(t, row);
    }
    ctl_table_print(t, stdout);
    ctl_table_free(t);
}

int ctl_cmd_keys_list(struct ctl *ctl, int argc, char **argv)
{
    return ctl_run_noargs(ctl, "keys list", argc, argv, print_list);
}

static void print_rotate(const json_t *r, void *ctx)
{
    (void)ctx;
    char b[3][64];
    printf("master key rotated: new id %s, %s key(s) re-encrypted; generation %s\n",
           ctl_str(r, "master_id", b[0], 64), ctl_str(r, "rekeyed", b[1], 64),
           ctl_str(r, "generation", b[2], 64));
}

int ctl_cmd_keys_rotate(struct ctl *ctl, int argc, char **argv)
{
    return ctl_run_noargs(ctl, "keys rotate-master", argc, argv, print_rotate);
}
