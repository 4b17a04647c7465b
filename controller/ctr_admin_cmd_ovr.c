/*
 * ctr_admin_cmd_ovr: the operator override commands (docs/admin.md):
 * pin / unpin / pins, fail / unfail / faults, drain / undrain / drains.
 * Each change builds a new override document from the current one and
 * stores it whole (ctr_ovr_store), so a failed store changes nothing.
 */
#include "ctr_admin.h"

#include <stdio.h>
#include <string.h>

#include "bs_time.h"
#include "ovr.h"

#define VERSION_MAX 200

static const char *arg_str(const json_t *args, const char *name)
{
    return json_string_value(json_object_get(args, name));
}

/* A copy of the current document to change; NULL when out of memory. */
static json_t *draft(struct ctr *c)
{
    return json_deep_copy(c->ovr);
}

/* Stores d (taken) and answers with what changed under `field`. */
static void commit(struct ctr *c, json_t *d, const char *field, json_t *what,
                   struct admin_reply *r)
{
    if (!d || !what || ctr_ovr_store(c, d) != 0) {
        admin_fail(r, "store_error", "cannot store the operator overrides (see the daemon log)");
        json_decref(what);
    } else {
        r->result = json_pack("{s:o, s:I}", field, what, "generation", (json_int_t)c->generation);
    }
    json_decref(d);
}

/* "provider" or "provider/model" of the configured chains; false with r
 * filled otherwise. */
static bool known_target(struct ctr *c, const char *target, struct admin_reply *r)
{
    const struct cfg *cfg = c->cfg;
    for (size_t i = 0; i < cfg->nproviders; i++)
        if (strcmp(cfg->providers[i].name, target) == 0)
            return true;
    for (size_t i = 0; i < cfg->nmodels; i++)
        for (size_t j = 0; j < cfg->models[i].ntargets; j++) {
            const struct cfg_target *t = &cfg->models[i].targets[j];
            char key[512];
            snprintf(key, sizeof key, "%s/%s", cfg->providers[t->provider].name, t->model);
            if (strcmp(key, target) == 0)
                return true;
        }
    admin_fail(r, "not_found", "\"%.200s\" is neither a provider nor a target (provider/model) "
               "of the configuration (`targets` lists them)", target);
    return false;
}

static bool is_target_of(const struct cfg *cfg, const struct cfg_model *m, const char *target)
{
    for (size_t j = 0; j < m->ntargets; j++) {
        char key[512];
        snprintf(key, sizeof key, "%s/%s", cfg->providers[m->targets[j].provider].name,
                 m->targets[j].model);
        if (strcmp(key, target) == 0)
            return true;
    }
    return false;
}

static bool same_opt(const json_t *a, const char *b)
{
    const char *s = json_string_value(a);
    return (!s && !b) || (s && b && strcmp(s, b) == 0);
}

static bool clean_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
            return false;
    return true;
}

/* --- pins --- */

static long find_pin(const json_t *pins, const char *model, const char *target)
{
    size_t i;
    json_t *p;
    json_array_foreach(pins, i, p)
        if (strcmp(json_string_value(json_object_get(p, "model")), model) == 0 &&
            same_opt(json_object_get(p, "target"), target))
            return (long)i;
    return -1;
}

void admin_cmd_pin(struct ctr *c, const struct admin_peer *peer, json_t *args,
                   struct admin_reply *r)
{
    (void)peer;
    const char *model = arg_str(args, "model"), *version = arg_str(args, "version");
    const char *target = arg_str(args, "target");
    const struct cfg_model *m = cfg_find_model(c->cfg, model);
    if (!m) {
        admin_fail(r, "not_found", "pin: no model \"%.200s\" in the configuration", model);
        return;
    }
    if (target && !is_target_of(c->cfg, m, target)) {
        admin_fail(r, "not_found", "pin: \"%.200s\" is not a target (provider/model) of model %s",
                   target, model);
        return;
    }
    if (!clean_text(version, VERSION_MAX)) {
        admin_fail(r, "bad_args", "pin: the version must be 1..%d printable characters without "
                   "blanks", VERSION_MAX);
        return;
    }
    json_t *d = draft(c);
    json_t *pins = json_object_get(d, "pins");
    long at = find_pin(pins, model, target);
    json_t *pin = json_pack("{s:s, s:s?, s:s, s:I}", "model", model, "target", target, "version",
                            version, "set_ms", (json_int_t)bs_wall_ms());
    if (pin && at >= 0)
        json_array_set(pins, (size_t)at, pin);
    else if (pin)
        json_array_append(pins, pin);
    commit(c, d, "pin", pin, r);
}

