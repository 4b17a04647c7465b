/*
 * gw_catalog: the worker's cached view of the catalog the controller
 * published in LMDB.  Each request reads only the generation counter (one
 * renewed read transaction, a few hundred nanoseconds); the config is
 * re-parsed only when the generation moved, so per-request work does not
 * grow with the catalog.
 */
#include "gw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ad.h"
#include "gw_breaker.h"
#include "gw_ovr.h"
#include "keys.h"
#include "log.h"

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;  /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

const struct cfg_model *gw_catalog_find(const struct gw_catalog *cat, const char *name)
{
    size_t mask = cat->nslots - 1;
    for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
        const struct cfg_model *m = cat->slots[i];
        if (!m)
            return NULL;
        if (strcmp(m->name, name) == 0)
            return m;
    }
}

static void catalog_free(struct gw_catalog *cat)
{
    if (!cat)
        return;
    if (cat->providers && cat->cfg)
        for (size_t i = 0; i < cat->cfg->nproviders; i++) {
            free(cat->providers[i].chat_url);
            /* gw_hdr_append copied the Authorization line into the
             * heap: wiped before it goes back to malloc. */
            gw_hdr_free(cat->providers[i].headers, true);
            keys_free(cat->providers[i].api_key);
            keys_free(cat->providers[i].aws_secret);
            keys_free(cat->providers[i].aws_token);
        }
    free(cat->providers);
    free(cat->slots);
    free(cat->models_json);
    gw_ovr_free(cat->ovr);
    cfg_free(cat->cfg);
    free(cat);
}

struct gw_catalog *gw_catalog_ref(struct gw_catalog *cat)
{
    cat->refs++;
    return cat;
}

void gw_catalog_unref(struct gw_catalog *cat)
{
    if (cat && --cat->refs == 0)
        catalog_free(cat);
}

static struct gw_hdr *add_header(struct gw_hdr *list, const char *h, bool *ok)
{
    struct gw_hdr *n = gw_hdr_append(list, h);
    if (!n)
        *ok = false;
    return n ? n : list;
}

/* Where provider keys come from while one catalog is built: the stored
 * (encrypted) keys in the read transaction the catalog is read in, and the
 * master key, loaded at the first stored key and freed after the build. */
struct key_src {
    struct st_env *st;
    const char *master_file;
    unsigned char *master;                 /* sodium_malloc'd, or NULL */
    unsigned char master_id[KEYS_ID_LEN];
};

/* The provider's stored key into sodium_malloc'd memory: 1 when there is
 * one, 0 when none is stored, -1 when one is stored but unusable (logged). */
static int stored_key(struct key_src *ks, const struct cfg_provider *p, char **secret,
                      size_t *len)
{
    const void *rec;
    size_t reclen;
    struct keys_info info;
    if (!ks->st || st_rd_get(ks->st, ST_DB_KEYS, p->name, &rec, &reclen) != 0)
        return 0;
    if (keys_record_info(rec, reclen, &info) < 0) {
        log_err("provider %s: the stored key is not a key record", p->name);
        return -1;
    }
    if (!ks->master || memcmp(ks->master_id, info.master_id, KEYS_ID_LEN) != 0) {
        char err[1024] = "cannot initialise libsodium";
        keys_free(ks->master);
        ks->master = NULL;
        /* The id picks FILE, FILE.new or FILE.old: a rotation in progress
         * is never seen half done. */
        if (keys_init() < 0 ||
            keys_master_load_id(ks->master_file, info.master_id, &ks->master, NULL, err,
                                sizeof err) < 0) {
            log_err("provider %s: %s", p->name, err);
            return -1;
        }
        memcpy(ks->master_id, info.master_id, KEYS_ID_LEN);
    }
    int rc = keys_decrypt(ks->master, p->name, rec, reclen, secret, len);
    if (rc < 0) {
        log_err("provider %s: the stored key cannot be decrypted (%s)", p->name,
                rc == -EBADMSG ? "wrong master key or tampered record" : strerror(-rc));
        return -1;
    }
    return 1;
}

