/*
 * The public face of the configuration: load = parse, then check against
 * the schema (collecting every error), then build the struct.
 */
#include <stdlib.h>
#include <string.h>

#include "cfg_impl.h"

struct cfg *cfg_load_json(json_t *root, const char *base_dir, struct cfg_errors *errs)
{
    struct cfg_ctx c;
    cfg_ctx_init(&c, errs, base_dir, root);
    json_t *norm = cfg_walk(&c, root);
    if (!norm) {
        /* Whatever could not be recorded must still read as a failure. */
        if (c.oom || c.nerr == 0)
            cfg_errors_push(errs, "out of memory while checking the configuration");
        return NULL;
    }
    struct cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg || !cfg_build(&cfg_schema, cfg, norm) || !cfg_index_targets(cfg)) {
        cfg_free(cfg);
        json_decref(norm);
        cfg_errors_push(errs, "out of memory while building the configuration");
        return NULL;
    }
    cfg->normalized = norm;
    return cfg;
}

struct cfg *cfg_load_file(const char *path, struct cfg_errors *errs)
{
    json_t *root = cfg_parse_file(path, errs);
    if (!root)
        return NULL;
    char *base = cfg_base_dir(path);
    struct cfg *cfg = NULL;
    if (base)
        cfg = cfg_load_json(root, base, errs);
    else
        cfg_errors_push(errs, "%s: out of memory", path);
    free(base);
    json_decref(root);
    return cfg;
}

void cfg_free(struct cfg *cfg)
{
    if (!cfg)
        return;
    cfg_free_targets(cfg);
    cfg_unbuild(&cfg_schema, cfg);
    json_decref(cfg->normalized);
    free(cfg);
}

const struct cfg_model *cfg_find_model(const struct cfg *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->nmodels; i++)
        if (strcmp(cfg->models[i].name, name) == 0)
            return &cfg->models[i];
    return NULL;
}

const struct cfg_provider *cfg_find_provider(const struct cfg *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->nproviders; i++)
        if (strcmp(cfg->providers[i].name, name) == 0)
            return &cfg->providers[i];
    return NULL;
}

const char *cfg_provider_type_name(enum cfg_provider_type t)
{
    for (const struct cfg_enum *e = cfg_provider_types; e->name; e++)
        if (e->value == (int)t)
            return e->name;
    return "unknown";
}
