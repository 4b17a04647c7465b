/*
 * ctr_admin_cmd: one request line to one response (docs/admin.md): parse,
 * check against the command table, run, audit, answer.  Whatever the line
 * holds, the answer is a response object; a command never sees arguments
 * the table does not allow, of the wrong type or out of range.
 */
#include "ctr_admin.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"

static void admin_cmd_help(struct ctr *c, const struct admin_peer *peer, json_t *args,
                           struct admin_reply *r);

static const struct admin_arg history_args[] = {
    { "since_ms", JSON_INTEGER, false, 0, INT64_MAX },
    { "limit", JSON_INTEGER, false, 1, 10000 },
    { NULL, 0, false, 0, 0 },
};
static const struct admin_arg path_args[] = {
    { "path", JSON_STRING, true, 0, 0 },
    { NULL, 0, false, 0, 0 },
};
static const struct admin_arg keys_set_args[] = {
    { "provider", JSON_STRING, true, 0, 0 },
    { "secret", JSON_STRING, true, 0, 0 },
    { NULL, 0, false, 0, 0 },
};
static const struct admin_arg pin_args[] = {
    { "model", JSON_STRING, true, 0, 0 },
    { "version", JSON_STRING, true, 0, 0 },
    { "target", JSON_STRING, false, 0, 0 },
    { NULL, 0, false, 0, 0 },
};
static const struct admin_arg unpin_args[] = {
    { "model", JSON_STRING, true, 0, 0 },
    { "target", JSON_STRING, false, 0, 0 },
    { NULL, 0, false, 0, 0 },
};
static const struct admin_arg fail_args[] = {
    { "target", JSON_STRING, true, 0, 0 },
    { "mode", JSON_STRING, true, 0, 0 },
    { "rate", JSON_INTEGER, false, 1, 100 },
    { "for_ms", JSON_INTEGER, false, 1, INT32_MAX },
    { "model", JSON_STRING, false, 0, 0 },
    { "key", JSON_STRING, false, 0, 0 },
    { NULL, 0, false, 0, 0 },
};
static const struct admin_arg unfail_args[] = {
    { "id", JSON_STRING, false, 0, 0 },
    { "target", JSON_STRING, false, 0, 0 },
    { "all", JSON_TRUE, false, 0, 0 },
    { NULL, 0, false, 0, 0 },
};
static const struct admin_arg drain_args[] = {
    { "target", JSON_STRING, true, 0, 0 },
    { NULL, 0, false, 0, 0 },
};
static const struct admin_arg undrain_args[] = {
    { "target", JSON_STRING, false, 0, 0 },
    { "all", JSON_TRUE, false, 0, 0 },
    { NULL, 0, false, 0, 0 },
};

static const struct admin_cmd commands[] = {
    { "help", admin_cmd_help, false, NULL },
    { "status", admin_cmd_status, false, NULL },
    { "targets", admin_cmd_targets, false, NULL },
    { "health", admin_cmd_targets, false, NULL },
    { "events", admin_cmd_events, false, history_args },
    { "audit", admin_cmd_audit, false, history_args },
    { "reload", admin_cmd_reload, true, NULL },
    { "config check", admin_cmd_config_check, false, path_args },
    { "config show", admin_cmd_config_show, false, NULL },
    { "keys set", admin_cmd_keys_set, true, keys_set_args },
    { "keys list", admin_cmd_keys_list, false, NULL },
    { "keys rotate-master", admin_cmd_keys_rotate, true, NULL },
    { "pin", admin_cmd_pin, true, pin_args },
    { "unpin", admin_cmd_unpin, true, unpin_args },
    { "pins", admin_cmd_pins, false, NULL },
    { "fail", admin_cmd_fail, true, fail_args },
    { "unfail", admin_cmd_unfail, true, unfail_args },
    { "faults", admin_cmd_faults, false, NULL },
    { "drain", admin_cmd_drain, true, drain_args },
    { "undrain", admin_cmd_undrain, true, undrain_args },
    { "drains", admin_cmd_drains, false, NULL },
};

static const char *type_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a number";
    case JSON_TRUE:    return "true";
    case JSON_FALSE:   return "false";
    case JSON_NULL:    return "null";
    }
    return "?";
}

void admin_fail(struct admin_reply *r, const char *code, const char *fmt, ...)
{
    json_decref(r->result);
    r->result = NULL;
    r->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
}

json_t *admin_errors_json(struct cfg_errors *errs)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < errs->n; i++)
        json_array_append_new(list, json_string(errs->msg[i]));
    cfg_errors_clear(errs);
    return list;
}

