/*
 * cfg: the Backstop configuration, parsed and validated.
 *
 * One parser serves three callers: `backstopd -t` (check only), the
 * controller (load at start and on SIGHUP, then store the normalised JSON in
 * LMDB) and the workers (re-parse that JSON from LMDB when the generation
 * changes).  Parsing never stops at the first problem: every error is
 * collected with the JSON path it concerns, so an operator fixes a file in
 * one pass, like `nginx -t`.
 *
 * Ownership: a struct cfg and everything it points to belongs to the caller
 * of cfg_load_*() and is released with cfg_free().  Strings are copies; the
 * struct holds no reference into the json_t it was built from, except
 * `normalized`, which it owns.
 */
#ifndef BS_CFG_H
#define BS_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "fail.h"

enum cfg_provider_type {
    CFG_PROV_OPENAI = 0,      /* api.openai.com or anything speaking its API */
    CFG_PROV_OPENAI_COMPAT,   /* vLLM, Ollama, DeepSeek, Mistral, Groq, ... */
    CFG_PROV_ANTHROPIC,       /* Anthropic Messages API */
    CFG_PROV_BEDROCK,         /* AWS Bedrock Converse (SigV4) */
    CFG_PROV_AZURE,           /* Azure OpenAI (dated deployments URL or v1) */
    CFG_PROV_GEMINI,          /* Gemini API (generateContent) */
    CFG_PROV_VERTEX_GEMINI,   /* Gemini models on Vertex AI */
    CFG_PROV_VERTEX_ANTHROPIC,/* Anthropic models on Vertex AI (rawPredict) */
};

/* Which HTTP client carries a provider's requests: auto is the built-in
 * one for http:// (gateway/gw_h1.c) and libcurl for https://. */
enum cfg_http_client {
    CFG_HTTP_AUTO = 0,
    CFG_HTTP_CURL,
};

struct cfg_provider {
    char *name;
    enum cfg_provider_type type;
    char *base_url;     /* no trailing slash; paths such as /chat/completions are appended */
    char *api_key_env;  /* environment variable holding the key, or NULL for no key */
    bool optional;      /* key variable unset at start: provider disabled with a warning
                           instead of a config error */
    char *region;       /* free-form label, or NULL */
    char *api_version;  /* the API version header/parameter (anthropic-version, ...), or NULL
                           for the adapter's default */
    /* bedrock only: the AWS region requests are signed for, and the
     * variables holding the secret access key and a session token (the
     * access key id is the provider's key); NULL when not set. */
    char *aws_region;
    char *aws_secret_key_env;
    char *aws_session_token_env;
    char *token_command;/* shell command printing a short-lived token (the key), or NULL */
    char *token_file;   /* file holding a short-lived token (the key), or NULL */
    enum cfg_http_client http_client;
    bool chat_probe;    /* while a breaker is open for a failure of the chat path, probe
                           with a real one-token chat request (costs tokens; opt-in) */
};

struct cfg_target {
    size_t provider;    /* index into cfg.providers */
    char *model;        /* exact upstream model version sent to the provider */
    char *group;        /* equivalence group (the same model elsewhere), or NULL */
    int weight;         /* for the weighted strategy */
    bool approved;      /* may serve as a cross-model fallback */
    uint32_t id;        /* the target's identity in this generation (cfg_targets.c):
                           index into cfg.target_ids */
};

/* One distinct (provider, upstream model) pair of a generation; every chain
 * naming the pair shares it (cfg_targets.c). */
struct cfg_target_id {
    char *key;          /* "provider/model", built once: breakers, events and logs name it */
    size_t provider;    /* index into cfg.providers */
    const char *model;  /* the first naming target's model string */
};

enum cfg_strategy {
    CFG_STRAT_PRIORITY = 0,   /* the order written */
    CFG_STRAT_WEIGHTED,       /* random, proportional to weight */
    CFG_STRAT_LEAST_LATENCY,  /* lowest latency EWMA first */
    CFG_STRAT_HEALTH,         /* lowest latency EWMA (ms) + 1000 x error-rate EWMA first */
};

