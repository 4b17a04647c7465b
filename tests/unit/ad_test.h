/*
 * ad_test: what the adapter unit tests share: JSON comparison, building a
 * request from OpenAI text, and running a stream through a decoder cut at
 * every byte boundary (and one byte at a time, and at random) so a decoder
 * that cares where the network cut it fails.  Each test sets ad_test_ops
 * to the adapter under test.  Header-only (static) like unit.h.
 */
#ifndef BS_AD_TEST_H
#define BS_AD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ad_common.h"
#include "unit.h"

/* Each test uses some of these helpers, so unused ones are no error. */
#define AD_TEST_FN static __attribute__((unused))

static const struct ad_ops *ad_test_ops;
static const char *ad_test_model;    /* stream_new's model (NULL unless a test sets it) */
/* Streams whose ids are random: each chunk's "id":"chatcmpl-..." is
 * written as "id":"ID" so outputs compare. */
static bool ad_test_mask_ids;

AD_TEST_FN time_t ad_test_clock(void)
{
    return 1717000000;
}

/* Whether got equals the JSON text want; prints both when not. */
AD_TEST_FN int same_json(const json_t *got, const char *want, int line)
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
AD_TEST_FN json_t *ad_test_build(const char *openai, bool stream, const struct ad_target *t, struct ad_request *r,
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

/* The test's default target (set with ad_test_ops). */
static const struct ad_target *ad_test_target;

/* The body for a request that must build; the request is freed. */
AD_TEST_FN json_t *body_of(const char *openai)
{
    struct ad_request r;
    struct ad_error err;
    json_t *b = ad_test_build(openai, false, ad_test_target, &r, &err);
    if (!b)
        fprintf(stderr, "build failed: %s\n", err.message);
    ad_request_free(&r);
    return b;
}

/* The error of a request that must fail (and leave nothing behind). */
AD_TEST_FN struct ad_error fails(const char *openai)
{
    struct ad_request r;
    struct ad_error err;
    json_t *b = ad_test_build(openai, false, ad_test_target, &r, &err);
    CHECK(b == NULL);
    CHECK(r.url == NULL && r.body == NULL && r.headers == NULL);
    json_decref(b);
    ad_request_free(&r);
    return err;
}

/* A request the translator must refuse as the client's error, and words
 * its message must hold (NULL: any message). */
struct ad_test_refusal {
    const char *openai;
    const char *says;
};

#define AD_TEST_BAD_TOOL_CHOICE \
    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"sometimes\"," \
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\"}}]}"

/* Requests every OpenAI translator refuses, for the same reason: the
 * rules of the OpenAI request they share. */
static const struct ad_test_refusal ad_test_common_refusals[] __attribute__((unused)) = {
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
      "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
      "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"city\\\":\"}}]}]}",
      "messages[1].tool_calls[0].function.arguments is not valid JSON" },
    { "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{}}]}]}",
      "messages[0].content[0]" },
    { "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"ftp://x/y.png\"}}]}]}",
      NULL },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", "max_tokens" },
    { "{\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}", "messages[0]" },
    { "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", "robot" },
    { "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "tool_call_id" },
    { "{\"messages\":\"hi\"}", NULL },
    { AD_TEST_BAD_TOOL_CHOICE, "tool_choice" },
    { "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"custom\",\"custom\":{}}]}",
      "tools[0]" },
    { "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"image_url\"}]}]}", NULL },
    { "[1,2]", NULL },
};

AD_TEST_FN void check_refusals(const struct ad_test_refusal *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct ad_error e = fails(rows[i].openai);
        bool ok = e.fail == FAIL_CLIENT && (!rows[i].says || strstr(e.message, rows[i].says));
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "refusal %zu: %s: %s\n", i, fail_class_name(e.fail), e.message);
    }
}

AD_TEST_FN bool has_header(const struct ad_request *r, const char *h)
{
    for (char **p = r->headers; p && *p; p++)
        if (strcmp(*p, h) == 0)
            return true;
    return false;
}

AD_TEST_FN json_t *ad_test_parse(const char *body, const char *model, struct ad_error *err)
{
    memset(err, 0, sizeof *err);
    return ad_test_ops->parse_response(body, strlen(body), model, err);
}

/* Each answer made from body_tmpl, its one "%s" replaced by a finish reason
 * the provider says (map[i][0]), gives the OpenAI finish_reason map[i][1].
 * The template is filled in here rather than used as a format so that
 * every format the compiler sees is a literal it checks. */
