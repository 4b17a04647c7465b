/*
 * Reading the keywords of one schema object into its node.
 *
 * A supported keyword with a malformed value is an error: a schema that
 * says `"minLength": "3"` means something, and guessing what would
 * validate answers against a contract nobody wrote.  Keywords this
 * validator does not know are ignored, as the spec asks of annotations and
 * vocabularies an implementation does not support.
 */
#include <stdlib.h>
#include <string.h>

#include "jsv_impl.h"

static const struct {
    const char *name;
    unsigned bit;
} type_names[] = {
    {"null", JSV_T_NULL},     {"boolean", JSV_T_BOOLEAN}, {"object", JSV_T_OBJECT},
    {"array", JSV_T_ARRAY},   {"number", JSV_T_NUMBER},   {"string", JSV_T_STRING},
    {"integer", JSV_T_INTEGER},
};

/* Reports at n->where + "/" + kw. */
static void kw_error(struct jsv_cc *cc, const struct jsv_node *n, const char *kw, const char *msg)
{
    char *w = jsv_where(n->where, kw, NULL);
    jsv_cc_error(cc, w ? w : n->where, "%s", msg);
    free(w);
}

static const struct jsv_node *sub(struct jsv_cc *cc, const struct jsv_node *n, const char *kw,
                                  const json_t *js)
{
    return jsv_cc_node(cc, js, jsv_where(n->where, kw, NULL));
}

/* ---- any instance ---- */

static unsigned type_bit(const char *name)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(name, type_names[i].name) == 0)
            return type_names[i].bit;
    return 0;
}

