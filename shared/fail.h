/*
 * fail: the outcome classes of one attempt against an upstream target.
 * Workers classify, the controller aggregates them into health, and both
 * the access log and the failover events name them with fail_class_name().
 * The numbering is part of the telemetry wire format: append only.
 */
#ifndef BS_FAIL_H
#define BS_FAIL_H

enum fail_class {
    FAIL_NONE = 0,             /* success */
    FAIL_CONNECT,              /* refused, reset, unreachable */
    FAIL_DNS,
    FAIL_TLS,
    FAIL_CONNECT_TIMEOUT,
    FAIL_FIRST_TOKEN_TIMEOUT,  /* no response byte within first_token_ms */
    FAIL_IDLE_TIMEOUT,         /* a streamed answer went silent */
    FAIL_RATE_LIMIT,           /* 429 rate limit */
    FAIL_QUOTA,                /* 429 insufficient_quota, 402 billing */
    FAIL_SERVER,               /* 500, 502, 503, 504, 529 and other 5xx */
    FAIL_AUTH,                 /* 401, 403 */
    FAIL_NOT_FOUND,            /* 404: model or deployment not found */
    FAIL_CONTEXT,              /* 400 context length exceeded */
    FAIL_CLIENT,               /* other 4xx: the request's own fault */
    FAIL_STREAM_ERROR,         /* an error event inside a 200 stream */
    FAIL_STREAM_CUT,           /* the stream ended without its terminator */
    FAIL_BAD_RESPONSE,         /* unparsable or oversized answer */
    FAIL_CANCELLED,            /* the client went away */
    FAIL_DEADLINE,             /* the request's end-to-end deadline passed */
    FAIL_DISABLED,             /* provider disabled (no key) */
    FAIL_INTERNAL,             /* the gateway's own failure (out of memory, ...) */
    FAIL_PROBE,                /* health probes found the target down */
    FAIL_HEDGED,               /* lost the race to a hedged attempt (not a failure) */
    FAIL_INVALID_RESPONSE,     /* a 200 answer broke the request's contract (empty tool
                                  turn, bad tool arguments, JSON not matching
                                  response_format): repaired, never held against health */
    FAIL__COUNT
};

const char *fail_class_name(enum fail_class c);
/* Whether an outcome says something about the target's health (the
 * request's own faults, cancellations and deadlines do not). */
int fail_counts_against_health(enum fail_class c);
/* Failures that open the target's breaker at once (credentials, missing
 * model, exhausted quota: retrying cannot help). */
int fail_is_hard(enum fail_class c);

#endif
