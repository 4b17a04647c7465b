/* Unit tests of the Bedrock Converse adapter: golden request building
 * (providers.md 6.2, the 3.4 pitfalls), the signed headers (checked against
 * an independent SigV4 computation), response parsing, ConverseStream
 * decoding (event-stream frames cut at every byte boundary, exceptions,
 * corrupted CRCs) and the error table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ad_bedrock.h"
#include "evs.h"
#include "gw_classify.h"
#include "sigv4.h"
#include "ad_test.h"

static time_t pinned_clock(void)
{
    return 1704067200; /* 2024-01-01T00:00:00Z */
}


static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
static const struct ad_target target = {
    .base_url = "https://bedrock-runtime.us-east-1.amazonaws.com",
    .model = "anthropic.claude-3-5-sonnet-20240620-v1:0",
    .api_key = "AKIDEXAMPLE",
    .aws_region = "us-east-1",
    .aws_secret_key = secret,
};

static const char *header(const struct ad_request *r, const char *name)
{
    size_t n = strlen(name);
    for (char **p = r->headers; p && *p; p++)
        if (strncmp(*p, name, n) == 0 && (*p)[n] == ':')
            return *p + n + 2;
    return NULL;
}

static void test_request_example(void)
{
    /* The OpenAI form of providers.md 6.2's request gives that request
     * (less additionalModelRequestFields, which OpenAI cannot say). */
    const char *openai =
        "{\"model\":\"x\",\"max_tokens\":512,\"temperature\":0.2,\"top_p\":0.9,\"stop\":[\"END\"],\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be terse.\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Weather in Oslo?\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBOR\"}}]},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"tooluse_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"tooluse_1\",\"content\":\"{\\\"temp_c\\\":4}\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}],"
        "\"tool_choice\":\"auto\",\"stream\":false}";
    json_t *b = body_of(openai);
    SAME_JSON(b, "{\"system\":[{\"text\":\"Be terse.\"}],"
                 "\"messages\":["
                 "{\"role\":\"user\",\"content\":[{\"text\":\"Weather in Oslo?\"},"
                 "{\"image\":{\"format\":\"png\",\"source\":{\"bytes\":\"iVBOR\"}}}]},"
                 "{\"role\":\"assistant\",\"content\":[{\"toolUse\":{\"toolUseId\":\"tooluse_1\",\"name\":\"get_weather\","
                 "\"input\":{\"city\":\"Oslo\"}}}]},"
                 "{\"role\":\"user\",\"content\":[{\"toolResult\":{\"toolUseId\":\"tooluse_1\","
                 "\"content\":[{\"text\":\"{\\\"temp_c\\\":4}\"}],\"status\":\"success\"}}]}],"
                 "\"inferenceConfig\":{\"maxTokens\":512,\"temperature\":0.2,\"topP\":0.9,\"stopSequences\":[\"END\"]},"
                 "\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
                 "\"inputSchema\":{\"json\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                 "\"required\":[\"city\"]}}}}],\"toolChoice\":{\"auto\":{}}}}");
    json_decref(b);
}

