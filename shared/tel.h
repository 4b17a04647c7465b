/*
 * tel: the telemetry channel from a worker to the controller.
 *
 * One SOCK_SEQPACKET socketpair per worker: every message is one datagram
 * of a fixed-size struct, so the controller never reassembles and a worker
 * never blocks.  A worker that finds the channel full drops the message and
 * counts it (reported in its next status); telemetry must never slow a
 * request.  EOF on the channel tells a worker that its controller is gone.
 *
 * The structs are plain data with bounded strings (always NUL-terminated,
 * truncated when longer).
 *
 * A message about a target names it by its id (cfg_target.id) in the
 * catalog generation the worker used, and by its names: the controller
 * indexes its target table by the id when that generation numbers targets
 * as its current one does, and falls back to the names when not (a worker
 * still on an older generation, around a reload).
 */
#ifndef BS_TEL_H
#define BS_TEL_H

#include <stddef.h>
#include <stdint.h>

#define TEL_VERSION 2

/* "provider/model": both names are at most 128 bytes (config check). */
#define TEL_TARGET_MAX 264

enum tel_kind {
    TEL_ATTEMPT = 1,   /* one upstream attempt finished */
    TEL_STATUS = 2,    /* a worker's periodic status */
    TEL_TRIAL = 3,     /* a worker took the half-open trial it was granted */
    TEL_FAILOVER = 4,  /* a request switched from one target to another */
    TEL_OKS = 5,       /* successful attempts on one target, batched */
};

struct tel_hdr {
    uint16_t kind;
    uint16_t version;
    uint32_t pid;
};

struct tel_attempt {
    struct tel_hdr hdr;
    uint64_t wall_ms;          /* when the attempt ended */
    int32_t status;            /* upstream HTTP status, 0 when none */
    uint16_t fail;             /* enum fail_class */
    uint16_t attempt_no;       /* 1-based within its request */
    uint8_t trial;             /* this attempt was a half-open breaker trial */
    uint8_t pad[3];
    uint32_t target_id;        /* cfg_target.id in generation */
    uint64_t generation;       /* the catalog generation the attempt ran under */
    uint64_t trial_epoch;
    uint32_t latency_ms;       /* attempt start -> end */
    uint32_t ttfb_ms;          /* attempt start -> first body byte; 0 when none */
    uint32_t prompt_tokens;
    uint32_t completion_tokens;
    char provider[64];
    char model[128];           /* upstream model */
    char chain[128];           /* client-facing model name */
    char request_id[64];
};

/* Successes are the bulk of the traffic and only move counters, so a
 * worker sums them per target over one pass of its event loop and sends one
 * of these at the end of the pass: under load one datagram covers many
 * requests, at low load it leaves as soon as a single one would have.
 * Anything else about a target (a failure, a trial) first sends that
 * target's sum, so the controller sees each worker's outcomes in order. */
struct tel_oks {
    struct tel_hdr hdr;
    uint64_t wall_ms;          /* when the last of them ended */
    uint32_t count;
    int32_t status;            /* the last one's upstream status */
    uint64_t latency_ms_sum;
    uint64_t ttfb_ms_sum;
    uint32_t ttfb_count;       /* those that had a first byte */
    uint32_t target_id;        /* cfg_target.id in generation */
    uint64_t generation;
    uint64_t prompt_tokens;
    uint64_t completion_tokens;
    char provider[64];
    char model[128];
};

struct tel_status {
    struct tel_hdr hdr;
    uint16_t slot;
    uint16_t draining;
    uint32_t in_flight;
    uint32_t connections;
    uint32_t dropped;          /* telemetry messages lost since start */
    uint64_t served;           /* requests finished since start */
    uint64_t started_wall_ms;
    uint64_t generation;       /* catalog generation in use */
};

/* A worker claimed a half-open trial (brk_claim.c): the controller learns
 * it here at once, and from the claim word at its next tick otherwise. */
struct tel_trial {
    struct tel_hdr hdr;
    uint64_t trial_epoch;
    uint64_t generation;
    uint32_t target_id;
    uint32_t pad;
    char target[TEL_TARGET_MAX];          /* "provider/model" */
};

#define TEL_NO_TARGET UINT32_MAX

#define TEL_REASON_BREAKER 0xffff  /* tel_failover.fail: skipped, breaker open */
#define TEL_REASON_DRAINED 0xfffe  /* tel_failover.fail: skipped, drained by the operator */

/* One switch of one request, for the event history.  A worker holds these
 * for its next flush, at most 50 ms, so a skipped target costs no datagram
 * of its own: they leave with the pass's sums in one sendmmsg. */
struct tel_failover {
    struct tel_hdr hdr;
    uint64_t wall_ms;
    uint32_t added_ms;         /* what the failed target cost the request */
    uint16_t fail;             /* enum fail_class, or TEL_REASON_BREAKER / _DRAINED */
    uint16_t pad;
    uint32_t to_id;            /* cfg_target.id of `to` in generation, TEL_NO_TARGET if none */
    uint32_t pad2;
    uint64_t generation;
    char chain[128];
    char from[TEL_TARGET_MAX];            /* "provider/model" */
    char to[TEL_TARGET_MAX];
    char request_id[64];
};

/* Copies src into a fixed field, truncating; dst always ends with NUL. */
void tel_copy(char *dst, size_t size, const char *src);

#endif
