/*
 * Validation: walk the instance along the compiled nodes and stop at the
 * first violation.  The instance location lives on the C stack as a chain
 * of jsv_loc, turned into a path only when something fails, so a valid
 * instance costs no allocation and no formatting.
 *
 * Within one node the checks run in a fixed order (type, const/enum, the
 * keywords of the instance's type, then the subschemas applied in place),
 * so the same instance always gets the same message.
 */
#include <string.h>

#include "jsv_impl.h"

static int child(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                 const struct jsv_loc *at, const char *key, size_t index, int level)
{
    struct jsv_loc l = {.up = at, .key = key, .index = index, .depth = at->depth + 1};
    int rc = jsv_check(n, v, c, &l, level + 1);
    c->progress += rc == JSV_VALID;
    return rc;
}

static bool in_enum(const json_t *values, const json_t *v)
{
    size_t i;
    const json_t *e;
    json_array_foreach(values, i, e) {
        if (jsv_equal(e, v))
            return true;
    }
    return false;
}

/* The formatting helpers are cold and out of line: their buffers must not
 * sit in the frames of the recursion, whose depth JSV_MAX_DEPTH bounds. */
#define COLD __attribute__((cold, noinline))

/* The message is lead, x, mid, y: the pieces are plain text, not a format,
 * so that jsv_fail's format stays a literal the compiler checks. */
static COLD int fail_values(struct jsv_vctx *c, const struct jsv_loc *at, const char *kw,
                            const char *lead, const json_t *x, const char *mid, const json_t *y)
{
    char a[160], b[JSV_MSG_MAX / 2];
    return jsv_fail(c, at, kw, "%s%s%s%s", lead, jsv_show(a, sizeof a, x), mid, jsv_show(b, sizeof b, y));
}

static COLD int fail_bound(struct jsv_vctx *c, const struct jsv_loc *at, const char *kw,
                           const char *rel, const json_t *v, const json_t *bound)
{
    char a[48], b[48];
    return jsv_fail(c, at, kw, "%s is %s %s", jsv_show(a, sizeof a, v), rel,
                    jsv_show(b, sizeof b, bound));
}

static int check_number(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                        const struct jsv_loc *at)
{
    int cmp;
    if (n->minimum) {
        cmp = jsv_num_cmp(v, n->minimum);
        if (cmp < 0 || (cmp == 0 && n->minimum_exclusive))
            return fail_bound(c, at, "minimum",
                              cmp < 0 ? "less than the minimum" : "equal to the exclusive minimum",
                              v, n->minimum);
    }
    if (n->ex_minimum && jsv_num_cmp(v, n->ex_minimum) <= 0)
        return fail_bound(c, at, "exclusiveMinimum", "not greater than", v, n->ex_minimum);
    if (n->maximum) {
        cmp = jsv_num_cmp(v, n->maximum);
        if (cmp > 0 || (cmp == 0 && n->maximum_exclusive))
            return fail_bound(c, at, "maximum",
                              cmp > 0 ? "greater than the maximum" : "equal to the exclusive maximum",
                              v, n->maximum);
    }
    if (n->ex_maximum && jsv_num_cmp(v, n->ex_maximum) >= 0)
        return fail_bound(c, at, "exclusiveMaximum", "not less than", v, n->ex_maximum);
    if (n->multiple_of && !jsv_multiple_of(v, n->multiple_of))
        return fail_bound(c, at, "multipleOf", "not a multiple of", v, n->multiple_of);
    return JSV_VALID;
}

static COLD int fail_pattern(struct jsv_vctx *c, const struct jsv_loc *at, const json_t *v,
                             const char *pattern)
{
    char a[96], b[96];
    return jsv_fail(c, at, "pattern", "%s does not match the pattern %s", jsv_show(a, sizeof a, v),
                    jsv_show_str(b, sizeof b, pattern));
}

/* As fail_values, for names; y NULL leaves it out. */
static COLD int fail_names(struct jsv_vctx *c, const struct jsv_loc *at, const char *kw,
                           const char *lead, const char *x, const char *mid, const char *y)
{
    char a[80], b[80];
    return jsv_fail(c, at, kw, "%s%s%s%s", lead, jsv_show_str(a, sizeof a, x), mid,
                    y ? jsv_show_str(b, sizeof b, y) : "");
}

