/*
 * Checks a document against the schema tables and builds its normalised
 * copy in the same pass.
 *
 * Every problem is reported and the walk goes on, so that one run lists all
 * of them; a value with an error yields NULL, which fails its parents
 * without further messages.  Unknown subtrees are never descended into, so
 * the depth of the walk is that of the schema whatever the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_impl.h"

static json_t *walk_value(struct cfg_ctx *c, const struct cfg_field *f, const json_t *v);

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "object";
    case JSON_ARRAY:   return "array";
    case JSON_STRING:  return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL:    return "real";
    case JSON_TRUE:
    case JSON_FALSE:   return "boolean";
    case JSON_NULL:    return "null";
    }
    return "?";
}

static json_t *type_error(struct cfg_ctx *c, const char *want, const json_t *v)
{
    cfg_err(c, "expected %s, got %s", want, type_name(v));
    return NULL;
}

static json_t *own(struct cfg_ctx *c, json_t *v)
{
    if (!v)
        c->oom = true;
    return v;
}

/* Stores a walked member into out; false when it was in error. */
static bool keep_member(struct cfg_ctx *c, json_t *out, const char *key, json_t *v)
{
    if (!v)
        return false;
    if (!out || json_object_set_new(out, key, v) != 0) {
        if (out)
            c->oom = true;
        else
            json_decref(v);
        return false;
    }
    return true;
}

static bool keep_item(struct cfg_ctx *c, json_t *out, json_t *v)
{
    if (!v)
        return false;
    if (!out || json_array_append_new(out, v) != 0) {
        if (out)
            c->oom = true;
        else
            json_decref(v);
        return false;
    }
    return true;
}

static json_t *fail(json_t *out)
{
    json_decref(out);
    return NULL;
}

static const struct cfg_field *find_field(const struct cfg_field *fields, const char *key)
{
    for (const struct cfg_field *f = fields; f->kind != CK_END; f++)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

/* A default goes through the same checks as a written value: a bad row in
 * the schema then shows up in every test instead of as a strange struct. */
static json_t *walk_default(struct cfg_ctx *c, const struct cfg_field *f)
{
    json_t *d = NULL;
    if (f->def_fn)
        d = f->def_fn();
    else if (f->def)
        d = json_loads(f->def, JSON_DECODE_ANY, NULL);
    if (!d) {
        cfg_err(c, "internal error: no usable default");
        return NULL;
    }
    json_t *n = walk_value(c, f, d);
    json_decref(d);
    return n;
}

/* The members of one object described by f (a CK_OBJECT, or the element of
 * a CK_MAP or CK_ARRAY). */
static json_t *walk_members(struct cfg_ctx *c, const struct cfg_field *f, const json_t *v)
{
    const struct cfg_field *fields = f->fields;
    if (!json_is_object(v))
        return type_error(c, "an object", v);
    json_t *out = own(c, json_object());
    bool ok = out != NULL;
    const char *key;
    json_t *mv;
    /* Written keys first, in file order, so errors read top to bottom. */
    json_object_foreach((json_t *)v, key, mv) {
        size_t mark = cfg_path_key(c, key);
        const struct cfg_field *m = find_field(fields, key);
        if (!m) {
            if (f->unknown_key)
                f->unknown_key(c, key);
            else
                cfg_err(c, "unknown key");
            ok = false;
        } else {
            ok = keep_member(c, out, key, walk_value(c, m, mv)) && ok;
        }
        cfg_path_pop(c, mark);
    }
    for (const struct cfg_field *m = fields; m->kind != CK_END; m++) {
        if (json_object_get(v, m->key))
            continue;
        size_t mark = cfg_path_key(c, m->key);
        if (m->flags & CF_REQUIRED) {
            cfg_err(c, "required key is missing");
            ok = false;
        } else {
            ok = keep_member(c, out, m->key, walk_default(c, m)) && ok;
        }
        cfg_path_pop(c, mark);
    }
    /* Cross-member rules only make sense once every member is sound. */
    if (ok && f->check_elem)
        ok = f->check_elem(c, out);
    return ok ? out : fail(out);
}

static bool check_count(struct cfg_ctx *c, const struct cfg_field *f, size_t n)
{
    if (n >= (size_t)f->min)
        return true;
    if (f->min == 1)
        cfg_err(c, "must not be empty");
    else
        cfg_err(c, "must have at least %lld entries, got %zu", f->min, n);
    return false;
}

static json_t *walk_map(struct cfg_ctx *c, const struct cfg_field *f, const json_t *v)
{
    if (!json_is_object(v))
        return type_error(c, "an object", v);
    bool ok = check_count(c, f, json_object_size(v));
    json_t *out = own(c, json_object());
    ok = ok && out;
    const char *key;
    json_t *ev;
    json_object_foreach((json_t *)v, key, ev) {
        size_t mark = cfg_path_key(c, key);
        if (f->check_key && !f->check_key(c, key))
            ok = false;
        ok = keep_member(c, out, key, walk_members(c, f, ev)) && ok;
        cfg_path_pop(c, mark);
    }
    return ok ? out : fail(out);
}

static json_t *walk_array(struct cfg_ctx *c, const struct cfg_field *f, const json_t *v)
{
    if (!json_is_array(v))
        return type_error(c, "an array", v);
    bool ok = check_count(c, f, json_array_size(v));
    json_t *out = own(c, json_array());
    ok = ok && out;
    size_t i;
    json_t *ev;
    json_array_foreach(v, i, ev) {
        size_t mark = cfg_path_index(c, i);
        ok = keep_item(c, out, walk_members(c, f, ev)) && ok;
        cfg_path_pop(c, mark);
    }
    return ok ? out : fail(out);
}

static json_t *walk_int(struct cfg_ctx *c, const struct cfg_field *f, const json_t *v)
{
    if (!json_is_integer(v))
        return type_error(c, "an integer", v);
    json_int_t n = json_integer_value(v);
    if (n < f->min || n > f->max) {
        cfg_err(c, "%lld is out of range %lld..%lld", (long long)n, f->min, f->max);
        return NULL;
    }
    return own(c, json_integer(n));
}

static json_t *walk_enum(struct cfg_ctx *c, const struct cfg_field *f, const json_t *v)
{
    if (!json_is_string(v))
        return type_error(c, "a string", v);
    const char *s = json_string_value(v);
    const struct cfg_enum *e;
    for (e = f->enums; e->name; e++)
        if (strcmp(e->name, s) == 0 && strlen(s) == json_string_length(v))
            return own(c, json_string(e->name));
    char list[512];
    size_t n = 0;
    for (e = f->enums; e->name && n < sizeof list; e++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s\"%s\"",
                              e == f->enums ? "" : ", ", e->name);
    char q[CFG_QUOTE_MAX];
    cfg_err(c, "expected one of %s, got %s", list, cfg_quote(q, s));
    return NULL;
}

/* The normalised form is the octal string ("0600"): what an operator wrote
 * either way, and what `config show` then prints. */
static json_t *walk_mode(struct cfg_ctx *c, const struct cfg_field *f, const json_t *v)
{
    long long n = 0;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
        if (n < f->min || n > f->max) {
            cfg_err(c, "%lld is out of range %lld..%lld (an octal mode goes in a string, "
                    "as in \"0660\")", n, f->min, f->max);
            return NULL;
        }
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        bool digits = len >= 1 && len <= 4 && strlen(s) == len;
        for (size_t i = 0; digits && i < len; i++)
            digits = s[i] >= '0' && s[i] <= '7';
        char q[CFG_QUOTE_MAX];
        if (!digits) {
            cfg_err(c, "%s is not an octal mode such as \"0600\"", cfg_quote(q, s));
            return NULL;
        }
        n = strtoll(s, NULL, 8);
        if (n < f->min || n > f->max) {
            cfg_err(c, "%s is out of range 0%llo..0%llo", cfg_quote(q, s), (unsigned long long)f->min,
                    (unsigned long long)f->max);
            return NULL;
        }
    } else {
        return type_error(c, "an octal string or an integer", v);
    }
    char buf[16];
    snprintf(buf, sizeof buf, "0%03llo", (unsigned long long)n);
    if (f->check && !f->check(c, buf, NULL))
        return NULL;
    return own(c, json_string(buf));
}