AD_TEST_FN void check_finish_map(const char *const (*map)[2], size_t n, const char *body_tmpl)
{
    const char *hole = strstr(body_tmpl, "%s");
    CHECK(hole != NULL);
    if (!hole)
        return;
    for (size_t i = 0; i < n; i++) {
        char body[256];
        struct ad_error err;
        snprintf(body, sizeof body, "%.*s%s%s", (int)(hole - body_tmpl), body_tmpl, map[i][0], hole + 2);
        json_t *c = ad_test_parse(body, NULL, &err);
        json_t *ch = json_array_get(json_object_get(c, "choices"), 0);
        CHECK(c && strcmp(json_string_value(json_object_get(ch, "finish_reason")), map[i][1]) == 0);
        json_decref(c);
    }
}

/* Answers the adapter cannot use: each a bad_response that says why. */
AD_TEST_FN void check_bad_answers(const char *const *bad, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct ad_error err;
        json_t *c = ad_test_parse(bad[i], NULL, &err);
        CHECK(c == NULL && err.fail == FAIL_BAD_RESPONSE && err.message[0]);
        json_decref(c);
    }
}

/* A key that would inject a header line fails the build as internal
 * (the configuration's fault), leaving no request behind. */
AD_TEST_FN void check_key_injection(const char *openai, struct ad_target t)
{
    struct ad_request r;
    struct ad_error err;
    t.api_key = "bad\r\nInjected: yes";
    json_t *b = ad_test_build(openai, false, &t, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_INTERNAL && r.url == NULL);
    json_decref(b);
    ad_request_free(&r);
}

/* What a decoder emitted, one line per call: the chunk, "[DONE]", or
 * "ERR <class> <body>". */
struct out {
    char *text;
    size_t len;
    int stop_after;          /* non-zero: the callback stops at this call */
    int calls;
    bool content_at[64];     /* ad_stream_has_content inside each call */
    struct ad_stream *s;
};

AD_TEST_FN void put(struct out *o, const char *s, size_t n)
{
    o->text = realloc(o->text, o->len + n + 1);
    memcpy(o->text + o->len, s, n);
    o->len += n;
    o->text[o->len] = '\0';
}

AD_TEST_FN int collect(void *arg, const char *chunk, size_t len, bool done, const struct ad_error *error)
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
AD_TEST_FN int run(const char *stream, size_t len, const size_t *cuts, size_t ncuts, bool usage, struct out *o)
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

/* Every two-piece cut, one byte at a time, and random cuts give want. */
AD_TEST_FN void check_all_cuts(const char *stream, bool usage, const char *want, int want_rc)
{
    size_t len = strlen(stream);
    struct out o;
    int bad = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        int rc = run(stream, len, &cut, 1, usage, &o);
        if (rc != want_rc || strcmp(o.text, want) != 0) {
            if (!bad++)
                fprintf(stderr, "cut %zu (rc %d):\n%s\nwant:\n%s\n", cut, rc, o.text, want);
        }
        free(o.text);
    }
    CHECK(bad == 0);
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    int rc = run(stream, len, cuts, len ? len - 1 : 0, usage, &o);
    CHECK(rc == want_rc && strcmp(o.text, want) == 0);
    free(o.text);
    bad = 0;
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(rand() % 12);
        for (size_t i = 0; i < n; i++)
            cuts[i] = (size_t)rand() % (len + 1);
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
                size_t t = cuts[j];
                cuts[j] = cuts[j - 1];
                cuts[j - 1] = t;
            }
        rc = run(stream, len, cuts, n, usage, &o);
        bad += rc != want_rc || strcmp(o.text, want) != 0;
        free(o.text);
    }
    CHECK(bad == 0);
    free(cuts);
}

/* The client's model name replaces the upstream's (upstream: text the
 * output must not hold), and bytes after the end are ignored: the stream
 * gives calls callbacks and no more. */
AD_TEST_FN void check_alias_and_end(const char *stream, size_t len, const char *upstream, int calls)
{
    struct ad_stream *s = ad_test_ops->stream_new("alias", false);
    struct out o;
    memset(&o, 0, sizeof o);
    o.s = s;
    CHECK(ad_test_ops->stream_feed(s, stream, len, collect, &o) == 0);
    CHECK(strstr(o.text, "\"model\":\"alias\"") && !strstr(o.text, upstream));
    CHECK(ad_test_ops->stream_feed(s, "data: x\n\n", 9, collect, &o) == 0);
    CHECK(o.calls == calls);
    ad_test_ops->stream_free(s);
    free(o.text);
}

