/*
 * ad_inbound_anthropic_stream: OpenAI chunks as Anthropic's event sequence:
 * message_start, then per content block content_block_start,
 * content_block_delta..., content_block_stop, then message_delta (with
 * stop_reason and usage) and message_stop.
 *
 * Anthropic blocks are strictly sequential, OpenAI deltas are not bound to
 * be: a text block opens on the first text, a new tool call index closes
 * whatever is open and starts a tool_use block.  message_delta waits for
 * [DONE], since usage comes in the chunk after the finish_reason.  A delta
 * for a tool call whose block was already closed cannot be expressed and
 * ends the stream with an error event (OpenAI itself never interleaves).
 */
#include "ad_inbound_anthropic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum open_kind { OPEN_NONE, OPEN_TEXT, OPEN_TOOL };

struct ad_in_stream {
    char *model;
    ad_in_write_fn write;
    void *arg;
    bool started, ended;
    enum open_kind open;
    int index;               /* Anthropic index of the open block; next one when none */
    json_int_t tool;         /* OpenAI index of the open (or last) tool call */
    const char *finish;      /* a static string from ad_in_stop_reason */
    json_t *usage;           /* OpenAI usage, once it came */
};

struct ad_in_stream *ad_in_stream_new(const char *model, ad_in_write_fn write, void *arg)
{
    struct ad_in_stream *s = calloc(1, sizeof *s);
    if (!s || (model && !(s->model = strdup(model)))) {
        free(s);
        return NULL;
    }
    s->write = write;
    s->arg = arg;
    s->tool = -1;
    return s;
}

void ad_in_stream_free(struct ad_in_stream *s)
{
    if (!s)
        return;
    json_decref(s->usage);
    free(s->model);
    free(s);
}

bool ad_in_stream_ended(const struct ad_in_stream *s)
{
    return s->ended;
}

/* Writes one event (data stolen); its "type" is the event name. */
static int event(struct ad_in_stream *s, json_t *data)
{
    char *text = data ? json_dumps(data, AD_JSON_FLAGS) : NULL;
    const char *name = ad_str(data, "type");
    char *sse = NULL;
    int n = text && name ? asprintf(&sse, "event: %s\ndata: %s\n\n", name, text) : -1;
    json_decref(data);
    free(text);
    if (n < 0)
        return -1;
    int rc = s->write(s->arg, sse, (size_t)n);
    free(sse);
    return rc;
}

static int error_event(struct ad_in_stream *s, const char *type, const char *msg)
{
    s->ended = true;
    int rc = event(s, json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type, "message", msg));
    return rc ? rc : -1;
}

static int start(struct ad_in_stream *s, const json_t *chunk)
{
    if (s->started)
        return 0;
    s->started = true;
    char *id = ad_in_message_id(ad_str(chunk, "id"));
    const char *model = s->model ? s->model : ad_str(chunk, "model");
    json_t *msg = id ? json_pack("{s:s, s:s, s:s, s:[], s:s, s:n, s:n, s:{s:i, s:i}}", "id", id, "type", "message",
                                 "role", "assistant", "content", "model", model ? model : "unknown", "stop_reason",
                                 "stop_sequence", "usage", "input_tokens", 0, "output_tokens", 0)
                     : NULL;
    free(id);
    return event(s, msg ? json_pack("{s:s, s:o}", "type", "message_start", "message", msg) : NULL);
}

static int close_block(struct ad_in_stream *s)
{
    if (s->open == OPEN_NONE)
        return 0;
    s->open = OPEN_NONE;
    return event(s, json_pack("{s:s, s:i}", "type", "content_block_stop", "index", s->index++));
}

static int open_block(struct ad_in_stream *s, enum open_kind kind, json_t *block)
{
    int rc = close_block(s);
    if (rc) {
        json_decref(block);
        return rc;
    }
    s->open = kind;
    return event(s, block ? json_pack("{s:s, s:i, s:o}", "type", "content_block_start", "index", s->index,
                                      "content_block", block)
                          : NULL);
}

static int text(struct ad_in_stream *s, const json_t *t)
{
    if (!json_string_length(t))
        return 0;
    int rc = 0;
    if (s->open != OPEN_TEXT)
        rc = open_block(s, OPEN_TEXT, json_pack("{s:s, s:s}", "type", "text", "text", ""));
    return rc ? rc
              : event(s, json_pack("{s:s, s:i, s:{s:s, s:O}}", "type", "content_block_delta", "index", s->index,
                                   "delta", "type", "text_delta", "text", t));
}

