/*
 * ad_anthropic_tools: the client's tools and tool_choice, and JSON mode
 * (response_format), which is served through a tool where it can be.
 */
#include "ad_anthropic.h"
#include "ad_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The Anthropic tool_choice object. */
static int tool_choice(const json_t *req, json_t **choice, struct ad_choice *c, struct ad_error *err)
{
    static const char *const types[] = { [AD_CHOICE_AUTO] = "auto", [AD_CHOICE_ANY] = "any",
                                         [AD_CHOICE_NONE] = "none", [AD_CHOICE_NAMED] = "tool" };
    *choice = NULL;
    if (ad_tool_choice(req, c, "Anthropic", err) < 0)
        return -1;
    const char *type = types[c->kind];
    *choice = c->name ? json_pack("{s:s, s:s}", "type", type, "name", c->name) : json_pack("{s:s}", "type", type);
    if (!*choice)
        return ad_oom(err);
    const json_t *ptc = json_object_get(req, "parallel_tool_calls");
    /* Anthropic accepts the flag on every choice but none. */
    if (json_is_false(ptc) && c->kind != AD_CHOICE_NONE &&
        json_object_set_new(*choice, "disable_parallel_tool_use", json_true()) < 0)
        return ad_oom(err);
    return 0;
}

static json_t *one_tool(const json_t *tool, size_t i, struct ad_error *err)
{
    json_t *schema = ad_tool_schema(tool, i, "Anthropic", err);
    if (!schema)
        return NULL;
    const json_t *fn = json_object_get(tool, "function");
    const char *name = ad_str(fn, "name");
    if (strcmp(name, AD_ANTHROPIC_JSON_TOOL) == 0) {
        json_decref(schema);
        ad_fail(err, FAIL_CLIENT, "tools[%zu]: the name %s is reserved by the gateway", i, name);
        return NULL;
    }
    json_t *t = json_pack("{s:s, s:o}", "name", name, "input_schema", schema);
    const char *desc = ad_str(fn, "description");
    if (t && desc && json_object_set_new(t, "description", json_string(desc)) < 0) {
        json_decref(t);
        t = NULL;
    }
    if (!t)
        ad_oom(err);
    return t;
}

/* tools and tool_choice; *have_tools: the client's tools go upstream. */
static int client_tools(const json_t *req, json_t *body, bool *have_tools, struct ad_error *err)
{
    const json_t *list = json_object_get(req, "tools");
    *have_tools = false;
    if (!list || json_is_null(list) || (json_is_array(list) && json_array_size(list) == 0))
        return 0; /* a tool_choice without tools has nothing to choose */
    if (!json_is_array(list))
        return ad_fail(err, FAIL_CLIENT, "tools must be an array");
    json_t *choice;
    struct ad_choice c;
    if (tool_choice(req, &choice, &c, err) < 0) {
        json_decref(choice);
        return -1;
    }
    json_t *out = ad_tools_map(list, &c, one_tool, err);
    if (!out) {
        json_decref(choice);
        return -1;
    }
    *have_tools = true;
    if (json_object_set_new(body, "tools", out) < 0) {
        json_decref(choice);
        return ad_oom(err);
    }
    return json_object_set_new(body, "tool_choice", choice) < 0 ? ad_oom(err) : 0;
}

/* Adds text to the system prompt, which may be absent, a string or blocks. */
static int system_append(json_t *body, const char *text, struct ad_error *err)
{
    json_t *sys = json_object_get(body, "system");
    json_t *blocks;
    if (!sys)
        return json_object_set_new(body, "system", json_string(text)) < 0 ? ad_oom(err) : 0;
    if (json_is_string(sys))
        blocks = json_pack("[{s:s, s:O}]", "type", "text", "text", sys);
    else
        blocks = json_incref(sys);
    if (!blocks || json_array_append_new(blocks, json_pack("{s:s, s:s}", "type", "text", "text", text)) < 0 ||
        json_object_set(body, "system", blocks) < 0) {
        json_decref(blocks);
        return ad_oom(err);
    }
    json_decref(blocks);
    return 0;
}

/*
 * response_format.  Anthropic's own structured output (output_config) is
 * not used: only newer models take it and a chain cannot know which.
 * Without client tools, a forced tool whose input_schema is the schema
 * (json_object: any object) makes the model produce exactly that JSON;
 * the answer paths turn the tool's input back into the message text.
 * With client tools, forcing one would stop the model using them, so an
 * instruction in the system prompt asks for JSON instead (best effort),
 * as it does for a schema whose root is not an object (a tool's input
 * must be one).
 */
static int response_format(const json_t *req, json_t *body, bool have_tools, struct ad_error *err)
{
    const json_t *schema;
    const char *desc;
    int want = ad_response_format(req, &schema, &desc, err);
    if (want <= 0)
        return want;
    const char *root = schema ? ad_str(schema, "type") : "object";
    if (have_tools || !root || strcmp(root, "object") != 0)
        return ad_json_instruction(body, schema, system_append, err);
    json_t *tool = schema ? json_pack("{s:s, s:O}", "name", AD_ANTHROPIC_JSON_TOOL, "input_schema", schema)
                          : json_pack("{s:s, s:{s:s}}", "name", AD_ANTHROPIC_JSON_TOOL, "input_schema", "type", "object");
    if (!tool || json_object_set_new(tool, "description",
                                     json_string(desc ? desc : "Give the answer as this tool's input.")) < 0) {
        json_decref(tool);
        return ad_oom(err);
    }
    if (ad_set_new(body, "tools", json_pack("[o]", tool)) < 0)
        return ad_oom(err);
    json_t *choice = json_pack("{s:s, s:s}", "type", "tool", "name", AD_ANTHROPIC_JSON_TOOL);
    return ad_set_new(body, "tool_choice", choice) < 0 ? ad_oom(err) : 0;
}

int ad_anthropic_tools(const json_t *req, json_t *body, struct ad_error *err)
{
    bool have_tools;
    if (client_tools(req, body, &have_tools, err) < 0)
        return -1;
    return response_format(req, body, have_tools, err);
}
