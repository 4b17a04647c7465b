/*
 * ctr_probe: active health probes of every target, run by the controller.
 *
 * A target is one unique (provider, upstream model) pair of the chains.  Each
 * is probed every probes.interval_ms (every open_interval_ms while its
 * breaker is not closed), the first probes spread evenly over the interval,
 * with at most one probe in flight per target.  A probe is one cheap request
 * chosen by provider type (probe_types[] below) over a libcurl multi handle
 * on the controller's event base: nothing here blocks.
 *
 * Results go through HAProxy-style thresholds: a target starts "unknown",
 * `rise` consecutive successes make it "up", `fall` consecutive failures
 * "down".  Only a change of state is logged and handed to the breaker
 * (ctr_breaker_probe); in addition, any single success while the breaker is
 * open is handed over at once, so a recovered target gets its half-open
 * trial early instead of waiting for the cool-down.
 *
 * Every target's state is kept as compact JSON in LMDB (ST_DB_PROBES, key
 * "provider/model"); a 100 ms timer writes whatever changed in one
 * transaction.  The state is volatile: the controller starts with an empty
 * database and every target "unknown".
 */
#include "ctr.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ad.h"
#include "bs_time.h"
#include "curlm.h"
#include "keys.h"
#include "log.h"

#define PROBE_TICK_MS 100
#define PROBE_ERR_LEN 192
#define PROBE_USER_AGENT "backstopd-probe/0.1"
/* LMDB's default key size limit: a longer "provider/model" is probed but its
 * state is not stored (a write that failed on it would block all others). */
#define PROBE_MAX_KEY 511

enum probe_state { PS_UNKNOWN = 0, PS_UP, PS_DOWN };

static const char *const state_names[] = { "unknown", "up", "down" };

/* The probe part of one target (ctr_target.h): the target owns it through
 * its `probe` pointer, this module creates and frees it; it lives while the
 * target is in the config and probed. */
struct probe_target {
    struct probe_target *next;
    struct ctr_probe *p;
    struct ctr_target *tgt;     /* the target it probes, which outlives it */
    const char *key;            /* the target's names */
    const char *provider;
    const char *model;
    enum probe_state state;
    int successes, failures;    /* consecutive */
    uint64_t checks;
    uint64_t last_ms;           /* wall clock of the last result */
    double latency_ms;          /* of the last result */
    uint64_t last_change_ms;    /* wall clock of the last state change (0: never) */
    uint64_t last_error_ms;     /* wall clock of the last failure (0: never) */
    char last_error[PROBE_ERR_LEN]; /* "" when there was none */
    int64_t last_start_us;      /* monotonic; see spread() */
    bool seen;                  /* reload: still in the config */
    bool is_new;                /* reload: created by this rebuild */
    bool dirty;                 /* to be written at the next tick */
    /* the probe in flight */
    bool running;
    enum brk_probe_kind kind;   /* what it exercises */
    struct curlm_job job;
    struct curl_slist *headers; /* may hold the key: wiped before it is freed */
    int64_t start_us;
    char errbuf[CURL_ERROR_SIZE];
};

struct ctr_probe {
    struct ctr *c;
    struct curlm *up;               /* created when probes are first enabled */
    struct probe_target *targets;
    struct event *sched_ev;         /* one-shot: the next due probe */
    struct event *tick_ev;          /* every 100 ms: write changes, see breakers move */
    char **gone;                    /* keys to delete from LMDB at the next write */
    size_t ngone, capgone;
    bool reset;                     /* drop the whole database at the next write */
    bool dirty;                     /* some target is dirty, or gone/reset is pending */
    bool write_failing;             /* log a failing write once, not every tick */
};

/* --- probe requests, one function per provider type ------------------------ */

/* Sets up the request on easy (URL, method, headers into *headers, which the
 * caller frees after the transfer, wiped).  key is the provider's secret or
 * NULL.  Returns 0, or -1 with why filled (the probe then counts as failed
 * with that reason). */
typedef int (*probe_setup_fn)(const struct cfg_provider *prov, const char *model, const char *key,
                              CURL *easy, struct curl_slist **headers, char *why, size_t whylen);

