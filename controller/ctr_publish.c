/* ctr_publish: puts a validated configuration into LMDB under a new
 * generation (workers pick it up on their next request), and reloads. */
#include "ctr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct publish_arg {
    const char *json;
    size_t len;
    uint64_t generation;
};

static int publish_txn(struct st_env *st, MDB_txn *txn, void *argp)
{
    struct publish_arg *a = argp;
    int rc = st_put(st, txn, ST_DB_META, ST_KEY_CONFIG, a->json, a->len);
    return rc ? rc : st_bump(st, txn, ST_DB_META, ST_KEY_GENERATION, &a->generation);
}

/* One write transaction: the config and its generation change together, so
 * a worker never sees a generation without its config. */
int ctr_publish(struct ctr *c, const struct cfg *cfg)
{
    char *json = json_dumps(cfg->normalized, JSON_COMPACT | JSON_SORT_KEYS);
    if (!json)
        return -ENOMEM;
    struct publish_arg a = { json, strlen(json), 0 };
    int rc = st_write(c->st, publish_txn, &a, true);
    free(json);
    if (rc) {
        log_err("cannot store the configuration in %s: %s", cfg->state_dir, st_strerror(rc));
        return rc;
    }
    c->generation = a.generation;
    return 0;
}

/* A provider whose key variable is unset either is optional (disabled, with a
 * warning) or makes the start fail: never a silent unauthenticated call. */
int ctr_check_keys(const struct cfg *cfg)
{
    int bad = 0;
    for (size_t i = 0; i < cfg->nproviders; i++) {
        const struct cfg_provider *p = &cfg->providers[i];
        const char *v = p->api_key_env ? getenv(p->api_key_env) : NULL;
        if (!p->api_key_env || (v && *v))
            continue;
        if (p->optional) {
            log_warn("provider %s disabled: environment variable %s is not set", p->name,
                     p->api_key_env);
        } else {
            log_err("provider %s: environment variable %s is not set (mark the provider "
                    "\"optional\": true to run without it)", p->name, p->api_key_env);
            bad = 1;
        }
    }
    return bad ? -EINVAL : 0;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* What a running controller cannot change without a restart. */
static int reload_check_fixed(const struct cfg *old, const struct cfg *new)
{
    int bad = 0;
    if (!same_str(old->listen_host, new->listen_host) || old->listen_port != new->listen_port) {
        log_err("reload: $.listen cannot change on reload (%s:%d -> %s:%d); restart instead",
                old->listen_host, old->listen_port, new->listen_host, new->listen_port);
        bad = 1;
    }
    if (!same_str(old->state_dir, new->state_dir)) {
        log_err("reload: $.state_dir cannot change on reload; restart instead");
        bad = 1;
    }
    if (old->lmdb_map_mb != new->lmdb_map_mb) {
        log_err("reload: $.lmdb_map_mb cannot change on reload; restart instead");
        bad = 1;
    }
    return bad;
}

/* All or nothing: a config with any error is rejected whole and the old one
 * keeps serving. */
int ctr_reload(struct ctr *c)
{
    struct cfg_errors errs = { 0 };
    log_notice("reload: reading %s", c->config_path);
    struct cfg *cfg = cfg_load_file(c->config_path, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.n; i++)
            log_err("reload: %s", errs.msg[i]);
        log_err("reload rejected: %zu error(s); generation %llu keeps serving", errs.n,
                (unsigned long long)c->generation);
        cfg_errors_clear(&errs);
        return -EINVAL;
    }
    if (reload_check_fixed(c->cfg, cfg) || ctr_check_keys(cfg) < 0) {
        log_err("reload rejected; generation %llu keeps serving",
                (unsigned long long)c->generation);
        cfg_free(cfg);
        return -EINVAL;
    }
    int rc = ctr_publish(c, cfg);
    if (rc) {
        log_err("reload rejected; generation %llu keeps serving",
                (unsigned long long)c->generation);
        cfg_free(cfg);
        return rc;
    }
    bool log_changed = !same_str(c->cfg->log.file, cfg->log.file);
    cfg_free(c->cfg);
    c->cfg = cfg;
    log_set_level((int)cfg->log.level);
    if (log_changed)
        log_open("controller", cfg->log.file, (int)cfg->log.level);
    log_notice("reload: generation %llu published (%zu providers, %zu models, %d workers)",
               (unsigned long long)c->generation, cfg->nproviders, cfg->nmodels, cfg->workers);
    ctr_workers_resize(c);
    ctr_probe_reload(c);
    return 0;
}
