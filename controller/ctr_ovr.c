/*
 * ctr_ovr: the operator overrides (version pins, forced failures, drains)
 * as the controller keeps them.  One JSON document, owned by struct ctr
 * (c->ovr) from ctr_ovr_start() to ctr_ovr_free(), mirrored in LMDB
 * (ST_DB_META / ST_KEY_OVERRIDES) so it outlives reloads and restarts:
 *
 *   {"pins":   [{"model", "target" (null: every target), "version", "set_ms"}],
 *    "faults": [{"id", "target", "mode", "rate", "model", "key", "set_ms", "until_ms"}],
 *    "drains": [{"target", "set_ms"}],
 *    "next_id": N}
 *
 * A change is stored together with a generation bump in one write
 * transaction, so every worker sees it on its next request (gw_ovr.c reads
 * the same document with the catalog).  Expired faults are dropped at the
 * next change; readers skip them by until_ms meanwhile.
 */
#include "ctr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "log.h"
#include "ovr.h"

static json_t *empty_doc(void)
{
    return json_pack("{s:[], s:[], s:[], s:i}", "pins", "faults", "drains", "next_id", 1);
}

/* The stored document, if it has the expected shape; a damaged one is
 * reported and replaced rather than half applied. */
static json_t *checked(json_t *doc)
{
    static const char *const lists[] = { "pins", "faults", "drains" };
    bool ok = json_is_object(doc) && json_is_integer(json_object_get(doc, "next_id"));
    for (size_t i = 0; ok && i < sizeof lists / sizeof lists[0]; i++)
        ok = json_is_array(json_object_get(doc, lists[i]));
    if (ok)
        return doc;
    json_decref(doc);
    return NULL;
}

int ctr_ovr_start(struct ctr *c)
{
    json_t *doc = NULL;
    if (st_rd_begin(c->st) == 0) {
        const void *v;
        size_t len;
        if (st_rd_get(c->st, ST_DB_META, ST_KEY_OVERRIDES, &v, &len) == 0) {
            doc = checked(json_loadb(v, len, 0, NULL));
            if (!doc)
                log_err("operator overrides in the state store are unreadable: starting without "
                        "them");
        }
        st_rd_end(c->st);
    }
    if (!doc)
        doc = empty_doc();
    if (!doc)
        return -1;
    c->ovr = doc;
    size_t np = json_array_size(json_object_get(doc, "pins"));
    size_t nf = json_array_size(json_object_get(doc, "faults"));
    size_t nd = json_array_size(json_object_get(doc, "drains"));
    if (np + nf + nd)
        log_notice("operator overrides in force: %zu pin(s), %zu forced failure(s), %zu drain(s)",
                   np, nf, nd);
    return 0;
}

void ctr_ovr_free(struct ctr *c)
{
    json_decref(c->ovr);
    c->ovr = NULL;
}

bool ctr_ovr_fault_live(const json_t *fault, uint64_t now_ms)
{
    return (uint64_t)json_integer_value(json_object_get(fault, "until_ms")) > now_ms;
}

int ctr_ovr_store(struct ctr *c, json_t *doc)
{
    json_t *faults = json_object_get(doc, "faults");
    uint64_t now = bs_wall_ms();
    for (size_t i = json_array_size(faults); i-- > 0;)
        if (!ctr_ovr_fault_live(json_array_get(faults, i), now))
            json_array_remove(faults, i);
    int rc = ctr_publish_meta(c, ST_KEY_OVERRIDES, doc);
    if (rc) {
        log_err("cannot store the operator overrides: %s", st_strerror(rc));
        return rc;
    }
    json_decref(c->ovr);
    c->ovr = json_incref(doc);
    return 0;
}

json_t *ctr_ovr_live_faults(struct ctr *c)
{
    json_t *list = json_array();
    uint64_t now = bs_wall_ms();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(c->ovr, "faults"), i, f)
        if (list && ctr_ovr_fault_live(f, now))
            json_array_append(list, f);
    return list;
}

json_t *ctr_ovr_for_target(struct ctr *c, const char *provider, const char *model)
{
    json_t *drain = json_null(), *faults = json_array();
    char key[512];
    snprintf(key, sizeof key, "%s/%s", provider, model);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(c->ovr, "drains"), i, e)
        if (ovr_covers(json_string_value(json_object_get(e, "target")), provider, key))
            drain = e;
    uint64_t now = bs_wall_ms();
    json_array_foreach(json_object_get(c->ovr, "faults"), i, e)
        if (ctr_ovr_fault_live(e, now) &&
            ovr_covers(json_string_value(json_object_get(e, "target")), provider, key))
            json_array_append(faults, e);
    return json_pack("{s:O, s:o}", "drain", drain, "faults", faults);
}