static struct curl_slist *append_wiped(struct curl_slist *list, char *line, bool *ok)
{
    struct curl_slist *n = curl_slist_append(list, line); /* copies line */
    explicit_bzero(line, strlen(line));
    if (!n)
        *ok = false;
    return n ? n : list;
}

/* GET base_url + path with an Accept header and, when the provider has a
 * key, "<key_header><key>" (e.g. "Authorization: Bearer ").  extra: one
 * more header line or NULL. */
/* GET url (malloc'd, taken; NULL: out of memory) with the key. */
static int probe_get_url(char *url, const char *key, const char *key_header, const char *extra, CURL *easy,
                         struct curl_slist **headers, char *why, size_t whylen)
{
    if (!url) {
        snprintf(why, whylen, "cannot start: out of memory");
        return -1;
    }
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_URL, url); /* curl copies it */
    free(url);
    if (rc != CURLE_OK) {
        snprintf(why, whylen, "cannot start: %s", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    bool ok = true;
    struct curl_slist *h = NULL;
    char accept[] = "Accept: application/json";
    h = append_wiped(h, accept, &ok);
    if (ok && extra) {
        char *line = strdup(extra);
        if (line)
            h = append_wiped(h, line, &ok);
        ok = ok && line;
        free(line);
    }
    if (ok && key && *key) {
        size_t alen = strlen(key) + strlen(key_header) + 1;
        char *auth = malloc(alen);
        if (!auth) {
            ok = false;
        } else {
            snprintf(auth, alen, "%s%s", key_header, key);
            h = append_wiped(h, auth, &ok);
            free(auth);
        }
    }
    *headers = h; /* partial lists are freed (wiped) by the caller too */
    if (!ok) {
        snprintf(why, whylen, "cannot start: out of memory");
        return -1;
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
    return 0;
}

static int probe_get(const struct cfg_provider *prov, const char *path, const char *key,
                     const char *key_header, const char *extra, CURL *easy,
                     struct curl_slist **headers, char *why, size_t whylen)
{
    char *url = NULL;
    if (asprintf(&url, "%s%s", prov->base_url, path) < 0)
        url = NULL;
    return probe_get_url(url, key, key_header, extra, easy, headers, why, whylen);
}

/* OpenAI and everything speaking its API: GET {base_url}/models lists the
 * models the key may use; it costs no tokens and checks the network path,
 * TLS, the server and the key in one request. */
static int probe_setup_openai(const struct cfg_provider *prov, const char *model, const char *key,
                              CURL *easy, struct curl_slist **headers, char *why, size_t whylen)
{
    (void)model;
    return probe_get(prov, "/models", key, "Authorization: Bearer ", NULL, easy, headers, why, whylen);
}

/* Anthropic: the same idea, GET /v1/models with its own key header and
 * version (the path as the adapter builds it: /v1 is not repeated). */
static int probe_setup_anthropic(const struct cfg_provider *prov, const char *model, const char *key,
                                 CURL *easy, struct curl_slist **headers, char *why, size_t whylen)
{
    (void)model;
    size_t n = strlen(prov->base_url);
    bool v1 = n >= 3 && strcmp(prov->base_url + n - 3, "/v1") == 0;
    char version[96];
    snprintf(version, sizeof version, "anthropic-version: %s",
             prov->api_version ? prov->api_version : "2023-06-01");
    return probe_get(prov, v1 ? "/models" : "/v1/models", key, "x-api-key: ", version, easy, headers,
                     why, whylen);
}

/* Gemini: GET the model itself (models.get) at the adapter's URL: the
 * key and the model's existence in one request, no tokens. */
static int probe_setup_gemini(const struct cfg_provider *prov, const char *model, const char *key,
                              CURL *easy, struct curl_slist **headers, char *why, size_t whylen)
{
    struct ad_target t = { .base_url = prov->base_url, .model = model, .api_version = prov->api_version };
    return probe_get_url(ad_gemini_probe_url(&t), key, "x-goog-api-key: ", NULL, easy, headers, why, whylen);
}

/* Azure OpenAI: the resource's model list, with the api-key header. */
static int probe_setup_azure(const struct cfg_provider *prov, const char *model, const char *key,
                             CURL *easy, struct curl_slist **headers, char *why, size_t whylen)
{
    struct ad_target t = { .base_url = prov->base_url, .model = model, .api_version = prov->api_version };
    return probe_get_url(ad_azure_probe_url(&t), key, "api-key: ", NULL, easy, headers, why, whylen);
}

/* The opt-in chat probe (providers.*.chat_probe, OpenAI's API only): one
 * real chat request of the target's model, one token.  It walks the path
 * whose failures opened the breaker (a 5xx of the chat route, a quota...),
 * which GET /models cannot see, and it costs a token, so it runs only while
 * the breaker is open for such a failure (see probe_kind). */
static int probe_setup_chat(const struct cfg_provider *prov, const char *model, const char *key,
                            CURL *easy, struct curl_slist **headers, char *why, size_t whylen)
{
    int rc = probe_get(prov, "/chat/completions", key, "Authorization: Bearer ",
                       "Content-Type: application/json", easy, headers, why, whylen);
    if (rc < 0)
        return rc;
    json_t *body = json_pack("{s:s, s:[{s:s, s:s}], s:i}", "model", model, "messages", "role",
                             "user", "content", "ping", "max_tokens", 1);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        snprintf(why, whylen, "cannot start: out of memory");
        return -1;
    }
    curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, text); /* a POST, body copied */
    free(text);
    return 0;
}

