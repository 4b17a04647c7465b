/*
 * gw_repair_body: the corrective request.  The client's request, with the
 * broken assistant turn appended and a message that names the exact
 * problem: every tool call of the turn gets its tool result (the API
 * requires one per call id), the broken one the error, and a closing user
 * message asks for the corrected turn.  Built in OpenAI's shape: a target of
 * another format gets it through its adapter like any request.  An empty turn is not appended
 * (several APIs reject an assistant message with neither content nor calls):
 * the user message alone says what was missing.
 */
#include "gw_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_message(json_t *msgs, const char *role, const char *content)
{
    return json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", role, "content", content));
}

/* Arguments that are not a JSON object cannot be sent back as they are
 * (an Anthropic tool_use input, and several OpenAI-compatible servers,
 * must be an object): the model sees its text wrapped in one. */
static void wrap_arguments(json_t *fn)
{
    const char *args = json_string_value(json_object_get(fn, "arguments"));
    json_t *a = json_loads(args ? args : "", 0, NULL);
    bool ok = json_is_object(a);
    json_decref(a);
    if (ok)
        return;
    json_t *w = json_pack("{s:s}", "invalid_arguments", args ? args : "");
    char *text = w ? json_dumps(w, JSON_COMPACT) : NULL;
    if (text)
        json_object_set_new(fn, "arguments", json_string(text));
    free(text);
    json_decref(w);
}

/* The broken turn, with an id on every call (tool results need one) and
 * arguments every API takes back. */
static json_t *assistant_turn(const json_t *turn)
{
    json_t *t = json_deep_copy(turn);
    json_t *calls = json_object_get(t, "tool_calls");
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c) {
        if (!json_is_string(json_object_get(c, "id"))) {
            char id[48];
            snprintf(id, sizeof id, "call_backstop_%zu", i);
            json_object_set_new(c, "id", json_string(id));
        }
        wrap_arguments(json_object_get(c, "function"));
    }
    if (t) {
        json_object_set_new(t, "role", json_string("assistant"));
        json_object_del(t, "refusal");
        json_object_del(t, "annotations");
    }
    return t;
}

static int add_tool_results(json_t *msgs, const json_t *turn, const struct ct_verdict *v)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(turn, "tool_calls"), i, c) {
        char text[CT_MSG_MAX + 64];
        if ((int)i == v->call)
            snprintf(text, sizeof text, "Error, the call was not executed: %s", v->message);
        else
            snprintf(text, sizeof text, "Not executed: another call in the same turn was invalid.");
        json_t *m = json_pack("{s:s, s:O, s:s}", "role", "tool", "tool_call_id",
                              json_object_get(c, "id"), "content", text);
        if (json_array_append_new(msgs, m) < 0)
            return -1;
    }
    return 0;
}

static void instruction(const struct gw_chat *chat, char *buf, size_t cap)
{
    const struct ct_verdict *v = &chat->rp.v;
    char names[256];
    gw_contract_tool_names(chat->contract, names, sizeof names);
    switch (v->problem) {
    case CT_EMPTY_TOOL_TURN:
        snprintf(buf, cap, "Your previous reply was invalid: %s. Reply with a call to one of the offered "
                 "functions (%s).", v->message, names);
        break;
    case CT_EMPTY_TURN:
        snprintf(buf, cap, "Your previous reply was invalid: %s. Reply to the conversation above.",
                 v->message);
        break;
    case CT_NOT_JSON:
    case CT_JSON_SCHEMA:
        snprintf(buf, cap, "Your previous reply was invalid: %s. Reply again with only the corrected "
                 "JSON, nothing else.", v->message);
        break;
    default:
        snprintf(buf, cap, "Your previous tool call was invalid: %s. Call the function again with "
                 "corrected arguments; the offered functions are: %s.", v->message, names);
        break;
    }
}

json_t *gw_repair_body(struct gw_chat *chat)
{
    const struct gw_repair *rp = &chat->rp;
    json_t *body = json_copy(gw_chat_body(chat));
    json_t *msgs = json_copy(json_object_get(body, "messages"));
    if (!body || !msgs || json_object_set(body, "messages", msgs) < 0)
        goto fail;
    const json_t *calls = json_object_get(rp->turn, "tool_calls");
    const char *content = json_string_value(json_object_get(rp->turn, "content"));
    bool empty = json_array_size(calls) == 0 && !(content && *content);
    json_t *turn = empty ? NULL : assistant_turn(rp->turn);
    if (!empty && (!turn || json_array_append_new(msgs, turn) < 0 || add_tool_results(msgs, turn, &rp->v) < 0))
        goto fail;
    char text[CT_MSG_MAX + 512];
    instruction(chat, text, sizeof text);
    if (add_message(msgs, "user", text) < 0)
        goto fail;
    json_decref(msgs);
    return body;
fail:
    json_decref(msgs);
    json_decref(body);
    return NULL;
}
