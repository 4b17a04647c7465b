/* ctr_target: the controller's table of targets; see ctr_target.h. */
#include "ctr_target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctr.h"
#include "log.h"

static void target_free(struct ctr_target *t)
{
    if (!t)
        return;
    free(t->key);
    free(t->provider);
    free(t->model);
    free(t);
}

static struct ctr_target *target_new(const struct cfg *cfg, uint32_t id)
{
    const struct cfg_target_id *ti = &cfg->target_ids[id];
    struct ctr_target *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->key = strdup(ti->key);
    t->provider = strdup(cfg->providers[ti->provider].name);
    t->model = strdup(ti->model);
    if (!t->key || !t->provider || !t->model) {
        target_free(t);
        return NULL;
    }
    brk_fsm_init(&t->brk);
    return t;
}

/* The old table's target of key, taken out of it (its slot set to NULL). */
static struct ctr_target *take_old(struct ctr_targets *old, const char *key, size_t hint)
{
    /* Ids rarely move between generations: try the same one first. */
    if (hint < old->n && old->v[hint] && strcmp(old->v[hint]->key, key) == 0) {
        struct ctr_target *t = old->v[hint];
        old->v[hint] = NULL;
        return t;
    }
    for (size_t i = 0; i < old->n; i++)
        if (old->v[i] && strcmp(old->v[i]->key, key) == 0) {
            struct ctr_target *t = old->v[i];
            old->v[i] = NULL;
            return t;
        }
    return NULL;
}

int ctr_target_rebuild(struct ctr *c)
{
    const struct cfg *cfg = c->cfg;
    struct ctr_targets *old = &c->tgt;
    size_t n = cfg->ntarget_ids;
    struct ctr_target **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    /* New targets first, so running out of memory leaves the old table. */
    for (size_t id = 0; id < n; id++) {
        bool known = false;
        for (size_t i = 0; i < old->n && !known; i++)
            known = old->v[i] && strcmp(old->v[i]->key, cfg->target_ids[id].key) == 0;
        if (!known && !(v[id] = target_new(cfg, (uint32_t)id))) {
            for (size_t j = 0; j < n; j++)
                target_free(v[j]);
            free(v);
            /* The old numbering is not this generation's: match by key. */
            old->generation = UINT64_MAX;
            log_err("generation %llu: out of memory for the target table",
                    (unsigned long long)c->generation);
            return -ENOMEM;
        }
    }
    for (size_t id = 0; id < n; id++) {
        if (!v[id])
            v[id] = take_old(old, cfg->target_ids[id].key, id);
        v[id]->id = (uint32_t)id;
    }
    /* What is left of the old table has left the config. */
    for (size_t i = 0; i < old->n; i++) {
        struct ctr_target *t = old->v[i];
        if (!t)
            continue;
        ctr_probe_forget(c, t);
        ctr_breaker_forget(c, t);
        target_free(t);
    }
    free(old->v);
    old->v = v;
    old->n = n;
    old->generation = c->generation;
    ctr_breaker_renumbered(c);
    return 0;
}

void ctr_target_free(struct ctr *c)
{
    for (size_t i = 0; i < c->tgt.n; i++)
        target_free(c->tgt.v[i]);
    free(c->tgt.v);
    c->tgt.v = NULL;
    c->tgt.n = 0;
}

struct ctr_target *ctr_target_find(struct ctr *c, const char *key)
{
    for (size_t i = 0; key && i < c->tgt.n; i++)
        if (strcmp(c->tgt.v[i]->key, key) == 0)
            return c->tgt.v[i];
    return NULL;
}

struct ctr_target *ctr_target_find2(struct ctr *c, const char *provider, const char *model)
{
    for (size_t i = 0; i < c->tgt.n; i++) {
        struct ctr_target *t = c->tgt.v[i];
        if (strcmp(t->provider, provider) == 0 && strcmp(t->model, model) == 0)
            return t;
    }
    return NULL;
}

struct ctr_target *ctr_target_of(struct ctr *c, uint64_t generation, uint32_t id,
                                 const char *provider, const char *model)
{
    /* Every generation from the table's on shares its config (a generation
     * bump for overrides or keys does not renumber): the id is good. */
    if (generation >= c->tgt.generation && generation <= c->generation && id < c->tgt.n)
        return c->tgt.v[id];
    struct ctr_target *t = ctr_target_find2(c, provider, model);
    if (!t) {
        c->tgt.dropped++;
        /* Only old generations get here, and only around a reload. */
        if (c->tgt.dropped == 1 || c->tgt.dropped % 1000 == 0)
            log_info("telemetry for %s/%s of generation %llu: not a target of generation %llu, "
                     "dropped (%llu so far)", provider, model, (unsigned long long)generation,
                     (unsigned long long)c->generation, (unsigned long long)c->tgt.dropped);
    }
    return t;
}