static void kw_type(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    const json_t *t = json_object_get(js, "type");
    if (!t)
        return;
    n->types = JSV_T_GIVEN;
    char msg[160];
    if (json_is_string(t)) {
        unsigned bit = type_bit(json_string_value(t));
        n->types |= bit;
        if (!bit) {
            snprintf(msg, sizeof msg, "unknown type \"%.64s\"", json_string_value(t));
            kw_error(cc, n, "type", msg);
        }
        return;
    }
    if (!json_is_array(t)) {
        kw_error(cc, n, "type", "expected a type name or an array of type names");
        return;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(t, i, e) {
        unsigned bit = json_is_string(e) ? type_bit(json_string_value(e)) : 0;
        if (!bit) {
            snprintf(msg, sizeof msg, "element %zu is not a known type name", i);
            kw_error(cc, n, "type", msg);
            return;
        }
        if (n->types & bit) {
            snprintf(msg, sizeof msg, "type \"%s\" is listed twice", json_string_value(e));
            kw_error(cc, n, "type", msg);
            return;
        }
        n->types |= bit;
    }
}

/* OpenAPI's `nullable: true`: the listed type, or null. */
static void kw_nullable(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    const json_t *v = json_object_get(js, "nullable");
    if (!v)
        return;
    if (!json_is_boolean(v)) {
        kw_error(cc, n, "nullable", "expected a boolean");
        return;
    }
    if (json_is_true(v) && n->types)
        n->types |= JSV_T_NULL;
}

static void kw_enum_const(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    const json_t *v = json_object_get(js, "enum");
    if (v && !json_is_array(v))
        kw_error(cc, n, "enum", "expected an array");
    n->enum_values = v;
    n->const_value = json_object_get(js, "const");
}

/* ---- numbers ---- */

static const json_t *number_kw(struct jsv_cc *cc, struct jsv_node *n, const json_t *js,
                               const char *kw)
{
    const json_t *v = json_object_get(js, kw);
    if (v && !json_is_number(v)) {
        kw_error(cc, n, kw, "expected a number");
        return NULL;
    }
    return v;
}

/* exclusiveMinimum/Maximum: a number (draft 6 on) or, as in draft 4, a
 * boolean that makes minimum/maximum exclusive. */
static const json_t *exclusive_kw(struct jsv_cc *cc, struct jsv_node *n, const json_t *js,
                                  const char *kw, bool *flag)
{
    const json_t *v = json_object_get(js, kw);
    if (v && json_is_boolean(v)) {
        *flag = json_is_true(v);
        return NULL;
    }
    return number_kw(cc, n, js, kw);
}

static void kw_numbers(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    n->minimum = number_kw(cc, n, js, "minimum");
    n->maximum = number_kw(cc, n, js, "maximum");
    n->ex_minimum = exclusive_kw(cc, n, js, "exclusiveMinimum", &n->minimum_exclusive);
    n->ex_maximum = exclusive_kw(cc, n, js, "exclusiveMaximum", &n->maximum_exclusive);
    n->multiple_of = number_kw(cc, n, js, "multipleOf");
    if (n->multiple_of &&
        !(json_is_integer(n->multiple_of) ? json_integer_value(n->multiple_of) > 0
                                          : json_real_value(n->multiple_of) > 0))
        kw_error(cc, n, "multipleOf", "expected a number greater than 0");
}

/* ---- counts ---- */

static void count_kw(struct jsv_cc *cc, struct jsv_node *n, const json_t *js, const char *kw,
                     size_t *out)
{
    const json_t *v = json_object_get(js, kw);
    if (v && !jsv_is_count(v, out))
        kw_error(cc, n, kw, "expected a non-negative integer");
}

static void kw_counts(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    count_kw(cc, n, js, "minLength", &n->min_length);
    count_kw(cc, n, js, "maxLength", &n->max_length);
    count_kw(cc, n, js, "minItems", &n->min_items);
    count_kw(cc, n, js, "maxItems", &n->max_items);
    count_kw(cc, n, js, "minProperties", &n->min_props);
    count_kw(cc, n, js, "maxProperties", &n->max_props);
    count_kw(cc, n, js, "minContains", &n->min_contains);
    count_kw(cc, n, js, "maxContains", &n->max_contains);
}

/* ---- strings ---- */

static struct jsv_regex *regex_kw(struct jsv_cc *cc, const char *where, const char *src)
{
    char why[160];
    struct jsv_regex *re = jsv_regex_new(src, why, sizeof why);
    if (!re)
        jsv_cc_error(cc, where, "cannot use pattern \"%.64s\": %s", src, why);
    return re;
}

static void kw_pattern(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    const json_t *v = json_object_get(js, "pattern");
    if (!v)
        return;
    if (!json_is_string(v)) {
        kw_error(cc, n, "pattern", "expected a string");
        return;
    }
    char *w = jsv_where(n->where, "pattern", NULL);
    n->pattern = regex_kw(cc, w ? w : n->where, json_string_value(v));
    n->pattern_source = json_string_value(v);
    free(w);
}

/* ---- subschema lists ---- */

/* An array of schemas into l; `nonempty` where the spec requires it. */
static void schema_list(struct jsv_cc *cc, struct jsv_node *n, const char *kw, const json_t *v,
                        struct jsv_list *l, bool nonempty)
{
    if (!json_is_array(v) || (nonempty && json_array_size(v) == 0)) {
        kw_error(cc, n, kw,
                 nonempty ? "expected a non-empty array of schemas" : "expected an array of schemas");
        return;
    }
    size_t len = json_array_size(v);
    l->v = calloc(len ? len : 1, sizeof *l->v);
    if (!l->v) {
        kw_error(cc, n, kw, "out of memory");
        return;
    }
    for (size_t i = 0; i < len && !cc->failed; i++) {
        l->v[i] = jsv_cc_node(cc, json_array_get(v, i), jsv_where_index(n->where, kw, i));
        l->n = i + 1;
    }
}

static void kw_in_place(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    static const char *lists[] = {"allOf", "anyOf", "oneOf"};
    struct jsv_list *dst[] = {&n->all_of, &n->any_of, &n->one_of};
    for (int i = 0; i < 3; i++) {
        const json_t *v = json_object_get(js, lists[i]);
        if (v)
            schema_list(cc, n, lists[i], v, dst[i], true);
    }
    const json_t *v;
    if ((v = json_object_get(js, "not")))
        n->not_ = sub(cc, n, "not", v);
    if ((v = json_object_get(js, "if")))
        n->if_ = sub(cc, n, "if", v);
    if ((v = json_object_get(js, "then")))
        n->then_ = sub(cc, n, "then", v);
    if ((v = json_object_get(js, "else")))
        n->else_ = sub(cc, n, "else", v);
}

/* ---- arrays ---- */

static void kw_arrays(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    const json_t *items = json_object_get(js, "items");
    const json_t *prefix = cc->draft >= JSV_DRAFT2020 ? json_object_get(js, "prefixItems") : NULL;
    const json_t *additional = json_object_get(js, "additionalItems");
    const json_t *v;

    if ((v = json_object_get(js, "uniqueItems"))) {
        if (json_is_boolean(v))
            n->unique_items = json_is_true(v);
        else
            kw_error(cc, n, "uniqueItems", "expected a boolean");
    }
    if (prefix)
        schema_list(cc, n, "prefixItems", prefix, &n->prefix, false);
    if (items && json_is_array(items)) {
        /* the tuple form of draft 4 to 2019-09 */
        if (prefix) {
            kw_error(cc, n, "items", "an array of schemas cannot be combined with prefixItems");
            return;
        }
        schema_list(cc, n, "items", items, &n->prefix, false);
        if (additional)
            n->items = sub(cc, n, "additionalItems", additional);
    } else {
        if (items)
            n->items = sub(cc, n, "items", items);
        if (additional) /* meaningless without tuple items, but it must be a schema */
            sub(cc, n, "additionalItems", additional);
    }
    if ((v = json_object_get(js, "contains")))
        n->contains = sub(cc, n, "contains", v);
}

/* ---- objects ---- */

static void kw_required(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    const json_t *v = json_object_get(js, "required");
    if (!v)
        return;
    size_t i, j;
    const json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            break;
        for (j = 0; j < i; j++)
            if (json_equal(json_array_get(v, j), (json_t *)e))
                break;
        if (j < i) {
            kw_error(cc, n, "required", "a property name is listed twice");
            return;
        }
    }
    if (!json_is_array(v) || i < json_array_size(v)) {
        kw_error(cc, n, "required", "expected an array of property names");
        return;
    }
    n->required = v;
}

