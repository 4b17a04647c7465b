/*
 * fail: the outcome classes of one attempt against an upstream target, and
 * every property of a class in one row of FAIL_CLASSES.  Workers classify,
 * the controller aggregates them into health and breakers, the config names
 * them in a chain's "on", the answers pick their error type and status from
 * them, and the access log and the failover events name them.
 * The numbering (row order) is part of the telemetry wire format: append only.
 */
#ifndef BS_FAIL_H
#define BS_FAIL_H

#include <stdbool.h>

/* What a failed attempt leads to before any byte reached the client.  The
 * values are those of enum cfg_action (cfg.h), which takes them from here. */
enum fail_action {
    FAIL_ACT_RETRY = 0,   /* the same target again after a back-off, then fail over */
    FAIL_ACT_FAILOVER,    /* the next target at once */
    FAIL_ACT_RETURN,      /* the upstream's answer goes back to the client as is */
};
/* The config's spelling of the actions, plain and as JSON text (the
 * schema's defaults): string literals, for static tables. */
#define FAIL_ACT_NAME_RETRY "retry"
#define FAIL_ACT_NAME_FAILOVER "failover"
#define FAIL_ACT_NAME_RETURN "return"
#define FAIL_ACT_JSON_RETRY "\"" FAIL_ACT_NAME_RETRY "\""
#define FAIL_ACT_JSON_FAILOVER "\"" FAIL_ACT_NAME_FAILOVER "\""
#define FAIL_ACT_JSON_RETURN "\"" FAIL_ACT_NAME_RETURN "\""

/* The status an OpenAI client gets when the class is the final outcome.
 * Outside FAIL_HTTP_ALWAYS the upstream's own status is the basis, because
 * it says more (503 vs 500, 403 vs 401); 529 becomes 503 and a status that
 * is not an error becomes 502. */
enum fail_http_rule {
    FAIL_HTTP_UPSTREAM = 0,  /* the upstream's own status */
    FAIL_HTTP_ALWAYS,        /* always the row's status (it is what OpenAI gives the case) */
    FAIL_HTTP_UNLESS_AUTH,   /* the row's status unless the upstream's is 401 or 403 */
    FAIL_HTTP_UNLESS_5XX,    /* the row's status when the upstream's is a 4xx other than
                                408 and 409, which would read as the client's fault */
};

/*
 * One row per class, in wire order.  Columns:
 *   id, name      the enumerator; the name logs, events, headers and config keys use
 *   conf, act     CONF: a chain's "on" may set the action, act is the default;
 *                 FIXED: the chain cannot, act always applies
 *   health        counts against the target's health and breaker
 *   hard          opens the breaker at once (retrying cannot help)
 *   probe         a successful GET /models probe speaks for a breaker this class opened
 *   failure       the controller's health record counts it among the target's failures
 *   openai_type, openai_code
 *                 the OpenAI error body that stands for the class (adapters build it,
 *                 gw_classify_http reads it back into the same class); code NULL: none
 *   rule, status  the HTTP status an OpenAI client gets (enum fail_http_rule)
 *   anthropic_type
 *                 the error type an Anthropic client reads in a stream's error event
 */
