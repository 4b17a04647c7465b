/* Unit tests of the OpenAI (identity) adapter: the request keeps the
 * client's body with the target's model, answers are checked and passed
 * through, streams are relayed chunk by chunk whatever the cuts, and errors
 * classify as gw_classify does.  Vectors from providers.md section 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ad_common.h"
#include "gw_classify.h"
#include "unit.h"

static const struct ad_target target = { .base_url = "https://api.openai.com/v1", .model = "gpt-4o-2024-08-06", .api_key = "sk-test" };

static bool has_header(const struct ad_request *r, const char *h)
{
    for (char **p = r->headers; p && *p; p++)
        if (strcmp(*p, h) == 0)
            return true;
    return false;
}

static void test_build(void)
{
    const char *text =
        "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]},"
        "\"strict\":true}}],"
        "\"tool_choice\":\"auto\",\"temperature\":0.2,\"max_completion_tokens\":512,"
        "\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
    json_t *req = json_loads(text, 0, NULL);
    json_t *orig = json_deep_copy(req);
    struct ad_request r;
    struct ad_error err;
    CHECK(ad_openai_ops.build_request(req, true, &target, &r, &err) == 0);
    json_t *body = json_loadb(r.body, r.body_len, 0, NULL);
    CHECK(strlen(r.body) == r.body_len);
    CHECK(strcmp(r.url, "https://api.openai.com/v1/chat/completions") == 0);
    CHECK(has_header(&r, "Authorization: Bearer sk-test"));
    CHECK(has_header(&r, "Content-Type: application/json"));
    CHECK(strcmp(json_string_value(json_object_get(body, "model")), "gpt-4o-2024-08-06") == 0);
    /* Everything else is the client's, untouched. */
    json_object_set_new(body, "model", json_string("gpt-4o"));
    CHECK(json_equal(body, orig));
    CHECK(json_equal(req, orig)); /* the input is borrowed, not changed */
    json_decref(body);
    ad_request_free(&r);

    /* Not streaming: no stream flag, no stream_options (OpenAI refuses them
     * without stream); no key: no Authorization. */
    struct ad_target nokey = { .base_url = "http://127.0.0.1:11434/v1", .model = "llama3" };
    CHECK(ad_openai_ops.build_request(req, false, &nokey, &r, &err) == 0);
    body = json_loadb(r.body, r.body_len, 0, NULL);
    CHECK(!json_object_get(body, "stream") && !json_object_get(body, "stream_options"));
    CHECK(json_object_get(body, "tools") != NULL);
    CHECK(strcmp(r.url, "http://127.0.0.1:11434/v1/chat/completions") == 0);
    for (char **h = r.headers; *h; h++)
        CHECK(strncmp(*h, "Authorization", 13) != 0);
    json_decref(body);
    ad_request_free(&r);

    struct ad_target bad = { .base_url = "https://x", .model = "m", .api_key = "k\nX-Evil: 1" };
    CHECK(ad_openai_ops.build_request(req, false, &bad, &r, &err) < 0 && err.fail == FAIL_INTERNAL);
    CHECK(r.url == NULL && r.body == NULL && r.headers == NULL);
    json_t *arr = json_array();
    CHECK(ad_openai_ops.build_request(arr, false, &target, &r, &err) < 0 && err.fail == FAIL_CLIENT);
    json_decref(arr);
    json_decref(req);
    json_decref(orig);
}

static const char completion[] =
    "{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion\",\"created\":1717000000,\"model\":\"gpt-4o-2024-08-06\","
    "\"system_fingerprint\":\"fp_abc\",\"service_tier\":\"default\","
    "\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\",\"logprobs\":null,"
    "\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null,"
    "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
    "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]}}],"
    "\"usage\":{\"prompt_tokens\":82,\"completion_tokens\":17,\"total_tokens\":99,"
    "\"prompt_tokens_details\":{\"cached_tokens\":64,\"audio_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
    "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}";

