/*
 * ad_anthropic_stream: Anthropic's named SSE events as OpenAI
 * chat.completion.chunks, as they arrive.
 *
 * Anthropic numbers all content blocks (text, thinking, tool_use) in one
 * sequence; OpenAI numbers tool calls only, from 0.  Each block remembers
 * what it is and, for a tool call, its OpenAI index.  Usage comes in
 * message_start and is updated (cumulatively) by message_delta; it goes out
 * in the extra usage chunk when the client asked for include_usage.
 */
#include "ad_anthropic.h"

#include <stdlib.h>
#include <string.h>

enum blk_kind { BLK_NONE = 0, BLK_TEXT, BLK_TOOL, BLK_JSON, BLK_OTHER };

struct blk {
    enum blk_kind kind;
    int tool;                /* OpenAI tool index (BLK_TOOL) */
    bool args;               /* a non-empty input fragment went out */
    json_t *input;           /* the input given at block start */
};

struct anth {
    char *id;
    char *model;             /* upstream's, when the client's is not known */
    json_int_t created;
    bool started;
    bool finished;           /* the finish_reason chunk went out */
    int tools;
    struct blk *blk;
    size_t nblk;
    json_int_t in, cache_read, cache_write, out;
};

static void anth_free(void *p)
{
    struct anth *a = p;
    for (size_t i = 0; i < a->nblk; i++)
        json_decref(a->blk[i].input);
    free(a->blk);
    free(a->id);
    free(a->model);
    free(a);
}

struct ad_stream *ad_anthropic_stream_new(const char *model, bool include_usage)
{
    struct anth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->created = (json_int_t)ad_clock();
    return ad_stream_new(model, include_usage, a, anth_free);
}

static int emit_delta(struct ad_stream *s, json_t *delta, const char *finish, bool content)
{
    struct anth *a = s->impl;
    const char *model = s->model ? s->model : a->model ? a->model : "unknown";
    return ad_stream_chunk(s, ad_openai_chunk(a->id, a->created, model, delta, finish, s->include_usage, NULL),
                           content);
}

/* A delta chunk whose delta may have failed to build. */
static int emit_built(struct ad_stream *s, json_t *delta, bool content)
{
    if (!delta)
        return ad_stream_fail(s, FAIL_INTERNAL, NULL, "out of memory");
    return emit_delta(s, delta, NULL, content);
}

static int emit_text(struct ad_stream *s, const char *text, size_t len)
{
    if (len == 0)
        return 0;
    return emit_built(s, json_pack("{s:s%}", "content", text, len), true);
}

static int emit_args(struct ad_stream *s, int tool, const char *args, size_t len)
{
    json_t *d = json_pack("{s:[{s:i, s:{s:s%}}]}", "tool_calls", "index", tool, "function", "arguments", args, len);
    return emit_built(s, d, true);
}

static void take_usage(struct anth *a, const json_t *u)
{
    a->in = ad_uint(u, "input_tokens", a->in);
    a->cache_read = ad_uint(u, "cache_read_input_tokens", a->cache_read);
    a->cache_write = ad_uint(u, "cache_creation_input_tokens", a->cache_write);
    a->out = ad_uint(u, "output_tokens", a->out);
}

static int on_start(struct ad_stream *s, const json_t *ev)
{
    struct anth *a = s->impl;
    const json_t *msg = json_object_get(ev, "message");
    if (a->started || !json_is_object(msg))
        return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream message_start is repeated or has no message");
    const char *id = ad_str(msg, "id");
    const char *model = ad_str(msg, "model");
    a->started = true;
    if (!(a->id = strdup(id ? id : "msg_unknown")) || (model && !(a->model = strdup(model))))
        return ad_stream_fail(s, FAIL_INTERNAL, NULL, "out of memory");
    take_usage(a, json_object_get(msg, "usage"));
    return emit_built(s, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), false);
}

/* The block an event names; NULL (after failing the stream) when the index
 * is unusable.  create: the event starts the block. */
