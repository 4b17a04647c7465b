/*
 * Private to controller/ctr_admin*.c: the admin socket's commands.
 *
 * ctr_admin.c owns the socket and its connections and cuts the input into
 * lines; ctr_admin_cmd.c parses a line, checks it against the command table
 * and runs the command; each ctr_admin_cmd_*.c holds one group of commands;
 * ctr_admin_audit.c records the commands that change state.  The protocol is
 * in docs/admin.md.
 */
#ifndef BS_CTR_ADMIN_H
#define BS_CTR_ADMIN_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>

#include "ctr.h"

#define ADMIN_LINE_MAX (64 * 1024)   /* one request, newline excluded */

/* Who is on the other end (SO_PEERCRED at accept). */
struct admin_peer {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};

/* What a command answers: a result, or an error code with a message and,
 * for a rejected config, the list of problems. */
struct admin_reply {
    json_t *result;          /* owned; the answer when code is NULL */
    const char *code;        /* NULL: ok */
    char message[1024];
    json_t *details;         /* owned array of strings, or NULL */
};

typedef void (*admin_cmd_fn)(struct ctr *c, const struct admin_peer *peer, json_t *args,
                             struct admin_reply *r);

struct admin_arg {
    const char *name;
    json_type type;          /* JSON_INTEGER, JSON_STRING, ... */
    bool required;
    long long min, max;      /* JSON_INTEGER */
};

struct admin_cmd {
    const char *name;        /* "status", "keys set", ... */
    admin_cmd_fn fn;
    bool mutating;           /* recorded in the audit log */
    const struct admin_arg *args;   /* terminated by a NULL name; NULL: none */
};

/* ctr_admin_cmd.c */
/* One request line in, one response object out (never NULL but for lack of
 * memory). */
json_t *admin_handle(struct ctr *c, const struct admin_peer *peer, const char *line, size_t len);
json_t *admin_error_response(const char *code, const char *message);
void admin_fail(struct admin_reply *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Takes the list of messages out of errs (cleared). */
json_t *admin_errors_json(struct cfg_errors *errs);
/* Integer argument with a default, already range-checked by the table. */
long long admin_arg_int(const json_t *args, const char *name, long long def);
/* Where the provider's key comes from: "store", "env", "none" (it has no
 * key variable) or "missing" (its variable is unset: disabled). */
const char *admin_key_source(struct ctr *c, const struct cfg_provider *p);

/* ctr_admin_peer.c: whether the peer may use the socket at all; group is
 * admin.group's gid, or (gid_t)-1 when none is configured. */
bool admin_peer_allowed(const struct admin_peer *p, gid_t group);

/* ctr_admin_audit.c */
void admin_audit(struct ctr *c, const struct admin_peer *peer, const char *cmd,
                 const json_t *args, const struct admin_reply *r);
/* A deep copy of args with the values of secret-bearing members replaced. */
json_t *admin_redact(const json_t *args);

/* ctr_admin_cmd_history.c: the time-keyed histories (events, audit). */
void admin_read_history(struct ctr *c, enum st_db db, const json_t *args, const char *field,
                        struct admin_reply *r);

/* The commands. */
void admin_cmd_status(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r);
void admin_cmd_targets(struct ctr *c, const struct admin_peer *peer, json_t *args,
                       struct admin_reply *r);
void admin_cmd_events(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r);
void admin_cmd_audit(struct ctr *c, const struct admin_peer *peer, json_t *args,
                     struct admin_reply *r);
void admin_cmd_reload(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r);
void admin_cmd_config_check(struct ctr *c, const struct admin_peer *peer, json_t *args,
                            struct admin_reply *r);
void admin_cmd_config_show(struct ctr *c, const struct admin_peer *peer, json_t *args,
                           struct admin_reply *r);
void admin_cmd_keys_set(struct ctr *c, const struct admin_peer *peer, json_t *args,
                        struct admin_reply *r);
void admin_cmd_keys_list(struct ctr *c, const struct admin_peer *peer, json_t *args,
                         struct admin_reply *r);
void admin_cmd_keys_rotate(struct ctr *c, const struct admin_peer *peer, json_t *args,
                           struct admin_reply *r);
void admin_cmd_pin(struct ctr *c, const struct admin_peer *peer, json_t *args,
                   struct admin_reply *r);
void admin_cmd_unpin(struct ctr *c, const struct admin_peer *peer, json_t *args,
                     struct admin_reply *r);
void admin_cmd_pins(struct ctr *c, const struct admin_peer *peer, json_t *args,
                    struct admin_reply *r);
void admin_cmd_fail(struct ctr *c, const struct admin_peer *peer, json_t *args,
                    struct admin_reply *r);
void admin_cmd_unfail(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r);
void admin_cmd_faults(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r);
void admin_cmd_drain(struct ctr *c, const struct admin_peer *peer, json_t *args,
                     struct admin_reply *r);
void admin_cmd_undrain(struct ctr *c, const struct admin_peer *peer, json_t *args,
                       struct admin_reply *r);
void admin_cmd_drains(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r);

#endif
