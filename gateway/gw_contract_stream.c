/*
 * gw_contract_stream: holding back the part of a stream that is not known
 * to be good yet (see the header).
 */
#include "gw_contract_stream.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Text kept of a plain (non-JSON) answer. */
#define CT_TEXT_KEEP 4096

struct ct_buf {
    char *p;
    size_t len, cap;
};

struct ct_call {
    struct ct_buf id, name, args;
};

struct ct_stream {
    struct gw_contract *c;
    size_t max_bytes, bytes;      /* bytes: accumulated text; with held, against the bound */
    struct evbuffer *held;        /* records not released yet */
    struct ct_call *calls;
    size_t ncalls, checked;       /* calls[0, checked) are complete and valid */
    struct ct_buf content;
    bool finished;                /* the choice finished and passed: the rest flows */
    bool released;
    bool fed;
};

static int buf_add(struct ct_stream *s, struct ct_buf *b, const char *p, size_t n)
{
    if (s->bytes + n > s->max_bytes)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    s->bytes += n;
    return 0;
}

static int buf_add_json(struct ct_stream *s, struct ct_buf *b, const json_t *str)
{
    if (!json_is_string(str))
        return 0;
    return buf_add(s, b, json_string_value(str), json_string_length(str));
}

struct ct_stream *gw_ct_stream_new(struct gw_contract *c, size_t max_bytes)
{
    struct ct_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->held = evbuffer_new())) {
        free(s);
        return NULL;
    }
    s->c = c;
    s->max_bytes = max_bytes;
    return s;
}

void gw_ct_stream_free(struct ct_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncalls; i++) {
        free(s->calls[i].id.p);
        free(s->calls[i].name.p);
        free(s->calls[i].args.p);
    }
    free(s->calls);
    free(s->content.p);
    if (s->held)
        evbuffer_free(s->held);
    free(s);
}

static int record(struct evbuffer *b, const char *data, size_t len)
{
    uint32_t n = (uint32_t)len;
    return evbuffer_add(b, &n, sizeof n) == 0 && evbuffer_add(b, data, len) == 0 ? 0 : -1;
}

static int hold(struct ct_stream *s, const char *data, size_t len)
{
    if (s->bytes + evbuffer_get_length(s->held) + len > s->max_bytes)
        return -1;
    return record(s->held, data, len);
}

/* Everything held, then this event, goes out. */
static int release(struct ct_stream *s, const char *data, size_t len, struct evbuffer *out)
{
    s->released = true;
    if (evbuffer_add_buffer(out, s->held) < 0)
        return -1;
    return data ? record(out, data, len) : 0;
}

/* The calls that a new call's start has completed. */
static int check_complete(struct ct_stream *s, struct ct_verdict *v)
{
    for (; s->checked < s->ncalls; s->checked++) {
        struct ct_call *k = &s->calls[s->checked];
        if (gw_contract_check_call(s->c, (int)s->checked, k->name.p, k->args.p, v) != CT_OK)
            return 1;
    }
    return 0;
}

/* Takes one tool-call delta; *started says a new call began with it. */
static int take_call(struct ct_stream *s, const json_t *tc, bool *started)
{
    const json_t *ix = json_object_get(tc, "index");
    size_t i = json_is_integer(ix) && json_integer_value(ix) >= 0 ? (size_t)json_integer_value(ix)
                                                                   : (s->ncalls ? s->ncalls - 1 : 0);
    if (i > 64)
        return -1; /* no model sends that many calls in one turn */
    if (i >= s->ncalls) {
        struct ct_call *c = realloc(s->calls, (i + 1) * sizeof *c);
        if (!c)
            return -1;
        memset(c + s->ncalls, 0, (i + 1 - s->ncalls) * sizeof *c);
        s->calls = c;
        s->ncalls = i + 1;
        *started = true;
    }
    struct ct_call *k = &s->calls[i];
    const json_t *fn = json_object_get(tc, "function");
    if (buf_add_json(s, &k->id, json_object_get(tc, "id")) < 0 ||
        buf_add_json(s, &k->name, json_object_get(fn, "name")) < 0 ||
        buf_add_json(s, &k->args, json_object_get(fn, "arguments")) < 0)
        return -1;
    return 0;
}

