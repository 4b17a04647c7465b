/* ctr_publish: puts a validated configuration into LMDB under a new
 * generation (workers pick it up on their next request), and reloads. */
#include "ctr.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct publish_arg {
    const char *key;
    const char *json;
    size_t len;
    uint64_t generation;
};

static int publish_txn(struct st_env *st, MDB_txn *txn, void *argp)
{
    struct publish_arg *a = argp;
    int rc = st_put(st, txn, ST_DB_META, a->key, a->json, a->len);
    return rc ? rc : st_bump(st, txn, ST_DB_META, ST_KEY_GENERATION, &a->generation);
}

/* One write transaction: the document and its generation change together,
 * so a worker never sees a generation without what it stands for. */
int ctr_publish_meta(struct ctr *c, const char *key, const json_t *doc)
{
    char *json = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!json)
        return -ENOMEM;
    struct publish_arg a = { key, json, strlen(json), 0 };
    int rc = st_write(c->st, publish_txn, &a, true);
    free(json);
    if (rc == 0)
        c->generation = a.generation;
    return rc;
}

int ctr_publish(struct ctr *c, const struct cfg *cfg)
{
    int rc = ctr_publish_meta(c, ST_KEY_CONFIG, cfg->normalized);
    if (rc)
        log_err("cannot store the configuration in %s: %s", cfg->state_dir, st_strerror(rc));
    return rc;
}

/* Logs a reload or start problem and, when the caller wants them, keeps it
 * for the admin socket's answer. */
static void problem(struct cfg_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void problem(struct cfg_errors *errs, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_err("%s", msg);
    cfg_errors_push(errs, "%s", msg);
}

/* A provider whose key variable is unset either has its key in the store,
 * or is optional (disabled, with a warning), or makes the start fail: never
 * a silent unauthenticated call. */
int ctr_check_keys(struct ctr *c, const struct cfg *cfg, struct cfg_errors *errs)
{
    int bad = 0;
    for (size_t i = 0; i < cfg->nproviders; i++) {
        const struct cfg_provider *p = &cfg->providers[i];
        const char *v = p->api_key_env ? getenv(p->api_key_env) : NULL;
        if (ctr_keys_has(c, p->name)) {
            if (v && *v)
                log_info("provider %s: the stored key takes precedence over %s", p->name,
                         p->api_key_env);
            continue;
        }
        if (!p->api_key_env || (v && *v))
            continue;
        if (p->optional) {
            log_warn("provider %s disabled: environment variable %s is not set and no key is "
                     "stored", p->name, p->api_key_env);
        } else {
            problem(errs, "provider %s: environment variable %s is not set and no key is stored "
                    "(set it, `backstopctl keys set %s`, or mark the provider \"optional\": true "
                    "to run without it)", p->name, p->api_key_env, p->name);
            bad = 1;
        }
    }
    return bad ? -EINVAL : 0;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* What a running controller cannot change without a restart: the sockets
 * it bound and the files it opened at start. */
static int reload_check_fixed(const struct cfg *old, const struct cfg *new, struct cfg_errors *errs)
{
    int bad = 0;
    if (!same_str(old->listen_host, new->listen_host) || old->listen_port != new->listen_port) {
        problem(errs, "$.listen cannot change on reload (%s:%d -> %s:%d); restart instead",
                old->listen_host, old->listen_port, new->listen_host, new->listen_port);
        bad = 1;
    }
    static const struct {
        size_t off;
        const char *path;
    } fixed[] = {
        { offsetof(struct cfg, state_dir), "$.state_dir" },
        { offsetof(struct cfg, admin.socket), "$.admin.socket" },
        { offsetof(struct cfg, admin.group), "$.admin.group" },
        { offsetof(struct cfg, keys.master_key_file), "$.keys.master_key_file" },
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const char *a = *(char *const *)(const void *)((const char *)old + fixed[i].off);
        const char *b = *(char *const *)(const void *)((const char *)new + fixed[i].off);
        if (!same_str(a, b)) {
            problem(errs, "%s cannot change on reload; restart instead", fixed[i].path);
            bad = 1;
        }
    }
    if (old->admin.mode != new->admin.mode) {
        problem(errs, "$.admin.mode cannot change on reload; restart instead");
        bad = 1;
    }
    if (old->lmdb_map_mb != new->lmdb_map_mb) {
        problem(errs, "$.lmdb_map_mb cannot change on reload; restart instead");
        bad = 1;
    }
    return bad;
}

/* All or nothing: a config with any error is rejected whole and the old one
 * keeps serving.  errs (may be NULL) gets every reason. */
int ctr_reload(struct ctr *c, struct cfg_errors *errs)
{
    log_notice("reload: reading %s", c->config_path);
    if (c->stopping) {
        problem(errs, "reload: the controller is stopping");
        return -ECANCELED;
    }
    struct cfg_errors mine = { 0 };
    struct cfg_errors *e = errs ? errs : &mine;
    size_t before = e->n;
    struct cfg *cfg = cfg_load_file(c->config_path, e);
    if (!cfg) {
        for (size_t i = before; i < e->n; i++)
            log_err("reload: %s", e->msg[i]);
        log_err("reload rejected: %zu error(s); generation %llu keeps serving", e->n - before,
                (unsigned long long)c->generation);
        cfg_errors_clear(&mine);
        return -EINVAL;
    }
    if (reload_check_fixed(c->cfg, cfg, errs) || ctr_check_keys(c, cfg, errs) < 0) {
        log_err("reload rejected; generation %llu keeps serving",
                (unsigned long long)c->generation);
        cfg_free(cfg);
        return -EINVAL;
    }
    int rc = ctr_publish(c, cfg);
    if (rc) {
        problem(errs, "reload rejected: cannot store the configuration: %s; generation %llu keeps "
                "serving", st_strerror(rc), (unsigned long long)c->generation);
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
    ctr_target_rebuild(c);
    ctr_workers_resize(c);
    ctr_probe_reload(c);
    ctr_token_reload(c);
    return 0;
}