static struct blk *block(struct ad_stream *s, const json_t *ev, bool create)
{
    struct anth *a = s->impl;
    const json_t *idx = json_object_get(ev, "index");
    json_int_t i = json_is_integer(idx) ? json_integer_value(idx) : -1;
    if (i < 0 || i >= AD_ANTHROPIC_MAX_BLOCKS) {
        ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream content block index missing or out of range");
        return NULL;
    }
    if ((size_t)i >= a->nblk) {
        if (!create) {
            ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream event for content block %lld that never started",
                           (long long)i);
            return NULL;
        }
        struct blk *b = realloc(a->blk, ((size_t)i + 1) * sizeof *b);
        if (!b) {
            ad_stream_fail(s, FAIL_INTERNAL, NULL, "out of memory");
            return NULL;
        }
        memset(b + a->nblk, 0, ((size_t)i + 1 - a->nblk) * sizeof *b);
        a->blk = b;
        a->nblk = (size_t)i + 1;
    }
    struct blk *b = &a->blk[i];
    if (!create && b->kind == BLK_NONE) {
        ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream event for content block %lld that never started",
                       (long long)i);
        return NULL;
    }
    return b;
}

static int on_block_start(struct ad_stream *s, const json_t *ev)
{
    struct anth *a = s->impl;
    struct blk *b = block(s, ev, true);
    if (!b)
        return -1;
    const json_t *cb = json_object_get(ev, "content_block");
    const char *type = ad_str(cb, "type");
    json_decref(b->input);
    memset(b, 0, sizeof *b);
    b->kind = BLK_OTHER;
    if (type && strcmp(type, "text") == 0) {
        b->kind = BLK_TEXT;
        const json_t *t = json_object_get(cb, "text");
        return emit_text(s, json_string_value(t), json_string_length(t));
    }
    if (!type || strcmp(type, "tool_use") != 0)
        return 0; /* thinking, redacted_thinking, server tools: not for OpenAI clients */
    const char *id = ad_str(cb, "id");
    const char *name = ad_str(cb, "name");
    if (!id || !name)
        return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream tool_use block without id or name");
    const json_t *input = json_object_get(cb, "input");
    if (json_is_object(input) && json_object_size(input))
        b->input = json_incref((json_t *)input);
    if (strcmp(name, AD_ANTHROPIC_JSON_TOOL) == 0) {
        b->kind = BLK_JSON;
        return 0;
    }
    b->kind = BLK_TOOL;
    b->tool = a->tools++;
    json_t *d = json_pack("{s:[{s:i, s:s, s:s, s:{s:s, s:s}}]}", "tool_calls", "index", b->tool, "id", id, "type",
                          "function", "function", "name", name, "arguments", "");
    return emit_built(s, d, true);
}

static int on_block_delta(struct ad_stream *s, const json_t *ev)
{
    struct blk *b = block(s, ev, false);
    if (!b)
        return -1;
    const json_t *d = json_object_get(ev, "delta");
    const char *type = ad_str(d, "type");
    if (!type)
        return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream content_block_delta without a delta type");
    if (strcmp(type, "text_delta") == 0) {
        const json_t *t = json_object_get(d, "text");
        return emit_text(s, json_string_value(t), json_string_length(t));
    }
    if (strcmp(type, "input_json_delta") != 0 || (b->kind != BLK_TOOL && b->kind != BLK_JSON))
        return 0; /* thinking, signatures, citations */
    const json_t *pj = json_object_get(d, "partial_json");
    size_t len = json_string_length(pj);
    if (len == 0)
        return 0;
    b->args = true;
    if (b->kind == BLK_JSON)
        return emit_text(s, json_string_value(pj), len);
    return emit_args(s, b->tool, json_string_value(pj), len);
}