static void test_request_pitfalls(void)
{
    /* providers.md 3.4, as for Anthropic: merged roles, tool results first,
     * empty messages and blocks dropped, "" arguments as {}, a user turn
     * first, the prefill trimmed; an empty tool result gets words. */
    json_t *b = body_of(
        "{\"messages\":["
        "{\"role\":\"assistant\",\"content\":\"Hello.\"},"
        "{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"b\"},"
        "{\"type\":\"text\",\"text\":\"  \"}]},"
        "{\"role\":\"assistant\",\"content\":\"\"},"
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"D\"}]},"
        "{\"role\":\"user\",\"content\":\"c\"},"
        "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
        "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}},"
        "{\"id\":\"call:2\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]},"
        "{\"role\":\"user\",\"content\":\"interleaved\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"one\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call:2\",\"content\":\"\"},"
        "{\"role\":\"assistant\",\"content\":\"The answer is \"}]}");
    SAME_JSON(b, "{\"system\":[{\"text\":\"D\"}],\"messages\":["
                 "{\"role\":\"user\",\"content\":[{\"text\":\".\"}]},"
                 "{\"role\":\"assistant\",\"content\":[{\"text\":\"Hello.\"}]},"
                 "{\"role\":\"user\",\"content\":[{\"text\":\"a\"},{\"text\":\"b\"},{\"text\":\"c\"}]},"
                 "{\"role\":\"assistant\",\"content\":["
                 "{\"toolUse\":{\"toolUseId\":\"call_1\",\"name\":\"f\",\"input\":{\"x\":1}}},"
                 "{\"toolUse\":{\"toolUseId\":\"call_2\",\"name\":\"g\",\"input\":{}}}]},"
                 "{\"role\":\"user\",\"content\":["
                 "{\"toolResult\":{\"toolUseId\":\"call_1\",\"content\":[{\"text\":\"one\"}],\"status\":\"success\"}},"
                 "{\"toolResult\":{\"toolUseId\":\"call_2\",\"content\":[{\"text\":\"(empty result)\"}],\"status\":\"success\"}},"
                 "{\"text\":\"interleaved\"}]},"
                 "{\"role\":\"assistant\",\"content\":[{\"text\":\"The answer is\"}]}],"
                 /* The history's tools are declared, since no tools came. */
                 "\"toolConfig\":{\"tools\":["
                 "{\"toolSpec\":{\"name\":\"f\",\"description\":\"A tool used earlier in this conversation.\","
                 "\"inputSchema\":{\"json\":{\"type\":\"object\",\"properties\":{}}}}},"
                 "{\"toolSpec\":{\"name\":\"g\",\"description\":\"A tool used earlier in this conversation.\","
                 "\"inputSchema\":{\"json\":{\"type\":\"object\",\"properties\":{}}}}}]}}");
    json_decref(b);
    b = body_of("{\"messages\":[{\"role\":\"system\",\"content\":\"S\"}]}");
    SAME_JSON(b, "{\"system\":[{\"text\":\"S\"}],\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\".\"}]}]}");
    json_decref(b);
}

static void test_request_params(void)
{
    json_t *b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":99,"
                        "\"max_completion_tokens\":77,\"temperature\":1.5,\"stop\":\"END\","
                        "\"user\":\"u-1\",\"seed\":4,\"logprobs\":true,\"presence_penalty\":0.5,\"n\":1,"
                        "\"parallel_tool_calls\":false}");
    SAME_JSON(b, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}],"
                 "\"inferenceConfig\":{\"maxTokens\":77,\"temperature\":1.0,\"stopSequences\":[\"END\"]}}");
    json_decref(b);
    /* No limit: none sent (Converse does not require one). */
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0}");
    SAME_JSON(json_object_get(b, "inferenceConfig"), "{\"temperature\":0.0}");
    json_decref(b);
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"response_format\":{\"type\":\"json_schema\","
                "\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\"}}}}");
    SAME_JSON(json_object_get(b, "system"),
              "[{\"text\":\"Answer with one JSON object only: no prose before or after it, no code fences.\"},"
              "{\"text\":\"The object must match this JSON Schema: {\\\"type\\\":\\\"object\\\"}\"}]");
    json_decref(b);
}

static void test_request_tool_choice(void)
{
    const char *tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\"}},"
                        "{\"type\":\"function\",\"function\":{\"name\":\"b\",\"parameters\":{\"properties\":{}}}}]";
    static const struct {
        const char *choice;
        const char *want;  /* toolConfig, or "null" */
    } cases[] = {
        { "\"required\"", "{\"any\":{}}" },
        { "{\"type\":\"function\",\"function\":{\"name\":\"b\"}}", "{\"tool\":{\"name\":\"b\"}}" },
        { "\"none\"", NULL },
        { "{\"type\":\"allowed_tools\",\"allowed_tools\":{\"mode\":\"auto\",\"tools\":[{\"type\":\"function\","
          "\"function\":{\"name\":\"b\"}}]}}", "{\"auto\":{}}" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[1024];
        snprintf(req, sizeof req, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s,\"tool_choice\":%s}", tools,
                 cases[i].choice);
        json_t *b = body_of(req);
        json_t *tc = json_object_get(b, "toolConfig");
        if (!cases[i].want) {
            CHECK(tc == NULL);
        } else {
            SAME_JSON(json_object_get(tc, "toolChoice"), cases[i].want);
            size_t n = json_array_size(json_object_get(tc, "tools"));
            CHECK(n == (i == 3 ? 1u : 2u));
            SAME_JSON(json_object_get(json_object_get(json_array_get(json_object_get(tc, "tools"), n - 1), "toolSpec"),
                                      "inputSchema"),
                      "{\"json\":{\"type\":\"object\",\"properties\":{}}}");
        }
        json_decref(b);
    }
    /* "none" with tools in the history: declared, the model chooses. */
    json_t *b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"tool_calls\":"
                        "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"a\",\"arguments\":\"{}\"}}]},"
                        "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"r\"}],"
                        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\",\"description\":\"A\"}}],"
                        "\"tool_choice\":\"none\"}");
    SAME_JSON(json_object_get(b, "toolConfig"), "{\"tools\":[{\"toolSpec\":{\"name\":\"a\",\"description\":\"A\","
                                                "\"inputSchema\":{\"json\":{\"type\":\"object\",\"properties\":{}}}}}]}");
    json_decref(b);
}

