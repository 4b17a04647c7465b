/*
 * gw_schema_cache: the per-worker LRU of compiled schemas (see the header).
 */
#include "gw_schema_cache.h"

#include <stdlib.h>
#include <string.h>

static struct gw_schema *slots[GW_SCHEMA_CACHE_MAX];
static uint64_t clock_;
static uint64_t compiles;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

void gw_schema_put(struct gw_schema *s)
{
    if (!s || --s->refs > 0)
        return;
    jsv_free(s->js);
    free(s->text);
    free(s);
}

static struct gw_schema *compile(const json_t *schema, char *text, uint64_t hash)
{
    struct gw_schema *s = calloc(1, sizeof *s);
    if (!s) {
        free(text);
        return NULL;
    }
    s->refs = 1;
    s->text = text;
    s->hash = hash;
    s->js = jsv_compile(schema, s->err, sizeof s->err);
    compiles++;
    return s;
}

struct gw_schema *gw_schema_get(const json_t *schema)
{
    char *text = json_dumps(schema, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!text)
        return NULL;
    uint64_t hash = fnv1a(text);
    size_t victim = 0;
    for (size_t i = 0; i < GW_SCHEMA_CACHE_MAX; i++) {
        struct gw_schema *s = slots[i];
        if (s && s->hash == hash && strcmp(s->text, text) == 0) {
            free(text);
            s->used = ++clock_;
            s->refs++;
            return s;
        }
        if (!s || (slots[victim] && s->used < slots[victim]->used))
            victim = i;
    }
    struct gw_schema *s = compile(schema, text, hash);
    if (!s)
        return NULL;
    gw_schema_put(slots[victim]);
    slots[victim] = s;
    s->used = ++clock_;
    s->refs++;
    return s;
}

void gw_schema_cache_clear(void)
{
    for (size_t i = 0; i < GW_SCHEMA_CACHE_MAX; i++) {
        gw_schema_put(slots[i]);
        slots[i] = NULL;
    }
}

size_t gw_schema_cache_size(void)
{
    size_t n = 0;
    for (size_t i = 0; i < GW_SCHEMA_CACHE_MAX; i++)
        n += slots[i] != NULL;
    return n;
}

uint64_t gw_schema_cache_compiles(void)
{
    return compiles;
}
