/*
 * gw_contract: the request's contract and the checks of an answer against
 * it (see the header).
 */
#include "gw_contract.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema_cache.h"

enum ct_choice { CT_CHOICE_AUTO, CT_CHOICE_REQUIRED, CT_CHOICE_NAMED };
enum ct_json { CT_JSON_NONE, CT_JSON_OBJECT, CT_JSON_MATCH };

struct ct_tool {
    const char *name;              /* borrowed from the request */
    const json_t *params;          /* borrowed; NULL: any object */
    struct gw_schema *schema;      /* compiled at its first call */
};

struct gw_contract {
    struct ct_tool *tools;
    size_t ntools;
    enum ct_choice choice;
    const char *named;             /* CT_CHOICE_NAMED */
    enum ct_json json;             /* CT_JSON_MATCH: json_schema */
    const json_t *json_schema;     /* CT_JSON_MATCH; NULL: any JSON */
    struct gw_schema *rf_schema;
};

static const char *const problem_names[CT__COUNT] = {
    [CT_OK] = "ok",
    [CT_EMPTY_TOOL_TURN] = "empty_tool_turn",
    [CT_EMPTY_TURN] = "empty_turn",
    [CT_UNKNOWN_FUNCTION] = "unknown_function",
    [CT_BAD_TOOL_ARGS] = "bad_tool_args",
    [CT_TOOL_ARGS_SCHEMA] = "tool_args_schema",
    [CT_NOT_JSON] = "not_json",
    [CT_JSON_SCHEMA] = "json_schema",
};

const char *ct_problem_name(enum ct_problem p)
{
    return (unsigned)p < CT__COUNT ? problem_names[p] : "unknown";
}

static enum ct_problem verdict(struct ct_verdict *v, enum ct_problem p, int call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    v->problem = p;
    v->call = call;
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    return p;
}

static const char *function_name(const json_t *tool)
{
    const char *type = json_string_value(json_object_get(tool, "type"));
    if (type && strcmp(type, "function") != 0)
        return NULL;
    return json_string_value(json_object_get(json_object_get(tool, "function"), "name"));
}

static int read_tools(struct gw_contract *c, const json_t *body)
{
    const json_t *tools = json_object_get(body, "tools");
    const json_t *choice = json_object_get(body, "tool_choice");
    if (!json_is_array(tools) || json_array_size(tools) == 0)
        return 0;
    const char *cs = json_string_value(choice);
    if (cs && strcmp(cs, "none") == 0)
        return 0;
    if (cs && strcmp(cs, "required") == 0) {
        c->choice = CT_CHOICE_REQUIRED;
    } else if (json_is_object(choice)) {
        c->named = json_string_value(json_object_get(json_object_get(choice, "function"), "name"));
        if (c->named)
            c->choice = CT_CHOICE_NAMED;
    }
    c->tools = calloc(json_array_size(tools), sizeof *c->tools);
    if (!c->tools)
        return -1;
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t) {
        const char *name = function_name(t);
        if (!name)
            continue;
        struct ct_tool *ct = &c->tools[c->ntools++];
        ct->name = name;
        ct->params = json_object_get(json_object_get(t, "function"), "parameters");
    }
    return 0;
}

static void read_format(struct gw_contract *c, const json_t *body)
{
    const json_t *rf = json_object_get(body, "response_format");
    const char *type = json_string_value(json_object_get(rf, "type"));
    if (!type)
        return;
    if (strcmp(type, "json_object") == 0) {
        c->json = CT_JSON_OBJECT;
    } else if (strcmp(type, "json_schema") == 0) {
        c->json = CT_JSON_MATCH;
        c->json_schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
    }
}

struct gw_contract *gw_contract_new(const json_t *body, bool *oom)
{
    *oom = false;
    /* Several choices per answer are relayed unchecked: a corrective retry
     * could not repair one choice without redoing the others. */
    const json_t *n = json_object_get(body, "n");
    if (json_is_integer(n) && json_integer_value(n) > 1)
        return NULL;
    struct gw_contract *c = calloc(1, sizeof *c);
    if (!c || read_tools(c, body) < 0) {
        gw_contract_free(c);
        *oom = true;
        return NULL;
    }
    read_format(c, body);
    if (c->ntools == 0 && c->json == CT_JSON_NONE) {
        gw_contract_free(c);
        return NULL;
    }
    return c;
}

void gw_contract_free(struct gw_contract *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ntools; i++)
        gw_schema_put(c->tools[i].schema);
    free(c->tools);
    gw_schema_put(c->rf_schema);
    free(c);
}

bool gw_contract_json_content(const struct gw_contract *c)
{
    return c->json != CT_JSON_NONE;
}

