/*
 * ovr: operator overrides (docs/admin.md, docs/ctl.md): version pins,
 * forced failures, drains.  The controller keeps them in LMDB (ST_DB_META,
 * key ST_KEY_OVERRIDES) and publishes them with the catalog generation; the
 * workers apply them.  This module holds what all three parties parse: the
 * forced-failure mode syntax and durations.  Pure functions, no state.
 */
#ifndef BS_OVR_H
#define BS_OVR_H

#include <stdbool.h>
#include <stddef.h>

#define ST_KEY_OVERRIDES "overrides"   /* JSON document, see ctr_ovr.c */

enum ovr_mode {
    OVR_STATUS = 0,      /* an HTTP error answer with an OpenAI error body */
    OVR_TIMEOUT,         /* the connection attempt times out (connect_timeout) */
    OVR_HANG,            /* connected, never answers (first_token_timeout) */
    OVR_RESET,           /* connection reset before any answer (connect_failed) */
    OVR_STREAM_CUT,      /* streams: N events, then the connection ends */
    OVR_STREAM_ERROR,    /* streams: N events, then an error event */
    OVR_EMPTY_TOOL_TURN, /* tools offered: finish_reason tool_calls without tool calls */
    OVR_LATENCY,         /* the real upstream, called after a delay */
};

#define OVR_CODE_MAX 64
#define OVR_AFTER_MAX 10000
#define OVR_LATENCY_MAX 600000
#define OVR_RETRY_AFTER_MAX 86400

struct ovr_mode_spec {
    enum ovr_mode mode;
    int status;              /* OVR_STATUS: 400..599 */
    int retry_after_s;       /* OVR_STATUS: Retry-After header, -1 for none */
    char code[OVR_CODE_MAX]; /* OVR_STATUS: error code in the body, "" for the status's own */
    int after;               /* OVR_STREAM_CUT / OVR_STREAM_ERROR: events before the end */
    int latency_ms;          /* OVR_LATENCY */
};

/* "status:429,retry-after=2", "timeout", "hang", "reset", "stream-cut:3",
 * "stream-error", "empty-tool-turn", "latency:1500".  0, or -1 with err
 * naming the problem. */
int ovr_parse_mode(const char *s, struct ovr_mode_spec *out, char *err, size_t errlen);
const char *ovr_mode_name(enum ovr_mode m);

/* Whether an override on `target` ("provider" or "provider/model") covers
 * target_key ("provider/model") of provider. */
bool ovr_covers(const char *target, const char *provider, const char *target_key);

/* "1h30m", "90s", "500ms", "2d": one or more NUMBER UNIT pairs, into ms;
 * false for anything else or more than 100 years. */
bool ovr_parse_duration(const char *s, long long *ms);

#endif
