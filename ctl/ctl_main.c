/*
 * backstopctl: global options, the socket path, and the command table.
 *
 *   backstopctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]
 */
#include "ctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "proc.h"
#include "version.h"

#define DEFAULT_SOCKET "backstopd.sock"

typedef int (*ctl_cmd_fn)(struct ctl *ctl, int argc, char **argv);

static const struct command {
    const char *word, *sub;     /* "keys", "set" */
    ctl_cmd_fn fn;
    const char *args;           /* for the usage text */
    const char *what;
} commands[] = {
    { "status", NULL, ctl_cmd_status, "", "controller, generation, listen address, each worker" },
    { "targets", NULL, ctl_cmd_targets, "", "each target: breaker, probe, key source, drain, forced failures" },
    { "health", NULL, ctl_cmd_health, "", "each target: attempts, error rate, latency, last failure" },
    { "events", NULL, ctl_cmd_events, " [--since T] [--limit N] [--follow]",
      "the failover history (--follow: new events every 500 ms until Ctrl-C)" },
    { "audit", NULL, ctl_cmd_audit, " [--since T] [--limit N]",
      "admin commands that changed state: who, when, outcome" },
    { "reload", NULL, ctl_cmd_reload, "", "re-read the config file, apply it all or nothing" },
    { "config", "check", ctl_cmd_config_check, " FILE", "validate FILE as the daemon would" },
    { "config", "show", ctl_cmd_config_show, "", "the configuration in effect (key settings redacted)" },
    { "keys", "set", ctl_cmd_keys_set, " PROVIDER [--from-file PATH]",
      "store PROVIDER's API key, read from PATH or stdin (never from the command line)" },
    { "keys", "list", ctl_cmd_keys_list, "", "stored keys: provider, fingerprint, version, set time" },
    { "keys", "rotate-master", ctl_cmd_keys_rotate, "",
      "new master key; every stored key re-encrypted under it" },
    { "pin", NULL, ctl_cmd_pin, " MODEL VERSION [--target PROVIDER/MODEL]",
      "send VERSION upstream instead of the configured model (all MODEL's targets, or one)" },
    { "unpin", NULL, ctl_cmd_unpin, " MODEL [--target PROVIDER/MODEL]", "remove a pin" },
    { "pins", NULL, ctl_cmd_pins, "", "the version pins" },
    { "fail", NULL, ctl_cmd_fail,
      " TARGET|PROVIDER --mode MODE [--rate PCT] [--for DURATION] [--model M] [--key FPR]",
      "make it fail as MODE says, without calling it (MODE below)" },
    { "unfail", NULL, ctl_cmd_unfail, " ID|TARGET|PROVIDER|--all", "end forced failures" },
    { "faults", NULL, ctl_cmd_faults, "", "the forced failures in force" },
    { "drain", NULL, ctl_cmd_drain, " TARGET|PROVIDER",
      "no new requests to it (skipped as \"drained\"); those in flight finish" },
    { "undrain", NULL, ctl_cmd_undrain, " TARGET|PROVIDER|--all", "end a drain" },
    { "drains", NULL, ctl_cmd_drains, "", "the drained targets and providers" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char USAGE_LINE[] =
    "usage: backstopctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]  (--help lists commands)\n";

static void help(FILE *out)
{
    fprintf(out, "backstopctl %s: the Backstop operator tool\n\n", BACKSTOP_VERSION);
    fputs("usage: backstopctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]\n\ncommands:\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char head[96];
        snprintf(head, sizeof head, "%s%s%s%s", commands[i].word, commands[i].sub ? " " : "",
                 commands[i].sub ? commands[i].sub : "", commands[i].args);
        if (strlen(head) > 30)
            fprintf(out, "  %s\n  %-30s  %s\n", head, "", commands[i].what);
        else
            fprintf(out, "  %-30s  %s\n", head, commands[i].what);
    }
    fputs("\noptions:\n"
          "  -s, --socket PATH   the controller's admin socket\n"
          "  -c, --config FILE   take the socket from FILE's admin.socket\n"
          "  --json              print the raw JSON result instead of a table\n"
          "  -h, --help          this help\n"
          "\n"
          "The socket is -s, else -c's admin.socket, else $BACKSTOP_SOCKET, else\n"
          "./" DEFAULT_SOCKET ".  T is a time in epoch milliseconds or a duration ago\n"
          "(500ms, 90s, 5m, 2h, 1d, 1h30m).  DURATION is such a duration (default and\n"
          "maximum: overrides.fault_default_ms and fault_max_ms in the config).\n"
          "MODE: status:CODE[,retry-after=S][,code=C], timeout, hang, reset,\n"
          "stream-cut[:N], stream-error[:N], empty-tool-turn, latency:MS.\n"
          "\n"
          "exit status: 0 ok; 1 the command failed or the controller cannot be reached;\n"
          "2 usage error.  See docs/ctl.md.\n", out);
}

int ctl_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("backstopctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs(USAGE_LINE, stderr);
    return CTL_USAGE;
}

int ctl_no_args(const char *cmd, int argc, char **argv)
{
    return argc ? ctl_usage_error("%s: unexpected argument \"%s\"", cmd, argv[0]) : CTL_OK;
}

int ctl_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("backstopctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CTL_FAILED;
}

/* The socket named by a config file, the way the daemon resolves it. */
static char *socket_from_config(const char *path)
{
    struct cfg_errors errs = { 0 };
    struct cfg *cfg = cfg_load_file(path, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msg[i]);
        ctl_fail("cannot take the admin socket from %s: %zu error(s)", path, errs.n);
        cfg_errors_clear(&errs);
        return NULL;
    }
    char *s = strdup(cfg->admin.socket);
    cfg_free(cfg);
    return s;
}

/* "-s X", "--socket X", "--socket=X": the value, advancing *i. */
static const char *option_value(int argc, char **argv, int *i, const char *shrt, const char *lng,
                                bool *matched)
{
    size_t ll = strlen(lng);
    *matched = true;
    if (strcmp(argv[*i], shrt) == 0 || strcmp(argv[*i], lng) == 0) {
        if (*i + 1 >= argc)
            return NULL;
        return argv[++*i];
    }
    if (strncmp(argv[*i], lng, ll) == 0 && argv[*i][ll] == '=')
        return argv[*i] + ll + 1;
    *matched = false;
    return NULL;
}

static int dispatch(struct ctl *ctl, int argc, char **argv)
{
    if (argc == 0)
        return ctl_usage_error("a command is required");
    bool group = false;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct command *c = &commands[i];
        if (strcmp(c->word, argv[0]) != 0)
            continue;
        if (!c->sub)
            return c->fn(ctl, argc - 1, argv + 1);
        group = true;
        if (argc > 1 && strcmp(c->sub, argv[1]) == 0)
            return c->fn(ctl, argc - 2, argv + 2);
    }
    if (group) {
        char subs[128] = "";
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (commands[i].sub && strcmp(commands[i].word, argv[0]) == 0)
                snprintf(subs + strlen(subs), sizeof subs - strlen(subs), "%s%s",
                         subs[0] ? ", " : "", commands[i].sub);
        return ctl_usage_error("%s: %s%s%s (one of: %s)", argv[0],
                               argc > 1 ? "unknown subcommand \"" : "a subcommand is required",
                               argc > 1 ? argv[1] : "", argc > 1 ? "\"" : "", subs);
    }
    return ctl_usage_error("unknown command \"%s\"", argv[0]);
}

