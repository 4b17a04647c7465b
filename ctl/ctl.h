/*
 * backstopctl: the operator tool.  It talks to backstopd's admin socket
 * (docs/admin.md): one JSON request line, one JSON response line.  Each
 * command is a function in ctl_cmd_*.c that checks its own arguments,
 * makes its calls and prints either a table or, with --json, the result.
 *
 * Exit codes (docs/ctl.md): 0 ok, 1 the command failed (the controller said
 * so, or could not be reached), 2 usage.
 */
#ifndef BS_CTL_H
#define BS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#define CTL_OK 0
#define CTL_FAILED 1
#define CTL_USAGE 2

struct ctl {
    const char *socket;     /* admin socket path */
    bool json;              /* --json: print the raw result */
    int fd;                 /* connection, -1 until the first call */
};

/* ctl_conn.c */
/* Sends {"cmd": cmd, "args": args} (args may be NULL; not taken) and reads
 * the response.  Returns CTL_OK with *result (a new reference, the
 * response's result), or CTL_FAILED after printing why: cannot connect
 * (naming the socket and errno), broken response, or the controller's
 * error (with --json also the error object on stdout). */
int ctl_call(struct ctl *ctl, const char *cmd, json_t *args, json_t **result);
void ctl_close(struct ctl *ctl);
/* The common shape of a command: ctl_call, then the result printed, as JSON
 * with --json (or without a printer), else by print(result, ctx). */
typedef void (*ctl_print_fn)(const json_t *result, void *ctx);
int ctl_run(struct ctl *ctl, const char *cmd, json_t *args, ctl_print_fn print, void *ctx);
/* The same for a command without arguments: a usage error if argv has any. */
int ctl_run_noargs(struct ctl *ctl, const char *cmd, int argc, char **argv, ctl_print_fn print);

/* ctl_out.c */
struct ctl_table;
struct ctl_table *ctl_table_new(int ncols, const char *const *heads);
/* Copies the ncols strings (NULL prints as "-"). */
void ctl_table_add(struct ctl_table *t, const char *const *cells);
void ctl_table_print(const struct ctl_table *t, FILE *out);
void ctl_table_free(struct ctl_table *t);
void ctl_print_json(const json_t *v);          /* the --json output */
void ctl_fmt_time(json_int_t ms, char *buf, size_t n);    /* "2024-05-01T12:00:00.123Z", "-" for 0 */
void ctl_fmt_dur(long long ms, char *buf, size_t n);      /* "350ms", "42s", "2m13s", "3h05m", "4d2h" */
/* Member as text, "-" when absent or null. */
const char *ctl_str(const json_t *obj, const char *key, char *buf, size_t n);

/* ctl_parse.c */
/* Decimal in lo..hi; false otherwise. */
bool ctl_parse_int(const char *s, long long lo, long long hi, long long *out);
/* "1714557600123" (epoch ms) or a duration ago ("500ms", "90s", "5m", "2h",
 * "1d", "1h30m") relative to now_ms. */
bool ctl_parse_since(const char *s, uint64_t now_ms, uint64_t *out);
uint64_t ctl_now_ms(void);
/* A command's options: "--name VALUE", "--name=VALUE", or a flag "--name"
 * (value NULL, flag set). */
struct ctl_opt {
    const char *name;       /* "--mode" */
    const char **value;     /* for an option with a value */
    bool *flag;             /* for a flag */
};
/* Splits argv into the options of opts (NULL-name terminated) and from
 * minpos to maxpos positionals; CTL_OK, or CTL_USAGE after saying why. */
int ctl_parse_opts(const char *cmd, int argc, char **argv, const struct ctl_opt *opts,
                   const char **pos, int minpos, int maxpos, const char *what);

/* ctl_main.c */
/* Prints "backstopctl: MESSAGE" and the usage line to stderr; returns CTL_USAGE. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* CTL_OK when argc is 0, else a usage error naming the first extra word. */
int ctl_no_args(const char *cmd, int argc, char **argv);
/* Prints "backstopctl: MESSAGE" to stderr; returns CTL_FAILED. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ctl_secret.c */
/* Reads a secret from path (or stdin when NULL; without echo on a
 * terminal) into sodium_malloc'd memory, one trailing newline stripped.
 * CTL_OK, or CTL_FAILED after printing why (empty, too long, unreadable). */
int ctl_read_secret(const char *path, const char *provider, char **secret, size_t *len);

/* The commands: argv holds what follows the command's words. */
int ctl_cmd_status(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_targets(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_health(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_events(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_audit(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_reload(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_config_check(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_config_show(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_keys_set(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_keys_list(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_keys_rotate(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_pin(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_unpin(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_pins(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_fail(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_unfail(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_faults(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_drain(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_undrain(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_drains(struct ctl *ctl, int argc, char **argv);

#endif