static void test_request_errors(void)
{
    check_refusals(ad_test_common_refusals, sizeof ad_test_common_refusals / sizeof ad_test_common_refusals[0]);
    struct ad_error e = fails("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
              "{\"url\":\"https://example.com/a.png\"}}]}]}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "data URLs"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
              "{\"url\":\"data:image/tiff;base64,AAAA\"}}]}]}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "image/tiff"));
    e = fails("{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
              "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":\"}}]}]}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "messages[0].tool_calls[0].function.arguments"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
              "\"function\":{\"name\":\"has space\"}}]}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "tools[0].function.name"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "n must be 1"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
              "\"function\":{\"name\":\"a\"}}],\"tool_choice\":\"sometimes\"}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "tool_choice"));
    e = fails("{\"messages\":\"x\"}");
    CHECK(e.fail == FAIL_CLIENT);
}

static void test_request_signed(void)
{
    struct ad_request r;
    struct ad_error err;
    struct ad_target t = target;
    t.aws_session_token = "tok/en+1=";
    json_t *b = ad_test_build("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", false, &t, &r, &err);
    CHECK(b != NULL);
    CHECK(r.url && strcmp(r.url, "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
                                 "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse") == 0);
    /* The body, date and token of providers.md-style vector in
     * test_sigv4.c: the same signature, computed independently. */
    CHECK(strcmp(r.body, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hi\"}]}]}") == 0);
    CHECK(header(&r, "host") && strcmp(header(&r, "host"), "bedrock-runtime.us-east-1.amazonaws.com") == 0);
    CHECK(header(&r, "x-amz-date") && strcmp(header(&r, "x-amz-date"), "20240101T000000Z") == 0);
    CHECK(header(&r, "x-amz-security-token") && strcmp(header(&r, "x-amz-security-token"), "tok/en+1=") == 0);
    CHECK(header(&r, "accept") && strcmp(header(&r, "accept"), "application/json") == 0);
    const char *auth = header(&r, "authorization");
    CHECK(auth && strcmp(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/bedrock/aws4_request, "
                               "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
                               "Signature=64efddcce31ad5649ca1dde2e02e3bff7932344cec939620da02cc947cd6494d") == 0);
    json_decref(b);
    ad_request_free(&r);

    /* Streaming: its own path and Accept; a base with a port and a path
     * prefix (a proxy) is signed as sent. */
    t = target;
    t.base_url = "http://127.0.0.1:8080/aws/";
    t.model = "arn:aws:bedrock:us-east-1:123:inference-profile/us.x";
    b = ad_test_build("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", true, &t, &r, &err);
    CHECK(r.url && strcmp(r.url, "http://127.0.0.1:8080/aws/model/"
                                 "arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.x/converse-stream") == 0);
    CHECK(header(&r, "host") && strcmp(header(&r, "host"), "127.0.0.1:8080") == 0);
    CHECK(header(&r, "accept") && strcmp(header(&r, "accept"), "application/vnd.amazon.eventstream") == 0);
    CHECK(header(&r, "x-amz-security-token") == NULL);
    /* Verified the way the simulator does it. */
    struct sigv4_auth pa;
    CHECK(header(&r, "authorization") && sigv4_parse_authorization(header(&r, "authorization"), &pa) == 0);
    const char *hs[] = { "host: 127.0.0.1:8080", "x-amz-date: 20240101T000000Z", "content-type: application/json" };
    struct sigv4_request sr = { "POST", "/aws/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.x/"
                                        "converse-stream", NULL, hs, 3, r.body, r.body_len };
    struct sigv4_key k = { "AKIDEXAMPLE", secret, "us-east-1", "bedrock" };
    char sig[65], *sh = NULL;
    CHECK(sigv4_signature(&k, "20240101T000000Z", &sr, sig, &sh) == 0 && strcmp(sig, pa.signature) == 0);
    free(sh);
    json_decref(b);
    ad_request_free(&r);

    /* A Bedrock API key instead of AWS credentials: a Bearer token. */
    t = target;
    t.aws_secret_key = NULL;
    t.api_key = "bedrock-api-key";
    b = ad_test_build("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", false, &t, &r, &err);
    CHECK(header(&r, "authorization") && strcmp(header(&r, "authorization"), "Bearer bedrock-api-key") == 0);
    json_decref(b);
    ad_request_free(&r);
    /* Bad targets. */
    t = target;
    t.aws_region = NULL;
    CHECK(ad_test_build("{\"messages\":[]}", false, &t, &r, &err) == NULL && err.fail == FAIL_INTERNAL);
    t = target;
    t.base_url = "bedrock-runtime.amazonaws.com";
    CHECK(ad_test_build("{\"messages\":[]}", false, &t, &r, &err) == NULL && err.fail == FAIL_INTERNAL);
    t = target;
    t.aws_session_token = "a\r\nb";
    CHECK(ad_test_build("{\"messages\":[]}", false, &t, &r, &err) == NULL && err.fail == FAIL_INTERNAL);
}

/* ---- responses ---- */

static json_t *parse(const char *body, struct ad_error *err)
{
    json_t *c = ad_bedrock_ops.parse_response(body, strlen(body), "alias", err);
    /* The id is random: checked here, then left out of comparisons. */
    const char *id = json_string_value(json_object_get(c, "id"));
    CHECK(!c || (id && strncmp(id, "chatcmpl-", 9) == 0 && strlen(id) == 33));
    json_object_del(c, "id");
    return c;
}

static void test_response(void)
{
    struct ad_error err;
    json_t *c = parse("{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"Checking.\"},"
                      "{\"toolUse\":{\"toolUseId\":\"tooluse_2\",\"name\":\"get_weather\",\"input\":{\"city\":\"Bergen\"}}}]}},"
                      "\"stopReason\":\"tool_use\","
                      "\"usage\":{\"inputTokens\":410,\"outputTokens\":52,\"totalTokens\":462,\"cacheReadInputTokens\":0,"
                      "\"cacheWriteInputTokens\":0},\"metrics\":{\"latencyMs\":812}}",
                      &err);
    SAME_JSON(c, "{\"object\":\"chat.completion\",\"created\":1704067200,\"model\":\"alias\",\"choices\":[{\"index\":0,"
                 "\"message\":{\"role\":\"assistant\",\"content\":\"Checking.\",\"refusal\":null,\"tool_calls\":["
                 "{\"id\":\"tooluse_2\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                 "\"arguments\":\"{\\\"city\\\":\\\"Bergen\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
                 "\"usage\":{\"prompt_tokens\":410,\"completion_tokens\":52,\"total_tokens\":462,"
                 "\"prompt_tokens_details\":{\"cached_tokens\":0}}}");
    json_decref(c);
    /* Cache tokens count into the prompt; reasoning is left out. */
    c = parse("{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"reasoningContent\":{\"reasoningText\":"
              "{\"text\":\"hmm\"}}},{\"text\":\"Hi\"},{\"text\":\" there\"}]}},\"stopReason\":\"max_tokens\","
              "\"usage\":{\"inputTokens\":10,\"outputTokens\":2,\"cacheReadInputTokens\":100,\"cacheWriteInputTokens\":5}}",
              &err);
    SAME_JSON(json_object_get(c, "usage"), "{\"prompt_tokens\":115,\"completion_tokens\":2,\"total_tokens\":117,"
                                           "\"prompt_tokens_details\":{\"cached_tokens\":100,\"cache_write_tokens\":5}}");
    json_t *ch = json_array_get(json_object_get(c, "choices"), 0);
    SAME_JSON(json_object_get(json_object_get(ch, "message"), "content"), "\"Hi there\"");
    SAME_JSON(json_object_get(ch, "finish_reason"), "\"length\"");
    json_decref(c);
    static const struct {
        const char *reason;
        const char *finish;
    } reasons[] = {
        { "end_turn", "stop" }, { "stop_sequence", "stop" }, { "guardrail_intervened", "content_filter" },
        { "content_filtered", "content_filter" }, { "malformed_model_output", "stop" },
        { "model_context_window_exceeded", "length" }, { "tool_use", "stop" },
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"output\":{\"message\":{\"content\":[{\"text\":\"x\"}]}},\"stopReason\":\"%s\"}",
                 reasons[i].reason);
        c = parse(body, &err);
        const char *f = json_string_value(json_object_get(json_array_get(json_object_get(c, "choices"), 0), "finish_reason"));
        CHECK(f && strcmp(f, reasons[i].finish) == 0);
        json_decref(c);
    }
    static const char *bad[] = { "", "[]", "{\"output\":{}}", "{\"message\":\"oops\"}",
                                 "{\"output\":{\"message\":{\"content\":[{\"text\":1}]}}}",
                                 "{\"output\":{\"message\":{\"content\":[{\"toolUse\":{\"name\":\"f\"}}]}}}",
                                 "{\"output\":{\"message\":{\"content\":[7]}}}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        c = ad_bedrock_ops.parse_response(bad[i], strlen(bad[i]), NULL, &err);
        CHECK(c == NULL && err.fail == FAIL_BAD_RESPONSE && err.message[0]);
        json_decref(c);
    }
}

/* ---- streams ---- */

struct bytes {
    unsigned char *p;
    size_t len;
};

static void add(struct bytes *b, const char *mtype, const char *type, const char *payload)
{
    bool exc = strcmp(mtype, "exception") == 0;
    const char *names[] = { exc ? ":exception-type" : ":event-type", ":content-type", ":message-type" };
    const char *values[] = { type, "application/json", mtype };
    size_t n;
    unsigned char *m = evs_encode(names, values, 3, payload, strlen(payload), &n);
    b->p = realloc(b->p, b->len + n);
    memcpy(b->p + b->len, m, n);
    b->len += n;
    free(m);
}

static void ev(struct bytes *b, const char *type, const char *payload)
{
    add(b, "event", type, payload);
}

static int run_bytes(const struct bytes *b, const size_t *cuts, size_t ncuts, bool usage, struct out *o)
{
    return run((const char *)b->p, b->len, cuts, ncuts, usage, o);
}

static void check_frame_cuts(const struct bytes *b, bool usage, const char *want, int want_rc)
{
    struct out o = { 0 };
    int bad = 0;
    for (size_t a = 0; a <= b->len; a++) {
        for (size_t c = a; c <= b->len; c += 7) {
            size_t cuts[2] = { a, c };
            int rc = run_bytes(b, cuts, 2, usage, &o);
            if (rc != want_rc || strcmp(o.text, want) != 0) {
                if (!bad++)
                    fprintf(stderr, "cuts %zu,%zu (rc %d):\n%s\nwant:\n%s\n", a, c, rc, o.text, want);
            }
            free(o.text);
        }
    }
    CHECK(bad == 0);
    size_t *cuts = malloc(b->len * sizeof *cuts);
    for (size_t i = 0; i < b->len; i++)
        cuts[i] = i + 1;
    int rc = run_bytes(b, cuts, b->len ? b->len - 1 : 0, usage, &o);
    CHECK(rc == want_rc && strcmp(o.text, want) == 0);
    free(o.text);
    free(cuts);
}

#define CHUNK(delta, finish) \
    "{\"id\":\"ID\",\"object\":\"chat.completion.chunk\",\"created\":1704067200,\"model\":\"alias\"," \
    "\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":" finish "}]}\n"