long long admin_arg_int(const json_t *args, const char *name, long long def)
{
    const json_t *v = json_object_get(args, name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

const char *admin_key_source(struct ctr *c, const struct cfg_provider *p)
{
    if (ctr_keys_has(c, p->name))
        return "store";
    if (!p->api_key_env)
        return "none";
    const char *v = getenv(p->api_key_env);
    return v && *v ? "env" : "missing";
}

json_t *admin_error_response(const char *code, const char *message)
{
    return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", message);
}

static void admin_cmd_help(struct ctr *c, const struct admin_peer *peer, json_t *args,
                           struct admin_reply *r)
{
    (void)c;
    (void)peer;
    (void)args;
    json_t *list = json_array();
    for (size_t i = 0; list && i < sizeof commands / sizeof commands[0]; i++) {
        json_t *names = json_array();
        for (const struct admin_arg *a = commands[i].args; names && a && a->name; a++)
            json_array_append_new(names, json_pack("{s:s, s:s, s:b}", "name", a->name, "type",
                                                   type_name(a->type), "required", a->required));
        json_array_append_new(list, json_pack("{s:s, s:b, s:o*}", "cmd", commands[i].name,
                                              "mutating", commands[i].mutating, "args", names));
    }
    r->result = json_pack("{s:o*}", "commands", list);
}

/* false with r filled when args break the command's table. */
static bool check_args(const struct admin_cmd *cmd, const json_t *args, struct admin_reply *r)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)args, key, v) {
        const struct admin_arg *a = cmd->args;
        while (a && a->name && strcmp(a->name, key) != 0)
            a++;
        if (!a || !a->name) {
            admin_fail(r, "bad_args", "%s: unknown argument \"%.64s\"", cmd->name, key);
            return false;
        }
        /* A flag is given as true; false would be a second way to say absent. */
        if (json_typeof(v) != a->type) {
            admin_fail(r, "bad_args", "%s: argument %s must be %s, not %s", cmd->name, key,
                       type_name(a->type), type_name(json_typeof(v)));
            return false;
        }
        if (a->type == JSON_INTEGER &&
            (json_integer_value(v) < a->min || json_integer_value(v) > a->max)) {
            admin_fail(r, "bad_args", "%s: argument %s: %lld is out of range %lld..%lld",
                       cmd->name, key, (long long)json_integer_value(v), a->min, a->max);
            return false;
        }
    }
    for (const struct admin_arg *a = cmd->args; a && a->name; a++)
        if (a->required && !json_object_get(args, a->name)) {
            admin_fail(r, "bad_args", "%s: argument %s is required", cmd->name, a->name);
            return false;
        }
    return true;
}

/* Secrets in the request are wiped in jansson's own copy once the command
 * is done with them. */
static void wipe_secrets(json_t *v)
{
    const char *key;
    json_t *m;
    if (!json_is_object(v))
        return;
    json_object_foreach(v, key, m) {
        if (strcmp(key, "secret") == 0 && json_is_string(m))
            sodium_memzero((char *)json_string_value(m), json_string_length(m));
        else
            wipe_secrets(m);
    }
}

/* Fills r from the request, or says why it is not one. */
static const struct admin_cmd *parse(json_t *req, json_t **args, struct admin_reply *r)
{
    if (!json_is_object(req)) {
        admin_fail(r, "bad_request", "a request is a JSON object {\"cmd\": ..., \"args\": {...}}");
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(req, key, v)
        if (strcmp(key, "cmd") != 0 && strcmp(key, "args") != 0 && strcmp(key, "id") != 0) {
            admin_fail(r, "bad_request", "unknown member \"%.64s\" (a request has cmd, args, id)",
                       key);
            return NULL;
        }
    json_t *cmd = json_object_get(req, "cmd");
    if (!json_is_string(cmd)) {
        admin_fail(r, "bad_request", cmd ? "cmd must be a string" : "cmd is missing");
        return NULL;
    }
    *args = json_object_get(req, "args");
    if (*args && !json_is_object(*args) && !json_is_null(*args)) {
        admin_fail(r, "bad_request", "args must be an object");
        return NULL;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, json_string_value(cmd)) == 0)
            return &commands[i];
    admin_fail(r, "unknown_command", "unknown command \"%.64s\" (\"help\" lists them)",
               json_string_value(cmd));
    return NULL;
}

static json_t *response(json_t *req, struct admin_reply *r)
{
    json_t *resp;
    if (r->code) {
        json_t *err = json_pack("{s:s, s:s}", "code", r->code, "message", r->message);
        if (err && r->details)
            json_object_set(err, "details", r->details);
        resp = json_pack("{s:b, s:o*}", "ok", 0, "error", err);
    } else {
        resp = json_pack("{s:b, s:O*}", "ok", 1, "result", r->result ? r->result : json_null());
    }
    json_t *id = json_object_get(req, "id");
    if (resp && id)
        json_object_set(resp, "id", id);
    return resp;
}

json_t *admin_handle(struct ctr *c, const struct admin_peer *peer, const char *line, size_t len)
{
    struct admin_reply r = { 0 };
    json_error_t je;
    json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!req) {
        char msg[300];
        snprintf(msg, sizeof msg, "not a JSON request: %s (column %d)", je.text, je.column);
        return admin_error_response("bad_json", msg);
    }
    json_t *args = NULL;
    const struct admin_cmd *cmd = parse(req, &args, &r);
    json_t *empty = NULL;
    if (cmd && (!args || json_is_null(args)))
        args = empty = json_object();
    if (cmd && args && check_args(cmd, args, &r)) {
        cmd->fn(c, peer, args, &r);
        if (!r.code && !r.result)
            admin_fail(&r, "internal", "out of memory");
    }
    if (cmd && cmd->mutating)
        admin_audit(c, peer, cmd->name, args, &r);
    if (cmd)
        log_info("admin: %s by uid %ld pid %ld: %s", cmd->name, (long)peer->uid,
                 (long)peer->pid, r.code ? r.code : "ok");
    json_t *resp = response(req, &r);
    wipe_secrets(req);
    json_decref(req);
    json_decref(empty);
    json_decref(r.result);
    json_decref(r.details);
    return resp;
}