static bool ref_exists(struct cfg_ctx *c, const struct cfg_field *f, const char *s)
{
    const json_t *map = json_object_get(c->root, f->ref);
    /* A missing or malformed map has its own error; one is enough. */
    if (!json_is_object(map) || json_object_get(map, s))
        return true;
    const char *noun = "entry";
    for (const struct cfg_field *r = cfg_schema.fields; r->kind != CK_END; r++)
        if (strcmp(r->key, f->ref) == 0 && r->noun)
            noun = r->noun;
    char q[CFG_QUOTE_MAX];
    cfg_err(c, "no %s named %s", noun, cfg_quote(q, s));
    return false;
}

static json_t *walk_string(struct cfg_ctx *c, const struct cfg_field *f, const json_t *v)
{
    if (json_is_null(v) && (f->flags & CF_NULLABLE))
        return own(c, json_null());
    if (!json_is_string(v))
        return type_error(c, (f->flags & CF_NULLABLE) ? "a string or null" : "a string", v);
    const char *s = json_string_value(v);
    /* Only a caller-built json_t can hold one; C code would cut there. */
    if (strlen(s) != json_string_length(v)) {
        cfg_err(c, "must not contain a NUL character");
        return NULL;
    }
    if ((f->flags & CF_NONEMPTY) && !*s) {
        cfg_err(c, "must not be empty");
        return NULL;
    }
    char *repl = NULL;
    if (f->check && !f->check(c, s, &repl)) {
        free(repl);
        return NULL;
    }
    if (repl)
        s = repl;
    json_t *out = NULL;
    if (f->ref && !ref_exists(c, f, s)) {
        /* reported */
    } else if (f->flags & CF_PATH) {
        char *p = cfg_path_join(c->base_dir, s);
        if (!p) {
            c->oom = true;
        } else if (!(out = json_string(p))) {
            cfg_err(c, "resolved path is not valid UTF-8");
        }
        free(p);
    } else {
        out = own(c, json_string(s));
    }
    free(repl);
    return out;
}

static json_t *walk_value(struct cfg_ctx *c, const struct cfg_field *f, const json_t *v)
{
    switch (f->kind) {
    case CK_OBJECT: return walk_members(c, f, v);
    case CK_MAP:    return walk_map(c, f, v);
    case CK_ARRAY:  return walk_array(c, f, v);
    case CK_INT:    return walk_int(c, f, v);
    case CK_BOOL:
        if (!json_is_boolean(v))
            return type_error(c, "a boolean", v);
        return own(c, json_boolean(json_is_true(v)));
    case CK_STRING: return walk_string(c, f, v);
    case CK_ENUM:   return walk_enum(c, f, v);
    case CK_MODE:   return walk_mode(c, f, v);
    case CK_END:    break;
    }
    cfg_err(c, "internal error: bad schema row");
    return NULL;
}

json_t *cfg_walk(struct cfg_ctx *c, const json_t *root)
{
    if (!root) {
        cfg_err(c, "no document");
        return NULL;
    }
    json_t *out = walk_value(c, &cfg_schema, root);
    if (out && (c->nerr || c->oom))
        return fail(out);
    return out;
}