static void kw_properties(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    const json_t *v = json_object_get(js, "properties");
    if (!v)
        return;
    if (!json_is_object(v)) {
        kw_error(cc, n, "properties", "expected an object of schemas");
        return;
    }
    n->props = calloc(json_object_size(v) + 1, sizeof *n->props);
    if (!n->props) {
        kw_error(cc, n, "properties", "out of memory");
        return;
    }
    n->props_json = v;
    const char *k;
    const json_t *pv;
    json_object_foreach((json_t *)v, k, pv) {
        const struct jsv_node *p = jsv_cc_node(cc, pv, jsv_where(n->where, "properties", k));
        if (!p)
            return;
        n->props[n->nprops].name = k;
        n->props[n->nprops++].node = p;
    }
}

static void kw_pattern_properties(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    const json_t *v = json_object_get(js, "patternProperties");
    if (!v)
        return;
    if (!json_is_object(v)) {
        kw_error(cc, n, "patternProperties", "expected an object of schemas");
        return;
    }
    n->pprops = calloc(json_object_size(v) + 1, sizeof *n->pprops);
    if (!n->pprops) {
        kw_error(cc, n, "patternProperties", "out of memory");
        return;
    }
    const char *k;
    const json_t *pv;
    json_object_foreach((json_t *)v, k, pv) {
        char *w = jsv_where(n->where, "patternProperties", k);
        if (!w) {
            kw_error(cc, n, "patternProperties", "out of memory");
            return;
        }
        struct jsv_regex *re = regex_kw(cc, w, k);
        const struct jsv_node *p = re ? jsv_cc_node(cc, pv, w) : (free(w), NULL);
        if (!p) {
            jsv_regex_free(re);
            return;
        }
        struct jsv_pprop *pp = &n->pprops[n->npprops++];
        pp->source = k;
        pp->re = re;
        pp->node = p;
    }
}