int main(int argc, char **argv)
{
    struct ctl ctl = { .fd = -1 };
    const char *sock = NULL, *config = NULL;
    /* Before a key is read from the terminal (keys set).  The config may
     * not be at hand (-s), so the operator's switch is the environment. */
    const char *cores = getenv("BACKSTOP_CORE_DUMPS");
    int err = proc_secure(cores && strcmp(cores, "1") == 0);
    if (err) {
        fprintf(stderr, "backstopctl: cannot make the process non-dumpable: %s\n", strerror(-err));
        return CTL_FAILED;
    }
    /* --json is accepted anywhere: scripts add it last. */
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            ctl.json = true;
        else
            argv[++n] = argv[i];
    }
    argc = n + 1;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        bool m;
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            help(stdout);
            return CTL_OK;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("backstopctl %s\n", BACKSTOP_VERSION);
            return CTL_OK;
        }
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        v = option_value(argc, argv, &i, "-s", "--socket", &m);
        if (m) {
            if (!v || !*v)
                return ctl_usage_error("%s needs a socket path", argv[i]);
            sock = v;
            continue;
        }
        v = option_value(argc, argv, &i, "-c", "--config", &m);
        if (m) {
            if (!v || !*v)
                return ctl_usage_error("%s needs a config file", argv[i]);
            config = v;
            continue;
        }
        return ctl_usage_error("unknown option \"%s\"", argv[i]);
    }
    if (sock && config)
        return ctl_usage_error("-s and -c are alternatives: give one");
    if (i < argc && strcmp(argv[i], "help") == 0 && i + 1 == argc) {
        help(stdout);
        return CTL_OK;
    }
    char *owned = NULL;
    if (config) {
        if (!(owned = socket_from_config(config)))
            return CTL_FAILED;
        sock = owned;
    } else if (!sock) {
        const char *env = getenv("BACKSTOP_SOCKET");
        sock = env && *env ? env : DEFAULT_SOCKET;
    }
    ctl.socket = sock;
    int rc = dispatch(&ctl, argc - i, argv + i);
    ctl_close(&ctl);
    free(owned);
    return rc;
}
