/* ad_test: what the adapter unit tests share: comparing a JSON value with
 * the JSON text it should equal, building requests, and collecting what a
 * stream decoder emits.  A test sets ad_test_ops, ad_test_target and
 * ad_test_model before using them. */
#ifndef BS_AD_TEST_H
#define BS_AD_TEST_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ad.h"
#include "unit.h"

static const struct ad_ops *ad_test_ops;
static const struct ad_target *ad_test_target;
static const char *ad_test_model;    /* stream_new's model */
/* Streams whose ids are random: each chunk's "id":"chatcmpl-..." is
 * written as "id":"ID" so outputs compare. */
static bool ad_test_mask_ids;

static inline int same_json(const json_t *got, const char *want, int line)
{
    json_error_t e;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &e);
    if (!w) {
        fprintf(stderr, "line %d: bad expected JSON: %s\n", line, e.text);
        return 0;
    }
    int ok = got && json_equal(got, w);
    if (!ok) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
        char *x = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fprintf(stderr, "line %d:\n  got  %s\n  want %s\n", line, g ? g : "(null)", x);
        free(g);
        free(x);
    }
    json_decref(w);
    return ok;
}
#define SAME_JSON(got, want) CHECK(same_json(got, want, __LINE__))

/* Builds from OpenAI request text; returns the body as JSON (NULL on error). */
static inline json_t *build(const char *openai, bool stream, const struct ad_target *t, struct ad_request *r,
                            struct ad_error *err)
{
    json_t *req = json_loads(openai, 0, NULL);
    if (!req)
        fprintf(stderr, "bad test request: %s\n", openai);
    memset(err, 0, sizeof *err);
    int rc = ad_test_ops->build_request(req, stream, t, r, err);
    json_decref(req);
    if (rc < 0)
        return NULL;
    return json_loadb(r->body, r->body_len, 0, NULL);
}

/* The body for a request that must build; the request is freed. */
static inline json_t *body_of(const char *openai)
{
    struct ad_request r;
    struct ad_error err;
    json_t *b = build(openai, false, ad_test_target, &r, &err);
    if (!b)
        fprintf(stderr, "build failed: %s\n", err.message);
    ad_request_free(&r);
    return b;
}

/* The error of a request that must fail. */
static inline struct ad_error fails(const char *openai)
{
    struct ad_request r;
    struct ad_error err;
    json_t *b = build(openai, false, ad_test_target, &r, &err);
    CHECK(b == NULL);
    CHECK(r.url == NULL && r.body == NULL && r.headers == NULL);
    json_decref(b);
    ad_request_free(&r);
    return err;
}

/* ---- streams ---- */

/* What a decoder emitted: one line per call, "ERR <class> " before an
 * error's body, "[DONE]" for the end. */
struct out {
    char *text;
    size_t len;
    int stop_after;          /* non-zero: the callback stops at this call */
    int calls;
    bool content_at[64];     /* ad_stream_has_content inside each call */
    struct ad_stream *s;
};

static inline void put(struct out *o, const char *s, size_t n)
{
    o->text = realloc(o->text, o->len + n + 1);
    memcpy(o->text + o->len, s, n);
    o->len += n;
    o->text[o->len] = '\0';
}

static inline int collect(void *arg, const char *chunk, size_t len, bool done, const struct ad_error *error)
{
    struct out *o = arg;
    if (o->calls < 64)
        o->content_at[o->calls] = ad_stream_has_content(o->s);
    o->calls++;
    if (error) {
        char head[64];
        snprintf(head, sizeof head, "ERR %s ", fail_class_name(error->fail));
        put(o, head, strlen(head));
    }
    const char *id = ad_test_mask_ids && !done && len > 8 ? strstr(chunk, "\"id\":\"chatcmpl-") : NULL;
    if (done) {
        put(o, "[DONE]", 6);
    } else if (id) {
        const char *end = strchr(id + 6, '"');
        put(o, chunk, (size_t)(id - chunk));
        put(o, "\"id\":\"ID\"", 9);
        put(o, end + 1, len - (size_t)(end + 1 - chunk));
    } else {
        put(o, chunk, len);
    }
    put(o, "\n", 1);
    return o->stop_after && o->calls == o->stop_after ? 9 : 0;
}

/* Feeds stream cut at the given points (sorted, may be empty) to a new
 * decoder; returns the last feed's value and fills o (reset first). */
static inline int run(const char *stream, size_t len, const size_t *cuts, size_t ncuts, bool usage, struct out *o)
{
    struct ad_stream *s = ad_test_ops->stream_new(ad_test_model, usage);
    memset(o, 0, sizeof *o);
    o->s = s;
    put(o, "", 0);
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        rc = ad_test_ops->stream_feed(s, stream + at, end - at, collect, o);
        at = end;
    }
    ad_test_ops->stream_free(s);
    return rc;
}

#endif
