/*
 * gw_ovr: the operator overrides as a worker applies them: version pins,
 * forced failures and drains (the controller's document, controller/ctr_ovr.c,
 * read from LMDB with each catalog generation).
 *
 * Ownership: a struct gw_ovr belongs to the catalog it was read with and is
 * freed with it; requests reach it through their catalog reference, so a
 * change never alters a request in flight.  The only mutable part is each
 * fault's `seen` counter (the worker's single thread).
 */
#ifndef BS_GW_OVR_H
#define BS_GW_OVR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ovr.h"
#include "st.h"

struct gw_pin {
    char *model;       /* client-facing model */
    char *target;      /* "provider/model", or NULL: every target of the chain */
    char *version;     /* the upstream model sent instead of the configured one */
};

struct gw_fault_rule {
    char *id;
    char *target;      /* "provider" or "provider/model" */
    struct ovr_mode_spec spec;
    int rate;          /* percent of the matching attempts */
    uint64_t until_ms; /* wall clock: expired after */
    char *model;       /* client-facing model it is limited to, or NULL */
    char *key;         /* key fingerprint it is limited to, or NULL */
    uint64_t seen;     /* matching attempts this worker saw: the rate's counter */
};

struct gw_ovr {
    struct gw_pin *pins;
    size_t npins;
    struct gw_fault_rule *faults;
    size_t nfaults;
    char **drains;     /* "provider" or "provider/model" */
    size_t ndrains;
};

/* The overrides stored in the current read transaction of st: NULL when
 * there are none (or they are unreadable: logged). */
struct gw_ovr *gw_ovr_load(struct st_env *st);
/* The same from the document's text; NULL when it is not one. */
struct gw_ovr *gw_ovr_parse(const char *json, size_t len);
void gw_ovr_free(struct gw_ovr *o);

/* The upstream model for a target of a chain: the target's pin, else the
 * chain's, else the configured model.  o may be NULL. */
const char *gw_ovr_model(const struct gw_ovr *o, const char *chain, const char *target_key,
                         const char *configured);
/* Whether target_key ("provider/model") of provider is drained. */
bool gw_ovr_drained(const struct gw_ovr *o, const char *provider, const char *target_key);

/* What an attempt is, for matching forced failures. */
struct gw_fault_query {
    const char *provider, *target_key, *chain, *key_fpr;
    bool stream, tools;
    uint64_t now_ms;
};
/* The first live fault that matches and, by its rate, applies to this
 * attempt (its counter moves); NULL when none. */
const struct gw_fault_rule *gw_ovr_fault(struct gw_ovr *o, const struct gw_fault_query *q);

#endif
