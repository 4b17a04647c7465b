/*
 * ad_gemini_tools: the client's tools, tool_choice and JSON mode, and the
 * JSON Schema translation they need.
 *
 * Gemini takes an OpenAPI subset, not JSON Schema: upper-case type names,
 * nullable instead of a "null" type, anyOf but no oneOf/allOf/$ref, enum
 * for strings only, few formats, and no additionalProperties or $schema.
 * parametersJsonSchema would take the schema as is, but not every model
 * and not Vertex's v1 surface accept it, so the subset is what goes out.
 */
#include "ad_gemini.h"
#include "ad_params.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys that mean the same in both dialects and are copied as they are. */
static const char *const same_keys[] = { "description", "title", "minItems", "maxItems", "minimum", "maximum",
                                         "minLength", "maxLength", "pattern", "minProperties", "maxProperties",
                                         "default", "example", "propertyOrdering" };

struct sctx {
    const json_t *root;       /* for local $ref */
    const char *at;
    struct ad_error *err;
};

static json_t *convert(const json_t *s, struct sctx *c, int depth);

static json_t *fail_at(struct sctx *c, const char *what)
{
    ad_fail(c->err, FAIL_CLIENT, "%s: %s cannot be expressed for Gemini", c->at, what);
    return NULL;
}

static json_t *oom(struct sctx *c)
{
    ad_oom(c->err);
    return NULL;
}

/* A local reference "#/$defs/x" or "#/definitions/x" (with JSON pointer
 * escapes) inside the root schema. */
static const json_t *resolve(const json_t *root, const char *ref)
{
    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    const json_t *at = root;
    char *path = strdup(ref + 2);
    for (char *save = NULL, *tok = path ? strtok_r(path, "/", &save) : NULL; tok && at;
         tok = strtok_r(NULL, "/", &save)) {
        char *w = tok;
        for (char *r = tok; *r; r++, w++) {
            if (r[0] == '~' && (r[1] == '0' || r[1] == '1'))
                *w = *++r == '0' ? '~' : '/';
            else
                *w = *r;
        }
        *w = '\0';
        at = json_object_get(at, tok);
    }
    free(path);
    return at;
}

