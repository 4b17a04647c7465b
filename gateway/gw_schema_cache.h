/*
 * gw_schema_cache: compiled JSON Schemas of tool definitions and response
 * formats, shared by the requests of one worker.  Agents send the same tools
 * with every turn, so a schema is compiled once per worker, not per request:
 * entries are keyed by the schema's canonical text (sorted keys, compact),
 * and the least recently used one is dropped past GW_SCHEMA_CACHE_MAX.
 *
 * Ownership: an entry is reference counted.  The cache holds one reference,
 * every user one more (gw_schema_get / gw_schema_put), so an entry evicted
 * while a request still validates against it lives until that request lets
 * go.  A worker is one thread: no locking.
 */
#ifndef BS_GW_SCHEMA_CACHE_H
#define BS_GW_SCHEMA_CACHE_H

#include <jansson.h>
#include <stdint.h>

#include "jsv.h"

#define GW_SCHEMA_CACHE_MAX 64

struct gw_schema {
    int refs;
    uint64_t hash;
    char *text;              /* canonical text: the key */
    uint64_t used;           /* LRU clock */
    struct jsv_schema *js;   /* NULL: the schema does not compile (err says why) */
    char err[200];
};

/* A reference to the compiled schema, NULL only when out of memory.  A
 * schema that does not compile is cached too (js NULL): it is not compiled
 * again for every request that sends it. */
struct gw_schema *gw_schema_get(const json_t *schema);
void gw_schema_put(struct gw_schema *s);
/* Drops every cache reference (tests, worker exit). */
void gw_schema_cache_clear(void);
/* Entries held, and compilations done so far (tests). */
size_t gw_schema_cache_size(void);
uint64_t gw_schema_cache_compiles(void);

#endif