void admin_cmd_unpin(struct ctr *c, const struct admin_peer *peer, json_t *args,
                     struct admin_reply *r)
{
    (void)peer;
    const char *model = arg_str(args, "model"), *target = arg_str(args, "target");
    long at = find_pin(json_object_get(c->ovr, "pins"), model, target);
    if (at < 0) {
        admin_fail(r, "not_found", "unpin: model %.200s%s%.200s is not pinned (`pins` lists the "
                   "pins)", model, target ? " target " : "", target ? target : "");
        return;
    }
    json_t *d = draft(c);
    json_t *pins = json_object_get(d, "pins");
    json_t *old = json_incref(json_array_get(pins, (size_t)at));
    json_array_remove(pins, (size_t)at);
    commit(c, d, "removed", old, r);
}

void admin_cmd_pins(struct ctr *c, const struct admin_peer *peer, json_t *args,
                    struct admin_reply *r)
{
    (void)peer;
    (void)args;
    json_t *list = json_deep_copy(json_object_get(c->ovr, "pins"));
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        const char *model = json_string_value(json_object_get(p, "model"));
        const char *target = json_string_value(json_object_get(p, "target"));
        const struct cfg_model *m = cfg_find_model(c->cfg, model);
        /* A reload may have removed what the pin names: it stays stored,
         * and applies again if the name comes back. */
        bool active = m && (!target || is_target_of(c->cfg, m, target));
        json_object_set_new(p, "active", json_boolean(active));
    }
    r->result = json_pack("{s:o*}", "pins", list);
}

/* --- forced failures --- */

void admin_cmd_fail(struct ctr *c, const struct admin_peer *peer, json_t *args,
                    struct admin_reply *r)
{
    (void)peer;
    const char *target = arg_str(args, "target"), *mode = arg_str(args, "mode");
    const char *model = arg_str(args, "model"), *key = arg_str(args, "key");
    struct ovr_mode_spec spec;
    char err[256];
    if (ovr_parse_mode(mode, &spec, err, sizeof err) < 0) {
        admin_fail(r, "bad_args", "fail: --mode: %s", err);
        return;
    }
    if (!known_target(c, target, r))
        return;
    if (model && !cfg_find_model(c->cfg, model)) {
        admin_fail(r, "not_found", "fail: no model \"%.200s\" in the configuration", model);
        return;
    }
    if (key && !clean_text(key, 64)) {
        admin_fail(r, "bad_args", "fail: --key takes a key fingerprint (as `keys list` shows it)");
        return;
    }
    const struct cfg_overrides *o = &c->cfg->overrides;
    long long for_ms = admin_arg_int(args, "for_ms", o->fault_default_ms);
    if (for_ms > o->fault_max_ms) {
        admin_fail(r, "bad_args", "fail: a forced failure lasts at most %d ms "
                   "(overrides.fault_max_ms); asked for %lld", o->fault_max_ms, for_ms);
        return;
    }
    json_t *d = draft(c);
    json_int_t id = json_integer_value(json_object_get(d, "next_id"));
    char idbuf[32];
    snprintf(idbuf, sizeof idbuf, "f%lld", (long long)id);
    uint64_t now = bs_wall_ms();
    json_t *f = json_pack("{s:s, s:s, s:s, s:I, s:s?, s:s?, s:I, s:I}", "id", idbuf, "target",
                          target, "mode", mode, "rate", admin_arg_int(args, "rate", 100), "model",
                          model, "key", key, "set_ms", (json_int_t)now, "until_ms",
                          (json_int_t)(now + (uint64_t)for_ms));
    if (d && f) {
        json_object_set_new(d, "next_id", json_integer(id + 1));
        json_array_append(json_object_get(d, "faults"), f);
    }
    commit(c, d, "fault", f, r);
}

