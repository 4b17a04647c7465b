/*
 * The configuration schema: every key, its type, bounds, default and where
 * it lands in struct cfg.  docs/config.md describes the same keys for
 * operators; keep the two in step.
 *
 * To add a key, add a row (and the struct member it fills).  To add a
 * provider type, add a line to cfg_provider_types.  Rows whose value has a
 * syntax of its own point to a check in cfg_check.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_impl.h"

#define INT_ROW(S, m, lo, hi, d) \
    { .key = #m, .kind = CK_INT, .min = (lo), .max = (hi), .def = (d), \
      .store = CS_INT, .off = offsetof(S, m) }
#define SIZE_ROW(S, m, lo, hi, d) \
    { .key = #m, .kind = CK_INT, .min = (lo), .max = (hi), .def = (d), \
      .store = CS_SIZE, .off = offsetof(S, m) }
#define BOOL_ROW(S, m, d) \
    { .key = #m, .kind = CK_BOOL, .def = (d), .store = CS_BOOL, .off = offsetof(S, m) }
/* A file name, or null for stderr. */
#define LOGFILE_ROW(S, m) \
    { .key = #m, .kind = CK_STRING, .flags = CF_NULLABLE | CF_NONEMPTY | CF_PATH, \
      .def = "null", .store = CS_STR, .off = offsetof(S, m) }
#define MS_ROW(m, d) INT_ROW(struct cfg_timeouts, m, 1, 86400000, d)
#define END_ROW { .kind = CK_END }

const struct cfg_enum cfg_provider_types[] = {
    { "openai", CFG_PROV_OPENAI },
    { "openai-compatible", CFG_PROV_OPENAI_COMPAT },
    { "anthropic", CFG_PROV_ANTHROPIC },
    { "bedrock", CFG_PROV_BEDROCK },
    { "azure", CFG_PROV_AZURE },
    { "gemini", CFG_PROV_GEMINI },
    { "vertex-gemini", CFG_PROV_VERTEX_GEMINI },
    { "vertex-anthropic", CFG_PROV_VERTEX_ANTHROPIC },
    { NULL, 0 },
};

static const struct cfg_enum http_clients[] = {
    { "auto", CFG_HTTP_AUTO },
    { "curl", CFG_HTTP_CURL },
    { NULL, 0 },
};

static const struct cfg_enum log_levels[] = {
    { "err", CFG_LOG_ERR },
    { "warning", CFG_LOG_WARNING },
    { "notice", CFG_LOG_NOTICE },
    { "info", CFG_LOG_INFO },
    { "debug", CFG_LOG_DEBUG },
    { NULL, 0 },
};

static const struct cfg_field log_fields[] = {
    { .key = "level", .kind = CK_ENUM, .enums = log_levels, .def = "\"info\"",
      .store = CS_ENUM, .off = offsetof(struct cfg_log, level) },
    LOGFILE_ROW(struct cfg_log, file),
    LOGFILE_ROW(struct cfg_log, access_log),
    BOOL_ROW(struct cfg_log, log_content, "false"),
    END_ROW
};

static const struct cfg_field limits_fields[] = {
    SIZE_ROW(struct cfg_limits, max_body_bytes, 1024, 268435456, "1048576"),
    SIZE_ROW(struct cfg_limits, max_header_bytes, 1024, 1048576, "16384"),
    SIZE_ROW(struct cfg_limits, max_response_bytes, 1024, 1073741824, "16777216"),
    INT_ROW(struct cfg_limits, max_connections, 1, 1000000, "4096"),
    END_ROW
};

static const struct cfg_field timeouts_fields[] = {
    MS_ROW(connect_ms, "2000"),
    MS_ROW(first_token_ms, "30000"),
    MS_ROW(idle_stream_ms, "30000"),
    MS_ROW(request_ms, "600000"),
    MS_ROW(drain_grace_ms, "30000"),
    END_ROW
};

static const struct cfg_field breaker_fields[] = {
    INT_ROW(struct cfg_breaker, consecutive_failures, 1, 1000, "3"),
    INT_ROW(struct cfg_breaker, error_rate_pct, 1, 100, "50"),
    INT_ROW(struct cfg_breaker, min_requests, 1, 100000, "10"),
    INT_ROW(struct cfg_breaker, window_ms, 1000, 3600000, "30000"),
    INT_ROW(struct cfg_breaker, cooldown_ms, 10, 3600000, "30000"),
    INT_ROW(struct cfg_breaker, cooldown_max_ms, 10, 86400000, "300000"),
    INT_ROW(struct cfg_breaker, trial_timeout_ms, 10, 600000, "1000"),
    END_ROW
};

