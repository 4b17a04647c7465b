/*
 * ad_params: the OpenAI request parameters every translating adapter reads
 * the same way (max tokens, stop sequences, tool call arguments, tool
 * choice), so the checks and the error messages agree across providers.
 * Internal to gateway/ad_*.c and their tests.
 */
#ifndef BS_AD_PARAMS_H
#define BS_AD_PARAMS_H

#include "ad_common.h"

/* max_completion_tokens, else max_tokens: *n (left alone when neither is
 * given).  -1 with a client error when the value is not a positive
 * integer. */
int ad_max_tokens(const json_t *req, json_int_t *n, struct ad_error *err);

/* "stop" (string, array or null) as a new array of its non-empty strings
 * (*out NULL when there are none). */
int ad_stop_list(const json_t *req, json_t **out, struct ad_error *err);

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

enum ad_choice { AD_CHOICE_AUTO, AD_CHOICE_ANY, AD_CHOICE_NONE, AD_CHOICE_NAMED };

/* tool_choice: its kind, the forced function's name (AD_CHOICE_NAMED) and,
 * for allowed_tools, the list the tools are cut to (else NULL).  Absent
 * means auto.  -1 with a client error naming provider when it is not a
 * choice the provider can express. */
int ad_tool_choice(const json_t *req, const char *provider, enum ad_choice *kind, const char **name,
                   const json_t **allowed, struct ad_error *err);
/* Whether name is in an allowed_tools list. */
bool ad_allowed_has(const json_t *allowed, const char *name);
/* The request's tools (an array, checked) that allowed (NULL: all) lets
 * through, each made by one(tools[i], i) into a new array. */
json_t *ad_tools_map(const json_t *list, const json_t *allowed,
                     json_t *(*one)(const json_t *tool, size_t i, struct ad_error *err), struct ad_error *err);

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

#endif