static const struct probe_type {
    enum cfg_provider_type type;
    probe_setup_fn setup;
} probe_types[] = {
    { CFG_PROV_OPENAI, probe_setup_openai },
    { CFG_PROV_OPENAI_COMPAT, probe_setup_openai },
    { CFG_PROV_ANTHROPIC, probe_setup_anthropic },
    { CFG_PROV_GEMINI, probe_setup_gemini },
    { CFG_PROV_AZURE, probe_setup_azure },
};

static probe_setup_fn probe_setup_for(enum cfg_provider_type type)
{
    for (size_t i = 0; i < sizeof probe_types / sizeof probe_types[0]; i++)
        if (probe_types[i].type == type)
            return probe_types[i].setup;
    return NULL;
}

/* --- targets ----------------------------------------------------------------- */

static void schedule(struct ctr_probe *p);

static void headers_wipe_free(struct curl_slist *h)
{
    for (struct curl_slist *s = h; s; s = s->next)
        if (s->data)
            explicit_bzero(s->data, strlen(s->data));
    curl_slist_free_all(h);
}

/* Ends the probe in flight, if any, without a result. */
static void probe_cancel(struct probe_target *t)
{
    if (!t->running)
        return;
    curlm_remove(t->p->up, &t->job);
    curlm_release(t->p->up, t->job.easy);
    t->job.easy = NULL;
    headers_wipe_free(t->headers);
    t->headers = NULL;
    t->running = false;
}

static void target_free(struct probe_target *t)
{
    if (!t)
        return;
    probe_cancel(t);
    if (t->tgt)
        t->tgt->probe = NULL;
    free(t);
}

static struct probe_target *target_new(struct ctr_probe *p, struct ctr_target *tgt)
{
    struct probe_target *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->p = p;
    t->tgt = tgt;
    t->key = tgt->key;
    t->provider = tgt->provider;
    t->model = tgt->model;
    tgt->probe = t;
    t->dirty = true; /* its "unknown" record is written at once */
    return t;
}

static bool provider_enabled(struct ctr *c, const struct cfg_provider *prov)
{
    if (!prov->api_key_env || ctr_keys_has(c, prov->name))
        return true;
    const char *v = getenv(prov->api_key_env);
    return v && *v;
}

/* Queues a key for deletion from LMDB; takes ownership of key.  When the
 * queue cannot grow, the whole database is dropped and rewritten instead. */
static void gone_add(struct ctr_probe *p, char *key)
{
    if (!key) {
        p->reset = p->dirty = true;
        return;
    }
    if (p->ngone == p->capgone) {
        size_t cap = p->capgone ? p->capgone * 2 : 8;
        char **g = realloc(p->gone, cap * sizeof *g);
        if (!g) {
            free(key);
            p->reset = true;
            p->dirty = true;
            return;
        }
        p->gone = g;
        p->capgone = cap;
    }
    p->gone[p->ngone++] = key;
    p->dirty = true;
}