static const struct cfg_field probes_fields[] = {
    BOOL_ROW(struct cfg_probes, enabled, "true"),
    INT_ROW(struct cfg_probes, interval_ms, 100, 86400000, "10000"),
    INT_ROW(struct cfg_probes, open_interval_ms, 100, 86400000, "2000"),
    INT_ROW(struct cfg_probes, timeout_ms, 10, 600000, "2000"),
    INT_ROW(struct cfg_probes, rise, 1, 100, "2"),
    INT_ROW(struct cfg_probes, fall, 1, 100, "3"),
    END_ROW
};

static const struct cfg_field events_fields[] = {
    INT_ROW(struct cfg_events, max_history, 100, 10000000, "10000"),
    END_ROW
};

/* A relative socket path is relative to the config file, like state_dir:
 * backstopctl -c CONFIG finds it the same way the daemon does. */
static const struct cfg_field admin_fields[] = {
    { .key = "socket", .kind = CK_STRING, .flags = CF_NONEMPTY | CF_PATH,
      .def = "\"backstopd.sock\"", .store = CS_STR, .off = offsetof(struct cfg_admin, socket) },
    { .key = "mode", .kind = CK_MODE, .min = 0, .max = 0777, .def = "\"0600\"",
      .check = cfg_check_admin_mode, .store = CS_MODE, .off = offsetof(struct cfg_admin, mode) },
    /* Resolved when the socket is created: `-t` does not depend on the
     * machine's group database. */
    { .key = "group", .kind = CK_STRING, .flags = CF_NULLABLE | CF_NONEMPTY, .def = "null",
      .store = CS_STR, .off = offsetof(struct cfg_admin, group) },
    END_ROW
};

static const struct cfg_field debug_fields[] = {
    BOOL_ROW(struct cfg_debug, core_dumps, "false"),
    END_ROW
};

static const struct cfg_field keys_fields[] = {
    { .key = "master_key_file", .kind = CK_STRING, .flags = CF_NONEMPTY | CF_PATH,
      .def = "\"master.key\"", .store = CS_STR,
      .off = offsetof(struct cfg_keys, master_key_file) },
    END_ROW
};

static const struct cfg_field overrides_fields[] = {
    INT_ROW(struct cfg_overrides, fault_default_ms, 1000, 86400000, "300000"),
    INT_ROW(struct cfg_overrides, fault_max_ms, 1000, 604800000, "3600000"),
    END_ROW
};

static const struct cfg_field provider_fields[] = {
    { .key = "type", .kind = CK_ENUM, .flags = CF_REQUIRED, .enums = cfg_provider_types,
      .store = CS_ENUM, .off = offsetof(struct cfg_provider, type) },
    { .key = "base_url", .kind = CK_STRING, .flags = CF_REQUIRED, .check = cfg_check_url,
      .store = CS_STR, .off = offsetof(struct cfg_provider, base_url) },
    /* Only the variable's name is configuration; whether it is set is the
     * controller's business at start, so `-t` works without secrets. */
    { .key = "api_key_env", .kind = CK_STRING, .flags = CF_NULLABLE, .def = "null",
      .check = cfg_check_env_name,
      .store = CS_STR, .off = offsetof(struct cfg_provider, api_key_env) },
    BOOL_ROW(struct cfg_provider, optional, "false"),
    BOOL_ROW(struct cfg_provider, chat_probe, "false"),
    { .key = "region", .kind = CK_STRING, .flags = CF_NULLABLE | CF_NONEMPTY, .def = "null",
      .store = CS_STR, .off = offsetof(struct cfg_provider, region) },
    { .key = "api_version", .kind = CK_STRING, .flags = CF_NULLABLE | CF_NONEMPTY, .def = "null",
      .check = cfg_check_api_version,
      .store = CS_STR, .off = offsetof(struct cfg_provider, api_version) },
    { .key = "aws_region", .kind = CK_STRING, .flags = CF_NULLABLE, .def = "null",
      .check = cfg_check_aws_region,
      .store = CS_STR, .off = offsetof(struct cfg_provider, aws_region) },
    { .key = "aws_secret_key_env", .kind = CK_STRING, .flags = CF_NULLABLE, .def = "null",
      .check = cfg_check_env_name,
      .store = CS_STR, .off = offsetof(struct cfg_provider, aws_secret_key_env) },
    { .key = "aws_session_token_env", .kind = CK_STRING, .flags = CF_NULLABLE, .def = "null",
      .check = cfg_check_env_name,
      .store = CS_STR, .off = offsetof(struct cfg_provider, aws_session_token_env) },
    /* Short-lived credentials (Vertex AI access tokens): the controller
     * runs or reads these and keeps the key fresh (controller/ctr_token.c). */
    { .key = "token_command", .kind = CK_STRING, .flags = CF_NULLABLE | CF_NONEMPTY, .def = "null",
      .store = CS_STR, .off = offsetof(struct cfg_provider, token_command) },
    { .key = "token_file", .kind = CK_STRING, .flags = CF_NULLABLE | CF_NONEMPTY, .def = "null",
      .store = CS_STR, .off = offsetof(struct cfg_provider, token_file) },
    { .key = "http_client", .kind = CK_ENUM, .enums = http_clients, .def = "\"auto\"",
      .store = CS_ENUM, .off = offsetof(struct cfg_provider, http_client) },
    END_ROW
};