static int tool_delta(struct ad_in_stream *s, const json_t *tc)
{
    const json_t *idx = json_object_get(tc, "index");
    json_int_t i = json_is_integer(idx) ? json_integer_value(idx) : s->tool < 0 ? 0 : s->tool;
    const json_t *fn = json_object_get(tc, "function");
    int rc = 0;
    if (s->open != OPEN_TOOL || i != s->tool) {
        if (i <= s->tool)
            return error_event(s, "api_error", "tool call deltas arrived out of order");
        char gen[32];
        snprintf(gen, sizeof gen, "toolu_%lld", (long long)i);
        const char *id = ad_str(tc, "id");
        const char *name = ad_str(fn, "name");
        s->tool = i;
        rc = open_block(s, OPEN_TOOL, json_pack("{s:s, s:s, s:s, s:{}}", "type", "tool_use", "id", id ? id : gen,
                                                "name", name ? name : "", "input"));
    }
    const json_t *args = json_object_get(fn, "arguments");
    if (rc || !json_string_length(args))
        return rc;
    return event(s, json_pack("{s:s, s:i, s:{s:s, s:O}}", "type", "content_block_delta", "index", s->index, "delta",
                              "type", "input_json_delta", "partial_json", args));
}

static int choice(struct ad_in_stream *s, const json_t *c)
{
    const json_t *d = json_object_get(c, "delta");
    int rc = text(s, json_object_get(d, "content"));
    if (!rc)
        rc = text(s, json_object_get(d, "refusal"));
    size_t i;
    const json_t *tc;
    json_array_foreach(json_object_get(d, "tool_calls"), i, tc) {
        if (rc)
            break;
        rc = tool_delta(s, tc);
    }
    const char *finish = ad_str(c, "finish_reason");
    if (!rc && finish) {
        s->finish = ad_in_stop_reason(finish);
        rc = close_block(s);
    }
    return rc;
}

static int chunk(struct ad_in_stream *s, const char *text_, size_t len)
{
    json_t *doc = json_loadb(text_, len, 0, NULL);
    int rc;
    if (!json_is_object(doc)) {
        rc = error_event(s, "api_error", "upstream sent an unusable chunk");
    } else {
        rc = start(s, doc);
        const json_t *u = json_object_get(doc, "usage");
        if (json_is_object(u)) {
            json_decref(s->usage);
            s->usage = json_incref((json_t *)u);
        }
        size_t i;
        const json_t *c;
        /* Only choice 0: an Anthropic message is one answer. */
        json_array_foreach(json_object_get(doc, "choices"), i, c)
            if (!rc && ad_uint(c, "index", 0) == 0)
                rc = choice(s, c);
    }
    json_decref(doc);
    return rc;
}

static int finish(struct ad_in_stream *s)
{
    int rc = start(s, NULL);
    if (!rc)
        rc = close_block(s);
    if (rc)
        return rc;
    s->ended = true;
    json_t *usage = ad_in_usage(s->usage);
    rc = event(s, usage ? json_pack("{s:s, s:{s:s, s:n}, s:o}", "type", "message_delta", "delta", "stop_reason",
                                    s->finish ? s->finish : "end_turn", "stop_sequence", "usage", usage)
                        : NULL);
    return rc ? rc : event(s, json_pack("{s:s}", "type", "message_stop"));
}

/* The Anthropic type of a stream error: its class's, unless the OpenAI
 * error body that came with it names a case Anthropic has its own type for
 * (the codes ad_anthropic_openai_error gives overload and timeout). */
static const char *stream_error_type(const struct ad_error *error, const char *body, size_t len)
{
    json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *code = ad_str(json_object_get(doc, "error"), "code");
    const char *type = ad_in_error_type_class(error->fail);
    if (code && strcmp(code, "overloaded") == 0)
        type = "overloaded_error";
    else if (code && strcmp(code, "timeout") == 0)
        type = "timeout_error";
    json_decref(doc);
    return type;
}

int ad_in_stream_emit(void *arg, const char *chunk_text, size_t len, bool done, const struct ad_error *error)
{
    struct ad_in_stream *s = arg;
    if (s->ended)
        return 0;
    if (error)
        return error_event(s, stream_error_type(error, chunk_text, len), error->message);
    if (done)
        return finish(s);
    return chunk(s, chunk_text, len);
}
