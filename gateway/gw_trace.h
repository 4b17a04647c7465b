/*
 * gw_trace: what a chat request leaves behind besides its answer: the
 * x-backstop-failover header ("provider/model=reason,..."), the reasons of
 * the all-down answer, the telemetry of each attempt and each switch of
 * target (the controller's health, breakers and event history).
 *
 * Ownership: struct gw_trace lives inside its chat and is written only
 * through these functions.
 */
#ifndef BS_GW_TRACE_H
#define BS_GW_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct gw_chat;
struct gw_attempt;

struct gw_trace {
    char failover[512];           /* "provider/model=reason,..." */
    char reasons[768];            /* "provider/model: reason (HTTP n); ..." for the all-down answer */
    char untranslatable[256];     /* why a target's format cannot express the request */
};

/* x-backstop-failover: the request left target `key` for `why`. */
void gw_trace_failover(struct gw_trace *t, const char *key, const char *why);
/* A reason for the all-down answer: "key: why[ (HTTP status)]". */
void gw_trace_reason(struct gw_trace *t, const char *key, const char *why, long status);
/* ... with a free-form detail: "key: what detail". */
void gw_trace_reason_detail(struct gw_trace *t, const char *key, const char *what, const char *detail);
void gw_trace_untranslatable(struct gw_trace *t, const char *why);
/* Appends "sep item" (no sep before the first) to buf, truncating. */
void gw_trace_append(char *buf, size_t cap, const char *sep, const char *item, const char *item2,
                     const char *item3);

/* Telemetry: the attempt's outcome (health, breakers, statistics). */
void gw_trace_attempt(struct gw_chat *chat, const struct gw_attempt *att);
/* A failover event: the request moved from target `from` to the attempt
 * `to`, because of `reason` (a fail class or TEL_REASON_*). */
void gw_trace_switch(struct gw_chat *chat, const char *from, const struct gw_attempt *to, int reason,
                     uint64_t added_us);

#endif