#define CHUNK_U(delta, finish) \
    "{\"id\":\"ID\",\"object\":\"chat.completion.chunk\",\"created\":1704067200,\"model\":\"alias\"," \
    "\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":" finish "}],\"usage\":null}\n"

static void tool_stream(struct bytes *b)
{
    /* providers.md 6.3's events: text straight from a delta, then a tool. */
    ev(b, "messageStart", "{\"role\":\"assistant\"}");
    ev(b, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}");
    ev(b, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"...\"}}}");
    ev(b, "contentBlockStop", "{\"contentBlockIndex\":0}");
    ev(b, "contentBlockStart", "{\"contentBlockIndex\":1,\"start\":{\"toolUse\":{\"toolUseId\":\"t1\",\"name\":\"get_weather\"}}}");
    ev(b, "contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"{\\\"city\\\":\"}}}");
    ev(b, "contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"\\\"Oslo\\\"}\"}}}");
    ev(b, "contentBlockStop", "{\"contentBlockIndex\":1}");
    ev(b, "contentBlockStart", "{\"contentBlockIndex\":2,\"start\":{\"toolUse\":{\"toolUseId\":\"t2\",\"name\":\"now\"}}}");
    ev(b, "contentBlockStop", "{\"contentBlockIndex\":2}");
    ev(b, "messageStop", "{\"stopReason\":\"tool_use\"}");
    ev(b, "metadata", "{\"usage\":{\"inputTokens\":410,\"outputTokens\":52,\"totalTokens\":462,"
                      "\"cacheReadInputTokens\":8},\"metrics\":{\"latencyMs\":812}}");
}

static void test_stream_golden(void)
{
    struct bytes b = { 0 };
    tool_stream(&b);
    check_frame_cuts(&b, false,
                   CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null")
                   CHUNK("{\"content\":\"Hi\"}", "null")
                   CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}", "null")
                   CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}", "null")
                   CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}}]}", "null")
                   CHUNK("{\"tool_calls\":[{\"index\":1,\"id\":\"t2\",\"type\":\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"\"}}]}", "null")
                   CHUNK("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]}", "null")
                   CHUNK("{}", "\"tool_calls\"")
                   "[DONE]\n", 0);
    /* include_usage: "usage":null on every chunk, then the usage chunk. */
    struct bytes t = { 0 };
    ev(&t, "messageStart", "{\"role\":\"assistant\"}");
    ev(&t, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hello\"}}");
    ev(&t, "messageStop", "{\"stopReason\":\"end_turn\"}");
    ev(&t, "metadata", "{\"usage\":{\"inputTokens\":3,\"outputTokens\":1,\"cacheWriteInputTokens\":2}}");
    check_frame_cuts(&t, true,
                   CHUNK_U("{\"role\":\"assistant\",\"content\":\"\"}", "null")
                   CHUNK_U("{\"content\":\"Hello\"}", "null")
                   CHUNK_U("{}", "\"stop\"")
                   "{\"id\":\"ID\",\"object\":\"chat.completion.chunk\",\"created\":1704067200,\"model\":\"alias\","
                   "\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6,"
                   "\"prompt_tokens_details\":{\"cached_tokens\":0,\"cache_write_tokens\":2}}}\n"
                   "[DONE]\n", 0);
    /* Bytes after the end are ignored; a stream without metadata is cut. */
    struct out o = { 0 };
    size_t cut = t.len - 1;
    ev(&t, "messageStart", "{}");
    CHECK(run_bytes(&t, &cut, 1, false, &o) == 0 && strstr(o.text, "[DONE]\n") && o.calls == 4);
    free(o.text);
    struct bytes u = { 0 };
    ev(&u, "messageStart", "{\"role\":\"assistant\"}");
    ev(&u, "messageStop", "{\"stopReason\":\"end_turn\"}");
    CHECK(run_bytes(&u, NULL, 0, false, &o) == 0 && !strstr(o.text, "[DONE]") && !strstr(o.text, "ERR"));
    free(o.text);
    check_stop_after((const char *)b.p, b.len, "alias");
    free(b.p);
    free(t.p);
    free(u.p);
}

