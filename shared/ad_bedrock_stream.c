/*
 * ad_bedrock_stream: ConverseStream's binary event-stream as OpenAI
 * chat.completion.chunks, as the bytes arrive (shared/evs.c does the
 * framing and both CRCs; a framing error ends the stream as a bad answer).
 *
 * Converse numbers all content blocks in one sequence; OpenAI numbers tool
 * calls only, from 0, so each block remembers its kind and tool index.
 * Text blocks may begin with a delta and no start.  messageStop carries
 * the stop reason and metadata (the usage) follows it: the stream ends
 * with metadata.
 */
#include "ad_bedrock.h"

#include <stdlib.h>
#include <string.h>

#include "evs.h"

enum blk_kind { BLK_NONE = 0, BLK_TEXT, BLK_TOOL, BLK_OTHER };

struct blk {
    enum blk_kind kind;
    int tool;
    bool args;
};

struct bed {
    struct evs_decoder dec;
    char id[40];
    json_int_t created;
    bool started, finished;
    int tools;
    struct blk *blk;
    size_t nblk;
    json_t *usage;           /* the metadata's usage */
};

static void bed_free(void *p)
{
    struct bed *b = p;
    evs_decoder_free(&b->dec);
    free(b->blk);
    json_decref(b->usage);
    free(b);
}

struct ad_stream *ad_bedrock_stream_new(const char *model, bool include_usage)
{
    struct bed *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    evs_decoder_init(&b->dec);
    ad_bedrock_id(b->id);
    b->created = (json_int_t)ad_clock();
    return ad_stream_new(model, include_usage, b, bed_free);
}

static int emit_delta(struct ad_stream *s, json_t *delta, const char *finish, bool content)
{
    struct bed *b = s->impl;
    if (!delta && !finish)
        return ad_stream_fail(s, FAIL_INTERNAL, NULL, "out of memory");
    return ad_stream_chunk(s, ad_openai_chunk(b->id, b->created, s->model ? s->model : "unknown", delta, finish,
                                              s->include_usage, NULL),
                           content);
}

static int emit_args(struct ad_stream *s, int tool, const char *args, size_t len)
{
    return emit_delta(s, json_pack("{s:[{s:i, s:{s:s%}}]}", "tool_calls", "index", tool, "function", "arguments",
                                   args, len),
                      NULL, true);
}

static int on_start(struct ad_stream *s)
{
    struct bed *b = s->impl;
    if (b->started)
        return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream messageStart is repeated");
    b->started = true;
    return emit_delta(s, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL, false);
}

/* The block an event names, created as kind when new (BLK_NONE: it must
 * exist).  NULL after failing the stream. */
static struct blk *block(struct ad_stream *s, const json_t *ev, enum blk_kind kind)
{
    struct bed *b = s->impl;
    const json_t *idx = json_object_get(ev, "contentBlockIndex");
    json_int_t i = json_is_integer(idx) ? json_integer_value(idx) : -1;
    if (i < 0 || i >= AD_BEDROCK_MAX_BLOCKS) {
        ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream contentBlockIndex missing or out of range");
        return NULL;
    }
    if ((size_t)i >= b->nblk) {
        struct blk *nb = realloc(b->blk, ((size_t)i + 1) * sizeof *nb);
        if (!nb) {
            ad_stream_fail(s, FAIL_INTERNAL, NULL, "out of memory");
            return NULL;
        }
        memset(nb + b->nblk, 0, ((size_t)i + 1 - b->nblk) * sizeof *nb);
        b->blk = nb;
        b->nblk = (size_t)i + 1;
    }
    struct blk *k = &b->blk[i];
    if (k->kind == BLK_NONE)
        k->kind = kind;
    if (k->kind == BLK_NONE) {
        ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream event for content block %lld that never started",
                       (long long)i);
        return NULL;
    }
    return k;
}

static int on_block_start(struct ad_stream *s, const json_t *ev)
{
    struct bed *b = s->impl;
    const json_t *tu = json_object_get(json_object_get(ev, "start"), "toolUse");
    struct blk *k = block(s, ev, tu ? BLK_TOOL : BLK_OTHER);
    if (!k)
        return -1;
    if (!tu)
        return 0;
    const char *id = ad_str(tu, "toolUseId");
    const char *name = ad_str(tu, "name");
    if (!id || !name || k->kind != BLK_TOOL || k->args)
        return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream toolUse block start is malformed or repeated");
    k->tool = b->tools++;
    json_t *d = json_pack("{s:[{s:i, s:s, s:s, s:{s:s, s:s}}]}", "tool_calls", "index", k->tool, "id", id, "type",
                          "function", "function", "name", name, "arguments", "");
    return emit_delta(s, d, NULL, true);
}