/* "Authorization: Bearer KEY" built in sodium_malloc'd memory and handed to
 * the header list, which keeps its own copy (wiped in catalog_free). */
static struct gw_hdr *add_auth(struct gw_hdr *list, const char *key, size_t len, bool *ok)
{
    static const char prefix[] = "Authorization: Bearer ";
    char *line = sodium_malloc(sizeof prefix + len);
    if (!line) {
        *ok = false;
        return list;
    }
    memcpy(line, prefix, sizeof prefix - 1);
    memcpy(line + sizeof prefix - 1, key, len);
    line[sizeof prefix - 1 + len] = '\0';
    list = add_header(list, line, ok);
    keys_free(line);
    return list;
}

/* A stored key takes precedence over api_key_env; a stored key that cannot
 * be decrypted disables the provider rather than falling back to another
 * key the operator replaced. */
static int provider_init(struct gw_provider *gp, const struct cfg_provider *p, struct key_src *ks)
{
    gp->cfg = p;
    char *secret = NULL;
    size_t slen = 0;
    int stored = stored_key(ks, p, &secret, &slen);
    const char *env = stored == 0 && p->api_key_env ? getenv(p->api_key_env) : NULL;
    const char *key = stored > 0 ? secret : env;
    size_t klen = key ? strlen(key) : 0;
    gp->enabled = stored > 0 || (stored == 0 && (!p->api_key_env || klen > 0));
    gp->ad = ad_ops_find(cfg_provider_type_name(p->type));
    gp->native = gp->ad == &ad_openai_ops;
    if (!gp->ad) {
        /* The schema knows a type this build has no adapter for. */
        log_err("provider %s: no adapter for type %s; provider disabled", p->name,
                cfg_provider_type_name(p->type));
        gp->enabled = false;
    }
    size_t len = strlen(p->base_url) + sizeof "/chat/completions";
    gp->chat_url = malloc(len);
    if (!gp->chat_url) {
        keys_free(secret);
        return -ENOMEM;
    }
    snprintf(gp->chat_url, len, "%s/chat/completions", p->base_url);
    bool ok = true;
    gp->headers = add_header(NULL, "Content-Type: application/json", &ok);
    /* An empty Expect stops curl from waiting for 100-continue on large
     * bodies: one round trip less per request. */
    gp->headers = add_header(gp->headers, "Expect:", &ok);
    if (gp->enabled && klen > 0) {
        if (klen > KEYS_SECRET_MAX) {
            log_err("provider %s: key in %s is too long", p->name, p->api_key_env);
            gp->enabled = false;
        } else {
            gp->headers = add_auth(gp->headers, key, klen, &ok);
            /* Adapters other than the native path build their own auth
             * header (x-api-key, api-key, a signature) from the key. */
            if ((gp->api_key = sodium_malloc(klen + 1))) {
                memcpy(gp->api_key, key, klen);
                gp->api_key[klen] = '\0';
            } else {
                ok = false;
            }
            if (keys_init() == 0)   /* what `fail --key` matches */
                keys_fingerprint(key, klen, gp->key_fpr);
        }
    }
    if (stored > 0)
        log_debug("provider %s: using the stored key", p->name);
    keys_free(secret);
    if (ok && p->type == CFG_PROV_BEDROCK && gw_catalog_aws(gp, p) < 0)
        ok = false;
    return ok ? 0 : -ENOMEM;
}

static int build_models_json(struct gw_catalog *cat)
{
    json_t *data = json_array();
    for (size_t i = 0; data && i < cat->cfg->nmodels; i++)
        json_array_append_new(data, json_pack("{s:s, s:s, s:i, s:s}", "id", cat->cfg->models[i].name,
                                              "object", "model", "created", 0, "owned_by", "backstop"));
    json_t *root = json_pack("{s:s, s:o}", "object", "list", "data", data);
    if (!root)
        return -ENOMEM;
    cat->models_json = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!cat->models_json)
        return -ENOMEM;
    cat->models_json_len = strlen(cat->models_json);
    return 0;
}

