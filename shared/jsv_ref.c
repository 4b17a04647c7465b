/*
 * $ref inside one schema document: "#" (the root), "#/json/pointer" (with
 * URI percent-escapes) and "#name" (a $anchor, or an $id/id of "#name" as
 * drafts 4-7 spell anchors).  A reference that names the root's own $id is
 * local too.  Anything else would mean fetching or resolving other
 * documents, which a gateway validating tool calls must not do, so it is
 * refused at compile time.
 */
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "jsv_impl.h"

#define ANCHOR_MAX_DEPTH 512

/* The fragment of ref ("#..."), or "" for the whole document; NULL if ref
 * points into another document. */
static const char *local_part(const json_t *root, const char *ref)
{
    if (ref[0] == '#' || ref[0] == '\0')
        return ref;
    const char *id = json_string_value(json_object_get(root, "$id"));
    if (!id)
        id = json_string_value(json_object_get(root, "id"));
    if (!id)
        return NULL;
    size_t base = strcspn(id, "#");
    if (base && strncmp(ref, id, base) == 0 && (ref[base] == '#' || ref[base] == '\0'))
        return ref + base;
    return NULL;
}

/* In place; false on a malformed escape. */
static bool percent_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s != '%') {
            *o++ = *s;
            continue;
        }
        int hi = hex_digit((unsigned char)s[1]), lo = hi < 0 ? -1 : hex_digit((unsigned char)s[2]);
        if (lo < 0)
            return false;
        *o++ = (char)(hi * 16 + lo);
        s += 2;
    }
    *o = '\0';
    return true;
}

/* ~0 -> ~, ~1 -> /, in place; false on any other ~. */
static bool unescape_token(char *t)
{
    char *o = t;
    for (; *t; t++) {
        if (*t != '~') {
            *o++ = *t;
            continue;
        }
        if (t[1] != '0' && t[1] != '1')
            return false;
        *o++ = t[1] == '0' ? '~' : '/';
        t++;
    }
    *o = '\0';
    return true;
}

static bool array_index(const char *t, size_t *out)
{
    if (!*t || (t[0] == '0' && t[1]))
        return false;
    size_t v = 0;
    for (; *t; t++) {
        if (*t < '0' || *t > '9' || v > (SIZE_MAX - 9) / 10)
            return false;
        v = v * 10 + (size_t)(*t - '0');
    }
    *out = v;
    return true;
}

/* ptr is the decoded pointer, "" or "/a/b"; modified in place. */
static const json_t *walk_pointer(const json_t *cur, char *ptr)
{
    while (cur && *ptr == '/') {
        char *tok = ptr + 1;
        char *end = strchr(tok, '/');
        if (end)
            *end = '\0';
        if (!unescape_token(tok))
            return NULL;
        size_t i;
        if (json_is_object(cur))
            cur = json_object_get(cur, tok);
        else if (json_is_array(cur) && array_index(tok, &i))
            cur = json_array_get(cur, i);
        else
            cur = NULL;
        if (!end)
            return cur;
        *end = '/';
        ptr = end;
    }
    return *ptr ? NULL : cur;
}

/* ---- anchors ---- */

static bool is_schema_map(const char *k)
{
    static const char *kws[] = {"properties",       "patternProperties", "$defs",
                                "definitions",      "dependentSchemas",  "dependencies"};
    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
        if (strcmp(k, kws[i]) == 0)
            return true;
    return false;
}

static bool is_schema_slot(const char *k)
{
    static const char *kws[] = {"items",    "prefixItems", "additionalItems",
                                "additionalProperties", "allOf", "anyOf",
                                "oneOf",    "not",         "if",
                                "then",     "else",        "contains",
                                "propertyNames", "unevaluatedItems", "unevaluatedProperties"};
    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
        if (strcmp(k, kws[i]) == 0)
            return true;
    return false;
}

static bool names_anchor(const json_t *s, const char *name)
{
    const char *a = json_string_value(json_object_get(s, "$anchor"));
    if (a && strcmp(a, name) == 0)
        return true;
    const char *ids[] = {"$id", "id"};
    for (int i = 0; i < 2; i++) {
        const char *id = json_string_value(json_object_get(s, ids[i]));
        if (id && id[0] == '#' && strcmp(id + 1, name) == 0)
            return true;
    }
    return false;
}

static const json_t *find_anchor(const json_t *s, const char *name, int depth);

static const json_t *find_in(const json_t *v, const char *name, int depth)
{
    if (!json_is_array(v))
        return find_anchor(v, name, depth);
    size_t i;
    const json_t *e, *hit;
    json_array_foreach(v, i, e) {
        if ((hit = find_anchor(e, name, depth)))
            return hit;
    }
    return NULL;
}

static const json_t *find_anchor(const json_t *s, const char *name, int depth)
{
    if (!json_is_object(s) || depth > ANCHOR_MAX_DEPTH)
        return NULL;
    if (names_anchor(s, name))
        return s;
    const char *k;
    const json_t *v, *hit = NULL;
    json_object_foreach((json_t *)s, k, v) {
        if (is_schema_map(k) && json_is_object(v)) {
            const char *k2;
            const json_t *v2;
            json_object_foreach((json_t *)v, k2, v2) {
                if ((hit = find_anchor(v2, name, depth + 1)))
                    return hit;
            }
        } else if (is_schema_slot(k) && (hit = find_in(v, name, depth + 1))) {
            return hit;
        }
    }
    return NULL;
}

const json_t *jsv_ref_resolve(struct jsv_cc *cc, const char *ref, const char *where)
{
    const json_t *root = cc->s->doc;
    const char *frag = local_part(root, ref);
    if (!frag) {
        jsv_cc_error(cc, where,
                     "\"%.80s\" points outside this schema; only local references "
                     "(\"#...\") are supported",
                     ref);
        return NULL;
    }
    if (frag[0] == '#')
        frag++;
    char *buf = strdup(frag);
    if (!buf) {
        jsv_cc_error(cc, where, "out of memory");
        return NULL;
    }
    const json_t *target = NULL;
    if (percent_decode(buf)) {
        if (buf[0] == '\0' || buf[0] == '/')
            target = walk_pointer(root, buf);
        else
            target = find_anchor(root, buf, 0);
    }
    free(buf);
    if (!target)
        jsv_cc_error(cc, where, "\"%.80s\" does not resolve in this schema", ref);
    return target;
}