/* What a failed attempt leads to.  Values are part of the config syntax
 * ("retry", "failover", "return"); the defaults per class are the
 * FAIL_CLASSES table (fail.h). */
enum cfg_action {
    CFG_ACT_RETRY = FAIL_ACT_RETRY,       /* the same target again after a back-off,
                                             then fail over */
    CFG_ACT_FAILOVER = FAIL_ACT_FAILOVER, /* the next target at once */
    CFG_ACT_RETURN = FAIL_ACT_RETURN,     /* the upstream's answer goes back to the
                                             client as is */
};

struct cfg_retry {
    int max_retries;        /* retries of one target for a "retry" class */
    int base_ms;            /* back-off: random(0, min(max_ms, base_ms * 2^n)) (full jitter) */
    int max_ms;
    int retry_after_cap_ms; /* a longer Retry-After is not waited for: fail over instead */
};

/* Hedged requests: a second target started while the first is slow. */
struct cfg_hedge {
    int after_ms;       /* 0: off; else start the next target when the first has produced
                           no first token after this long */
    int budget_pct;     /* at most this share of a worker's requests on the chain hedge */
};

/* After the answer repair gives up (docs/config.md, `repair`). */
enum cfg_exhausted {
    CFG_EXH_ERROR = 0,     /* a 502 invalid_response error naming every problem */
    CFG_EXH_RETURN_LAST,   /* the last answer, marked x-backstop-validation: failed */
};

/* Checking 200 answers against the request's contract (tools, response_format). */
struct cfg_repair {
    bool enabled;          /* false: answers are relayed unchecked */
    int retry_same;        /* corrective retries of the target that broke it, then failover */
    enum cfg_exhausted on_exhausted;
};

/* A chain.  Its primary group is its first target's group: the targets of
 * that group (all of them when no group is named) are ordered by the
 * strategy and tried first; every other target is a cross-model fallback,
 * tried afterwards in the order written, and must be marked approved. */
struct cfg_model {
    char *name;         /* client-facing model name */
    struct cfg_target *targets;
    size_t ntargets;    /* >= 1 */
    enum cfg_strategy strategy;
    bool continue_streams;  /* a text stream broken after bytes reached the client goes on
                               at the next target, with the partial answer as prefix */
    struct cfg_retry retry;
    struct cfg_hedge hedge;
    struct cfg_repair repair;
    enum cfg_action on[FAIL__COUNT];  /* by failure class; FAIL_NONE and the
                                         gateway-internal classes are unused */
};

struct cfg_timeouts {
    int connect_ms;      /* TCP+TLS connect to an upstream */
    int first_token_ms;  /* attempt start -> first response body byte */
    int idle_stream_ms;  /* longest silence inside a streamed answer */
    int request_ms;      /* end-to-end deadline of one client request, all attempts */
    int drain_grace_ms;  /* SIGTERM: how long in-flight requests may take to finish */
};

struct cfg_limits {
    size_t max_body_bytes;    /* request body; larger -> 413 */
    size_t max_header_bytes;  /* request line + headers; larger -> 431 */
    size_t max_response_bytes;/* buffered non-streamed upstream answer; larger -> 502 */
    int max_connections;      /* per worker */
};

enum cfg_log_level { CFG_LOG_ERR = 3, CFG_LOG_WARNING = 4, CFG_LOG_NOTICE = 5,
                     CFG_LOG_INFO = 6, CFG_LOG_DEBUG = 7 };

struct cfg_log {
    enum cfg_log_level level;
    char *file;         /* daemon log file, NULL = stderr */
    char *access_log;   /* access log file, NULL = stderr */
    bool log_content;   /* put prompt/completion text in logs (default false) */
};

/* Per-target circuit breaker, shared by all workers (docs/design.md). */
struct cfg_breaker {
    int consecutive_failures; /* open after this many failures in a row */
    int error_rate_pct;       /* ... or this error rate ... */
    int min_requests;         /* ... over at least this many attempts ... */
    int window_ms;            /* ... within this window */
    int cooldown_ms;          /* first open period; doubles on each re-trip */
    int cooldown_max_ms;
    int trial_timeout_ms;     /* half-open: a granted trial not started in this time moves to
                                 another worker */
};

