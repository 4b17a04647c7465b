/* gw_ovr: reading and matching the operator overrides (gw_ovr.h). */
#include "gw_ovr.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"

void gw_ovr_free(struct gw_ovr *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->npins; i++) {
        free(o->pins[i].model);
        free(o->pins[i].target);
        free(o->pins[i].version);
    }
    for (size_t i = 0; i < o->nfaults; i++) {
        free(o->faults[i].id);
        free(o->faults[i].target);
        free(o->faults[i].model);
        free(o->faults[i].key);
    }
    for (size_t i = 0; i < o->ndrains; i++)
        free(o->drains[i]);
    free(o->pins);
    free(o->faults);
    free(o->drains);
    free(o);
}

/* A copy of the member, NULL when absent or null; *ok turns false when a
 * present value is not a string or memory ran out. */
static char *dup_str(const json_t *obj, const char *key, bool required, bool *ok)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            *ok = false;
        return NULL;
    }
    char *s = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
    if (!s)
        *ok = false;
    return s;
}

static bool read_pin(const json_t *j, struct gw_pin *p)
{
    bool ok = true;
    p->model = dup_str(j, "model", true, &ok);
    p->target = dup_str(j, "target", false, &ok);
    p->version = dup_str(j, "version", true, &ok);
    return ok;
}

static bool read_fault(const json_t *j, struct gw_fault_rule *f)
{
    bool ok = true;
    char err[256];
    f->id = dup_str(j, "id", true, &ok);
    f->target = dup_str(j, "target", true, &ok);
    f->model = dup_str(j, "model", false, &ok);
    f->key = dup_str(j, "key", false, &ok);
    f->rate = (int)json_integer_value(json_object_get(j, "rate"));
    f->until_ms = (uint64_t)json_integer_value(json_object_get(j, "until_ms"));
    const char *mode = json_string_value(json_object_get(j, "mode"));
    if (!mode || ovr_parse_mode(mode, &f->spec, err, sizeof err) < 0) {
        log_err("forced failure %s: %s", f->id ? f->id : "?", mode ? err : "no mode");
        ok = false;
    }
    return ok && f->rate >= 1 && f->rate <= 100;
}

static struct gw_ovr *parse(const json_t *doc)
{
    struct gw_ovr *o = calloc(1, sizeof *o);
    const json_t *pins = json_object_get(doc, "pins"), *faults = json_object_get(doc, "faults");
    const json_t *drains = json_object_get(doc, "drains");
    if (!o)
        return NULL;
    bool ok = json_is_array(pins) && json_is_array(faults) && json_is_array(drains);
    size_t np = json_array_size(pins), nf = json_array_size(faults), nd = json_array_size(drains);
    o->pins = calloc(np ? np : 1, sizeof *o->pins);
    o->faults = calloc(nf ? nf : 1, sizeof *o->faults);
    o->drains = calloc(nd ? nd : 1, sizeof *o->drains);
    ok = ok && o->pins && o->faults && o->drains;
    for (; ok && o->npins < np; o->npins++)
        ok = read_pin(json_array_get(pins, o->npins), &o->pins[o->npins]);
    for (; ok && o->nfaults < nf; o->nfaults++)
        ok = read_fault(json_array_get(faults, o->nfaults), &o->faults[o->nfaults]);
    for (; ok && o->ndrains < nd; o->ndrains++) {
        o->drains[o->ndrains] = dup_str(json_array_get(drains, o->ndrains), "target", true, &ok);
    }
    if (!ok) {
        gw_ovr_free(o);
        return NULL;
    }
    return o;
}

struct gw_ovr *gw_ovr_parse(const char *json, size_t len)
{
    json_t *doc = json_loadb(json, len, 0, NULL);
    struct gw_ovr *o = doc ? parse(doc) : NULL;
    json_decref(doc);
    return o;
}

struct gw_ovr *gw_ovr_load(struct st_env *st)
{
    const void *v;
    size_t len;
    if (st_rd_get(st, ST_DB_META, ST_KEY_OVERRIDES, &v, &len) != 0)
        return NULL;
    struct gw_ovr *o = gw_ovr_parse(v, len);
    if (!o)
        log_err("the operator overrides in the state store are unreadable: none applied");
    return o;
}

const char *gw_ovr_model(const struct gw_ovr *o, const char *chain, const char *target_key,
                         const char *configured)
{
    const char *chain_wide = NULL;
    for (size_t i = 0; o && i < o->npins; i++) {
        const struct gw_pin *p = &o->pins[i];
        if (strcmp(p->model, chain) != 0)
            continue;
        if (!p->target)
            chain_wide = p->version;
        else if (strcmp(p->target, target_key) == 0)
            return p->version;
    }
    return chain_wide ? chain_wide : configured;
}

bool gw_ovr_drained(const struct gw_ovr *o, const char *provider, const char *target_key)
{
    for (size_t i = 0; o && i < o->ndrains; i++)
        if (ovr_covers(o->drains[i], provider, target_key))
            return true;
    return false;
}

/* Stream-only modes leave a plain answer alone, and an empty tool turn
 * needs tools on offer: the same rule as the simulated provider's. */
static bool mode_applies(const struct ovr_mode_spec *s, const struct gw_fault_query *q)
{
    switch (s->mode) {
    case OVR_STREAM_CUT:
    case OVR_STREAM_ERROR:
        return q->stream;
    case OVR_EMPTY_TOOL_TURN:
        return q->tools;
    default:
        return true;
    }
}

const struct gw_fault_rule *gw_ovr_fault(struct gw_ovr *o, const struct gw_fault_query *q)
{
    for (size_t i = 0; o && i < o->nfaults; i++) {
        struct gw_fault_rule *f = &o->faults[i];
        if (f->until_ms <= q->now_ms || !ovr_covers(f->target, q->provider, q->target_key) ||
            (f->model && strcmp(f->model, q->chain) != 0) ||
            (f->key && strcmp(f->key, q->key_fpr) != 0) || !mode_applies(&f->spec, q))
            continue;
        /* The simulated provider's rate rule: attempt i is hit iff
         * (i * rate) % 100 < rate, an even spread without randomness. */
        uint64_t n = f->seen++;
        if ((n * (uint64_t)f->rate) % 100 < (uint64_t)f->rate)
            return f;
    }
    return NULL;
}