static bool fault_matches(const json_t *f, const char *id, const char *target)
{
    if (id)
        return strcmp(json_string_value(json_object_get(f, "id")), id) == 0;
    if (target)
        return strcmp(json_string_value(json_object_get(f, "target")), target) == 0;
    return true;
}

/* Removes the matching entries of d's list `name` into a new array. */
static json_t *take(json_t *d, const char *name, const char *id, const char *target,
                    bool (*match)(const json_t *, const char *, const char *))
{
    json_t *list = json_object_get(d, name), *gone = json_array();
    uint64_t now = bs_wall_ms();
    for (size_t i = 0; gone && i < json_array_size(list);) {
        json_t *e = json_array_get(list, i);
        bool expired = strcmp(name, "faults") == 0 && !ctr_ovr_fault_live(e, now);
        if (match(e, id, target) && !expired) {
            json_array_append(gone, e);
            json_array_remove(list, i);
        } else {
            i++;
        }
    }
    return gone;
}

/* Takes the matching entries of list `name` out and stores the rest,
 * answering with what was removed; false (r untouched) when none matched. */
static bool remove_matching(struct ctr *c, const char *name, const char *id, const char *target,
                            bool (*match)(const json_t *, const char *, const char *),
                            struct admin_reply *r)
{
    json_t *d = draft(c);
    json_t *gone = d ? take(d, name, id, target, match) : NULL;
    if (gone && json_array_size(gone) == 0) {
        json_decref(gone);
        json_decref(d);
        return false;
    }
    commit(c, d, "removed", gone, r);
    return true;
}

/* Exactly one of the selectors; false with r filled otherwise. */
static bool one_selector(const char *cmd, json_t *args, const char *const *names,
                         struct admin_reply *r)
{
    int n = 0;
    for (size_t i = 0; names[i]; i++)
        n += json_object_get(args, names[i]) != NULL;
    if (n != 1)
        admin_fail(r, "bad_args", "%s: give exactly one of %s, %s%s%s", cmd, names[0], names[1],
                   names[2] ? ", " : "", names[2] ? names[2] : "");
    return n == 1;
}

void admin_cmd_unfail(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r)
{
    (void)peer;
    static const char *const sel[] = { "id", "target", "all", NULL };
    if (!one_selector("unfail", args, sel, r))
        return;
    const char *id = arg_str(args, "id"), *target = arg_str(args, "target");
    if (!remove_matching(c, "faults", id, target, fault_matches, r))
        admin_fail(r, "not_found", "unfail: no forced failure in force matches %.200s",
                   id ? id : target ? target : "");
}

void admin_cmd_faults(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r)
{
    (void)peer;
    (void)args;
    r->result = json_pack("{s:o*, s:I}", "faults", ctr_ovr_live_faults(c), "now_ms",
                          (json_int_t)bs_wall_ms());
}

/* --- drains --- */

static bool drain_matches(const json_t *e, const char *id, const char *target)
{
    (void)id;
    return !target || strcmp(json_string_value(json_object_get(e, "target")), target) == 0;
}

void admin_cmd_drain(struct ctr *c, const struct admin_peer *peer, json_t *args,
                     struct admin_reply *r)
{
    (void)peer;
    const char *target = arg_str(args, "target");
    if (!known_target(c, target, r))
        return;
    json_t *d = draft(c);
    json_t *old = d ? take(d, "drains", NULL, target, drain_matches) : NULL;
    json_decref(old);
    json_t *e = json_pack("{s:s, s:I}", "target", target, "set_ms", (json_int_t)bs_wall_ms());
    if (d && e)
        json_array_append(json_object_get(d, "drains"), e);
    commit(c, d, "drain", e, r);
}

void admin_cmd_undrain(struct ctr *c, const struct admin_peer *peer, json_t *args,
                       struct admin_reply *r)
{
    (void)peer;
    static const char *const sel[] = { "target", "all", NULL };
    if (!one_selector("undrain", args, sel, r))
        return;
    const char *target = arg_str(args, "target");
    if (!remove_matching(c, "drains", NULL, target, drain_matches, r))
        admin_fail(r, "not_found", "undrain: %.200s%s drained", target ? target : "nothing",
                   target ? " is not" : " is");
}

void admin_cmd_drains(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r)
{
    (void)peer;
    (void)args;
    r->result = json_pack("{s:O}", "drains", json_object_get(c->ovr, "drains"));
}
