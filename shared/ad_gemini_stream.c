/*
 * ad_gemini_stream: Gemini's streamGenerateContent?alt=sse events as
 * OpenAI chat.completion.chunks, as they arrive.
 *
 * Every event is a whole GenerateContentResponse holding the next piece:
 * text parts are increments, a functionCall part arrives whole (one tool
 * call delta with all its arguments).  Gemini sends no end sentinel: the
 * event carrying finishReason is the last, so it ends the stream here (a
 * body that stops before it is a cut stream).  usageMetadata rides on the
 * events; the last one seen is the total.
 */
#include "ad_gemini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gem {
    char *id;
    char *idbase;            /* for synthesised tool call ids */
    char *model;             /* upstream's, when the client's is not known */
    json_int_t created;
    bool started;
    size_t tools;
    json_t *usage;           /* the last usageMetadata */
};

static void gem_free(void *p)
{
    struct gem *g = p;
    free(g->id);
    free(g->idbase);
    free(g->model);
    json_decref(g->usage);
    free(g);
}

struct ad_stream *ad_gemini_stream_new(const char *model, bool include_usage)
{
    struct gem *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->created = (json_int_t)ad_clock();
    return ad_stream_new(model, include_usage, g, gem_free);
}

static const char *model_of(struct ad_stream *s)
{
    struct gem *g = s->impl;
    return s->model ? s->model : g->model ? g->model : "unknown";
}

static int emit_delta(struct ad_stream *s, json_t *delta, const char *finish, bool content)
{
    struct gem *g = s->impl;
    if (!delta && !finish)
        return ad_stream_fail(s, FAIL_INTERNAL, NULL, "out of memory");
    return ad_stream_chunk(s, ad_openai_chunk(g->id, g->created, model_of(s), delta, finish, s->include_usage, NULL),
                           content);
}

static int start(struct ad_stream *s, const json_t *doc)
{
    struct gem *g = s->impl;
    const char *rid = ad_str(doc, "responseId");
    const char *model = ad_str(doc, "modelVersion");
    g->started = true;
    if (rid) {
        g->id = strdup(rid);
        g->idbase = strdup(rid);
    } else {
        /* asprintf leaves its pointer undefined on failure */
        if (asprintf(&g->id, "gemini-%lld", (long long)g->created) < 0)
            g->id = NULL;
        if (asprintf(&g->idbase, "%lld", (long long)g->created) < 0)
            g->idbase = NULL;
    }
    if (!g->id || !g->idbase || (model && !(g->model = strdup(model))))
        return ad_stream_fail(s, FAIL_INTERNAL, NULL, "out of memory");
    return emit_delta(s, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL, false);
}

static int part(struct ad_stream *s, const json_t *p)
{
    struct gem *g = s->impl;
    if (json_object_get(p, "functionCall")) {
        json_t *call = ad_gemini_tool_call(p, g->idbase, g->tools);
        if (!call)
            return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream functionCall part without a name or with bad args");
        /* index first, as OpenAI writes it */
        json_t *d = json_pack("{s:I}", "index", (json_int_t)g->tools++);
        if (!d || json_object_update(d, call) < 0) {
            json_decref(d);
            d = NULL;
        }
        json_decref(call);
        return emit_delta(s, d ? json_pack("{s:[o]}", "tool_calls", d) : NULL, NULL, true);
    }
    const json_t *t = json_object_get(p, "text");
    if (!json_string_length(t) || json_is_true(json_object_get(p, "thought")))
        return 0; /* thoughts, and parts an OpenAI client has no place for */
    return emit_delta(s, json_pack("{s:s%}", "content", json_string_value(t), json_string_length(t)), NULL, true);
}

static int finish(struct ad_stream *s, const char *reason)
{
    struct gem *g = s->impl;
    int rc = emit_delta(s, NULL, reason, false);
    if (rc == 0 && s->include_usage) {
        json_t *u = ad_gemini_usage(g->usage);
        rc = ad_stream_chunk(s, u ? ad_openai_chunk(g->id, g->created, model_of(s), NULL, NULL, false, u) : NULL, false);
    }
    return rc ? rc : ad_stream_done(s);
}

static int on_doc(struct ad_stream *s, const json_t *doc)
{
    struct gem *g = s->impl;
    const json_t *e = json_object_get(doc, "error");
    if (e) {
        json_t *body = NULL;
        enum fail_class c = ad_gemini_error(e, 0, NULL, 0, &body);
        const char *msg = ad_str(e, "message");
        return ad_stream_fail(s, c, body, "%s", msg ? msg : "error event in the upstream stream");
    }
    int rc = g->started ? 0 : start(s, doc);
    if (rc)
        return rc;
    const json_t *u = json_object_get(doc, "usageMetadata");
    if (json_is_object(u)) {
        json_decref(g->usage);
        g->usage = json_incref((json_t *)u);
    }
    const json_t *cands = json_object_get(doc, "candidates");
    if (cands && !json_is_array(cands))
        return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream chunk with candidates not an array");
    const json_t *cand = json_array_get(cands, 0);
    if (!cand) {
        if (ad_str(json_object_get(doc, "promptFeedback"), "blockReason"))
            return finish(s, "content_filter");
        return 0; /* a usage-only event */
    }
    const json_t *parts = json_object_get(json_object_get(cand, "content"), "parts");
    if (parts && !json_is_array(parts))
        return ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream chunk with parts not an array");
    size_t i;
    const json_t *p;
    json_array_foreach(parts, i, p)
        if ((rc = part(s, p)))
            return rc;
    const char *reason = ad_str(cand, "finishReason");
    return reason ? finish(s, ad_gemini_finish(reason, g->tools > 0)) : 0;
}

static int on_event(void *arg, const struct sse_event *ev)
{
    struct ad_stream *s = arg;
    if (ev->data_len == 0)
        return 0; /* a bare keep-alive from a proxy in between */
    json_t *doc = json_loadb(ev->data, ev->data_len, 0, NULL);
    int rc = json_is_object(doc) ? on_doc(s, doc)
                                 : ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream stream event is not a JSON object");
    json_decref(doc);
    return rc ? rc : s->over;
}

int ad_gemini_feed(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit, void *arg)
{
    return ad_stream_run(s, buf, len, emit, arg, on_event);
}