static char *upper(const char *s)
{
    char *u = strdup(s);
    for (char *p = u; p && *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return u;
}

static bool is_null_schema(const json_t *s)
{
    const char *t = ad_str(s, "type");
    return t && strcmp(t, "null") == 0 && json_object_size(s) == 1;
}

/* "type": one name, or a list whose "null" becomes nullable (and several
 * others anyOf). */
static int set_type(json_t *out, const json_t *type, struct sctx *c)
{
    if (json_is_string(type)) {
        char *u = upper(json_string_value(type));
        int rc = u ? json_object_set_new(out, "type", json_string(u)) : -1;
        free(u);
        return rc < 0 ? (oom(c), -1) : 0;
    }
    if (!json_is_array(type)) {
        fail_at(c, "a type that is not a string or a list");
        return -1;
    }
    json_t *alts = json_array();
    size_t i;
    const json_t *t;
    int rc = alts ? 0 : -1;
    json_array_foreach(type, i, t) {
        if (!json_is_string(t)) {
            json_decref(alts);
            fail_at(c, "a type list with a non-string");
            return -1;
        }
        if (strcmp(json_string_value(t), "null") == 0) {
            rc = rc < 0 ? rc : json_object_set_new(out, "nullable", json_true());
            continue;
        }
        char *u = upper(json_string_value(t));
        rc = rc < 0 || !u ? -1 : json_array_append_new(alts, json_pack("{s:s}", "type", u));
        free(u);
    }
    if (rc == 0 && json_array_size(alts) == 1)
        rc = json_object_set(out, "type", json_object_get(json_array_get(alts, 0), "type"));
    else if (rc == 0 && json_array_size(alts) > 1)
        rc = json_object_set(out, "anyOf", alts);
    json_decref(alts);
    return rc < 0 ? (oom(c), -1) : 0;
}

/* anyOf / oneOf members; a {"type":"null"} member becomes nullable. */
static int set_any_of(json_t *out, const json_t *list, struct sctx *c, int depth)
{
    if (!json_is_array(list)) {
        fail_at(c, "anyOf/oneOf that is not a list");
        return -1;
    }
    json_t *alts = json_array();
    if (!alts) {
        oom(c);
        return -1;
    }
    size_t i;
    const json_t *m;
    json_array_foreach(list, i, m) {
        if (is_null_schema(m)) {
            if (json_object_set_new(out, "nullable", json_true()) < 0)
                goto oom;
            continue;
        }
        json_t *x = convert(m, c, depth + 1);
        if (!x) {
            json_decref(alts);
            return -1;
        }
        if (json_array_append_new(alts, x) < 0)
            goto oom;
    }
    int rc = 0;
    if (json_array_size(alts) == 1)
        rc = json_object_update(out, json_array_get(alts, 0)); /* one alternative is the schema itself */
    else if (json_array_size(alts) > 1)
        rc = json_object_set(out, "anyOf", alts);
    json_decref(alts);
    return rc < 0 ? (oom(c), -1) : 0;
oom:
    json_decref(alts);
    oom(c);
    return -1;
}

static int set_properties(json_t *out, const json_t *props, struct sctx *c, int depth)
{
    if (!json_is_object(props)) {
        fail_at(c, "properties that is not an object");
        return -1;
    }
    json_t *p = json_object();
    if (!p || json_object_set_new(out, "properties", p) < 0) {
        oom(c);
        return -1;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)props, k, v) {
        json_t *x = convert(v, c, depth + 1);
        if (!x)
            return -1;
        if (json_object_set_new(p, k, x) < 0) {
            oom(c);
            return -1;
        }
    }
    return 0;
}

/* enum survives for strings only (Gemini's enum is a string format);
 * const is a one-value enum. */
static int set_enum(json_t *out, const json_t *s, struct ad_error *err)
{
    const json_t *e = json_object_get(s, "enum");
    const json_t *k = json_object_get(s, "const");
    json_t *list = json_is_array(e) ? json_incref((json_t *)e) : json_is_string(k) ? json_pack("[O]", k) : NULL;
    size_t i;
    const json_t *v;
    bool strings = list != NULL;
    json_array_foreach(list, i, v)
        strings = strings && json_is_string(v);
    int rc = 0;
    if (strings) {
        rc = json_object_set(out, "enum", list);
        if (rc == 0 && !json_object_get(out, "type"))
            rc = json_object_set_new(out, "type", json_string("STRING"));
        if (rc == 0)
            rc = json_object_set_new(out, "format", json_string("enum"));
    }
    json_decref(list);
    return rc < 0 ? ad_oom(err) : 0;
}

/* Gemini refuses the formats it does not know (email, uri, ...). */
static int set_format(json_t *out, const json_t *s, struct ad_error *err)
{
    const char *f = ad_str(s, "format");
    const char *t = ad_str(out, "type");
    if (!f || !t || json_object_get(out, "format"))
        return 0;
    bool ok = (strcmp(t, "STRING") == 0 && strcmp(f, "date-time") == 0) ||
              (strcmp(t, "INTEGER") == 0 && (strcmp(f, "int32") == 0 || strcmp(f, "int64") == 0)) ||
              (strcmp(t, "NUMBER") == 0 && (strcmp(f, "float") == 0 || strcmp(f, "double") == 0));
    return ok && json_object_set_new(out, "format", json_string(f)) < 0 ? ad_oom(err) : 0;
}