/* The callback's non-zero value stops decoding, and it stays stopped. */
AD_TEST_FN void check_stop_after(const char *stream, size_t len, const char *model)
{
    struct ad_stream *s = ad_test_ops->stream_new(model, false);
    struct out o;
    memset(&o, 0, sizeof o);
    o.s = s;
    o.stop_after = 2;
    CHECK(ad_test_ops->stream_feed(s, stream, len, collect, &o) == 9);
    CHECK(o.calls == 2);
    CHECK(ad_test_ops->stream_feed(s, stream, 10, collect, &o) == 9);
    CHECK(o.calls == 2);
    ad_test_ops->stream_free(s);
    free(o.text);
}

/* Streams not in the format: each a clear bad_response, never a crash. */
AD_TEST_FN void check_bad_streams(const char *const *bad, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct out o;
        CHECK(run(bad[i], strlen(bad[i]), NULL, 0, false, &o) == -1);
        CHECK(strstr(o.text, "ERR bad_response {\"error\":") != NULL);
        free(o.text);
    }
}

/* Real streams with bytes flipped, dropped or duplicated, and garbage:
 * the decoder may fail, never crash or leak (the ASan build checks), an
 * ended stream stays ended, and nothing follows an error. */
AD_TEST_FN void stream_fuzz(const char *const *streams, size_t nstreams, int rounds)
{
    char buf[16384];
    int bad = 0;
    for (int round = 0; round < rounds; round++) {
        const char *src = streams[(size_t)round % nstreams];
        size_t len = strlen(src);
        if (len > sizeof buf - 64)
            len = sizeof buf - 64;
        memcpy(buf, src, len);
        int edits = rand() % 6;
        for (int e = 0; e < edits && len > 2 && len < sizeof buf - 64; e++) {
            size_t at = (size_t)rand() % len;
            switch (rand() % 3) {
            case 0:
                buf[at] = (char)(rand() % 256);
                break;
            case 1:
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default:
                memmove(buf + at + 1, buf + at, len - at);
                len++;
                break;
            }
        }
        if (round % 7 == 0) {
            len = (size_t)(rand() % 2000);
            for (size_t i = 0; i < len; i++)
                buf[i] = (char)(rand() % 4 == 0 ? '\n' : rand() % 256);
        }
        struct ad_stream *s = ad_test_ops->stream_new(round % 2 ? "m" : NULL, round % 3 == 0);
        struct out o;
        memset(&o, 0, sizeof o);
        o.s = s;
        put(&o, "", 0);
        size_t at = 0;
        int last = 0;
        while (at < len) {
            size_t n = 1 + (size_t)rand() % 64;
            if (n > len - at)
                n = len - at;
            int rc = ad_test_ops->stream_feed(s, buf + at, n, collect, &o);
            bad += last != 0 && rc != last;
            last = rc;
            at += n;
        }
        bad += last != 0 && last != -1;
        const char *err = strstr(o.text, "ERR ");
        bad += err && strchr(err, '\n')[1] != '\0';
        ad_test_ops->stream_free(s);
        free(o.text);
    }
    CHECK(bad == 0);
}

/* The words and keys random values draw from, so mutations reach deep
 * into the translator under test (ad_test_vocab: the default suits the
 * OpenAI -> provider translators; a test of another direction sets its own). */
struct ad_test_vocab {
    const char *const *words;
    size_t nwords;
    const char *const *keys;
    size_t nkeys;
};
static const char *const ad_test_words[] = { "text", "image_url", "image", "tool_use", "tool_result", "function", "tool",
                                             "json_schema", "json_object", "allowed_tools", "auto", "none", "required",
                                             "any", "user", "assistant", "system", "developer", "", "data:image/png;base64,",
                                             "https://x/y.png", "{\"a\":1}", "{", "object", "refusal", "STOP",
                                             "functionCall", "string", "$ref", "#", "array" };
static const char *const ad_test_keys[] = { "type", "text", "content", "role", "name", "id", "url", "image_url",
                                            "function", "arguments", "tool_calls", "tool_call_id", "schema", "parts", "candidates", "properties",
                                            "items", "anyOf", "$ref", "args", "content_filter_results" };
#define AD_TEST_VOCAB(words, keys) { words, sizeof words / sizeof words[0], keys, sizeof keys / sizeof keys[0] }
static const struct ad_test_vocab ad_test_default_vocab = AD_TEST_VOCAB(ad_test_words, ad_test_keys);
static const struct ad_test_vocab *ad_test_vocab = &ad_test_default_vocab;

