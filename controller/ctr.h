/*
 * ctr: the controller process (backstopd).  It owns the configuration, the
 * LMDB environment (the only writer), the listening socket and the workers.
 *
 * One struct ctr lives for the whole process, created in main() and freed
 * on exit; every module below works on it from the one event loop.
 */
#ifndef BS_CTR_H
#define BS_CTR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <event2/event.h>

#include "brk.h"
#include "cfg.h"
#include "ctr_target.h"
#include "st.h"
#include "tel.h"
#include "worker.h"

#define CTR_MAX_WORKERS 64

enum ctr_slot_state { SLOT_EMPTY = 0, SLOT_RUNNING, SLOT_WAITING, SLOT_RETIRED };

/* One worker slot.  A slot outlives the processes that fill it: a crashed
 * worker's slot is refilled, with a back-off when it died before serving. */
struct ctr_slot {
    int index;
    enum ctr_slot_state state;
    pid_t pid;
    int tel_fd;                  /* controller's end of the telemetry socketpair */
    struct event *tel_ev;
    struct event *respawn_ev;
    uint64_t started_us;
    uint64_t started_wall_ms;
    bool served;                 /* this process finished a request */
    int quick_deaths;            /* consecutive deaths before serving */
    struct tel_status last;      /* latest status it reported */
    struct ctr *ctr;
};

struct ctr_probe;                /* the prober, ctr_probe.c */
struct ctr_events;               /* queued failover events, ctr_events.c */
struct ctr_admin;                /* the admin socket, ctr_admin.c */
struct ctr_keys;                 /* the master key in memory, ctr_keys.c */
struct ctr_tokens;               /* short-lived keys kept fresh, ctr_token.c */

struct ctr {
    struct event_base *base;
    char *config_path;
    struct cfg *cfg;
    struct st_env *st;
    uint64_t generation;
    int listen_fd;
    int nslots;                  /* slots in use: max(cfg->workers, slots still draining) */
    struct ctr_slot slots[CTR_MAX_WORKERS];
    bool stopping;               /* SIGTERM/SIGINT seen: drain and exit */
    struct event *grace_ev;
    struct event *flush_ev;
    struct event *sig_ev[6];
    struct ctr_targets tgt;      /* every target's health, breaker, probe: ctr_target.c */
    struct event *brk_ev;        /* breaker clock: cool-downs, trial expiry, claims */
    uint64_t brk_epoch;          /* the last trial epoch handed out (ctr_breaker.c) */
    struct brk_claims claims;    /* trial claim words shared with the workers (brk_claim.c) */
    int claims_fd;               /* their memfd, inherited by workers as CTR_WORKER_CLAIMS_FD */
    struct ctr_probe *probe;
    struct ctr_events *events;
    struct ctr_admin *admin;     /* the admin socket, ctr_admin*.c */
    struct ctr_keys *keys;       /* encrypted provider keys, ctr_keys.c */
    json_t *ovr;                 /* operator overrides, ctr_ovr.c */
    struct ctr_tokens *tokens;   /* token_command / token_file sources, ctr_token.c */
    uint64_t started_wall_ms;
    bool health_dirty;
    bool workers_dirty;
    int exit_code;
};

/* ctr_listen.c */
int ctr_listen_open(const char *host, int port, int *out_fd, char *err, size_t errlen);

/* ctr_publish.c */
int ctr_publish(struct ctr *c, const struct cfg *cfg);
/* Stores doc under key in ST_DB_META and bumps the generation in the same
 * durable transaction (c->generation follows); 0 or an st error. */
int ctr_publish_meta(struct ctr *c, const char *key, const json_t *doc);
/* errs (may be NULL) gets every reason a reload was rejected. */
int ctr_reload(struct ctr *c, struct cfg_errors *errs);
int ctr_check_keys(struct ctr *c, const struct cfg *cfg, struct cfg_errors *errs);

/* ctr_workers.c */
int ctr_workers_start(struct ctr *c);
void ctr_workers_resize(struct ctr *c);
void ctr_workers_reap(struct ctr *c);
void ctr_workers_stop(struct ctr *c);
void ctr_workers_signal(struct ctr *c, int sig);
int ctr_workers_alive(const struct ctr *c);
void ctr_workers_free(struct ctr *c);

/* ctr_telemetry.c */
void ctr_tel_read(evutil_socket_t fd, short what, void *arg);
int ctr_tel_start(struct ctr *c);
void ctr_tel_flush(struct ctr *c);
void ctr_tel_free(struct ctr *c);
/* The target's attempt statistics as stored in ST_DB_HEALTH (a new
 * reference), or NULL when it has seen no attempt. */
json_t *ctr_tel_health(struct ctr *c, const char *provider, const char *model);