static int check_string(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                        const struct jsv_loc *at)
{
    const char *s = json_string_value(v);
    size_t bytes = json_string_length(v);
    if (n->min_length || n->max_length != JSV_UNSET) {
        size_t len = jsv_utf8_len(s, bytes);
        if (len < n->min_length)
            return jsv_fail(c, at, "minLength", "string is %zu character%s long, shorter than minLength %zu",
                            len, len == 1 ? "" : "s", n->min_length);
        if (len > n->max_length)
            return jsv_fail(c, at, "maxLength", "string is %zu characters long, longer than maxLength %zu",
                            len, n->max_length);
    }
    if (n->pattern && !jsv_regex_match(n->pattern, s, bytes))
        return fail_pattern(c, at, v, n->pattern_source);
    return JSV_VALID;
}

static int check_unique(const json_t *v, struct jsv_vctx *c, const struct jsv_loc *at)
{
    /* Quadratic, but no allocation; arrays in tool calls are short. */
    size_t len = json_array_size(v);
    for (size_t i = 1; i < len; i++)
        for (size_t j = 0; j < i; j++)
            if (jsv_equal(json_array_get(v, j), json_array_get(v, i)))
                return jsv_fail(c, at, "uniqueItems",
                                "items [%zu] and [%zu] are equal; items must be unique", j, i);
    return JSV_VALID;
}

static int check_contains(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                          const struct jsv_loc *at, int level)
{
    size_t min = n->min_contains == JSV_UNSET ? 1 : n->min_contains;
    size_t found = 0, i;
    const json_t *e;
    c->quiet++;
    json_array_foreach(v, i, e) {
        int rc = child(n->contains, e, c, at, NULL, i, level);
        if (rc == JSV_TOO_DEEP) {
            c->quiet--;
            return rc;
        }
        found += rc == JSV_VALID;
    }
    c->quiet--;
    if (found < min)
        return found == 0 ? jsv_fail(c, at, "contains", "no item matches the contains schema")
                          : jsv_fail(c, at, "minContains",
                                     "%zu items match the contains schema, fewer than minContains %zu",
                                     found, min);
    if (n->max_contains != JSV_UNSET && found > n->max_contains)
        return jsv_fail(c, at, "maxContains",
                        "%zu items match the contains schema, more than maxContains %zu", found,
                        n->max_contains);
    return JSV_VALID;
}

static int check_array(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                       const struct jsv_loc *at, int level)
{
    size_t len = json_array_size(v);
    if (len < n->min_items)
        return jsv_fail(c, at, "minItems", "array has %zu item%s, fewer than minItems %zu", len,
                        len == 1 ? "" : "s", n->min_items);
    if (len > n->max_items)
        return jsv_fail(c, at, "maxItems", "array has %zu items, more than maxItems %zu", len,
                        n->max_items);
    if (n->unique_items) {
        int rc = check_unique(v, c, at);
        if (rc)
            return rc;
    }
    size_t np = n->prefix.n;
    if (n->items && n->items->reject_all && len > np)
        return np ? jsv_fail(c, at, "items", "array has %zu items, at most %zu allowed", len, np)
                  : jsv_fail(c, at, "items", "array must be empty, has %zu item%s", len,
                             len == 1 ? "" : "s");
    for (size_t i = 0; i < len; i++) {
        const struct jsv_node *s = i < np ? n->prefix.v[i] : n->items;
        if (!s)
            break;
        int rc = child(s, json_array_get(v, i), c, at, NULL, i, level);
        if (rc)
            return rc;
    }
    return n->contains ? check_contains(n, v, c, at, level) : JSV_VALID;
}

/* additionalProperties: false lists the allowed names, so a model told of
 * the mistake sees what it should have written; a long list ends in "...". */
static COLD int unexpected(const struct jsv_node *n, const char *key, struct jsv_vctx *c,
                           const struct jsv_loc *at)
{
    char k[96], allowed[256] = "";
    size_t off = 0;
    for (size_t i = 0; i < n->nprops && !c->quiet; i++) {
        char name[80], item[96];
        int w = snprintf(item, sizeof item, "%s%s", i ? ", " : " (allowed: ",
                         jsv_show_str(name, sizeof name, n->props[i].name));
        if (w < 0 || off + (size_t)w + sizeof ", ...)" > sizeof allowed) {
            strcpy(allowed + off, ", ...");
            off += 5;
            break;
        }
        memcpy(allowed + off, item, (size_t)w + 1);
        off += (size_t)w;
    }
    if (off)
        strcpy(allowed + off, ")");
    return jsv_fail(c, at, "additionalProperties", "property %s is not allowed%s",
                    jsv_show_str(k, sizeof k, key), allowed);
}