static const struct cfg_field target_fields[] = {
    { .key = "provider", .kind = CK_STRING, .flags = CF_REQUIRED, .ref = "providers",
      .store = CS_REF, .off = offsetof(struct cfg_target, provider) },
    { .key = "model", .kind = CK_STRING, .flags = CF_REQUIRED | CF_NONEMPTY,
      .store = CS_STR, .off = offsetof(struct cfg_target, model) },
    { .key = "group", .kind = CK_STRING, .flags = CF_NULLABLE | CF_NONEMPTY, .def = "null",
      .store = CS_STR, .off = offsetof(struct cfg_target, group) },
    INT_ROW(struct cfg_target, weight, 1, 1000000, "1"),
    BOOL_ROW(struct cfg_target, approved, "false"),
    END_ROW
};

static const struct cfg_enum strategies[] = {
    { "priority", CFG_STRAT_PRIORITY },
    { "weighted", CFG_STRAT_WEIGHTED },
    { "least-latency", CFG_STRAT_LEAST_LATENCY },
    { "health-score", CFG_STRAT_HEALTH },
    { NULL, 0 },
};

static const struct cfg_field retry_fields[] = {
    INT_ROW(struct cfg_retry, max_retries, 0, 10, "2"),
    INT_ROW(struct cfg_retry, base_ms, 1, 60000, "200"),
    INT_ROW(struct cfg_retry, max_ms, 1, 600000, "5000"),
    INT_ROW(struct cfg_retry, retry_after_cap_ms, 0, 600000, "10000"),
    END_ROW
};

static const struct cfg_field hedge_fields[] = {
    INT_ROW(struct cfg_hedge, after_ms, 0, 600000, "0"),
    INT_ROW(struct cfg_hedge, budget_pct, 0, 100, "10"),
    END_ROW
};

static const struct cfg_enum exhausted_modes[] = {
    { "error", CFG_EXH_ERROR },
    { "return_last", CFG_EXH_RETURN_LAST },
    { NULL, 0 },
};

static const struct cfg_field repair_fields[] = {
    BOOL_ROW(struct cfg_repair, enabled, "true"),
    INT_ROW(struct cfg_repair, retry_same, 0, 5, "1"),
    { .key = "on_exhausted", .kind = CK_ENUM, .enums = exhausted_modes, .def = "\"error\"",
      .store = CS_ENUM, .off = offsetof(struct cfg_repair, on_exhausted) },
    END_ROW
};

static const struct cfg_enum cfg_actions[] = {
    { FAIL_ACT_NAME_RETRY, CFG_ACT_RETRY },
    { FAIL_ACT_NAME_FAILOVER, CFG_ACT_FAILOVER },
    { FAIL_ACT_NAME_RETURN, CFG_ACT_RETURN },
    { NULL, 0 },
};

/* One key per class the FAIL_CLASSES table (fail.h) marks CONF, with its
 * default action: the names and defaults are the table's, not spelt here. */
#define ON_ROW(id, name, conf, act, ...) ON_ROW_##conf(id, name, act)
#define ON_ROW_CONF(id, name, act) \
    { .key = name, .kind = CK_ENUM, .enums = cfg_actions, .def = FAIL_ACT_JSON_##act, \
      .store = CS_ENUM, .off = (id) * sizeof(enum cfg_action) },
#define ON_ROW_FIXED(id, name, act)
const struct cfg_field cfg_on_fields[] = {
    FAIL_CLASSES(ON_ROW)
    END_ROW
};
#undef ON_ROW
#undef ON_ROW_CONF
#undef ON_ROW_FIXED