/* ctr_breaker.c: the shell around each target's breaker (shared/brk.h):
 * it reads the clock, feeds the pure state machine, publishes its records
 * to LMDB and offers half-open trials in the claim words. */
int ctr_breaker_start(struct ctr *c);
void ctr_breaker_attempt(struct ctr *c, struct ctr_target *t, const struct tel_attempt *a);
/* n successes batched by a worker (TEL_OKS). */
void ctr_breaker_oks(struct ctr *c, struct ctr_target *t, uint32_t n);
/* A worker says it claimed the trial of epoch (TEL_TRIAL). */
void ctr_breaker_trial(struct ctr *c, struct ctr_target *t, int slot, uint64_t epoch);
/* A probe verdict: up (after its rise threshold, or any success while
 * open) may move an open breaker to half-open early when a probe of that
 * kind exercises what failed; down opens a closed or half-open one. */
void ctr_breaker_probe(struct ctr *c, struct ctr_target *t, bool up, enum brk_probe_kind kind,
                       const char *why);
/* Open or half-open: anything but closed (probes run faster then). */
bool ctr_breaker_is_open(const struct ctr_target *t);
/* Worker slot exited: a half-open trial it had claimed is offered again. */
void ctr_breaker_worker_gone(struct ctr *c, int slot);
/* t leaves the config: its record goes from ST_DB_BREAKERS. */
void ctr_breaker_forget(struct ctr *c, struct ctr_target *t);
/* The table was rebuilt: the claim words follow the new ids. */
void ctr_breaker_renumbered(struct ctr *c);
void ctr_breaker_free(struct ctr *c);
/* A copy of the target's breaker record; false when it has none (closed,
 * never failed). */
bool ctr_breaker_get(struct ctr *c, const char *provider, const char *model,
                     struct brk_record *out);

/* ctr_events.c: the failover history. */
void ctr_events_add(struct ctr *c, int slot, const struct tel_failover *f);
int ctr_events_write(struct ctr *c, MDB_txn *txn);
void ctr_events_flushed(struct ctr *c);
void ctr_events_free(struct ctr *c);

/* ctr_probe.c: active health probes of every target. */
int ctr_probe_start(struct ctr *c);
void ctr_probe_reload(struct ctr *c);   /* after a reload published a new config */
void ctr_probe_free(struct ctr *c);
/* t leaves the config (ctr_target_rebuild): its probe stops, its record goes. */
void ctr_probe_forget(struct ctr *c, struct ctr_target *t);

/* ctr_admin*.c: the admin socket backstopctl talks to (docs/admin.md). */
int ctr_admin_start(struct ctr *c);
void ctr_admin_free(struct ctr *c);

/* ctr_keys.c: provider keys encrypted in the state store under the master
 * key (shared/keys.h).  Secrets handed out are sodium_malloc'd: keys_free(). */
int ctr_keys_start(struct ctr *c);      /* load or create the master key; finish a
                                           rotation a crash interrupted */
void ctr_keys_free(struct ctr *c);
bool ctr_keys_has(struct ctr *c, const char *provider);
/* 0, -ENOENT (none stored), or another error (logged). */
int ctr_keys_get(struct ctr *c, const char *provider, char **secret, size_t *len);
/* Each fills err on failure and returns a negative errno. */
int ctr_keys_set(struct ctr *c, const char *provider, const char *secret, size_t len,
                 json_t **result, char *err, size_t errlen);
json_t *ctr_keys_list(struct ctr *c, char *err, size_t errlen);
int ctr_keys_rotate(struct ctr *c, json_t **result, char *err, size_t errlen);

/* ctr_ovr.c: operator overrides (pins, forced failures, drains), durable in
 * LMDB and published with a generation bump. */
int ctr_ovr_start(struct ctr *c);       /* load them from the state store */
void ctr_ovr_free(struct ctr *c);
/* Stores doc (a whole new document; expired faults are dropped from it)
 * and bumps the generation; on success c->ovr is doc (a new reference). */
int ctr_ovr_store(struct ctr *c, json_t *doc);
bool ctr_ovr_fault_live(const json_t *fault, uint64_t now_ms);
json_t *ctr_ovr_live_faults(struct ctr *c);     /* a new array */
/* {"drain": the drain or null, "faults": [the live faults]} of one target. */
json_t *ctr_ovr_for_target(struct ctr *c, const char *provider, const char *model);
/* ctr_token.c: keys from token_command / token_file, refreshed before
 * they expire and published like `keys set`.  start: the first fetch,
 * blocking (bounded), before the workers start; reload: after a reload
 * published a new config; reaped: the reaper's hand-off of a child that is
 * not a worker (true when it was a token command). */
int ctr_token_start(struct ctr *c);
void ctr_token_reload(struct ctr *c);
bool ctr_token_reaped(struct ctr *c, pid_t pid, int status);
void ctr_token_free(struct ctr *c);

#endif