static int on_block_delta(struct ad_stream *s, const json_t *ev)
{
    const json_t *d = json_object_get(ev, "delta");
    const json_t *text = json_object_get(d, "text");
    const json_t *tu = json_object_get(d, "toolUse");
    struct blk *k = block(s, ev, text ? BLK_TEXT : tu ? BLK_NONE : BLK_OTHER);
    if (!k)
        return -1;
    if (text) {
        if (!json_is_string(text) || k->kind != BLK_TEXT)
            return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream text delta is malformed or in a tool block");
        if (json_string_length(text) == 0)
            return 0;
        return emit_delta(s, json_pack("{s:s%}", "content", json_string_value(text), json_string_length(text)),
                          NULL, true);
    }
    if (!tu)
        return 0; /* reasoningContent, citations */
    const json_t *input = json_object_get(tu, "input");
    if (k->kind != BLK_TOOL || !json_is_string(input))
        return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream toolUse delta is malformed or outside a tool block");
    if (json_string_length(input) == 0)
        return 0;
    k->args = true;
    return emit_args(s, k->tool, json_string_value(input), json_string_length(input));
}

static int on_block_stop(struct ad_stream *s, const json_t *ev)
{
    struct blk *k = block(s, ev, BLK_NONE);
    if (!k)
        return -1;
    if (k->kind != BLK_TOOL || k->args)
        return 0;
    /* A tool without input fragments takes none: {} (an empty arguments
     * string is not JSON). */
    k->args = true;
    return emit_args(s, k->tool, "{}", 2);
}

static int finish(struct ad_stream *s, const char *reason)
{
    struct bed *b = s->impl;
    if (b->finished)
        return 0;
    b->finished = true;
    return emit_delta(s, NULL, ad_bedrock_finish(reason, b->tools > 0), false);
}

static int on_metadata(struct ad_stream *s, const json_t *ev)
{
    struct bed *b = s->impl;
    int rc = finish(s, NULL);
    if (rc == 0 && s->include_usage) {
        json_t *u = ad_bedrock_usage(json_object_get(ev, "usage"));
        rc = ad_stream_chunk(s, u ? ad_openai_chunk(b->id, b->created, s->model ? s->model : "unknown", NULL, NULL,
                                                    false, u)
                                  : NULL,
                             false);
    }
    return rc ? rc : ad_stream_done(s);
}

static int on_event(struct ad_stream *s, const char *type, size_t tlen, const json_t *ev)
{
    struct bed *b = s->impl;
#define IS(name) (tlen == sizeof name - 1 && memcmp(type, name, tlen) == 0)
    if (IS("messageStart"))
        return on_start(s);
    if (!b->started)
        return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream stream did not open with messageStart");
    if (IS("contentBlockStart"))
        return on_block_start(s, ev);
    if (IS("contentBlockDelta"))
        return on_block_delta(s, ev);
    if (IS("contentBlockStop"))
        return on_block_stop(s, ev);
    if (IS("messageStop"))
        return finish(s, ad_str(ev, "stopReason"));
    if (IS("metadata"))
        return on_metadata(s, ev);
#undef IS
    return 0; /* event types added later carry nothing we must act on */
}

static int on_exception(struct ad_stream *s, const struct evs_message *m, const json_t *doc)
{
    size_t tl = 0;
    const char *t = evs_header_string(m, ":exception-type", &tl);
    char type[96];
    snprintf(type, sizeof type, "%.*s", (int)(tl < 95 ? tl : 95), t ? t : "");
    const char *msg = ad_str(doc, "message");
    if (!msg)
        msg = ad_str(doc, "Message");
    if (!msg)
        msg = "exception in the upstream stream";
    enum fail_class c = ad_bedrock_error_class(t ? type : NULL, msg, 0);
    return ad_stream_fail(s, c, ad_bedrock_openai_error(c, t ? type : NULL, msg), "%s", msg);
}

static int on_message(void *arg, const struct evs_message *m)
{
    struct ad_stream *s = arg;
    json_t *doc = m->payload_len ? json_loadb(m->payload, m->payload_len, 0, NULL) : json_object();
    size_t tl = 0;
    const char *et = evs_header_string(m, ":event-type", &tl);
    int rc;
    if (evs_header_is(m, ":message-type", "exception")) {
        rc = on_exception(s, m, doc);
    } else if (evs_header_is(m, ":message-type", "error")) {
        size_t cl = 0, ml = 0;
        const char *code = evs_header_string(m, ":error-code", &cl);
        const char *msg = evs_header_string(m, ":error-message", &ml);
        rc = ad_stream_fail(s, FAIL_STREAM_ERROR, NULL, "upstream stream error %.*s: %.*s", (int)cl, code ? code : "",
                            (int)ml, msg ? msg : "");
    } else if (!evs_header_is(m, ":message-type", "event") || !et) {
        rc = ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream event-stream message of no known type");
    } else if (!json_is_object(doc)) {
        rc = ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream %.*s event is not a JSON object", (int)tl, et);
    } else {
        rc = on_event(s, et, tl, doc);
    }
    json_decref(doc);
    return rc ? rc : s->over;
}

int ad_bedrock_feed(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit, void *arg)
{
    struct bed *b = s->impl;
    if (s->over)
        return s->result;
    s->emit = emit;
    s->arg = arg;
    int rc = evs_feed(&b->dec, buf, len, on_message, s);
    if (rc && !s->over)
        rc = ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream event stream broken: %s", b->dec.error);
    s->emit = NULL;
    s->arg = NULL;
    return s->over ? s->result : rc;
}