static int finish(struct ct_stream *s, const char *reason, struct ct_verdict *v)
{
    json_t *turn = gw_ct_stream_turn(s);
    if (!turn)
        return -1;
    enum ct_problem p = gw_contract_check_message(s->c, turn, reason, v);
    json_decref(turn);
    s->finished = p == CT_OK;
    return p == CT_OK ? 0 : 1;
}

static int feed(struct ct_stream *s, const char *data, size_t len, struct evbuffer *out,
                struct ct_verdict *v);

int gw_ct_stream_feed(struct ct_stream *s, const char *data, size_t len, struct evbuffer *out,
                      struct ct_verdict *v)
{
    s->fed = true;
    int rc = feed(s, data, len, out, v);
    /* The breaking event is kept with the rest of the broken answer, which
     * the chain may still return as it came (repair.on_exhausted). */
    if (rc == 1 && hold(s, data, len) < 0)
        return -1;
    return rc;
}

static int feed(struct ct_stream *s, const char *data, size_t len, struct evbuffer *out,
                struct ct_verdict *v)
{
    v->problem = CT_OK;
    if (s->finished)
        return release(s, data, len, out);
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        int rc = finish(s, NULL, v);
        return rc ? rc : release(s, data, len, out);
    }
    json_t *chunk = json_loadb(data, len, 0, NULL);
    const json_t *c0 = json_array_get(json_object_get(chunk, "choices"), 0);
    const json_t *delta = json_object_get(c0, "delta");
    const json_t *tcs = json_object_get(delta, "tool_calls");
    const json_t *content = json_object_get(delta, "content");
    const char *fr = json_string_value(json_object_get(c0, "finish_reason"));
    bool text = json_is_string(content) && json_string_length(content) > 0;
    /* Plain text is only kept as far as the broken turn of a corrective
     * retry needs it: a long text answer must not hit max_bytes. */
    int rc = 0;
    if (gw_contract_json_content(s->c) || s->content.len < CT_TEXT_KEEP)
        rc = buf_add_json(s, &s->content, content);
    size_t i;
    const json_t *tc;
    json_array_foreach(tcs, i, tc) {
        bool started = false;
        if (rc == 0 && (rc = take_call(s, tc, &started)) == 0 && started && s->ncalls > 1) {
            /* A new call completes the ones before it: check them, and let
             * them go if they pass (this event belongs to the new one). */
            size_t keep = s->ncalls;
            s->ncalls = keep - 1;
            rc = check_complete(s, v);
            s->ncalls = keep;
            if (rc == 0 && s->checked == keep - 1 && !gw_contract_json_content(s->c))
                rc = release(s, NULL, 0, out);
        }
    }
    bool tools = json_array_size(tcs) > 0;
    if (rc == 0) {
        if (fr)
            rc = (rc = finish(s, fr, v)) ? rc : release(s, data, len, out);
        else if (tools || (text && gw_contract_json_content(s->c)) || !text || s->checked < s->ncalls)
            rc = hold(s, data, len);
        else
            rc = release(s, data, len, out);
    }
    json_decref(chunk);
    return rc;
}

bool gw_ct_stream_released(const struct ct_stream *s)
{
    return s->released;
}

bool gw_ct_stream_fed(const struct ct_stream *s)
{
    return s->fed;
}

json_t *gw_ct_stream_turn(const struct ct_stream *s)
{
    json_t *m = json_pack("{s:s, s:s?}", "role", "assistant", "content", s->content.p);
    if (!m || !s->ncalls)
        return m;
    json_t *calls = json_array();
    if (!calls || json_object_set_new(m, "tool_calls", calls) < 0) {
        json_decref(m);
        return NULL;
    }
    for (size_t i = 0; i < s->ncalls; i++) {
        const struct ct_call *k = &s->calls[i];
        json_t *c = json_pack("{s:s?, s:s, s:{s:s?, s:s}}", "id", k->id.p, "type", "function",
                              "function", "name", k->name.p, "arguments", k->args.p ? k->args.p : "");
        if (!c || json_array_append_new(calls, c) < 0) {
            json_decref(m);
            return NULL;
        }
    }
    return m;
}

struct evbuffer *gw_ct_stream_take_held(struct ct_stream *s)
{
    struct evbuffer *b = s->held;
    s->held = evbuffer_new();
    return b;
}
