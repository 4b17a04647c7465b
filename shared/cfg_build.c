/*
 * Turns a normalised document into a struct cfg, and frees one, through the
 * offsets in the schema tables.
 *
 * The input has passed cfg_walk(): every key is present, every value has its
 * type and range, so the only failure left is running out of memory.  Map
 * entries are built sorted by name, so the struct does not depend on key
 * order: a worker re-reading the stored document (dumped with sorted keys)
 * gets the very struct the controller built from the file.
 */
#include <stdlib.h>
#include <string.h>

#include "cfg_impl.h"

_Static_assert(sizeof(enum cfg_provider_type) == sizeof(int), "CS_ENUM stores an int");
_Static_assert(sizeof(enum cfg_log_level) == sizeof(int), "CS_ENUM stores an int");

#define AT(base, off, type) ((type *)(void *)((char *)(base) + (off)))

struct build {
    const struct cfg_field *schema;
    void *root;
};

static bool build_members(struct build *b, const struct cfg_field *fields, void *base,
                          const json_t *obj);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Entries live in one calloc'ed array whose pointer and count are set
 * before any entry is filled, so cfg_unbuild() can free a half-built one. */
static void *alloc_entries(const struct cfg_field *f, void *base, size_t n)
{
    void *arr = calloc(n ? n : 1, f->elem_size);
    if (arr) {
        *AT(base, f->off, void *) = arr;
        *AT(base, f->off_n, size_t) = n;
    }
    return arr;
}

static bool build_map(struct build *b, const struct cfg_field *f, void *base, const json_t *v)
{
    size_t n = json_object_size(v);
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    char *arr = keys ? alloc_entries(f, base, n) : NULL;
    bool ok = arr != NULL;
    if (ok) {
        size_t i = 0;
        const char *key;
        json_t *ev;
        json_object_foreach((json_t *)v, key, ev)
            keys[i++] = key;
        qsort(keys, n, sizeof *keys, cmp_str);
        for (i = 0; ok && i < n; i++) {
            void *elem = arr + i * f->elem_size;
            char *name = strdup(keys[i]);
            *AT(elem, f->name_off, char *) = name;
            ok = name && build_members(b, f->fields, elem, json_object_get(v, keys[i]));
        }
    }
    free(keys);
    return ok;
}

static bool build_array(struct build *b, const struct cfg_field *f, void *base, const json_t *v)
{
    size_t n = json_array_size(v);
    char *arr = alloc_entries(f, base, n);
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = build_members(b, f->fields, arr + i * f->elem_size, json_array_get(v, i));
    return ok;
}

/* Index of name in the built root map f->ref; the referenced map's row
 * comes first in the root table, so it is already built. */
static bool build_ref(struct build *b, const struct cfg_field *f, void *base, const char *name)
{
    for (const struct cfg_field *r = b->schema->fields; r->kind != CK_END; r++) {
        if (r->kind != CK_MAP || strcmp(r->key, f->ref) != 0)
            continue;
        char *arr = *AT(b->root, r->off, char *);
        size_t n = *AT(b->root, r->off_n, size_t);
        for (size_t i = 0; i < n; i++) {
            const char *s = *AT(arr + i * r->elem_size, r->name_off, char *);
            if (s && strcmp(s, name) == 0) {
                *AT(base, f->off, size_t) = i;
                return true;
            }
        }
    }
    return false;
}

static bool build_scalar(struct build *b, const struct cfg_field *f, void *base, const json_t *v)
{
    switch (f->store) {
    case CS_NONE:
        return true;
    case CS_INT:
        *AT(base, f->off, int) = (int)json_integer_value(v);
        return true;
    case CS_SIZE:
        *AT(base, f->off, size_t) = (size_t)json_integer_value(v);
        return true;
    case CS_BOOL:
        *AT(base, f->off, bool) = json_is_true(v);
        return true;
    case CS_STR:
        if (json_is_null(v))
            return true;
        return (*AT(base, f->off, char *) = strdup(json_string_value(v))) != NULL;
    case CS_ENUM:
        for (const struct cfg_enum *e = f->enums; e->name; e++)
            if (strcmp(e->name, json_string_value(v)) == 0) {
                *AT(base, f->off, int) = e->value;
                return true;
            }
        return false;
    case CS_REF:
        return build_ref(b, f, base, json_string_value(v));
    case CS_CUSTOM:
        return f->build(base, v);
    case CS_MODE:
        *AT(base, f->off, int) = (int)strtol(json_string_value(v), NULL, 8);
        return true;
    }
    return false;
}

static bool build_members(struct build *b, const struct cfg_field *fields, void *base,
                          const json_t *obj)
{
    for (const struct cfg_field *f = fields; f->kind != CK_END; f++) {
        const json_t *v = json_object_get(obj, f->key);
        if (!v)
            return false;
        bool ok;
        switch (f->kind) {
        case CK_OBJECT: ok = build_members(b, f->fields, AT(base, f->off, char), v); break;
        case CK_MAP:    ok = build_map(b, f, base, v); break;
        case CK_ARRAY:  ok = build_array(b, f, base, v); break;
        default:        ok = build_scalar(b, f, base, v); break;
        }
        if (!ok)
            return false;
    }
    return true;
}

bool cfg_build(const struct cfg_field *schema, void *base, const json_t *norm)
{
    struct build b = { .schema = schema, .root = base };
    return build_members(&b, schema->fields, base, norm);
}

static void unbuild_members(const struct cfg_field *fields, void *base)
{
    for (const struct cfg_field *f = fields; f->kind != CK_END; f++) {
        if (f->kind == CK_OBJECT) {
            unbuild_members(f->fields, AT(base, f->off, char));
        } else if (f->kind == CK_MAP || f->kind == CK_ARRAY) {
            char *arr = *AT(base, f->off, char *);
            size_t n = *AT(base, f->off_n, size_t);
            for (size_t i = 0; arr && i < n; i++) {
                void *elem = arr + i * f->elem_size;
                if (f->kind == CK_MAP)
                    free(*AT(elem, f->name_off, char *));
                unbuild_members(f->fields, elem);
            }
            free(arr);
            *AT(base, f->off, char *) = NULL;
            *AT(base, f->off_n, size_t) = 0;
        } else if (f->store == CS_STR) {
            free(*AT(base, f->off, char *));
            *AT(base, f->off, char *) = NULL;
        } else if (f->store == CS_CUSTOM && f->release) {
            f->release(base);
        }
    }
}

void cfg_unbuild(const struct cfg_field *schema, void *base)
{
    unbuild_members(schema->fields, base);
}
