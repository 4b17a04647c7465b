/*
 * cfg_targets: gives every distinct upstream target of a configuration a
 * small dense id.  A target is a (provider, upstream model) pair; the same
 * pair named by several chains is one target, with one breaker, one health
 * record and one probe.  Ids are assigned in the order targets first appear
 * (chains in name order, as the
 * configuration is built, targets in chain order), so the controller and the
 * workers, building the same normalised config, agree on them without
 * exchanging anything.  An id means something only within its generation:
 * anything kept across a reload is matched again by key.
 */
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_impl.h"
#include "fmt.h"

/* The build is linear in targets times distinct targets: it runs once per
 * generation, and a hash would only pay off far above real chain counts. */
static long find_pair(const struct cfg *cfg, size_t provider, const char *model)
{
    for (size_t i = 0; i < cfg->ntarget_ids; i++)
        if (cfg->target_ids[i].provider == provider && strcmp(cfg->target_ids[i].model, model) == 0)
            return (long)i;
    return -1;
}

bool cfg_index_targets(struct cfg *cfg)
{
    size_t total = 0;
    for (size_t m = 0; m < cfg->nmodels; m++)
        total += cfg->models[m].ntargets;
    cfg->target_ids = calloc(total ? total : 1, sizeof *cfg->target_ids);
    if (!cfg->target_ids)
        return false;
    for (size_t m = 0; m < cfg->nmodels; m++) {
        for (size_t t = 0; t < cfg->models[m].ntargets; t++) {
            struct cfg_target *tg = &cfg->models[m].targets[t];
            long id = find_pair(cfg, tg->provider, tg->model);
            if (id < 0) {
                struct cfg_target_id *ti = &cfg->target_ids[cfg->ntarget_ids];
                const char *prov = cfg->providers[tg->provider].name;
                size_t len = strlen(prov) + 1 + strlen(tg->model) + 1;
                if (!(ti->key = malloc(len)))
                    return false;
                fmt_join(ti->key, len, prov, "/", tg->model, NULL);
                ti->provider = tg->provider;
                ti->model = tg->model;
                id = (long)cfg->ntarget_ids++;
            }
            tg->id = (uint32_t)id;
        }
    }
    return true;
}

void cfg_free_targets(struct cfg *cfg)
{
    for (size_t i = 0; cfg->target_ids && i < cfg->ntarget_ids; i++)
        free(cfg->target_ids[i].key);
    free(cfg->target_ids);
    cfg->target_ids = NULL;
    cfg->ntarget_ids = 0;
}

long cfg_target_lookup(const struct cfg *cfg, const char *key)
{
    for (size_t i = 0; cfg && key && i < cfg->ntarget_ids; i++)
        if (strcmp(cfg->target_ids[i].key, key) == 0)
            return (long)i;
    return -1;
}
