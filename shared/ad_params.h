/*
 * ad_params: the OpenAI request as every translating adapter reads it
 * (sampling parameters, message parts, tool calls, tools and tool_choice),
 * checked once so the checks and the error messages agree across
 * providers; each adapter only decides where the values go.  Internal to
 * shared/ad_*.c and their tests.
 */
#ifndef BS_AD_PARAMS_H
#define BS_AD_PARAMS_H

#include "ad_common.h"

/* ---- parameters (ad_params.c) ---- */

/* Each returns 1 with the value when the request gives it, 0 when it does
 * not (the output left alone, or NULL for new values), -1 with a client
 * error naming the key when it is malformed. */
/* max_completion_tokens, else max_tokens: a positive integer. */
int ad_max_tokens(const json_t *req, json_int_t *n, struct ad_error *err);
/* temperature clamped to 0..1 (Anthropic's and Bedrock's range). */
int ad_temperature01(const json_t *req, double *v, struct ad_error *err);
/* top_p (borrowed). */
int ad_top_p(const json_t *req, const json_t **v, struct ad_error *err);
/* "stop" (string, array or null) as a new array of its non-empty strings
 * (0 and *out NULL when none is left). */
int ad_stop_list(const json_t *req, json_t **out, struct ad_error *err);

/* ---- messages (ad_params.c) ---- */

/* A tool call's function.arguments as a new JSON object: a JSON string
 * holding an object, an object itself (lenient clients), or nothing / ""
 * for a call without arguments.  mi, ci: where it stands, for the error. */
json_t *ad_tool_args(const json_t *args, size_t mi, size_t ci, struct ad_error *err);

/* messages[mi].tool_calls[ci]: its id, function name (both non-empty,
 * borrowed) and arguments as a new object (ad_tool_args). */
int ad_tool_call(const json_t *call, size_t mi, size_t ci, const char **id, const char **name, json_t **args,
                 struct ad_error *err);

/* An image_url that is a base64 data URL: *mime (malloc'd, non-empty) and
 * *data (inside url, non-empty); else a client error naming the part. */
int ad_image_data(const char *url, size_t mi, size_t pi, char **mime, const char **data, struct ad_error *err);

/* What one message's content parts become, per provider.  arg is the
 * adapter's own (the list being filled). */
struct ad_part_ops {
    const char *provider;     /* for errors: "a file part cannot be sent to <provider> here" */
    int (*text)(void *arg, const char *text, struct ad_error *err);
    /* url: the image_url part's URL (present, else the walk failed) */
    int (*image)(void *arg, const char *url, size_t mi, size_t pi, struct ad_error *err);
};
/* Walks content (a string, an array of parts, or null) of messages[mi]:
 * text parts (and refusal parts when refusal) to ops->text, image_url
 * parts (when images) to ops->image; any other part fails naming it. */
int ad_content_parts(const json_t *content, size_t mi, bool images, bool refusal, const struct ad_part_ops *ops,
                     void *arg, struct ad_error *err);

/* ---- tools (ad_tools.c) ---- */

enum ad_choice_kind { AD_CHOICE_AUTO, AD_CHOICE_ANY, AD_CHOICE_NONE, AD_CHOICE_NAMED };

/* A tool_choice: auto (also when absent), required (any), none, one named
 * function, or allowed_tools (auto or required over the tools it lists). */
struct ad_choice {
    enum ad_choice_kind kind;
    const char *name;          /* AD_CHOICE_NAMED: borrowed from the request */
    const json_t *allowed;     /* allowed_tools' list, or NULL: all */
};
/* -1 with a client error naming provider when it is none of these. */
int ad_tool_choice(const json_t *req, struct ad_choice *out, const char *provider, struct ad_error *err);
/* Whether the choice lets the tool named name be offered. */
bool ad_tool_allowed(const struct ad_choice *c, const char *name);
/* The request's tools (an array, checked) that c lets through, each made
 * by one(tools[i], i) into a new array. */
json_t *ad_tools_map(const json_t *list, const struct ad_choice *c,
                     json_t *(*one)(const json_t *tool, size_t i, struct ad_error *err), struct ad_error *err);
/* tools[i]'s function object, checked: a function tool with a name
 * (borrowed); NULL with a client error naming provider otherwise. */
const json_t *ad_tool_function(const json_t *tool, size_t i, const char *provider, struct ad_error *err);
/* tools[i] checked (ad_tool_function) and its parameters as a new object
 * schema ({"type":"object","properties":{}} when absent); NULL with err
 * set otherwise. */
json_t *ad_tool_schema(const json_t *tool, size_t i, const char *provider, struct ad_error *err);

/* response_format: 0 when no JSON is wanted (absent, null or "text"), 1
 * when it is, with *schema the json_schema's schema (an object, borrowed)
 * or NULL for json_object, and *desc its description (or NULL); -1 with a
 * client error when it is malformed or of another type. */
int ad_response_format(const json_t *req, const json_t **schema, const char **desc, struct ad_error *err);

/* When JSON is wanted and the provider has no way to force it (or the
 * client's own tools are in play), the model is asked for it in the
 * system prompt: append(body, line) adds each line of the instruction,
 * and the schema's line when schema is given.  0 or -1 (err set). */
int ad_json_instruction(json_t *body, const json_t *schema,
                        int (*append)(json_t *body, const char *text, struct ad_error *err), struct ad_error *err);

#endif
