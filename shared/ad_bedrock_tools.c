/*
 * ad_bedrock_tools: the client's tools and tool_choice as a Converse
 * toolConfig, and JSON mode, which Converse has no switch for.
 *
 * Converse refuses a conversation holding toolUse or toolResult blocks
 * unless toolConfig declares the tools, and has no "none" choice: so tools
 * used in the history and not offered now are declared with an open
 * schema, and "none" leaves the choice to the model (auto) when the
 * history needs a toolConfig, or drops toolConfig when it does not.
 */
#include "ad_bedrock.h"
#include "ad_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {"auto":{}}, {"any":{}}, {"tool":{"name":..}}, or NULL for "none". */
static int tool_choice(const json_t *req, json_t **choice, struct ad_choice *c, struct ad_error *err)
{
    static const char *const keys[] = { [AD_CHOICE_AUTO] = "auto", [AD_CHOICE_ANY] = "any",
                                        [AD_CHOICE_NONE] = NULL, [AD_CHOICE_NAMED] = "tool" };
    *choice = NULL;
    if (ad_tool_choice(req, c, "Bedrock", err) < 0)
        return -1;
    if (c->kind == AD_CHOICE_NONE)
        return 0;
    const char *key = keys[c->kind];
    *choice = c->name ? json_pack("{s:{s:s}}", key, "name", c->name) : json_pack("{s:{}}", key);
    return *choice ? 0 : ad_oom(err);
}

static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!(*p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

static json_t *spec(const char *name, const char *desc, json_t *schema)
{
    json_t *s = schema ? json_pack("{s:{s:s, s:{s:o}}}", "toolSpec", "name", name, "inputSchema", "json", schema)
                       : NULL;
    if (s && desc && json_object_set_new(json_object_get(s, "toolSpec"), "description", json_string(desc)) < 0) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static json_t *one_tool(const json_t *tool, size_t i, struct ad_error *err)
{
    json_t *schema = ad_tool_schema(tool, i, "Bedrock", err);
    if (!schema)
        return NULL;
    const json_t *fn = json_object_get(tool, "function");
    const char *name = ad_str(fn, "name");
    if (!valid_name(name)) {
        json_decref(schema);
        ad_fail(err, FAIL_CLIENT, "tools[%zu].function.name must be 1-64 of [A-Za-z0-9_-] for Bedrock", i);
        return NULL;
    }
    json_t *t = spec(name, ad_str(fn, "description"), schema);
    if (!t)
        ad_oom(err);
    return t;
}

static bool declared(const json_t *tools, const char *name)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t) {
        const char *n = ad_str(json_object_get(t, "toolSpec"), "name");
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

static int history_tools(const json_t *names, json_t *out, struct ad_error *err)
{
    size_t i;
    const json_t *n;
    json_array_foreach(names, i, n) {
        const char *name = json_string_value(n);
        if (declared(out, name))
            continue;
        json_t *t = spec(name, "A tool used earlier in this conversation.",
                         json_pack("{s:s, s:{}}", "type", "object", "properties"));
        if (!t || json_array_append_new(out, t) < 0)
            return ad_oom(err);
    }
    return 0;
}

static int system_append(json_t *body, const char *text, struct ad_error *err)
{
    json_t *sys = json_object_get(body, "system");
    if (!sys) {
        if (ad_set_new(body, "system", json_array()) < 0)
            return ad_oom(err);
        sys = json_object_get(body, "system");
    }
    return json_array_append_new(sys, json_pack("{s:s}", "text", text)) < 0 ? ad_oom(err) : 0;
}

/*
 * response_format: Converse has no JSON switch that every model takes, so
 * the system prompt asks for it (with the schema when there is one).  Best
 * effort, as the Anthropic adapter's fallback is.
 */
static int response_format(const json_t *req, json_t *body, struct ad_error *err)
{
    const json_t *schema;
    const char *desc;
    int want = ad_response_format(req, &schema, &desc, err);
    if (want <= 0)
        return want;
    return ad_json_instruction(body, schema, system_append, err);
}

int ad_bedrock_tools(const json_t *req, const json_t *history, json_t *body, struct ad_error *err)
{
    const json_t *list = json_object_get(req, "tools");
    bool offered = json_is_array(list) && json_array_size(list) > 0;
    json_t *choice = NULL;
    struct ad_choice c = { .kind = AD_CHOICE_AUTO };
    if (offered && tool_choice(req, &choice, &c, err) < 0)
        return -1;
    if (!offered && list && !json_is_null(list) && !json_is_array(list))
        return ad_fail(err, FAIL_CLIENT, "tools must be an array");
    /* The client's tools (cut to allowed_tools); tool_choice "none"
     * (choice NULL) declares them only when the history needs them. */
    bool mapped = offered && (choice || json_array_size(history));
    json_t *tools = mapped ? ad_tools_map(list, &c, one_tool, err) : json_array();
    if (!tools) {
        json_decref(choice);
        return mapped ? -1 : ad_oom(err); /* ad_tools_map set err */
    }
    int rc = history_tools(history, tools, err);
    if (rc == 0 && json_array_size(tools)) {
        json_t *cfg = json_pack("{s:O}", "tools", tools);
        if (cfg && choice && json_array_size(tools) && json_object_set(cfg, "toolChoice", choice) < 0) {
            json_decref(cfg);
            cfg = NULL;
        }
        if (ad_set_new(body, "toolConfig", cfg) < 0)
            rc = ad_oom(err);
    }
    json_decref(tools);
    json_decref(choice);
    return rc < 0 ? -1 : response_format(req, body, err);
}