static json_t *convert(const json_t *s, struct sctx *c, int depth)
{
    if (depth > AD_GEMINI_MAX_SCHEMA_DEPTH)
        return fail_at(c, "a schema nested this deep (or a recursive $ref)");
    if (json_is_true(s))
        return json_object(); /* any value */
    if (!json_is_object(s))
        return fail_at(c, "a schema that is not an object");
    const char *ref = ad_str(s, "$ref");
    if (ref) {
        const json_t *target = resolve(c->root, ref);
        if (!target)
            return fail_at(c, "a $ref outside the schema");
        return convert(target, c, depth + 1);
    }
    const json_t *all = json_object_get(s, "allOf");
    if (all) {
        if (!json_is_array(all) || json_array_size(all) != 1)
            return fail_at(c, "allOf with more than one member");
        json_t *x = convert(json_array_get(all, 0), c, depth + 1);
        json_t *rest = x ? json_copy((json_t *)s) : NULL;
        json_t *y = NULL;
        if (rest) {
            json_object_del(rest, "allOf");
            y = convert(rest, c, depth + 1);
        }
        json_decref(rest);
        if (y && json_object_update_missing(y, x) < 0) {
            json_decref(y);
            y = oom(c);
        }
        json_decref(x);
        return y;
    }
    json_t *out = json_object();
    if (!out)
        return oom(c);
    const json_t *v;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof same_keys / sizeof same_keys[0]; i++)
        if ((v = json_object_get(s, same_keys[i])))
            rc = json_object_set(out, same_keys[i], (json_t *)v) < 0 ? (oom(c), -1) : 0;
    if (rc == 0 && (v = json_object_get(s, "type")))
        rc = set_type(out, v, c);
    if (rc == 0 && (v = json_object_get(s, "nullable")) && json_is_true(v))
        rc = json_object_set_new(out, "nullable", json_true()) < 0 ? (oom(c), -1) : 0;
    if (rc == 0 && (v = json_object_get(s, "anyOf") ? json_object_get(s, "anyOf") : json_object_get(s, "oneOf")))
        rc = set_any_of(out, v, c, depth);
    if (rc == 0 && (v = json_object_get(s, "properties")))
        rc = set_properties(out, v, c, depth);
    if (rc == 0 && (v = json_object_get(s, "required")) && json_is_array(v))
        rc = json_object_set(out, "required", (json_t *)v) < 0 ? (oom(c), -1) : 0;
    if (rc == 0 && (v = json_object_get(s, "items"))) {
        json_t *x = json_is_object(v) || json_is_true(v) ? convert(v, c, depth + 1) : fail_at(c, "tuple items");
        rc = !x ? -1 : json_object_set_new(out, "items", x) < 0 ? (oom(c), -1) : 0;
    }
    if (rc == 0)
        rc = set_enum(out, s, c->err);
    if (rc == 0)
        rc = set_format(out, s, c->err);
    if (rc < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *ad_gemini_schema(const json_t *schema, const char *at, struct ad_error *err)
{
    struct sctx c = { schema, at, err };
    return convert(schema, &c, 0);
}

static json_t *declaration(const json_t *tool, size_t i, struct ad_error *err)
{
    const json_t *fn = ad_tool_function(tool, i, "Gemini", err);
    if (!fn)
        return NULL;
    json_t *d = json_pack("{s:s}", "name", ad_str(fn, "name"));
    const char *desc = ad_str(fn, "description");
    if (!d || (desc && json_object_set_new(d, "description", json_string(desc)) < 0)) {
        json_decref(d);
        ad_oom(err);
        return NULL;
    }
    const json_t *params = json_object_get(fn, "parameters");
    if (!params || json_is_null(params))
        return d;
    char at[64];
    snprintf(at, sizeof at, "tools[%zu].function.parameters", i);
    json_t *p = json_is_object(params) ? ad_gemini_schema(params, at, err) : NULL;
    if (!json_is_object(params))
        ad_fail(err, FAIL_CLIENT, "%s must be a JSON Schema object", at);
    if (!p) {
        json_decref(d);
        return NULL;
    }
    /* Gemini rejects an OBJECT without properties; a function without
     * parameters says the same. */
    if (json_object_size(json_object_get(p, "properties")) == 0) {
        json_decref(p);
        return d;
    }
    if (!json_object_get(p, "type") && json_object_set_new(p, "type", json_string("OBJECT")) < 0) {
        json_decref(p);
        p = NULL;
    }
    if (!p || json_object_set_new(d, "parameters", p) < 0) {
        json_decref(d);
        ad_oom(err);
        return NULL;
    }
    return d;
}

static int tool_config(json_t *body, const struct ad_choice *c, struct ad_error *err)
{
    static const char *const modes[] = { [AD_CHOICE_AUTO] = "AUTO", [AD_CHOICE_ANY] = "ANY",
                                         [AD_CHOICE_NONE] = "NONE", [AD_CHOICE_NAMED] = "ANY" };
    json_t *fcc = json_pack("{s:s}", "mode", modes[c->kind]);
    if (fcc && c->name && json_object_set_new(fcc, "allowedFunctionNames", json_pack("[s]", c->name)) < 0) {
        json_decref(fcc);
        fcc = NULL;
    }
    return ad_set_new(body, "toolConfig", fcc ? json_pack("{s:o}", "functionCallingConfig", fcc) : NULL) < 0
               ? ad_oom(err)
               : 0;
}

static int client_tools(const json_t *req, json_t *body, bool *have_tools, struct ad_error *err)
{
    const json_t *list = json_object_get(req, "tools");
    *have_tools = false;
    if (!list || json_is_null(list) || (json_is_array(list) && json_array_size(list) == 0))
        return 0; /* a tool_choice without tools has nothing to choose */
    if (!json_is_array(list))
        return ad_fail(err, FAIL_CLIENT, "tools must be an array");
    struct ad_choice c;
    if (ad_tool_choice(req, &c, "Gemini", err) < 0)
        return -1;
    json_t *decls = ad_tools_map(list, &c, declaration, err);
    if (!decls)
        return -1;
    *have_tools = true;
    if (ad_set_new(body, "tools", json_pack("[{s:o}]", "functionDeclarations", decls)) < 0)
        return ad_oom(err);
    return tool_config(body, &c, err);
}

static int system_append(json_t *body, const char *text, struct ad_error *err)
{
    json_t *si = json_object_get(body, "systemInstruction");
    if (!si) {
        return ad_set_new(body, "systemInstruction", json_pack("{s:[{s:s}]}", "parts", "text", text)) < 0
                   ? ad_oom(err)
                   : 0;
    }
    return json_array_append_new(json_object_get(si, "parts"), json_pack("{s:s}", "text", text)) < 0 ? ad_oom(err)
                                                                                                      : 0;
}

/*
 * response_format: responseMimeType, and responseSchema for a schema.
 * Gemini refuses a JSON mime type together with function calling, so
 * with the client's tools in play an instruction asks for JSON instead.
 */
static int response_format(const json_t *req, json_t *body, json_t *gc, bool have_tools, struct ad_error *err)
{
    const json_t *schema;
    const char *desc;
    int want = ad_response_format(req, &schema, &desc, err);
    if (want <= 0)
        return want;
    if (have_tools)
        return ad_json_instruction(body, NULL, system_append, err);
    if (json_object_set_new(gc, "responseMimeType", json_string("application/json")) < 0)
        return ad_oom(err);
    if (!schema)
        return 0;
    json_t *s = ad_gemini_schema(schema, "response_format.json_schema.schema", err);
    if (!s)
        return -1;
    return json_object_set_new(gc, "responseSchema", s) < 0 ? ad_oom(err) : 0;
}

int ad_gemini_tools(const json_t *req, json_t *body, json_t *gc, struct ad_error *err)
{
    bool have_tools;
    if (client_tools(req, body, &have_tools, err) < 0)
        return -1;
    return response_format(req, body, gc, have_tools, err);
}