/* Active health probes run by the controller. */
struct cfg_probes {
    bool enabled;
    int interval_ms;          /* per target, spread over the interval */
    int open_interval_ms;     /* while the target's breaker is open */
    int timeout_ms;
    int rise;                 /* consecutive successes to mark a target up */
    int fall;                 /* consecutive failures to mark it down */
};

struct cfg_events {
    int max_history;          /* failover events kept in LMDB; the oldest go first */
};

/* The admin socket backstopctl talks to (docs/admin.md). */
struct cfg_admin {
    char *socket;       /* unix socket path; relative paths are relative to the config file */
    int mode;           /* permission bits of the socket file */
    char *group;        /* group owning the socket file, or NULL (the controller's) */
};

/* What a crash may leave behind (docs/operations.md, "Secrets"). */
struct cfg_debug {
    bool core_dumps;    /* false: every process non-dumpable, RLIMIT_CORE 0; read at start */
};

/* Provider keys stored encrypted in the state store (docs/admin.md). */
struct cfg_keys {
    char *master_key_file;  /* 32 random bytes, mode 0600; created on first start */
};

/* Operator overrides set with backstopctl (docs/admin.md). */
struct cfg_overrides {
    int fault_default_ms;   /* how long a forced failure lasts without --for */
    int fault_max_ms;       /* the longest --for accepted */
};

struct cfg {
    char *listen_host;  /* numeric IPv4/IPv6 address or "localhost" */
    int listen_port;
    int workers;        /* resolved: the config value, or the CPU count when absent */
    char *state_dir;    /* LMDB environment directory; relative paths are relative to
                           the directory of the config file */
    size_t lmdb_map_mb; /* initial LMDB map size */
    struct cfg_log log;
    struct cfg_limits limits;
    struct cfg_timeouts timeouts;
    struct cfg_breaker breaker;
    struct cfg_probes probes;
    struct cfg_events events;
    struct cfg_admin admin;
    struct cfg_keys keys;
    struct cfg_overrides overrides;
    struct cfg_debug debug;
    struct cfg_provider *providers;
    size_t nproviders;
    struct cfg_model *models;
    size_t nmodels;
    struct cfg_target_id *target_ids;   /* by cfg_target.id */
    size_t ntarget_ids;
    json_t *normalized; /* the input with every default filled in and relative paths
                           resolved; what the controller stores in LMDB */
};

/* A list of "JSON-path: problem" messages, e.g.
 * "$.providers.openai.base_url: expected a string, got integer". */
struct cfg_errors {
    char **msg;
    size_t n;
};

/* Load and validate a file.  Returns NULL and fills errs (>= 1 entry) on any
 * problem, including I/O and JSON syntax errors (with line and column). */
struct cfg *cfg_load_file(const char *path, struct cfg_errors *errs);

/* Validate an already parsed document.  base_dir resolves relative paths
 * (NULL: leave them as they are).  Does not take ownership of root. */
struct cfg *cfg_load_json(json_t *root, const char *base_dir, struct cfg_errors *errs);

void cfg_free(struct cfg *cfg);
void cfg_errors_clear(struct cfg_errors *errs);
/* Appends a message (errs may be NULL: nothing is kept).  false when memory
 * ran out. */
bool cfg_errors_push(struct cfg_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Lookups; NULL when absent.  Linear: for start-up and reload, not the hot path. */
const struct cfg_model *cfg_find_model(const struct cfg *cfg, const char *name);
const struct cfg_provider *cfg_find_provider(const struct cfg *cfg, const char *name);

const char *cfg_provider_type_name(enum cfg_provider_type t);

/* The id of the target "provider/model", or -1.  Linear, like the lookups
 * above: for matching state kept by key across generations. */
long cfg_target_lookup(const struct cfg *cfg, const char *key);

#endif
