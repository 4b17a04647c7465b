/*
 * gw_contract: what a request obliges its answer to be, and the check of an
 * answer (OpenAI format; every adapter translates to it before the gateway
 * relays) against it.
 *
 * A contract exists when the request offers tools (tool_choice other than
 * "none") or asks for response_format json_object / json_schema.  Requests
 * without one pay nothing: no contract is built and the relay stays byte for
 * byte.  Schemas are compiled lazily, at the first call that needs one, and
 * shared through the worker's schema cache (gw_schema_cache.h).
 *
 * Ownership: a contract is owned by its chat (gw_contract_new .. _free) and
 * borrows from the chat's parsed request body, which outlives it.
 */
#ifndef BS_GW_CONTRACT_H
#define BS_GW_CONTRACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum ct_problem {
    CT_OK = 0,
    CT_EMPTY_TOOL_TURN,    /* a call was required, or finish_reason says tool_calls, and none came */
    CT_EMPTY_TURN,         /* neither content nor tool calls */
    CT_UNKNOWN_FUNCTION,   /* a call to a function not offered (or not the one named) */
    CT_BAD_TOOL_ARGS,      /* arguments that are not a JSON object */
    CT_TOOL_ARGS_SCHEMA,   /* arguments that break the tool's parameters schema */
    CT_NOT_JSON,           /* response_format: content that is not a JSON object / JSON */
    CT_JSON_SCHEMA,        /* response_format json_schema: content that breaks the schema */
    CT__COUNT
};

/* "empty_tool_turn", "bad_tool_args", ...: the names in headers and events. */
const char *ct_problem_name(enum ct_problem p);

#define CT_MSG_MAX 640

struct ct_verdict {
    enum ct_problem problem;
    int call;                  /* index of the offending tool call, -1 for the turn */
    /* One line naming the exact problem, fit to send back to the model:
     * `arguments of get_weather are not valid JSON: ... at position 12`,
     * `arguments of get_weather: $.city: expected type string, got integer`. */
    char message[CT_MSG_MAX];
};

struct gw_contract;

/* The contract body's request sets, or NULL when it sets none.  *oom is set
 * when memory ran out (the caller then fails the request). */
struct gw_contract *gw_contract_new(const json_t *body, bool *oom);
void gw_contract_free(struct gw_contract *c);
bool gw_contract_json_content(const struct gw_contract *c);   /* response_format applies */
/* The offered functions' names, comma separated (for a corrective message). */
void gw_contract_tool_names(const struct gw_contract *c, char *buf, size_t cap);
const char *gw_contract_choice(const struct gw_contract *c);   /* "auto", "required", name */

/* Checks one assistant message ({content, tool_calls, refusal}) with its
 * finish_reason (NULL when absent).  Returns CT_OK or the first problem,
 * with v filled. */
enum ct_problem gw_contract_check_message(struct gw_contract *c, const json_t *message,
                                          const char *finish_reason, struct ct_verdict *v);
/* One tool call, as soon as its arguments are complete (streams). */
enum ct_problem gw_contract_check_call(struct gw_contract *c, int index, const char *name,
                                       const char *args, struct ct_verdict *v);
/* A whole non-stream answer (a chat.completion).  An answer that is not a
 * completion at all is not this module's business: CT_OK.  On a problem,
 * *turn (if given) receives a new reference to the offending message. */
enum ct_problem gw_contract_check_answer(struct gw_contract *c, const char *body, size_t len,
                                         struct ct_verdict *v, json_t **turn);
/* The same on a parsed chat.completion. */
enum ct_problem gw_contract_check_completion(struct gw_contract *c, const json_t *doc,
                                             struct ct_verdict *v, json_t **turn);

#endif