#define FAIL_CLASSES(X) \
    /* id                       name                   conf   act       health hard probe failure \
       openai_type              openai_code            rule      status anthropic_type */ \
    X(FAIL_NONE,                "ok",                  FIXED, FAILOVER, 0, 0, 0, 0, \
      "server_error",           "ok",                  UPSTREAM, 0,   "api_error") \
    /* refused, reset, unreachable */ \
    X(FAIL_CONNECT,             "connect_failed",      CONF,  FAILOVER, 1, 0, 1, 1, \
      "server_error",           "connect_failed",      UPSTREAM, 0,   "api_error") \
    X(FAIL_DNS,                 "dns",                 CONF,  FAILOVER, 1, 0, 1, 1, \
      "server_error",           "dns",                 UPSTREAM, 0,   "api_error") \
    X(FAIL_TLS,                 "tls",                 CONF,  FAILOVER, 1, 0, 1, 1, \
      "server_error",           "tls",                 UPSTREAM, 0,   "api_error") \
    X(FAIL_CONNECT_TIMEOUT,     "connect_timeout",     CONF,  FAILOVER, 1, 0, 1, 1, \
      "server_error",           "connect_timeout",     UPSTREAM, 0,   "timeout_error") \
    /* no response byte within first_token_ms */ \
    X(FAIL_FIRST_TOKEN_TIMEOUT, "first_token_timeout", CONF,  FAILOVER, 1, 0, 1, 1, \
      "server_error",           "first_token_timeout", UPSTREAM, 0,   "timeout_error") \
    /* a streamed answer went silent */ \
    X(FAIL_IDLE_TIMEOUT,        "idle_stream_timeout", CONF,  FAILOVER, 1, 0, 0, 1, \
      "server_error",           "idle_stream_timeout", UPSTREAM, 0,   "timeout_error") \
    /* 429 rate limit */ \
    X(FAIL_RATE_LIMIT,          "rate_limited",        CONF,  RETRY,    1, 0, 0, 1, \
      "rate_limit_error",       "rate_limit_exceeded", UPSTREAM, 0,   "rate_limit_error") \
    /* 429 insufficient_quota, 402 billing */ \
    X(FAIL_QUOTA,               "quota_exhausted",     CONF,  FAILOVER, 1, 1, 0, 1, \
      "insufficient_quota",     "insufficient_quota",  ALWAYS,   429, "billing_error") \
    /* 500, 502, 503, 504, 529 and other 5xx */ \
    X(FAIL_SERVER,              "server_error",        CONF,  RETRY,    1, 0, 1, 1, \
      "server_error",           "server_error",        UNLESS_5XX, 503, "api_error") \
    /* 401, 403 */ \
    X(FAIL_AUTH,                "auth_failed",         CONF,  FAILOVER, 1, 1, 0, 1, \
      "authentication_error",   "auth_failed",         UNLESS_AUTH, 401, "authentication_error") \
    /* 404: model or deployment not found */ \
    X(FAIL_NOT_FOUND,           "not_found",           CONF,  FAILOVER, 1, 1, 0, 1, \
      "invalid_request_error",  "model_not_found",     ALWAYS,   404, "not_found_error") \
    /* 400 context length exceeded */ \
    X(FAIL_CONTEXT,             "context_length",      CONF,  FAILOVER, 0, 0, 0, 1, \
      "invalid_request_error",  "context_length_exceeded", ALWAYS, 400, "invalid_request_error") \
    /* other 4xx: the request's own fault */ \
    X(FAIL_CLIENT,              "client_error",        CONF,  RETURN,   0, 0, 0, 1, \
      "invalid_request_error",  NULL,                  UPSTREAM, 0,   "invalid_request_error") \
    /* an error event inside a 200 stream */ \
    X(FAIL_STREAM_ERROR,        "stream_error",        CONF,  FAILOVER, 1, 0, 0, 1, \
      "server_error",           "stream_error",        UPSTREAM, 0,   "api_error") \
    /* the stream ended without its terminator */ \
    X(FAIL_STREAM_CUT,          "stream_cut",          CONF,  FAILOVER, 1, 0, 0, 1, \
      "server_error",           "stream_cut",          UPSTREAM, 0,   "api_error") \
    /* unparsable or oversized answer */ \
    X(FAIL_BAD_RESPONSE,        "bad_response",        CONF,  FAILOVER, 1, 0, 0, 1, \
      "server_error",           "bad_response",        UPSTREAM, 0,   "api_error") \
    /* the client went away */ \
    X(FAIL_CANCELLED,           "cancelled",           FIXED, FAILOVER, 0, 0, 0, 0, \
      "server_error",           "cancelled",           UPSTREAM, 0,   "api_error") \
    /* the request's end-to-end deadline passed */ \
    X(FAIL_DEADLINE,            "deadline",            FIXED, FAILOVER, 0, 0, 0, 1, \
      "server_error",           "deadline",            UPSTREAM, 0,   "timeout_error") \
    /* provider disabled (no key) */ \
    X(FAIL_DISABLED,            "disabled",            FIXED, FAILOVER, 0, 0, 0, 1, \
      "server_error",           "disabled",            UPSTREAM, 0,   "api_error") \
    /* the gateway's own failure (out of memory, ...) */ \
    X(FAIL_INTERNAL,            "internal",            FIXED, FAILOVER, 0, 0, 0, 1, \
      "server_error",           "internal",            UPSTREAM, 0,   "api_error") \
    /* health probes found the target down */ \
    X(FAIL_PROBE,               "probe_failed",        FIXED, FAILOVER, 1, 0, 1, 1, \
      "server_error",           "probe_failed",        UPSTREAM, 0,   "api_error") \
    /* lost the race to a hedged attempt (not a failure) */ \
    X(FAIL_HEDGED,              "hedged",              FIXED, FAILOVER, 0, 0, 0, 1, \
      "server_error",           "hedged",              UPSTREAM, 0,   "api_error") \
    /* a 200 answer broke the request's contract (empty tool turn, bad tool \
       arguments, JSON not matching response_format): repaired, never held \
       against health */ \
    X(FAIL_INVALID_RESPONSE,    "invalid_response",    FIXED, FAILOVER, 0, 0, 0, 0, \
      "server_error",           "invalid_response",    UPSTREAM, 0,   "api_error")

#define FAIL_ENUM_ROW(id, ...) id,
enum fail_class {
    FAIL_CLASSES(FAIL_ENUM_ROW)
    FAIL__COUNT
};
#undef FAIL_ENUM_ROW

/* "unknown" for a value outside the enum (a newer peer's class). */
const char *fail_class_name(enum fail_class c);
/* The class so named, or -1. */
int fail_by_name(const char *name);
/* Whether an outcome says something about the target's health (the
 * request's own faults, cancellations and deadlines do not). */
int fail_counts_against_health(enum fail_class c);
/* Failures that open the target's breaker at once (credentials, missing
 * model, exhausted quota: retrying cannot help). */
int fail_is_hard(enum fail_class c);
/* Whether a chain's "on" may set the class's action. */
bool fail_configurable(enum fail_class c);
/* The default action of a configurable class; the only action of the
 * others (failover, also for a value outside the enum). */
enum fail_action fail_default_action(enum fail_class c);
/* Whether a successful GET /models probe speaks for a breaker this class
 * opened (it sees the network and the server, not a quota or a stream). */
bool fail_probe_can_see(enum fail_class c);
/* Whether the controller's health record counts the outcome among the
 * target's failures (all but success, a cancellation and a broken
 * contract, which show in the per-class counts only). */
bool fail_counts_as_failure(enum fail_class c);
/* The OpenAI error body's type and code for the class (code may be NULL). */
const char *fail_openai_type(enum fail_class c);
const char *fail_openai_code(enum fail_class c);
/* The status an OpenAI client is answered with when the class is the final
 * outcome and the upstream answered upstream_status (0: no answer). */
int fail_http_status(enum fail_class c, long upstream_status);
/* The Anthropic error type of the class, for a stream's error event. */
const char *fail_anthropic_type(enum fail_class c);
/* The config spelling of an action ("retry", "failover", "return"). */
const char *fail_action_name(enum fail_action a);

#endif