static void gone_clear(struct ctr_probe *p)
{
    for (size_t i = 0; i < p->ngone; i++)
        free(p->gone[i]);
    p->ngone = 0;
}

/* The first probes of n new targets fall at now, now + interval/n, ...:
 * last_start is set one interval before that. */
static void spread(struct ctr_probe *p)
{
    const struct cfg_probes *cp = &p->c->cfg->probes;
    int64_t now = (int64_t)bs_now_us(), interval = (int64_t)cp->interval_ms * 1000;
    int64_t n = 0, i = 0;
    for (struct probe_target *t = p->targets; t; t = t->next)
        n += t->is_new;
    for (struct probe_target *t = p->targets; t; t = t->next)
        if (t->is_new) {
            t->last_start_us = now - interval + interval * i++ / n;
            t->is_new = false;
        }
}

/* Makes the target list match the config: the unique (provider, model) pairs
 * of all chains whose provider is enabled and has a probe for its type.
 * Targets that remain keep their state. */
static void rebuild(struct ctr_probe *p)
{
    const struct cfg *cfg = p->c->cfg;
    for (struct probe_target *t = p->targets; t; t = t->next)
        t->seen = false;
    struct probe_target **tail = &p->targets;
    while (*tail)
        tail = &(*tail)->next;
    for (size_t i = 0; cfg->probes.enabled && i < cfg->nmodels; i++) {
        const struct cfg_model *m = &cfg->models[i];
        for (size_t j = 0; j < m->ntargets; j++) {
            const struct cfg_provider *prov = &cfg->providers[m->targets[j].provider];
            const char *model = m->targets[j].model;
            if (!provider_enabled(p->c, prov) || !probe_setup_for(prov->type) ||
                m->targets[j].id >= p->c->tgt.n)
                continue;
            struct ctr_target *tgt = p->c->tgt.v[m->targets[j].id];
            struct probe_target *t = tgt->probe;
            if (!t) {
                if (!(t = target_new(p, tgt))) {
                    log_err("probe: %s/%s: out of memory, not probed", prov->name, model);
                    continue;
                }
                if (strlen(t->key) > PROBE_MAX_KEY)
                    log_warn("probe: %s/%.40s...: name too long, its state is not stored",
                             prov->name, model);
                t->is_new = true;
                *tail = t; /* appended: new targets are spread in config order */
                tail = &t->next;
                p->dirty = true;
            }
            t->seen = true;
        }
    }
    for (struct probe_target **pp = &p->targets; *pp;) {
        struct probe_target *t = *pp;
        if (t->seen) {
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        gone_add(p, strdup(t->key));
        target_free(t);
    }
    spread(p);
}

/* --- results ----------------------------------------------------------------- */

static void record(struct probe_target *t, bool ok, const char *why, double latency_ms)
{
    struct ctr_probe *p = t->p;
    struct ctr *c = p->c;
    const struct cfg_probes *cp = &c->cfg->probes;
    uint64_t now_ms = bs_wall_ms();
    t->checks++;
    t->last_ms = now_ms;
    t->latency_ms = latency_ms;
    if (ok) {
        t->successes++;
        t->failures = 0;
    } else {
        t->failures++;
        t->successes = 0;
        snprintf(t->last_error, sizeof t->last_error, "%s", why ? why : "failed");
        t->last_error_ms = now_ms;
    }
    t->dirty = p->dirty = true;

    enum probe_state next = t->state;
    if (ok && t->state != PS_UP && t->successes >= cp->rise)
        next = PS_UP;
    else if (!ok && t->state != PS_DOWN && t->failures >= cp->fall)
        next = PS_DOWN;
    if (next != t->state) {
        t->state = next;
        t->last_change_ms = now_ms;
        if (next == PS_UP) {
            log_notice("probe: %s up after %d success%s (%.1f ms)", t->key, t->successes,
                       t->successes == 1 ? "" : "es", latency_ms);
            ctr_breaker_probe(c, t->tgt, true, t->kind, "probe succeeded");
        } else {
            log_warn("probe: %s down after %d failure%s: %s", t->key, t->failures,
                     t->failures == 1 ? "" : "s", t->last_error);
            ctr_breaker_probe(c, t->tgt, false, t->kind, t->last_error);
        }
    } else if (ok && ctr_breaker_is_open(t->tgt)) {
        /* Any success while the breaker is open: the breaker may go
         * half-open early (it ignores this when it is half-open already). */
        ctr_breaker_probe(c, t->tgt, true, t->kind, "probe succeeded");
    }
}

static void failure_reason(CURLcode rc, long status, int timeout_ms, char *why, size_t whylen)
{
    switch (rc) {
    case CURLE_OK:
        snprintf(why, whylen, "HTTP %ld", status);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(why, whylen, "timeout after %d ms", timeout_ms);
        break;
    case CURLE_COULDNT_CONNECT:
        snprintf(why, whylen, "connect failed: %s", curl_easy_strerror(rc));
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(why, whylen, "dns: %s", curl_easy_strerror(rc));
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(why, whylen, "tls: %s", curl_easy_strerror(rc));
        break;
    default:
        snprintf(why, whylen, "%s", curl_easy_strerror(rc));
        break;
    }
}

static void on_probe_done(struct curlm_job *x, CURLcode rc)
{
    struct probe_target *t =
        (struct probe_target *)(void *)((char *)x - offsetof(struct probe_target, job));
    struct ctr_probe *p = t->p;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    double latency_ms = (double)((int64_t)bs_now_us() - t->start_us) / 1000.0;
    char why[PROBE_ERR_LEN];
    bool ok = rc == CURLE_OK && status >= 200 && status < 300;
    if (!ok) {
        failure_reason(rc, status, p->c->cfg->probes.timeout_ms, why, sizeof why);
        log_debug("probe: %s failed in %.1f ms: %s%s%s", t->key, latency_ms,
                  why, t->errbuf[0] ? " / " : "", t->errbuf);
    } else {
        log_debug("probe: %s ok in %.1f ms: HTTP %ld", t->key, latency_ms,
                  status);
    }
    curlm_release(p->up, x->easy); /* resets the handle: no pointer to our headers stays */
    x->easy = NULL;
    headers_wipe_free(t->headers);
    t->headers = NULL;
    t->running = false;
    record(t, ok, ok ? NULL : why, latency_ms);
    schedule(p);
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * nmemb;
}

/* Starts one probe; a probe that cannot start counts as a failure. */
static void probe_start(struct probe_target *t)
{
    struct ctr_probe *p = t->p;
    const struct cfg *cfg = p->c->cfg;
    char why[PROBE_ERR_LEN];
    t->start_us = t->last_start_us = (int64_t)bs_now_us();
    const struct cfg_provider *prov = cfg_find_provider(cfg, t->provider);
    probe_setup_fn setup = prov ? probe_setup_for(prov->type) : NULL;
    /* While the breaker is open for a failure GET /models cannot see, only
     * a chat probe can tell it anything (and only if the operator pays). */
    const struct brk_record *br = &t->tgt->brk.rec;
    t->kind = prov && prov->chat_probe && br->state != BRK_CLOSED &&
                      !brk_fsm_probe_speaks(BRK_PROBE_MODELS, br->reason)
                  ? BRK_PROBE_CHAT
                  : BRK_PROBE_MODELS;
    if (setup && t->kind == BRK_PROBE_CHAT)
        setup = probe_setup_chat;
    if (!setup) { /* cannot happen: rebuild() keeps only probe-able targets */
        record(t, false, "no probe for this provider", 0);
        return;
    }
    CURL *e = curlm_easy(p->up);
    if (!e) {
        record(t, false, "cannot start: out of memory", 0);
        return;
    }
    t->job.easy = e;
    t->job.done = on_probe_done;
    t->errbuf[0] = '\0';
    /* The same key the workers use: the stored one first, else the
     * environment's. */
    char *stored = NULL;
    size_t slen;
    int krc = ctr_keys_get(p->c, prov->name, &stored, &slen);
    if (krc < 0 && krc != -ENOENT) {
        snprintf(why, sizeof why, "cannot start: the stored key cannot be decrypted");
        goto fail;
    }
    const char *key = stored ? stored : prov->api_key_env ? getenv(prov->api_key_env) : NULL;
    int src = setup(prov, t->model, key, e, &t->headers, why, sizeof why);
    keys_free(stored);
    if (src < 0)
        goto fail;
    long timeout = cfg->probes.timeout_ms;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, PROBE_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    if (curlm_add(p->up, &t->job) < 0) {
        snprintf(why, sizeof why, "cannot start the transfer");
        goto fail;
    }
    t->running = true;
    return;
fail:
    curlm_release(p->up, e);
    t->job.easy = NULL;
    headers_wipe_free(t->headers);
    t->headers = NULL;
    record(t, false, why, 0);
}

/* --- the clock ----------------------------------------------------------------- */

static int64_t due_us(struct ctr_probe *p, struct probe_target *t)
{
    const struct cfg_probes *cp = &p->c->cfg->probes;
    int ms = ctr_breaker_is_open(t->tgt) ? cp->open_interval_ms
                                                                : cp->interval_ms;
    return t->last_start_us + (int64_t)ms * 1000;
}

/* Starts every idle target that is due and arms the timer for the next. */
static void schedule(struct ctr_probe *p)
{
    /* Draining: nothing new is started; free() cancels what runs. */
    if (!p->up || !p->c->cfg->probes.enabled || p->c->stopping)
        return;
    int64_t now = (int64_t)bs_now_us(), next = INT64_MAX;
    for (struct probe_target *t = p->targets; t; t = t->next) {
        if (t->running)
            continue;
        int64_t due = due_us(p, t);
        if (due <= now) {
            probe_start(t);
            if (t->running)
                continue;
            due = due_us(p, t); /* it failed at once: due again one interval on */
        }
        if (due < next)
            next = due;
    }
    evtimer_del(p->sched_ev);
    if (next != INT64_MAX) {
        int64_t wait = next > now ? next - now : 0;
        struct timeval tv = { (time_t)(wait / 1000000), (suseconds_t)(wait % 1000000) };
        evtimer_add(p->sched_ev, &tv);
    }
}

static void sched_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    schedule(arg);
}

