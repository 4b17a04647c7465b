/*
 * ad_tools: the OpenAI tool definitions and tool_choice as every
 * translating adapter reads them: which choice, which tools it allows, and
 * each tool's parameters as an object schema (the form Anthropic and
 * Bedrock insist on; Gemini converts further).
 */
#include "ad_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ad_tool_choice(const json_t *req, struct ad_choice *out, const char *provider, struct ad_error *err)
{
    const json_t *tc = json_object_get(req, "tool_choice");
    memset(out, 0, sizeof *out);
    int kind = -1;
    if (!tc || json_is_null(tc)) {
        kind = AD_CHOICE_AUTO;
    } else if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        kind = strcmp(s, "auto") == 0 ? AD_CHOICE_AUTO : strcmp(s, "required") == 0 ? AD_CHOICE_ANY
             : strcmp(s, "none") == 0 ? AD_CHOICE_NONE : -1;
    } else if (json_is_object(tc)) {
        const char *t = ad_str(tc, "type");
        if (t && strcmp(t, "function") == 0) {
            out->name = ad_str(json_object_get(tc, "function"), "name");
            kind = out->name && *out->name ? AD_CHOICE_NAMED : -1;
        } else if (t && strcmp(t, "allowed_tools") == 0) {
            const json_t *at = json_object_get(tc, "allowed_tools");
            const char *mode = ad_str(at, "mode");
            out->allowed = json_object_get(at, "tools");
            kind = !json_is_array(out->allowed) || !mode ? -1 : strcmp(mode, "auto") == 0 ? AD_CHOICE_AUTO
                 : strcmp(mode, "required") == 0 ? AD_CHOICE_ANY : -1;
        }
    }
    if (kind < 0) {
        memset(out, 0, sizeof *out);
        return ad_fail(err, FAIL_CLIENT, "tool_choice is not one %s can express", provider);
    }
    out->kind = (enum ad_choice_kind)kind;
    return 0;
}

bool ad_tool_allowed(const struct ad_choice *c, const char *name)
{
    if (!c->allowed)
        return true;
    size_t i;
    const json_t *t;
    json_array_foreach(c->allowed, i, t) {
        const char *n = ad_str(json_object_get(t, "function"), "name");
        if (!n)
            n = ad_str(t, "name");
        if (n && name && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

json_t *ad_tools_map(const json_t *list, const struct ad_choice *c,
                     json_t *(*one)(const json_t *tool, size_t i, struct ad_error *err), struct ad_error *err)
{
    json_t *out = json_array();
    if (!out) {
        ad_oom(err);
        return NULL;
    }
    size_t i;
    const json_t *tool;
    json_array_foreach(list, i, tool) {
        if (!ad_tool_allowed(c, ad_str(json_object_get(tool, "function"), "name")))
            continue;
        json_t *t = one(tool, i, err);
        if (!t || json_array_append_new(out, t) < 0) {
            if (t)
                ad_oom(err);
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

const json_t *ad_tool_function(const json_t *tool, size_t i, const char *provider, struct ad_error *err)
{
    const char *type = ad_str(tool, "type");
    const json_t *fn = json_object_get(tool, "function");
    const char *name = ad_str(fn, "name");
    if (!type || strcmp(type, "function") != 0) {
        ad_fail(err, FAIL_CLIENT, "tools[%zu]: %.40s tools cannot be sent to %s", i, type ? type : "untyped",
                provider);
        return NULL;
    }
    if (!name || !*name) {
        ad_fail(err, FAIL_CLIENT, "tools[%zu].function.name is missing", i);
        return NULL;
    }
    return fn;
}

json_t *ad_tool_schema(const json_t *tool, size_t i, const char *provider, struct ad_error *err)
{
    const json_t *fn = ad_tool_function(tool, i, provider, err);
    if (!fn)
        return NULL;
    const json_t *params = json_object_get(fn, "parameters");
    json_t *schema;
    if (!params || json_is_null(params)) {
        schema = json_pack("{s:s, s:{}}", "type", "object", "properties");
    } else if (!json_is_object(params)) {
        ad_fail(err, FAIL_CLIENT, "tools[%zu].function.parameters must be a JSON Schema object", i);
        return NULL;
    } else {
        const char *st = ad_str(params, "type");
        if (st && strcmp(st, "object") != 0) {
            ad_fail(err, FAIL_CLIENT, "tools[%zu].function.parameters must describe an object", i);
            return NULL;
        }
        /* "type":"object" made explicit: OpenAI lets it be implied. */
        schema = json_copy((json_t *)params);
        if (schema && !st && json_object_set_new(schema, "type", json_string("object")) < 0) {
            json_decref(schema);
            schema = NULL;
        }
    }
    if (!schema)
        ad_oom(err);
    return schema;
}

int ad_response_format(const json_t *req, const json_t **schema, const char **desc, struct ad_error *err)
{
    const json_t *rf = json_object_get(req, "response_format");
    const char *type = ad_str(rf, "type");
    *schema = NULL;
    *desc = NULL;
    if (!rf || json_is_null(rf) || (type && strcmp(type, "text") == 0))
        return 0;
    if (type && strcmp(type, "json_schema") == 0) {
        const json_t *js = json_object_get(rf, "json_schema");
        *schema = json_object_get(js, "schema");
        *desc = ad_str(js, "description");
        if (!json_is_object(*schema)) {
            *schema = NULL;
            *desc = NULL;
            return ad_fail(err, FAIL_CLIENT, "response_format.json_schema.schema must be an object");
        }
    } else if (!type || strcmp(type, "json_object") != 0) {
        return ad_fail(err, FAIL_CLIENT, "response_format type %.40s is not supported", type ? type : "(none)");
    }
    return 1;
}

/* Same words on every provider: one instruction, one behaviour. */
#define JSON_INSTRUCTION "Answer with one JSON object only: no prose before or after it, no code fences."

int ad_json_instruction(json_t *body, const json_t *schema,
                        int (*append)(json_t *body, const char *text, struct ad_error *err), struct ad_error *err)
{
    if (append(body, JSON_INSTRUCTION, err) < 0)
        return -1;
    if (!schema)
        return 0;
    char *text = json_dumps(schema, AD_JSON_FLAGS);
    char *line = NULL;
    if (!text || asprintf(&line, "The object must match this JSON Schema: %s", text) < 0)
        line = NULL;
    free(text);
    int rc = line ? append(body, line, err) : ad_oom(err);
    free(line);
    return rc;
}