static void test_stream_errors(void)
{
    struct out o = { 0 };
    /* An exception mid-stream: its class and an OpenAI error, no [DONE]. */
    static const struct {
        const char *type;
        const char *msg;
        const char *want;
    } exc[] = {
        { "throttlingException", "Too many requests", "ERR rate_limited " },
        { "modelStreamErrorException", "The model failed", "ERR stream_error " },
        { "validationException", "Input is too long for requested model.", "ERR context_length " },
        { "serviceUnavailableException", "Service unavailable", "ERR server_error " },
        { "internalServerException", "boom", "ERR server_error " },
    };
    for (size_t i = 0; i < sizeof exc / sizeof exc[0]; i++) {
        struct bytes b = { 0 };
        char payload[128];
        ev(&b, "messageStart", "{\"role\":\"assistant\"}");
        ev(&b, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hi\"}}");
        snprintf(payload, sizeof payload, "{\"message\":\"%s\"}", exc[i].msg);
        add(&b, "exception", exc[i].type, payload);
        ev(&b, "metadata", "{}");
        for (size_t cut = 0; cut <= b.len; cut += 3) {
            int rc = run_bytes(&b, &cut, 1, false, &o);
            CHECK(rc == -1 && strstr(o.text, exc[i].want) && strstr(o.text, exc[i].msg) && !strstr(o.text, "[DONE]"));
            if (rc != -1 || !strstr(o.text, exc[i].want))
                fprintf(stderr, "exc %zu cut %zu rc %d: %s\n", i, cut, rc, o.text);
            free(o.text);
        }
        free(b.p);
    }
    /* Corrupted bytes: every flipped bit in the stream fails it as a bad
     * answer (or leaves it waiting, a cut), never as a wrong chunk. */
    struct bytes b = { 0 };
    tool_stream(&b);
    struct out good = { 0 };
    run_bytes(&b, NULL, 0, false, &good);
    int wrong = 0;
    for (size_t i = 0; i < b.len; i += 5) {
        b.p[i] ^= 0x10;
        int rc = run_bytes(&b, NULL, 0, false, &o);
        bool failed = rc == -1 && strstr(o.text, "ERR bad_response ");
        bool waiting = rc == 0 && !strstr(o.text, "[DONE]");
        /* What came out before the damage is a prefix of the good output. */
        const char *err = strstr(o.text, "ERR");
        size_t pre = err ? (size_t)(err - o.text) : o.len;
        wrong += !(failed || waiting) || strncmp(o.text, good.text, pre) != 0;
        free(o.text);
        b.p[i] ^= 0x10;
    }
    CHECK(wrong == 0);
    free(good.text);
    free(b.p);
    /* Frames fine, contents wrong. */
    static const char *const bad[][2] = {
        { "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"x\"}}" },     /* before messageStart */
    };
    struct bytes c = { 0 };
    ev(&c, bad[0][0], bad[0][1]);
    CHECK(run_bytes(&c, NULL, 0, false, &o) == -1 && strstr(o.text, "ERR bad_response "));
    free(o.text);
    free(c.p);
    static const char *const after_start[][2] = {
        { "contentBlockDelta", "{\"contentBlockIndex\":-1,\"delta\":{\"text\":\"x\"}}" },
        { "contentBlockDelta", "{\"contentBlockIndex\":5000,\"delta\":{\"text\":\"x\"}}" },
        { "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"{}\"}}}" },
        { "contentBlockStop", "{\"contentBlockIndex\":3}" },
        { "contentBlockStart", "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"name\":\"f\"}}}" },
        { "messageStart", "{}" },
        { "contentBlockDelta", "not json" },
    };
    for (size_t i = 0; i < sizeof after_start / sizeof after_start[0]; i++) {
        struct bytes d = { 0 };
        ev(&d, "messageStart", "{\"role\":\"assistant\"}");
        ev(&d, after_start[i][0], after_start[i][1]);
        int rc = run_bytes(&d, NULL, 0, false, &o);
        CHECK(rc == -1 && strstr(o.text, "ERR bad_response "));
        if (rc != -1)
            fprintf(stderr, "case %zu: %s\n", i, o.text);
        free(o.text);
        free(d.p);
    }
    /* An HTML page where the event stream should be. */
    struct bytes h = { (unsigned char *)"<html><body>502 Bad Gateway</body></html>", 41 };
    CHECK(run_bytes(&h, NULL, 0, false, &o) == -1 && strstr(o.text, "ERR bad_response "));
    free(o.text);
    /* An error message (not an exception). */
    struct bytes e = { 0 };
    const char *names[] = { ":message-type", ":error-code", ":error-message" };
    const char *values[] = { "error", "InternalFailure", "it broke" };
    size_t n;
    e.p = evs_encode(names, values, 3, "", 0, &n);
    e.len = n;
    CHECK(run_bytes(&e, NULL, 0, false, &o) == -1 && strstr(o.text, "ERR stream_error ") && strstr(o.text, "it broke"));
    free(o.text);
    free(e.p);
}