static void test_parse(void)
{
    struct ad_error err;
    json_t *want = json_loads(completion, 0, NULL);
    json_t *c = ad_openai_ops.parse_response(completion, strlen(completion), NULL, &err);
    CHECK(c && json_equal(c, want));
    json_decref(c);
    c = ad_openai_ops.parse_response(completion, strlen(completion), "alias", &err);
    CHECK(c && strcmp(json_string_value(json_object_get(c, "model")), "alias") == 0);
    json_decref(c);
    json_decref(want);
    static const char *const bad[] = {
        "", "{", "[]", "{\"error\":{\"message\":\"boom\"}}", "{\"error\":\"boom\"}", "{\"id\":\"x\"}",
        "{\"choices\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        c = ad_openai_ops.parse_response(bad[i], strlen(bad[i]), NULL, &err);
        CHECK(c == NULL && err.fail == FAIL_BAD_RESPONSE && err.message[0]);
    }
}

struct out {
    char text[8192];
    size_t len;
    int calls;
    bool content_at[16];
    struct ad_stream *s;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (n > sizeof o->text - 1 - o->len)
        n = sizeof o->text - 1 - o->len;
    memcpy(o->text + o->len, s, n);
    o->len += n;
    o->text[o->len] = '\0';
}

static int collect(void *arg, const char *chunk, size_t len, bool done, const struct ad_error *error)
{
    struct out *o = arg;
    if (o->calls < 16)
        o->content_at[o->calls] = ad_stream_has_content(o->s);
    o->calls++;
    if (error) {
        put(o, "ERR ", 4);
        put(o, fail_class_name(error->fail), strlen(fail_class_name(error->fail)));
        put(o, " ", 1);
    }
    if (done)
        put(o, "[DONE]", 6);
    else
        put(o, chunk, len);
    put(o, "\n", 1);
    return 0;
}

static int run(const char *stream, size_t cut, const char *model, struct out *o)
{
    size_t len = strlen(stream);
    memset(o, 0, sizeof *o);
    o->s = ad_openai_ops.stream_new(model, true);
    int rc = ad_openai_ops.stream_feed(o->s, stream, cut, collect, o);
    if (rc == 0)
        rc = ad_openai_ops.stream_feed(o->s, stream + cut, len - cut, collect, o);
    ad_openai_ops.stream_free(o->s);
    return rc;
}

#define C1 "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}"
#define C2 "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}"
#define C3 "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},\"finish_reason\":null}]}"
#define C4 "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}"
#define C5 "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":82,\"completion_tokens\":17,\"total_tokens\":99}}"

/* providers.md 1.3, plus a keep-alive comment. */
static const char stream13[] = "data: " C1 "\n\n: keep-alive\n\ndata: " C2 "\n\ndata: " C3 "\n\ndata: " C4 "\n\ndata: " C5
                               "\n\ndata: [DONE]\n\n";

static void test_stream(void)
{
    const char *want = C1 "\n" C2 "\n" C3 "\n" C4 "\n" C5 "\n[DONE]\n";
    struct out o;
    int bad = 0;
    for (size_t cut = 0; cut <= strlen(stream13); cut++) {
        int rc = run(stream13, cut, NULL, &o);
        bad += rc != 0 || strcmp(o.text, want) != 0;
    }
    CHECK(bad == 0);
    /* One byte at a time. */
    memset(&o, 0, sizeof o);
    o.s = ad_openai_ops.stream_new(NULL, false);
    int rc = 0;
    for (const char *p = stream13; *p && rc == 0; p++)
        rc = ad_openai_ops.stream_feed(o.s, p, 1, collect, &o);
    CHECK(rc == 0 && strcmp(o.text, want) == 0);
    /* The role chunk is not content; the tool call is. */
    CHECK(!o.content_at[0] && o.content_at[1] && o.content_at[4]);
    /* After [DONE] nothing more comes out. */
    CHECK(ad_openai_ops.stream_feed(o.s, "data: " C1 "\n\n", strlen(C1) + 8, collect, &o) == 0 && o.calls == 6);
    ad_openai_ops.stream_free(o.s);

    /* The client's model name is stamped on every chunk. */
    CHECK(run(stream13, 0, "alias", &o) == 0);
    CHECK(strstr(o.text, "\"model\":\"gpt-4o\"") == NULL && strstr(o.text, "\"model\":\"alias\"") != NULL);
    CHECK(o.calls == 6);

    /* Text content counts from the first non-empty text. */
    const char *text_stream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n"
                              "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"}}]}\n\n"
                              "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
    CHECK(run(text_stream, 0, NULL, &o) == 0);
    CHECK(o.calls == 3 && !o.content_at[0] && !o.content_at[1] && o.content_at[2]);

    /* An error in the stream: FAIL_STREAM_ERROR with the upstream's own
     * error object, and the end. */
    const char *err_stream = "data: " C1 "\n\ndata: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"code\":null}}\n\n"
                             "data: " C2 "\n\n";
    CHECK(run(err_stream, 0, NULL, &o) == -1);
    CHECK(strcmp(o.text, C1 "\nERR stream_error {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"code\":null}}\n") == 0);
    CHECK(run("event: error\ndata: overloaded\n\n", 0, NULL, &o) == -1);
    CHECK(strncmp(o.text, "ERR stream_error {\"error\":", 26) == 0);
    CHECK(run("data: {not json\n\n", 0, NULL, &o) == -1);
    CHECK(strncmp(o.text, "ERR bad_response ", 17) == 0);
    CHECK(run("data: {\"choices\":5}\n\n", 0, NULL, &o) == -1);
    CHECK(strncmp(o.text, "ERR bad_response ", 17) == 0);
    /* A stream without [DONE] never reports done. */
    CHECK(run("data: " C1 "\n\n", 0, NULL, &o) == 0 && o.calls == 1);

    /* Garbage: failures, never crashes. */
    srand(7);
    char buf[512];
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(rand() % (int)sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)(rand() % 5 == 0 ? '\n' : rand() % 3 == 0 ? "data: {}[]\"DONE"[rand() % 15] : rand() % 256);
        struct out g;
        memset(&g, 0, sizeof g);
        g.s = ad_openai_ops.stream_new(round % 2 ? "m" : NULL, false);
        int last = 0;
        for (size_t at = 0; at < len;) {
            size_t n = 1 + (size_t)rand() % 40;
            if (n > len - at)
                n = len - at;
            int r = ad_openai_ops.stream_feed(g.s, buf + at, n, collect, &g);
            bad += last != 0 && r != last;
            last = r;
            at += n;
        }
        ad_openai_ops.stream_free(g.s);
    }
    CHECK(bad == 0);
}

