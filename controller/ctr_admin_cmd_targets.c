/*
 * ctr_admin_cmd_targets: `targets` and `health`, one entry per target
 * ("provider/model") of the configured chains: its breaker (from the
 * controller's breakers), its attempt statistics (the telemetry aggregate)
 * its probe state (as stored in ST_DB_PROBES) and the operator overrides on
 * it (its drain and live forced failures, ctr_ovr.c).
 */
#include "ctr_admin.h"

#include <stdio.h>
#include <string.h>

#include "brk.h"
#include "fail.h"

static json_t *breaker_json(struct ctr *c, const char *provider, const char *model)
{
    struct brk_record rec;
    if (!ctr_breaker_get(c, provider, model, &rec))
        return json_pack("{s:s, s:n, s:i, s:n, s:n}", "state", "closed", "reason", "trips", 0,
                         "until_ms", "changed_ms");
    return json_pack("{s:s, s:o, s:i, s:o, s:I}", "state", brk_state_name(rec.state),
                     "reason", rec.reason ? json_string(fail_class_name(rec.reason)) : json_null(),
                     "trips", (int)rec.trips,
                     "until_ms", rec.state == BRK_OPEN ? json_integer((json_int_t)rec.until_wall_ms)
                                                        : json_null(),
                     "changed_ms", (json_int_t)rec.changed_wall_ms);
}

static json_t *find_entry(json_t *list, const char *key)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
        if (strcmp(json_string_value(json_object_get(e, "target")), key) == 0)
            return e;
    return NULL;
}

/* The distinct targets of every chain, in chain order, each with the chains
 * that use it. */
static json_t *config_targets(struct ctr *c)
{
    const struct cfg *cfg = c->cfg;
    json_t *list = json_array();
    for (size_t i = 0; list && i < cfg->nmodels; i++) {
        const struct cfg_model *m = &cfg->models[i];
        for (size_t j = 0; j < m->ntargets; j++) {
            const struct cfg_provider *p = &cfg->providers[m->targets[j].provider];
            const char *model = m->targets[j].model;
            char key[512];
            snprintf(key, sizeof key, "%s/%s", p->name, model);
            json_t *e = find_entry(list, key);
            if (!e) {
                const char *src = admin_key_source(c, p);
                json_t *health = ctr_tel_health(c, p->name, model);
                e = json_pack("{s:s, s:s, s:s, s:[], s:s, s:b, s:o, s:o}", "target", key,
                              "provider", p->name, "model", model, "chains", "key_source", src,
                              "enabled", strcmp(src, "missing") != 0,
                              "breaker", breaker_json(c, p->name, model),
                              "health", health ? health : json_null());
                if (!e || json_array_append_new(list, e) < 0)
                    continue;
                json_t *ovr = ctr_ovr_for_target(c, p->name, model);
                if (ovr)
                    json_object_update(e, ovr);   /* "drain", "faults" */
                json_decref(ovr);
            }
            json_array_append_new(json_object_get(e, "chains"), json_string(m->name));
        }
    }
    return list;
}

/* Probe states in one read transaction, after everything else has been
 * looked up (the key-source lookups use their own). */
static void add_probes(struct ctr *c, json_t *list)
{
    if (st_rd_begin(c->st) != 0)
        return;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const void *v;
        size_t len;
        json_t *probe = NULL;
        const char *key = json_string_value(json_object_get(e, "target"));
        if (st_rd_get(c->st, ST_DB_PROBES, key, &v, &len) == 0)
            probe = json_loadb(v, len, 0, NULL);
        json_object_set_new(e, "probe", probe ? probe : json_null());
    }
    st_rd_end(c->st);
}

void admin_cmd_targets(struct ctr *c, const struct admin_peer *peer, json_t *args,
                       struct admin_reply *r)
{
    (void)peer;
    (void)args;
    json_t *list = config_targets(c);
    if (!list)
        return;
    add_probes(c, list);
    r->result = json_pack("{s:o}", "targets", list);
}