static const struct cfg_field model_fields[] = {
    { .key = "targets", .kind = CK_ARRAY, .flags = CF_REQUIRED, .min = 1,
      .fields = target_fields,
      .off = offsetof(struct cfg_model, targets), .off_n = offsetof(struct cfg_model, ntargets),
      .elem_size = sizeof(struct cfg_target) },
    { .key = "strategy", .kind = CK_ENUM, .enums = strategies, .def = "\"priority\"",
      .store = CS_ENUM, .off = offsetof(struct cfg_model, strategy) },
    BOOL_ROW(struct cfg_model, continue_streams, "true"),
    { .key = "retry", .kind = CK_OBJECT, .def = "{}", .fields = retry_fields,
      .off = offsetof(struct cfg_model, retry) },
    { .key = "hedge", .kind = CK_OBJECT, .def = "{}", .fields = hedge_fields,
      .off = offsetof(struct cfg_model, hedge) },
    { .key = "repair", .kind = CK_OBJECT, .def = "{}", .fields = repair_fields,
      .off = offsetof(struct cfg_model, repair) },
    { .key = "on", .kind = CK_OBJECT, .def = "{}", .fields = cfg_on_fields,
      .unknown_key = cfg_check_on_key, .off = offsetof(struct cfg_model, on) },
    END_ROW
};

/* Stored in the normalised document as a number, so every worker and every
 * reload agrees on it even if the CPU count changes under a running daemon. */
static json_t *default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > 64)
        n = 64;
    return json_integer(n);
}

static bool build_listen(void *base, const json_t *v)
{
    struct cfg *cfg = base;
    char host[CFG_HOST_MAX];
    if (cfg_parse_listen(json_string_value(v), host, &cfg->listen_port))
        return false;
    return (cfg->listen_host = strdup(host)) != NULL;
}

static void release_listen(void *base)
{
    struct cfg *cfg = base;
    free(cfg->listen_host);
    cfg->listen_host = NULL;
}

/* "providers" must precede "models": references are resolved against the
 * providers already built. */
static const struct cfg_field root_fields[] = {
    { .key = "listen", .kind = CK_STRING, .flags = CF_REQUIRED, .check = cfg_check_listen,
      .store = CS_CUSTOM, .build = build_listen, .release = release_listen },
    { .key = "workers", .kind = CK_INT, .min = 1, .max = 64, .def_fn = default_workers,
      .store = CS_INT, .off = offsetof(struct cfg, workers) },
    { .key = "state_dir", .kind = CK_STRING, .flags = CF_REQUIRED | CF_NONEMPTY | CF_PATH,
      .store = CS_STR, .off = offsetof(struct cfg, state_dir) },
    SIZE_ROW(struct cfg, lmdb_map_mb, 1, 65536, "64"),
    { .key = "log", .kind = CK_OBJECT, .def = "{}", .fields = log_fields,
      .off = offsetof(struct cfg, log) },
    { .key = "limits", .kind = CK_OBJECT, .def = "{}", .fields = limits_fields,
      .off = offsetof(struct cfg, limits) },
    { .key = "timeouts", .kind = CK_OBJECT, .def = "{}", .fields = timeouts_fields,
      .off = offsetof(struct cfg, timeouts) },
    { .key = "breaker", .kind = CK_OBJECT, .def = "{}", .fields = breaker_fields,
      .off = offsetof(struct cfg, breaker) },
    { .key = "probes", .kind = CK_OBJECT, .def = "{}", .fields = probes_fields,
      .off = offsetof(struct cfg, probes) },
    { .key = "events", .kind = CK_OBJECT, .def = "{}", .fields = events_fields,
      .off = offsetof(struct cfg, events) },
    { .key = "admin", .kind = CK_OBJECT, .def = "{}", .fields = admin_fields,
      .off = offsetof(struct cfg, admin) },
    { .key = "keys", .kind = CK_OBJECT, .def = "{}", .fields = keys_fields,
      .off = offsetof(struct cfg, keys) },
    { .key = "overrides", .kind = CK_OBJECT, .def = "{}", .fields = overrides_fields,
      .check_elem = cfg_check_overrides, .off = offsetof(struct cfg, overrides) },
    { .key = "debug", .kind = CK_OBJECT, .def = "{}", .fields = debug_fields,
      .off = offsetof(struct cfg, debug) },
    { .key = "providers", .kind = CK_MAP, .flags = CF_REQUIRED, .min = 1, .noun = "provider",
      .fields = provider_fields, .check_key = cfg_check_provider_name,
      .check_elem = cfg_check_provider,
      .off = offsetof(struct cfg, providers), .off_n = offsetof(struct cfg, nproviders),
      .elem_size = sizeof(struct cfg_provider), .name_off = offsetof(struct cfg_provider, name) },
    { .key = "models", .kind = CK_MAP, .flags = CF_REQUIRED, .min = 1, .noun = "model",
      .fields = model_fields, .check_key = cfg_check_model_name, .check_elem = cfg_check_chain,
      .off = offsetof(struct cfg, models), .off_n = offsetof(struct cfg, nmodels),
      .elem_size = sizeof(struct cfg_model), .name_off = offsetof(struct cfg_model, name) },
    END_ROW
};

const struct cfg_field cfg_schema = { .key = "$", .kind = CK_OBJECT, .fields = root_fields };