/* --- LMDB ---------------------------------------------------------------------- */

static int put_target(struct st_env *st, MDB_txn *txn, const struct probe_target *t)
{
    if (strlen(t->key) > PROBE_MAX_KEY)
        return 0;
    json_t *v = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:f, s:s?, s:I, s:I}",
                          "provider", t->provider, "model", t->model,
                          "state", state_names[t->state],
                          "successes", t->successes, "failures", t->failures,
                          "checks", (json_int_t)t->checks, "last_ms", (json_int_t)t->last_ms,
                          "latency_ms", (double)(int64_t)(t->latency_ms * 1000.0 + 0.5) / 1000.0,
                          "last_error", t->last_error[0] ? t->last_error : NULL,
                          "last_error_ms", (json_int_t)t->last_error_ms,
                          "last_change_ms", (json_int_t)t->last_change_ms);
    if (!v)
        return -ENOMEM;
    char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(v);
    if (!text)
        return -ENOMEM;
    int rc = st_put(st, txn, ST_DB_PROBES, t->key, text, strlen(text));
    free(text);
    return rc;
}

static int write_txn(struct st_env *st, MDB_txn *txn, void *arg)
{
    struct ctr_probe *p = arg;
    MDB_dbi dbi = st_dbi(st, ST_DB_PROBES);
    int rc;
    if (p->reset) {
        if ((rc = mdb_drop(txn, dbi, 0)))
            return rc > 0 ? -rc : rc;
    } else {
        for (size_t i = 0; i < p->ngone; i++) {
            if (strlen(p->gone[i]) > PROBE_MAX_KEY)
                continue;
            MDB_val k = { strlen(p->gone[i]), p->gone[i] };
            rc = mdb_del(txn, dbi, &k, NULL);
            if (rc && rc != MDB_NOTFOUND)
                return rc > 0 ? -rc : rc;
        }
    }
    for (struct probe_target *t = p->targets; t; t = t->next)
        if ((p->reset || t->dirty) && (rc = put_target(st, txn, t)))
            return rc;
    return 0;
}