/* Random values of every JSON type, with ad_test_vocab's words. */
AD_TEST_FN json_t *random_value(int depth)
{
    const struct ad_test_vocab *v = ad_test_vocab;
    switch (rand() % (depth > 2 ? 5 : 7)) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(rand() % 2);
    case 2:
        return json_integer(rand() % 5 - 1);
    case 3:
        return json_real((rand() % 300) / 100.0);
    case 4:
        return json_string(v->words[rand() % (int)v->nwords]);
    case 5: {
        json_t *a = json_array();
        for (int i = rand() % 3; i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = rand() % 4; i > 0; i--)
            json_object_set_new(o, v->keys[rand() % (int)v->nkeys], random_value(depth + 1));
        return o;
    }
    }
}

/* Replaces about one node in eight with a random value. */
AD_TEST_FN void mutate(json_t *v, int depth)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, c) {
            if (rand() % 8 == 0)
                json_object_set_new(v, k, random_value(depth));
            else
                mutate(c, depth + 1);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (rand() % 8 == 0)
                json_array_set_new(v, i, random_value(depth));
            else
                mutate(json_array_get(v, i), depth + 1);
        }
    }
}

/* Requests and an answer with random parts replaced, rounds times: a
 * clear error or a result, never a crash or a leak (the ASan build
 * checks).  A request builds into a body body_ok accepts or fails as the
 * client's error that says why; requests stream on one round in
 * stream_every.  The mutated answer is parsed and classified. */
AD_TEST_FN void mutation_rounds(const char *const *requests, size_t nrequests, const char *answer, int rounds,
                                int stream_every, bool (*body_ok)(const json_t *body))
{
    int odd = 0;
    for (int round = 0; round < rounds; round++) {
        json_t *req = json_loads(requests[(size_t)round % nrequests], 0, NULL);
        mutate(req, 0);
        struct ad_request r;
        struct ad_error err = { FAIL_NONE, "" };
        int rc = ad_test_ops->build_request(req, round % stream_every == 1 % stream_every, ad_test_target, &r, &err);
        if (rc == 0) {
            json_t *b = json_loadb(r.body, r.body_len, 0, NULL);
            odd += !b || !body_ok(b);
            json_decref(b);
        } else {
            odd += err.fail != FAIL_CLIENT || !err.message[0] || r.body != NULL;
        }
        ad_request_free(&r);
        json_decref(req);

        json_t *ans = json_loads(answer, 0, NULL);
        mutate(ans, 0);
        char *text = json_dumps(ans, JSON_COMPACT);
        json_t *c = ad_test_ops->parse_response(text, strlen(text), NULL, &err);
        odd += !c && err.fail != FAIL_BAD_RESPONSE;
        json_decref(c);
        json_t *e = NULL;
        ad_test_ops->classify(400 + rand() % 200, text, strlen(text), &e);
        odd += e == NULL;
        json_decref(e);
        free(text);
        json_decref(ans);
    }
    CHECK(odd == 0);
}

/* classify() on a table row: the class, the OpenAI error code (NULL: a
 * null code), the status the client gets, and that what the client gets
 * classifies back into the same class. */
struct ad_test_err_row {
    long status;
    const char *body;
    enum fail_class fail;
    const char *code;
    int client_status;
};

AD_TEST_FN void check_error_rows(const struct ad_test_err_row *rows, size_t n,
                             enum fail_class (*classify_back)(long, const char *, size_t))
{
    for (size_t i = 0; i < n; i++) {
        json_t *e = NULL;
        enum fail_class c = ad_test_ops->classify(rows[i].status, rows[i].body, strlen(rows[i].body), &e);
        CHECK(c == rows[i].fail);
        if (c != rows[i].fail)
            fprintf(stderr, "row %zu: %s\n", i, fail_class_name(c));
        const json_t *err = json_object_get(e, "error");
        const char *code = json_string_value(json_object_get(err, "code"));
        bool code_ok = rows[i].code ? code && strcmp(code, rows[i].code) == 0 : json_is_null(json_object_get(err, "code"));
        CHECK(code_ok);
        if (!code_ok)
            fprintf(stderr, "row %zu: code %s\n", i, code ? code : "null");
        CHECK(json_string_length(json_object_get(err, "message")) > 0);
        CHECK(json_object_get(err, "type") != NULL && json_object_get(err, "param") != NULL);
        int st = ad_client_status(c, rows[i].status);
        CHECK(st == rows[i].client_status);
        if (st != rows[i].client_status)
            fprintf(stderr, "row %zu: client status %d\n", i, st);
        char *text = json_dumps(e, JSON_COMPACT);
        CHECK(classify_back(st, text, strlen(text)) == c);
        free(text);
        json_decref(e);
    }
}

#endif
