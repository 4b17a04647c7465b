/*
 * ctr_target: the controller's one table of targets.  A target is one
 * distinct (provider, upstream model) pair of the current config
 * generation, identified by its cfg_target.id; the table is indexed by it.
 * One struct per target holds what the modules know of it: its attempt
 * statistics (ctr_telemetry.c writes them), its breaker (ctr_breaker.c) and
 * its probe (ctr_probe.c).  Each part is written by its module only.
 *
 * The table is owned by struct ctr (c->tgt) and rebuilt when a generation
 * is loaded (ctr_target_rebuild): targets that stay keep their state,
 * matched by key; new ones start fresh; gone ones are freed (their probe
 * first, through ctr_probe_forget).  A target's struct stays at one address
 * for as long as it is in the config, so a probe in flight may point at it.
 */
#ifndef BS_CTR_TARGET_H
#define BS_CTR_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "brk.h"
#include "fail.h"

struct ctr;
struct tel_hdr;

/* Attempt statistics, as stored in ST_DB_HEALTH (ctr_telemetry.c). */
struct ctr_target_health {
    bool seen;                       /* some attempt was reported */
    bool dirty;                      /* to be written at the next flush */
    uint64_t attempts, ok, failures;
    uint64_t by_class[FAIL__COUNT];
    int last_status;
    int last_fail;
    uint64_t last_fail_wall_ms, last_ok_wall_ms;
    double latency_ewma_ms, ttfb_ewma_ms;
    uint64_t prompt_tokens, completion_tokens;
};

struct probe_target;                 /* the probe of a target: ctr_probe.c */

struct ctr_target {
    uint32_t id;                     /* index in the table, cfg_target.id */
    char *key;                       /* "provider/model"; owned copies: a reload frees */
    char *provider;                  /* the config they came from */
    char *model;
    struct ctr_target_health health;
    struct brk_fsm brk;              /* the breaker's state (ctr_breaker.c) */
    bool brk_published;              /* a record of it is in ST_DB_BREAKERS */
    bool brk_seen;                   /* outcomes or a probe verdict reached it (admin
                                        shows its record from then on) */
    struct probe_target *probe;      /* NULL when not probed; owned by ctr_probe.c */
};

struct ctr_targets {
    struct ctr_target **v;           /* by id */
    size_t n;
    uint64_t generation;             /* the first generation of the config it numbers */
    uint64_t dropped;                /* telemetry that named no current target */
};

/* Makes the table match c->cfg; c->generation is the generation just
 * published.  0 or -ENOMEM (the old table then stays). */
int ctr_target_rebuild(struct ctr *c);
void ctr_target_free(struct ctr *c);
/* By "provider/model" (linear: admin commands and old generations only). */
struct ctr_target *ctr_target_find(struct ctr *c, const char *key);
struct ctr_target *ctr_target_find2(struct ctr *c, const char *provider, const char *model);
/* The target a telemetry datagram names: by id when it refers to the
 * current config, else by its key; NULL (counted, logged) when it names
 * no current target. */
struct ctr_target *ctr_target_of(struct ctr *c, uint64_t generation, uint32_t id,
                                 const char *provider, const char *model);

#endif