static void flush(struct ctr_probe *p)
{
    if (!p->dirty)
        return;
    int rc = st_write(p->c->st, write_txn, p, false);
    if (rc) {
        if (!p->write_failing)
            log_err("probe: cannot write probe state: %s", st_strerror(rc));
        p->write_failing = true;
        return; /* stays dirty: the next tick tries again */
    }
    if (p->write_failing)
        log_notice("probe: probe state written again");
    p->write_failing = false;
    for (struct probe_target *t = p->targets; t; t = t->next)
        t->dirty = false;
    gone_clear(p);
    p->reset = p->dirty = false;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctr_probe *p = arg;
    /* A breaker that opened since the last look shortens its target's
     * interval now, not after the next normal probe. */
    schedule(p);
    flush(p);
}

/* --- the module's interface ------------------------------------------------------ */

static int ensure_up(struct ctr_probe *p)
{
    if (p->up)
        return 0;
    /* One connection per host is plenty: at most one probe per target runs. */
    p->up = curlm_new(p->c->base, 0);
    return p->up ? 0 : -1;
}

static void log_enabled(const struct ctr_probe *p)
{
    const struct cfg_probes *cp = &p->c->cfg->probes;
    size_t n = 0;
    for (const struct probe_target *t = p->targets; t; t = t->next)
        n++;
    log_info("probe: %zu target(s), every %d ms (%d ms while a breaker is open), timeout %d ms, "
             "rise %d, fall %d", n, cp->interval_ms, cp->open_interval_ms, cp->timeout_ms, cp->rise,
             cp->fall);
}