static struct gw_catalog *catalog_build(struct st_env *st, const char *json, size_t len,
                                        uint64_t gen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) {
        log_err("catalog generation %llu: unreadable JSON: %s", (unsigned long long)gen, jerr.text);
        return NULL;
    }
    struct cfg_errors errs = { 0 };
    struct cfg *cfg = cfg_load_json(root, NULL, &errs);
    json_decref(root);
    if (!cfg) {
        for (size_t i = 0; i < errs.n; i++)
            log_err("catalog generation %llu: %s", (unsigned long long)gen, errs.msg[i]);
        cfg_errors_clear(&errs);
        return NULL;
    }
    struct gw_catalog *cat = calloc(1, sizeof *cat);
    if (!cat) {
        cfg_free(cfg);
        return NULL;
    }
    cat->refs = 1;
    cat->generation = gen;
    cat->cfg = cfg;
    cat->providers = calloc(cfg->nproviders ? cfg->nproviders : 1, sizeof *cat->providers);
    cat->nslots = 8;
    while (cat->nslots < cfg->nmodels * 2)
        cat->nslots *= 2;
    cat->slots = calloc(cat->nslots, sizeof *cat->slots);
    if (!cat->providers || !cat->slots)
        goto fail;
    /* Keys live in sodium_malloc'd memory, which needs the library set up
     * (sodium_init is idempotent and cheap after the first call). */
    if (keys_init() < 0)
        goto fail;
    struct key_src ks = { .st = st, .master_file = cfg->keys.master_key_file };
    int prc = 0;
    for (size_t i = 0; prc == 0 && i < cfg->nproviders; i++)
        prc = provider_init(&cat->providers[i], &cfg->providers[i], &ks);
    keys_free(ks.master);
    if (prc < 0)
        goto fail;
    for (size_t i = 0; i < cfg->nmodels; i++) {
        size_t mask = cat->nslots - 1, j = name_hash(cfg->models[i].name) & mask;
        while (cat->slots[j])
            j = (j + 1) & mask;
        cat->slots[j] = &cfg->models[i];
    }
    if (build_models_json(cat) < 0)
        goto fail;
    cat->ovr = gw_ovr_load(st);
    return cat;
fail:
    log_err("catalog generation %llu: out of memory", (unsigned long long)gen);
    catalog_free(cat);
    return NULL;
}

int gw_catalog_refresh(struct gw *gw)
{
    int rc = st_rd_begin(gw->st);
    if (rc) {
        log_err("state store: %s", st_strerror(rc));
        return rc;
    }
    const void *v;
    size_t len;
    uint64_t gen = 0;
    rc = st_rd_get(gw->st, ST_DB_META, ST_KEY_GENERATION, &v, &len);
    if (rc == 0 && len == sizeof gen)
        memcpy(&gen, v, sizeof gen);
    if (rc == 0)
        gw_brk_sync(gw);  /* the current view: nothing until the first catalog */
    if (rc || (gw->cat && gw->cat->generation == gen)) {
        st_rd_end(gw->st);
        return rc;
    }
    rc = st_rd_get(gw->st, ST_DB_META, ST_KEY_CONFIG, &v, &len);
    struct gw_catalog *cat = rc ? NULL : catalog_build(gw->st, v, len, gen);
    /* The breaker view numbers targets as the catalog does: rebuilt with it,
     * in the same read transaction. */
    if (cat && gw_brk_rebuild(gw, cat) < 0) {
        log_err("catalog generation %llu: out of memory for the breaker view",
                (unsigned long long)gen);
        catalog_free(cat);
        cat = NULL;
        rc = -ENOMEM;
    }
    st_rd_end(gw->st);
    if (!cat)
        return rc ? rc : -EINVAL;
    if (gw->cat)
        log_info("catalog generation %llu -> %llu", (unsigned long long)gw->cat->generation,
                 (unsigned long long)gen);
    gw_catalog_unref(gw->cat);
    gw->cat = cat;
    log_set_level((int)cat->cfg->log.level);
    gw->log_content = cat->cfg->log.log_content;
    return 0;
}
