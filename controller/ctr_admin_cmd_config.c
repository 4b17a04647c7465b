/*
 * ctr_admin_cmd_config: `reload` (the same all-or-nothing reload as SIGHUP,
 * with the reasons in the answer), `config check` (validate a file without
 * applying it) and `config show` (the configuration in effect).
 */
#include "ctr_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDACTED "[redacted]"

void admin_cmd_reload(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r)
{
    (void)peer;
    (void)args;
    struct cfg_errors errs = { 0 };
    uint64_t before = c->generation;
    if (ctr_reload(c, &errs) < 0) {
        admin_fail(r, "reload_rejected", "reload of %s rejected with %zu error(s); generation "
                   "%llu keeps serving", c->config_path, errs.n, (unsigned long long)before);
        r->details = admin_errors_json(&errs);
        return;
    }
    cfg_errors_clear(&errs);
    r->result = json_pack("{s:s, s:I, s:I, s:i, s:i, s:i}", "config", c->config_path,
                          "previous_generation", (json_int_t)before,
                          "generation", (json_int_t)c->generation,
                          "providers", (int)c->cfg->nproviders, "models", (int)c->cfg->nmodels,
                          "workers", c->cfg->workers);
}

/* What would make a start or a reload of this file fail in this daemon's
 * environment, beyond the file itself. */
static json_t *key_warnings(struct ctr *c, const struct cfg *cfg)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < cfg->nproviders; i++) {
        const struct cfg_provider *p = &cfg->providers[i];
        if (strcmp(admin_key_source(c, p), "missing") != 0)
            continue;
        json_t *msg = json_sprintf("provider %s: environment variable %s is not set and no key "
                                   "is stored: %s", p->name, p->api_key_env,
                                   p->optional ? "it would be disabled"
                                               : "a reload would be rejected");
        json_array_append_new(list, msg);
    }
    return list;
}

void admin_cmd_config_check(struct ctr *c, const struct admin_peer *peer, json_t *args,
                            struct admin_reply *r)
{
    (void)peer;
    const char *path = json_string_value(json_object_get(args, "path"));
    /* The daemon's working directory is not the client's. */
    if (path[0] != '/') {
        admin_fail(r, "bad_args", "config check: path must be absolute, got \"%.200s\"", path);
        return;
    }
    struct cfg_errors errs = { 0 };
    struct cfg *cfg = cfg_load_file(path, &errs);
    if (!cfg) {
        admin_fail(r, "invalid_config", "configuration %.900s has %zu error(s)", path, errs.n);
        r->details = admin_errors_json(&errs);
        return;
    }
    r->result = json_pack("{s:s, s:i, s:i, s:i, s:o}", "path", path, "providers",
                          (int)cfg->nproviders, "models", (int)cfg->nmodels, "workers",
                          cfg->workers, "warnings", key_warnings(c, cfg));
    cfg_free(cfg);
}

/* Everything under "keys" is replaced: key material settings are not for
 * display, whatever they hold. */
static void redact_keys(json_t *doc)
{
    json_t *keys = json_object_get(doc, "keys");
    const char *k;
    json_t *v;
    json_object_foreach(keys, k, v)
        json_object_set_new(keys, k, json_string(REDACTED));
}

/* The pin in force on one target of a chain: the target's own, else the
 * chain's (the same precedence as the workers', gw_ovr.c). */
static const json_t *pin_for(const json_t *ovr, const char *model, const char *target)
{
    const json_t *chain_wide = NULL;
    size_t i;
    json_t *pin;
    json_array_foreach(json_object_get(ovr, "pins"), i, pin) {
        if (strcmp(json_string_value(json_object_get(pin, "model")), model) != 0)
            continue;
        const char *t = json_string_value(json_object_get(pin, "target"));
        if (!t)
            chain_wide = pin;
        else if (strcmp(t, target) == 0)
            return pin;
    }
    return chain_wide;
}

/* Each pinned target of the document gets the pinned version as its model,
 * and `marks` says which values those are and what the file says. */
static void apply_pins(struct ctr *c, json_t *doc, json_t *marks)
{
    const char *model;
    json_t *m, *t;
    json_object_foreach(json_object_get(doc, "models"), model, m) {
        size_t j;
        json_array_foreach(json_object_get(m, "targets"), j, t) {
            char key[512], path[512];
            snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(t, "provider")),
                     json_string_value(json_object_get(t, "model")));
            const json_t *pin = pin_for(c->ovr, model, key);
            if (!pin)
                continue;
            json_t *version = json_object_get(pin, "version");
            snprintf(path, sizeof path, "$.models.%s.targets[%zu].model", model, j);
            json_array_append_new(marks, json_pack("{s:s, s:O, s:O, s:s}", "path", path, "value",
                                                   version, "configured",
                                                   json_object_get(t, "model"), "source", "pin"));
            json_object_set(t, "model", version);
        }
    }
}

void admin_cmd_config_show(struct ctr *c, const struct admin_peer *peer, json_t *args,
                           struct admin_reply *r)
{
    (void)peer;
    (void)args;
    json_t *doc = json_deep_copy(c->cfg->normalized);
    json_t *sources = json_object();
    if (!doc || !sources) {
        json_decref(doc);
        json_decref(sources);
        return;
    }
    redact_keys(doc);
    json_t *marks = json_array();
    apply_pins(c, doc, marks);
    for (size_t i = 0; i < c->cfg->nproviders; i++)
        json_object_set_new(sources, c->cfg->providers[i].name,
                            json_string(admin_key_source(c, &c->cfg->providers[i])));
    json_t *ovr = json_pack("{s:O, s:o*, s:O}", "pins", json_object_get(c->ovr, "pins"),
                            "faults", ctr_ovr_live_faults(c), "drains",
                            json_object_get(c->ovr, "drains"));
    r->result = json_pack("{s:s, s:I, s:o, s:o, s:o*, s:o*}", "path", c->config_path,
                          "generation", (json_int_t)c->generation, "config", doc, "key_sources",
                          sources, "overridden", marks, "overrides", ovr);
}