static int on_block_stop(struct ad_stream *s, const json_t *ev)
{
    struct blk *b = block(s, ev, false);
    if (!b)
        return -1;
    if ((b->kind != BLK_TOOL && b->kind != BLK_JSON) || b->args)
        return 0;
    /* No fragment came: the input given at the start is the whole input,
     * and an empty one is {} (an empty arguments string is not JSON). */
    char *text = b->input ? json_dumps(b->input, AD_JSON_FLAGS) : strdup("{}");
    if (!text)
        return ad_stream_fail(s, FAIL_INTERNAL, NULL, "out of memory");
    b->args = true;
    int rc = b->kind == BLK_JSON ? emit_text(s, text, strlen(text)) : emit_args(s, b->tool, text, strlen(text));
    free(text);
    return rc;
}

static int on_message_delta(struct ad_stream *s, const json_t *ev)
{
    struct anth *a = s->impl;
    take_usage(a, json_object_get(ev, "usage"));
    const char *reason = ad_str(json_object_get(ev, "delta"), "stop_reason");
    if (a->finished)
        return 0;
    a->finished = true;
    return emit_delta(s, NULL, ad_anthropic_finish(reason, a->tools > 0), false);
}

static int on_message_stop(struct ad_stream *s)
{
    struct anth *a = s->impl;
    int rc = 0;
    if (!a->finished) {
        a->finished = true;
        rc = emit_delta(s, NULL, ad_anthropic_finish(NULL, a->tools > 0), false);
    }
    if (rc == 0 && s->include_usage) {
        const char *model = s->model ? s->model : a->model ? a->model : "unknown";
        json_t *u = ad_openai_usage(a->in, a->cache_read, a->cache_write, a->out);
        rc = ad_stream_chunk(s, u ? ad_openai_chunk(a->id, a->created, model, NULL, NULL, false, u) : NULL, false);
    }
    return rc ? rc : ad_stream_done(s);
}

static int on_error(struct ad_stream *s, const json_t *ev)
{
    const json_t *e = json_object_get(ev, "error");
    const char *type = ad_str(e, "type");
    const char *msg = ad_str(e, "message");
    if (!msg)
        msg = "error event in the upstream stream";
    enum fail_class c = ad_anthropic_error_class(type, msg, 0, NULL, 0);
    return ad_stream_fail(s, c, ad_anthropic_openai_error(c, type, msg), "%s", msg);
}

static int dispatch(struct ad_stream *s, const char *type, const json_t *ev)
{
    struct anth *a = s->impl;
    if (strcmp(type, "error") == 0)
        return on_error(s, ev);
    if (strcmp(type, "ping") == 0)
        return 0;
    if (strcmp(type, "message_start") == 0)
        return on_start(s, ev);
    if (!a->started)
        return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream stream did not open with message_start");
    if (strcmp(type, "content_block_start") == 0)
        return on_block_start(s, ev);
    if (strcmp(type, "content_block_delta") == 0)
        return on_block_delta(s, ev);
    if (strcmp(type, "content_block_stop") == 0)
        return on_block_stop(s, ev);
    if (strcmp(type, "message_delta") == 0)
        return on_message_delta(s, ev);
    if (strcmp(type, "message_stop") == 0)
        return on_message_stop(s);
    return 0; /* event types added later carry nothing we must act on */
}

static int on_event(void *arg, const struct sse_event *ev)
{
    struct ad_stream *s = arg;
    if (ev->data_len == 0)
        return 0; /* a bare keep-alive from a proxy in between */
    json_t *doc = json_loadb(ev->data, ev->data_len, 0, NULL);
    int rc;
    if (!json_is_object(doc)) {
        rc = ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream %s event is not a JSON object",
                            ev->event[0] ? ev->event : "unnamed");
    } else {
        /* The data's own type is authoritative; the event name repeats it. */
        const char *type = ad_str(doc, "type");
        rc = dispatch(s, type ? type : ev->event, doc);
    }
    json_decref(doc);
    return rc ? rc : s->over;
}

int ad_anthropic_feed(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit, void *arg)
{
    return ad_stream_run(s, buf, len, emit, arg, on_event);
}