int ctr_probe_start(struct ctr *c)
{
    struct ctr_probe *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    c->probe = p;
    p->c = c;
    p->sched_ev = evtimer_new(c->base, sched_cb, p);
    p->tick_ev = event_new(c->base, -1, EV_PERSIST, tick_cb, p);
    struct timeval tv = { 0, PROBE_TICK_MS * 1000 };
    if (!p->sched_ev || !p->tick_ev || event_add(p->tick_ev, &tv) < 0) {
        log_err("probe: cannot create timers");
        ctr_probe_free(c);
        return -ENOMEM;
    }
    /* Probe state is volatile: nothing of a previous run is kept. */
    p->reset = p->dirty = true;
    if (c->cfg->probes.enabled) {
        if (ensure_up(p) < 0) {
            log_err("probe: cannot create the transfer engine");
            ctr_probe_free(c);
            return -ENOMEM;
        }
        rebuild(p);
        log_enabled(p);
    } else {
        log_info("probe: health probes disabled");
    }
    flush(p);
    schedule(p);
    return 0;
}

void ctr_probe_reload(struct ctr *c)
{
    struct ctr_probe *p = c->probe;
    if (!p)
        return;
    bool was = p->targets != NULL;
    if (c->cfg->probes.enabled && ensure_up(p) < 0) {
        log_err("probe: cannot create the transfer engine; probes stay off");
        return;
    }
    rebuild(p); /* with probes disabled: removes every target */
    if (c->cfg->probes.enabled)
        log_enabled(p);
    else if (was)
        log_info("probe: health probes disabled");
    if (!p->targets)
        evtimer_del(p->sched_ev);
    schedule(p);
}

void ctr_probe_forget(struct ctr *c, struct ctr_target *tgt)
{
    struct ctr_probe *p = c->probe;
    if (!p || !tgt->probe)
        return;
    for (struct probe_target **pp = &p->targets; *pp; pp = &(*pp)->next)
        if (*pp == tgt->probe) {
            struct probe_target *t = *pp;
            *pp = t->next;
            gone_add(p, strdup(t->key));
            target_free(t);
            return;
        }
}

void ctr_probe_free(struct ctr *c)
{
    struct ctr_probe *p = c->probe;
    if (!p)
        return;
    c->probe = NULL;
    while (p->targets) {
        struct probe_target *t = p->targets;
        p->targets = t->next;
        target_free(t); /* cancels its transfer: before the multi handle goes */
    }
    gone_clear(p);
    free(p->gone);
    if (p->sched_ev)
        event_free(p->sched_ev);
    if (p->tick_ev)
        event_free(p->tick_ev);
    curlm_free(p->up);
    free(p);
}
