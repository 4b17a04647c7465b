/*
 * gw_cont: a streamed text answer that breaks after bytes reached the
 * client goes on at the next target.  While relaying, the chat remembers
 * what the client has seen (the stream's id, created and model, and the
 * text so far); the next target gets the request with that text appended as
 * an assistant message (the prefix to continue from), and its chunks are
 * re-stamped with the first stream's id, created and model, without a
 * second role delta, so the client reads one uninterrupted answer.
 *
 * Tool calls, several choices, or an answer that already finished cannot be
 * continued this way: the stream then ends with an explicit error event.
 *
 * Relaying pays almost nothing for this: the events are only copied aside
 * (bounded), and parsed if and when a continuation is actually needed.
 */
#include "gw_cont.h"

#include "gw_chat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Past this much stream, a continuation is not attempted (the prefix would
 * be a large request of its own). */
#define CONT_RAW_MAX (1024 * 1024)

static void cont_text(struct gw_chat *chat, const json_t *delta)
{
    const json_t *content = json_object_get(delta, "content");
    if (json_is_string(content) && evbuffer_add(chat->cont.text, json_string_value(content),
                                                json_string_length(content)) < 0)
        chat->cont.broken = true;
    if (json_object_get(delta, "tool_calls") || json_object_get(delta, "function_call"))
        chat->cont.broken = true;
}

/* The first choice's delta, or NULL when the chunk does not fit a single
 * text answer (which makes the answer impossible to continue). */
static json_t *single_delta(struct gw_chat *chat, json_t *chunk)
{
    json_t *choices = json_object_get(chunk, "choices");
    if (!json_is_array(choices))
        return NULL;
    if (json_array_size(choices) == 0)
        return NULL; /* the usage chunk */
    json_t *c0 = json_array_get(choices, 0);
    if (json_array_size(choices) > 1 || json_integer_value(json_object_get(c0, "index")) != 0)
        chat->cont.broken = true;
    if (!json_is_null(json_object_get(c0, "finish_reason")) && json_object_get(c0, "finish_reason"))
        chat->cont.finished = true;
    return json_object_get(c0, "delta");
}

void gw_cont_begin(struct gw_chat *chat)
{
    if (chat->chain->continue_streams && !chat->cont.raw && !(chat->cont.raw = evbuffer_new()))
        chat->cont.broken = true;
}

void gw_cont_observe(struct gw_chat *chat, const char *data, size_t len)
{
    if (chat->cont.broken || !chat->chain->continue_streams || !chat->cont.raw)
        return;
    /* A tool call cannot be continued: stop collecting at once. */
    if (memmem(data, len, "\"tool_calls\"", 12) || memmem(data, len, "\"function_call\"", 15) ||
        evbuffer_get_length(chat->cont.raw) + len + 4 > CONT_RAW_MAX) {
        chat->cont.broken = true;
        return;
    }
    uint32_t n = (uint32_t)len;
    if (evbuffer_add(chat->cont.raw, &n, sizeof n) < 0 || evbuffer_add(chat->cont.raw, data, len) < 0)
        chat->cont.broken = true;
}

/* Parses what the client was sent: the stream's identity and its text. */
static void replay(struct gw_chat *chat)
{
    chat->cont.text = evbuffer_new();
    if (!chat->cont.text) {
        chat->cont.broken = true;
        return;
    }
    struct evbuffer *raw = chat->cont.raw;
    while (!chat->cont.broken && evbuffer_get_length(raw) >= 4) {
        uint32_t n;
        evbuffer_remove(raw, &n, sizeof n);
        const char *data = (const char *)evbuffer_pullup(raw, n);
        json_t *j = data ? json_loadb(data, n, 0, NULL) : NULL;
        evbuffer_drain(raw, n);
        if (!j || !json_is_object(j)) {
            chat->cont.broken = true;
            json_decref(j);
            break;
        }
        if (!chat->cont.id) {
            chat->cont.id = json_incref(json_object_get(j, "id"));
            chat->cont.created = json_incref(json_object_get(j, "created"));
            chat->cont.model = json_incref(json_object_get(j, "model"));
        }
        json_t *delta = single_delta(chat, j);
        if (delta)
            cont_text(chat, delta);
        json_decref(j);
    }
}

bool gw_cont_possible(struct gw_chat *chat)
{
    if (!chat->chain->continue_streams || chat->cont.broken)
        return false;
    if (!chat->cont.text)
        replay(chat);
    return !chat->cont.broken && !chat->cont.finished && chat->cont.id && chat->cont.text;
}

bool gw_cont_recording(const struct gw_chat *chat)
{
    return chat->chain->continue_streams && chat->cont.raw && !chat->cont.broken;
}

bool gw_cont_finished(struct gw_chat *chat)
{
    if (!chat->cont.raw && !chat->cont.text)
        return false;
    if (!chat->cont.text)
        replay(chat);
    return chat->cont.finished;
}

json_t *gw_cont_body(struct gw_chat *chat)
{
    json_t *body = json_deep_copy(gw_chat_body(chat));
    json_t *messages = body ? json_object_get(body, "messages") : NULL;
    size_t len = evbuffer_get_length(chat->cont.text);
    if (len == 0)
        return body; /* nothing shown yet but the role: the request as it was */
    json_t *prefix = json_pack("{s:s, s:s%}", "role", "assistant", "content",
                               (const char *)evbuffer_pullup(chat->cont.text, -1), len);
    if (!messages || !prefix || json_array_append_new(messages, prefix) < 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

int gw_cont_relay(struct gw_chat *chat, const char *data, size_t len, bool done)
{
    if (!chat->req)
        return -1;
    if (done)
        return gw_out_done(chat);
    json_t *j = json_loadb(data, len, 0, NULL);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    json_t *delta = single_delta(chat, j);
    if (delta) {
        /* The client saw the role once, at the start of the answer. */
        json_object_del(delta, "role");
        cont_text(chat, delta);
        json_t *c0 = json_array_get(json_object_get(j, "choices"), 0);
        const json_t *content = json_object_get(delta, "content");
        bool empty = json_object_size(delta) == 0 ||
                     (json_object_size(delta) == 1 && json_is_string(content) && json_string_length(content) == 0);
        if (empty && json_is_null(json_object_get(c0, "finish_reason"))) {
            json_decref(j);
            return 0;
        }
    }
    json_object_set(j, "id", chat->cont.id);
    if (chat->cont.created)
        json_object_set(j, "created", chat->cont.created);
    if (chat->cont.model)
        json_object_set(j, "model", chat->cont.model);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return -1;
    int rc = gw_out_chunk(chat, text, strlen(text));
    free(text);
    return rc;
}

void gw_cont_free(struct gw_cont *cont)
{
    if (cont->raw)
        evbuffer_free(cont->raw);
    json_decref(cont->id);
    json_decref(cont->created);
    json_decref(cont->model);
    if (cont->text)
        evbuffer_free(cont->text);
}