static int check_members(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                         const struct jsv_loc *at, int level)
{
    const char *k;
    const json_t *e;
    json_object_foreach((json_t *)v, k, e) {
        bool known = n->props_json && json_object_get(n->props_json, k);
        for (size_t i = 0; i < n->npprops; i++) {
            if (!jsv_regex_match(n->pprops[i].re, k, strlen(k)))
                continue;
            known = true;
            int rc = child(n->pprops[i].node, e, c, at, k, 0, level);
            if (rc)
                return rc;
        }
        if (known || !n->additional)
            continue;
        if (n->additional->reject_all)
            return unexpected(n, k, c, at);
        int rc = child(n->additional, e, c, at, k, 0, level);
        if (rc)
            return rc;
    }
    return JSV_VALID;
}

static int check_deps(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                      const struct jsv_loc *at, int level)
{
    for (size_t i = 0; i < n->ndeps; i++) {
        const struct jsv_dep *d = &n->deps[i];
        if (!json_object_get(v, d->name))
            continue;
        if (d->node) {
            int rc = jsv_check(d->node, v, c, at, level + 1);
            if (rc)
                return rc;
            continue;
        }
        size_t j;
        const json_t *name;
        json_array_foreach(d->required, j, name) {
            if (!json_object_get(v, json_string_value(name)))
                return fail_names(c, at, "dependentRequired", "property ", d->name, " requires property ",
                                  json_string_value(name));
        }
    }
    return JSV_VALID;
}

static int check_object(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                        const struct jsv_loc *at, int level)
{
    size_t size = json_object_size(v);
    if (size < n->min_props)
        return jsv_fail(c, at, "minProperties", "object has %zu propert%s, fewer than minProperties %zu",
                        size, size == 1 ? "y" : "ies", n->min_props);
    if (size > n->max_props)
        return jsv_fail(c, at, "maxProperties", "object has %zu properties, more than maxProperties %zu",
                        size, n->max_props);
    size_t i;
    const json_t *name;
    json_array_foreach(n->required, i, name) {
        if (!json_object_get(v, json_string_value(name)))
            return fail_names(c, at, "required", "missing required property ",
                              json_string_value(name), "", NULL);
    }
    int rc;
    for (size_t p = 0; p < n->nprops; p++) {
        const json_t *e = json_object_get(v, n->props[p].name);
        if (e && (rc = child(n->props[p].node, e, c, at, n->props[p].name, 0, level)))
            return rc;
    }
    if ((n->npprops || n->additional) && (rc = check_members(n, v, c, at, level)))
        return rc;
    return n->ndeps ? check_deps(n, v, c, at, level) : JSV_VALID;
}

static int check_in_place(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                          const struct jsv_loc *at, int level)
{
    int rc;
    if (n->ref && (rc = jsv_check(n->ref, v, c, at, level + 1)))
        return rc;
    for (size_t i = 0; i < n->all_of.n; i++)
        if ((rc = jsv_check(n->all_of.v[i], v, c, at, level + 1)))
            return rc;
    if (n->any_of.n && (rc = jsv_check_any_of(n, v, c, at, level)))
        return rc;
    if (n->one_of.n && (rc = jsv_check_one_of(n, v, c, at, level)))
        return rc;
    if (n->not_ && (rc = jsv_check_not(n, v, c, at, level)))
        return rc;
    if (n->if_ && (rc = jsv_check_if(n, v, c, at, level)))
        return rc;
    return JSV_VALID;
}

int jsv_check(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
              const struct jsv_loc *at, int level)
{
    if (level > JSV_MAX_DEPTH)
        return jsv_too_deep(c, at);
    if (n->reject_all)
        return jsv_fail(c, at, "false", "no value is allowed here (the schema is false)");
    if (n->types && !jsv_type_matches(n->types, v))
        return jsv_fail_type(c, at, n->types, v);
    if (n->const_value && !jsv_equal(n->const_value, v))
        return fail_values(c, at, "const", "got ", v, ", expected the constant ", n->const_value);
    if (n->enum_values && !in_enum(n->enum_values, v))
        return fail_values(c, at, "enum", "", v, " is not one of ", n->enum_values);
    int rc = JSV_VALID;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL:   rc = check_number(n, v, c, at); break;
    case JSON_STRING: rc = check_string(n, v, c, at); break;
    case JSON_ARRAY:  rc = check_array(n, v, c, at, level); break;
    case JSON_OBJECT: rc = check_object(n, v, c, at, level); break;
    default: break;
    }
    return rc ? rc : check_in_place(n, v, c, at, level);
}

int jsv_validate(const struct jsv_schema *s, const json_t *instance, struct jsv_result *r)
{
    struct jsv_loc root = {0};
    struct jsv_vctx c = {.out = r};
    if (r) {
        r->keyword = NULL;
        r->path[0] = r->message[0] = '\0';
    }
    if (!s || !instance) {
        c.quiet = 0;
        return jsv_fail(&c, &root, "instance", "no instance to validate");
    }
    return jsv_check(s->root, instance, &c, &root, 0);
}