/* dependencies (draft 4-7: names or a schema per key), dependentRequired
 * and dependentSchemas (2019-09 on) share one representation. */
static void kw_dependencies(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    static const char *kws[] = {"dependencies", "dependentRequired", "dependentSchemas"};
    const json_t *v[3];
    size_t total = 0;
    for (int i = 0; i < 3; i++) {
        v[i] = json_object_get(js, kws[i]);
        if (v[i] && !json_is_object(v[i])) {
            kw_error(cc, n, kws[i], "expected an object");
            return;
        }
        total += json_object_size(v[i]);
    }
    if (!total)
        return;
    n->deps = calloc(total, sizeof *n->deps);
    if (!n->deps) {
        kw_error(cc, n, kws[0], "out of memory");
        return;
    }
    for (int i = 0; i < 3; i++) {
        const char *k;
        const json_t *dv;
        json_object_foreach((json_t *)v[i], k, dv) {
            struct jsv_dep *d = &n->deps[n->ndeps++];
            d->name = k;
            bool names_ok = i != 2 && json_is_array(dv);
            if (names_ok) {
                size_t j;
                const json_t *e;
                json_array_foreach(dv, j, e) names_ok = names_ok && json_is_string(e);
                if (!names_ok) {
                    kw_error(cc, n, kws[i], "expected arrays of property names");
                    return;
                }
                d->required = dv;
            } else if (i == 1) {
                kw_error(cc, n, kws[i], "expected arrays of property names");
                return;
            } else if (!(d->node = jsv_cc_node(cc, dv, jsv_where(n->where, kws[i], k)))) {
                return;
            }
        }
    }
}

static void kw_objects(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    kw_required(cc, n, js);
    kw_properties(cc, n, js);
    kw_pattern_properties(cc, n, js);
    const json_t *v = json_object_get(js, "additionalProperties");
    if (v)
        n->additional = sub(cc, n, "additionalProperties", v);
    kw_dependencies(cc, n, js);
}

/* ---- definitions and references ---- */

/* Compiled even if nothing refers to them, so a broken definition is
 * reported where it is written. */
static void kw_definitions(struct jsv_cc *cc, struct jsv_node *n, const json_t *js, const char *kw)
{
    const json_t *v = json_object_get(js, kw);
    if (!v)
        return;
    if (!json_is_object(v)) {
        kw_error(cc, n, kw, "expected an object of schemas");
        return;
    }
    const char *k;
    const json_t *dv;
    json_object_foreach((json_t *)v, k, dv) {
        if (!jsv_cc_node(cc, dv, jsv_where(n->where, kw, k)))
            return;
    }
}

static void kw_ref(struct jsv_cc *cc, struct jsv_node *n, const json_t *ref)
{
    char *w = jsv_where(n->where, "$ref", NULL);
    if (!w) {
        jsv_cc_error(cc, n->where, "out of memory");
        return;
    }
    if (!json_is_string(ref)) {
        jsv_cc_error(cc, w, "expected a string");
        free(w);
        return;
    }
    const json_t *target = jsv_ref_resolve(cc, json_string_value(ref), w);
    free(w);
    if (target)
        n->ref = jsv_cc_node(cc, target, strdup(json_string_value(ref)));
}

void jsv_compile_keywords(struct jsv_cc *cc, struct jsv_node *n, const json_t *js)
{
    kw_definitions(cc, n, js, "$defs");
    kw_definitions(cc, n, js, "definitions");
    const json_t *ref = json_object_get(js, "$ref");
    if (ref) {
        kw_ref(cc, n, ref);
        /* Up to draft 7, $ref replaces the schema it sits in. */
        if (cc->draft <= JSV_DRAFT7)
            return;
    }
    kw_type(cc, n, js);
    kw_nullable(cc, n, js);
    kw_enum_const(cc, n, js);
    kw_numbers(cc, n, js);
    kw_counts(cc, n, js);
    kw_pattern(cc, n, js);
    kw_arrays(cc, n, js);
    kw_objects(cc, n, js);
    kw_in_place(cc, n, js);
}
