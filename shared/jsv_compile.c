/*
 * Compiling a schema: one node per schema location, found through the
 * keywords that hold subschemas and through $ref, then a check that no
 * chain of in-place keywords ($ref, allOf, anyOf, oneOf, not, if/then/else,
 * dependent schemas) leads back to where it started.  Such a loop would
 * never look further into the instance, so validation would recurse
 * forever; the spec leaves it to implementations, and a compile error says
 * more than a depth error on every call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsv_impl.h"

/* Nesting of the schema text itself; jansson's parser stops at 2048. */
#define COMPILE_MAX_DEPTH 512

/* ---- json_t* -> node, open addressing ---- */

struct jsv_map {
    const json_t **key;
    struct jsv_node **val;
    size_t cap, n;
};

static size_t slot_of(const struct jsv_map *m, const json_t *k)
{
    size_t h = (size_t)(uintptr_t)k;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    size_t i = h & (m->cap - 1);
    while (m->key[i] && m->key[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static struct jsv_node *map_get(const struct jsv_map *m, const json_t *k)
{
    if (!m->cap)
        return NULL;
    size_t i = slot_of(m, k);
    return m->key[i] ? m->val[i] : NULL;
}

static bool map_grow(struct jsv_map *m)
{
    struct jsv_map g = {.cap = m->cap ? m->cap * 2 : 64};
    g.key = calloc(g.cap, sizeof *g.key);
    g.val = calloc(g.cap, sizeof *g.val);
    if (!g.key || !g.val) {
        free(g.key);
        free(g.val);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->key[i]) {
            size_t j = slot_of(&g, m->key[i]);
            g.key[j] = m->key[i];
            g.val[j] = m->val[i];
        }
    }
    g.n = m->n;
    free(m->key);
    free(m->val);
    *m = g;
    return true;
}

static bool map_put(struct jsv_map *m, const json_t *k, struct jsv_node *v)
{
    if ((m->n + 1) * 2 > m->cap && !map_grow(m))
        return false;
    size_t i = slot_of(m, k);
    m->key[i] = k;
    m->val[i] = v;
    m->n++;
    return true;
}

static void map_free(struct jsv_map *m)
{
    free(m->key);
    free(m->val);
}

/* ---- locations ---- */

static size_t token_len(const char *t)
{
    size_t n = 0;
    for (; *t; t++)
        n += (*t == '~' || *t == '/') ? 2 : 1;
    return n;
}

static char *token_put(char *p, const char *t)
{
    *p++ = '/';
    for (; *t; t++) {
        if (*t == '~' || *t == '/') {
            *p++ = '~';
            *p++ = *t == '~' ? '0' : '1';
        } else {
            *p++ = *t;
        }
    }
    return p;
}

char *jsv_where(const char *base, const char *a, const char *b)
{
    size_t n = strlen(base) + 1 + token_len(a) + (b ? 1 + token_len(b) : 0) + 1;
    char *w = malloc(n);
    if (!w)
        return NULL;
    char *p = stpcpy(w, base);
    p = token_put(p, a);
    if (b)
        p = token_put(p, b);
    *p = '\0';
    return w;
}

char *jsv_where_index(const char *base, const char *a, size_t i)
{
    char idx[24];
    snprintf(idx, sizeof idx, "%zu", i);
    return jsv_where(base, a, idx);
}

/* ---- errors ---- */

void jsv_cc_error(struct jsv_cc *cc, const char *where, const char *fmt, ...)
{
    if (cc->failed)
        return;
    cc->failed = true;
    if (!cc->errlen)
        return;
    int n = snprintf(cc->err, cc->errlen, "%s: ", where ? where : "#");
    if (n < 0 || (size_t)n >= cc->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cc->err + n, cc->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* ---- nodes ---- */

static const char *kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER:
    case JSON_REAL:    return "a number";
    case JSON_NULL:    return "null";
    default:           return "an object or boolean";
    }
}

struct jsv_node *jsv_cc_node(struct jsv_cc *cc, const json_t *js, char *where)
{
    if (cc->failed) {
        free(where);
        return NULL;
    }
    if (!where) {
        jsv_cc_error(cc, NULL, "out of memory");
        return NULL;
    }
    if (!json_is_object(js) && !json_is_boolean(js)) {
        jsv_cc_error(cc, where, "a schema must be an object or a boolean, got %s", kind_name(js));
        free(where);
        return NULL;
    }
    struct jsv_node *n = map_get(cc->map, js);
    if (n) {
        free(where);
        return n;
    }
    if (cc->depth >= COMPILE_MAX_DEPTH) {
        jsv_cc_error(cc, where, "schema nested deeper than %d levels", COMPILE_MAX_DEPTH);
        free(where);
        return NULL;
    }
    n = calloc(1, sizeof *n);
    if (!n || !map_put(cc->map, js, n)) {
        free(n);
        jsv_cc_error(cc, where, "out of memory");
        free(where);
        return NULL;
    }
    n->where = where;
    n->next_alloc = cc->s->nodes;
    cc->s->nodes = n;
    n->min_length = n->min_items = n->min_props = 0;
    n->max_length = n->max_items = n->max_props = JSV_UNSET;
    n->min_contains = n->max_contains = JSV_UNSET;
    if (json_is_boolean(js)) {
        n->reject_all = json_is_false(js);
        return n;
    }
    cc->depth++;
    jsv_compile_keywords(cc, n, js);
    cc->depth--;
    return cc->failed ? NULL : n;
}

/* ---- in-place cycles ---- */

enum { WHITE, GREY, BLACK };

static bool visit(struct jsv_cc *cc, const struct jsv_node *from, struct jsv_node *n, int depth);

static bool visit_edge(struct jsv_cc *cc, const struct jsv_node *from, const struct jsv_node *to,
                       int depth)
{
    return !to || visit(cc, from, (struct jsv_node *)to, depth + 1);
}

static bool visit_list(struct jsv_cc *cc, const struct jsv_node *from, const struct jsv_list *l,
                       int depth)
{
    for (size_t i = 0; i < l->n; i++)
        if (!visit_edge(cc, from, l->v[i], depth))
            return false;
    return true;
}

static bool visit(struct jsv_cc *cc, const struct jsv_node *from, struct jsv_node *n, int depth)
{
    if (n->mark == BLACK)
        return true;
    if (n->mark == GREY) {
        jsv_cc_error(cc, from->where,
                     "circular reference back to %s that never moves into the instance "
                     "(validation would recurse forever)",
                     n->where);
        return false;
    }
    if (depth > COMPILE_MAX_DEPTH) {
        jsv_cc_error(cc, n->where, "chain of $ref/allOf/anyOf/oneOf/not deeper than %d",
                     COMPILE_MAX_DEPTH);
        return false;
    }
    n->mark = GREY;
    bool ok = visit_edge(cc, n, n->ref, depth) && visit_list(cc, n, &n->all_of, depth) &&
              visit_list(cc, n, &n->any_of, depth) && visit_list(cc, n, &n->one_of, depth) &&
              visit_edge(cc, n, n->not_, depth) && visit_edge(cc, n, n->if_, depth) &&
              visit_edge(cc, n, n->then_, depth) && visit_edge(cc, n, n->else_, depth);
    for (size_t i = 0; ok && i < n->ndeps; i++)
        ok = visit_edge(cc, n, n->deps[i].node, depth);
    n->mark = BLACK;
    return ok;
}

/* From the root first, so a cycle is reported where validation would
 * enter it. */
static void check_cycles(struct jsv_cc *cc)
{
    visit(cc, cc->s->root, cc->s->root, 0);
    for (struct jsv_node *n = cc->s->nodes; n && !cc->failed; n = n->next_alloc)
        visit(cc, n, n, 0);
}

/* ---- entry points ---- */

static int draft_of(const json_t *schema, enum jsv_draft dflt)
{
    const char *id = json_string_value(json_object_get(schema, "$schema"));
    if (!id)
        return dflt;
    if (strstr(id, "draft-04"))
        return JSV_DRAFT4;
    if (strstr(id, "draft-06"))
        return JSV_DRAFT6;
    if (strstr(id, "draft-07"))
        return JSV_DRAFT7;
    if (strstr(id, "2019-09") || strstr(id, "2020-12"))
        return JSV_DRAFT2020;
    return dflt;
}

struct jsv_schema *jsv_compile_draft(const json_t *schema, enum jsv_draft dflt, char *err,
                                     size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (!schema) {
        if (errlen)
            snprintf(err, errlen, "#: no schema");
        return NULL;
    }
    struct jsv_schema *s = calloc(1, sizeof *s);
    struct jsv_map map = {0};
    struct jsv_cc cc = {.s = s, .map = &map, .err = err, .errlen = errlen};
    if (!s || !(s->doc = json_deep_copy(schema))) {
        jsv_cc_error(&cc, NULL, "out of memory");
        free(s);
        return NULL;
    }
    s->draft = cc.draft = draft_of(s->doc, dflt);
    s->root = jsv_cc_node(&cc, s->doc, strdup("#"));
    if (!cc.failed)
        check_cycles(&cc);
    map_free(&map);
    if (cc.failed) {
        jsv_free(s);
        return NULL;
    }
    return s;
}

struct jsv_schema *jsv_compile(const json_t *schema, char *err, size_t errlen)
{
    return jsv_compile_draft(schema, JSV_DRAFT2020, err, errlen);
}

static void node_free(struct jsv_node *n)
{
    jsv_regex_free(n->pattern);
    for (size_t i = 0; i < n->npprops; i++)
        jsv_regex_free(n->pprops[i].re);
    free(n->pprops);
    free(n->props);
    free(n->deps);
    free(n->prefix.v);
    free(n->all_of.v);
    free(n->any_of.v);
    free(n->one_of.v);
    free(n->where);
    free(n);
}

void jsv_free(struct jsv_schema *s)
{
    if (!s)
        return;
    struct jsv_node *n = s->nodes;
    while (n) {
        struct jsv_node *next = n->next_alloc;
        node_free(n);
        n = next;
    }
    json_decref(s->doc);
    free(s);
}