void gw_contract_tool_names(const struct gw_contract *c, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->ntools && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", c->tools[i].name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

const char *gw_contract_choice(const struct gw_contract *c)
{
    return c->choice == CT_CHOICE_NAMED ? c->named : c->choice == CT_CHOICE_REQUIRED ? "required" : "auto";
}

static const struct ct_tool *find_tool(const struct gw_contract *c, const char *name)
{
    for (size_t i = 0; name && i < c->ntools; i++)
        if (strcmp(c->tools[i].name, name) == 0)
            return &c->tools[i];
    return NULL;
}

/* Validates v against schema (compiled into *slot on first use).  A schema
 * that does not compile, or nesting past jsv's depth guard, gives no
 * verdict: the gateway does not fail answers on grounds it cannot check.
 * Returns the jsv message on a violation, NULL otherwise (or on no memory). */
static const char *validate(const json_t *schema, struct gw_schema **slot, const json_t *v,
                            struct jsv_result *r)
{
    if (!schema)
        return NULL;
    if (!*slot && !(*slot = gw_schema_get(schema)))
        return NULL;
    if (!(*slot)->js)
        return NULL;
    return jsv_validate((*slot)->js, v, r) == JSV_INVALID ? r->message : NULL;
}

enum ct_problem gw_contract_check_call(struct gw_contract *c, int index, const char *name,
                                       const char *args, struct ct_verdict *v)
{
    struct ct_tool *t = (struct ct_tool *)find_tool(c, name);
    if (!t)
        return verdict(v, CT_UNKNOWN_FUNCTION, index,
                       "the tool call names function '%.100s', which is not among the offered "
                       "functions", name ? name : "(none)");
    if (c->choice == CT_CHOICE_NAMED && strcmp(name, c->named) != 0)
        return verdict(v, CT_UNKNOWN_FUNCTION, index,
                       "tool_choice requires function '%.100s', but the call is to '%.100s'", c->named,
                       name);
    json_error_t je;
    json_t *a = json_loads(args ? args : "", JSON_DECODE_ANY, &je);
    if (!a)
        return verdict(v, CT_BAD_TOOL_ARGS, index,
                       "arguments of %.100s are not valid JSON: %s at position %d (line %d, column %d)",
                       name, je.text, je.position, je.line, je.column);
    enum ct_problem p = CT_OK;
    struct jsv_result r;
    const char *why;
    if (!json_is_object(a))
        p = verdict(v, CT_BAD_TOOL_ARGS, index, "arguments of %.100s must be a JSON object", name);
    else if ((why = validate(t->params, &t->schema, a, &r)))
        p = verdict(v, CT_TOOL_ARGS_SCHEMA, index, "arguments of %.100s do not match its parameters "
                    "schema: %s", name, why);
    json_decref(a);
    return p;
}

static enum ct_problem check_content(struct gw_contract *c, const char *text, struct ct_verdict *v)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
        return verdict(v, CT_NOT_JSON, -1, "the reply is not valid JSON: %s at position %d (line %d, "
                       "column %d)", je.text, je.position, je.line, je.column);
    enum ct_problem p = CT_OK;
    struct jsv_result r;
    const char *why;
    if (c->json == CT_JSON_OBJECT && !json_is_object(j))
        p = verdict(v, CT_NOT_JSON, -1, "the reply is JSON but not a JSON object");
    else if (c->json == CT_JSON_MATCH && (why = validate(c->json_schema, &c->rf_schema, j, &r)))
        p = verdict(v, CT_JSON_SCHEMA, -1, "the reply does not match the response_format schema: %s",
                    why);
    json_decref(j);
    return p;
}

enum ct_problem gw_contract_check_message(struct gw_contract *c, const json_t *message,
                                          const char *finish_reason, struct ct_verdict *v)
{
    v->problem = CT_OK;
    v->call = -1;
    v->message[0] = '\0';
    const json_t *calls = json_object_get(message, "tool_calls");
    const char *content = json_string_value(json_object_get(message, "content"));
    const char *refusal = json_string_value(json_object_get(message, "refusal"));
    bool has_content = content && *content;
    size_t ncalls = json_is_array(calls) ? json_array_size(calls) : 0;
    bool cut = finish_reason && (strcmp(finish_reason, "length") == 0 ||
                                 strcmp(finish_reason, "content_filter") == 0);
    for (size_t i = 0; i < ncalls; i++) {
        const json_t *fn = json_object_get(json_array_get(calls, i), "function");
        if (gw_contract_check_call(c, (int)i, json_string_value(json_object_get(fn, "name")),
                                   json_string_value(json_object_get(fn, "arguments")), v) != CT_OK)
            return v->problem;
    }
    if (ncalls == 0 && c->ntools && c->choice != CT_CHOICE_AUTO && !cut && !(refusal && *refusal))
        return verdict(v, CT_EMPTY_TOOL_TURN, -1, "the request requires a tool call (tool_choice: "
                       "%.100s) and the reply has none", gw_contract_choice(c));
    if (ncalls == 0 && finish_reason && strcmp(finish_reason, "tool_calls") == 0)
        return verdict(v, CT_EMPTY_TOOL_TURN, -1, "the reply ends for a tool call (finish_reason "
                       "tool_calls) but contains none");
    if (ncalls == 0 && !has_content && !cut && !(refusal && *refusal))
        return verdict(v, CT_EMPTY_TURN, -1, "the reply is empty: neither content nor a tool call");
    if (ncalls == 0 && has_content && c->json != CT_JSON_NONE)
        return check_content(c, content, v);
    return CT_OK;
}

enum ct_problem gw_contract_check_answer(struct gw_contract *c, const char *body, size_t len,
                                         struct ct_verdict *v, json_t **turn)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    enum ct_problem p = gw_contract_check_completion(c, doc, v, turn);
    json_decref(doc);
    return p;
}

enum ct_problem gw_contract_check_completion(struct gw_contract *c, const json_t *doc,
                                             struct ct_verdict *v, json_t **turn)
{
    v->problem = CT_OK;
    const json_t *choices = json_object_get(doc, "choices");
    size_t i;
    const json_t *ch;
    json_array_foreach(choices, i, ch) {
        const json_t *msg = json_object_get(ch, "message");
        if (!json_is_object(msg))
            continue;
        const char *fr = json_string_value(json_object_get(ch, "finish_reason"));
        if (gw_contract_check_message(c, msg, fr, v) != CT_OK) {
            if (turn)
                *turn = json_incref((json_t *)msg);
            break;
        }
    }
    return v->problem;
}