static void test_classify(void)
{
    static const struct {
        long status;
        const char *body;
        enum fail_class fail;
        bool as_is;           /* the upstream's body goes to the client */
    } table[] = {
        { 400, "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens\",\"type\":\"invalid_request_error\","
               "\"param\":\"messages\",\"code\":\"context_length_exceeded\"}}", FAIL_CONTEXT, true },
        { 400, "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\"}}", FAIL_CLIENT, true },
        { 401, "{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}",
          FAIL_AUTH, true },
        { 404, "{\"error\":\"model 'llama9' not found\"}", FAIL_NOT_FOUND, false },
        { 429, "{\"error\":{\"message\":\"You exceeded your current quota\",\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}",
          FAIL_QUOTA, true },
        { 429, "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}",
          FAIL_RATE_LIMIT, true },
        { 500, "<html>Internal Server Error</html>", FAIL_SERVER, false },
        { 503, "", FAIL_SERVER, false },
        { 422, "{\"detail\":[{\"msg\":\"field required\"}]}", FAIL_CLIENT, false },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        size_t len = strlen(table[i].body);
        json_t *e = NULL;
        enum fail_class c = ad_openai_ops.classify(table[i].status, table[i].body, len, &e);
        CHECK(c == table[i].fail);
        CHECK(c == gw_classify_http(table[i].status, table[i].body, len));
        json_t *orig = json_loads(table[i].body, 0, NULL);
        CHECK(table[i].as_is ? json_equal(e, orig) : !json_equal(e, orig));
        const json_t *err = json_object_get(e, "error");
        CHECK(json_string_length(json_object_get(err, "message")) > 0 && json_object_get(err, "type"));
        char *text = json_dumps(e, JSON_COMPACT);
        CHECK(gw_classify_http(ad_client_status(c, table[i].status), text, strlen(text)) == c);
        free(text);
        json_decref(orig);
        json_decref(e);
    }
    json_t *e = NULL;
    ad_openai_ops.classify(404, "{\"error\":\"model 'llama9' not found\"}", 36, &e);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(e, "error"), "message")), "model 'llama9' not found") == 0);
    json_decref(e);
    CHECK(ad_openai_ops.classify(403, NULL, 0, NULL) == FAIL_AUTH);
    CHECK(strcmp(ad_openai_ops.name, "openai") == 0 && ad_ops_find("openai") == &ad_openai_ops);
}

int main(void)
{
    test_build();
    test_parse();
    test_stream();
    test_classify();
    UNIT_END("ad_openai");
}