static void test_error_table(void)
{
    static const struct ad_test_err_row table[] = {
        { 400, "{\"message\":\"Malformed input request\"}", FAIL_CLIENT, NULL, 400 },
        { 400, "{\"message\":\"Input is too long for requested model.\"}", FAIL_CONTEXT, "context_length_exceeded", 400 },
        { 400, "{\"message\":\"prompt is too long: 205351 tokens > 200000 maximum\"}", FAIL_CONTEXT,
          "context_length_exceeded", 400 },
        { 400, "{\"message\":\"Invocation of model ID x with on-demand throughput isn't supported.\"}", FAIL_NOT_FOUND,
          "model_not_found", 404 },
        { 400, "{\"__type\":\"com.amazonaws#ServiceQuotaExceededException\",\"message\":\"over\"}", FAIL_QUOTA,
          "insufficient_quota", 429 },
        { 400, "{\"message\":\"Your quota is exhausted\"}", FAIL_QUOTA, "insufficient_quota", 429 },
        { 403, "{\"message\":\"You don't have access to the model with the specified model ID.\"}", FAIL_AUTH,
          "permission_denied", 403 },
        { 403, "{\"message\":\"The security token included in the request is invalid.\"}", FAIL_AUTH,
          "invalid_api_key", 403 },
        { 503, "{\"message\":\"Bedrock is unable to process your request.\"}", FAIL_SERVER, "overloaded", 503 },
        { 408, "{\"message\":\"Model has timed out\"}", FAIL_SERVER, "timeout", 408 },
        { 403, "{\"__type\":\"AccessDeniedException\",\"message\":\"no\"}", FAIL_AUTH, "permission_denied", 403 },
        { 403, "{\"__type\":\"InvalidSignatureException\",\"message\":\"The request signature we calculated does not match\"}",
          FAIL_AUTH, "invalid_api_key", 403 },
        { 404, "{\"message\":\"Model not found\"}", FAIL_NOT_FOUND, "model_not_found", 404 },
        { 408, "{\"__type\":\"ModelTimeoutException\",\"message\":\"slow\"}", FAIL_SERVER, "timeout", 408 },
        { 424, "{\"message\":\"model error\"}", FAIL_SERVER, "server_error", 503 },
        { 429, "{\"message\":\"Too many requests, please wait before trying again.\"}", FAIL_RATE_LIMIT,
          "rate_limit_exceeded", 429 },
        { 429, "{\"code\":\"ModelNotReadyException:x\",\"message\":\"Model is not ready\"}", FAIL_SERVER, "server_error", 503 },
        { 429, "{\"message\":\"Model is not ready to serve inference requests.\"}", FAIL_SERVER, "server_error", 503 },
        { 500, "{\"message\":\"Internal\"}", FAIL_SERVER, "server_error", 500 },
        { 503, "{\"__type\":\"ServiceUnavailableException\",\"message\":\"unavailable\"}", FAIL_SERVER, "overloaded", 503 },
        { 502, "<html>bad gateway</html>", FAIL_SERVER, "server_error", 502 },
    };
    check_error_rows(table, sizeof table / sizeof table[0], gw_classify_http);
    CHECK(ad_ops_find("bedrock") == &ad_bedrock_ops);
}

int main(void)
{
    ad_clock = pinned_clock;
    ad_test_ops = &ad_bedrock_ops;
    ad_test_target = &target;
    ad_test_model = "alias";
    ad_test_mask_ids = true;
    test_request_example();
    test_request_pitfalls();
    test_request_params();
    test_request_tool_choice();
    test_request_errors();
    test_request_signed();
    test_response();
    test_stream_golden();
    test_stream_errors();
    test_error_table();
    UNIT_END("ad_bedrock");
}
