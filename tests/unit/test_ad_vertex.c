/* Unit tests of the Vertex AI adapters: Gemini and Anthropic models at
 * Vertex's URLs with a bearer token (providers.md 4.6), the Anthropic body
 * with the model in the URL and anthropic_version in the body, answers and
 * streams (cut at every byte boundary) read by the composed adapters, and
 * Vertex's errors. */
#include "ad_test.h"
#include "gw_classify.h"

#define BASE "https://us-east5-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-east5"

static const struct ad_target claude = { .base_url = BASE, .model = "claude-opus-4@20250514", .api_key = "ya29.token" };
static const struct ad_target gemini = { .base_url = BASE "/", .model = "gemini-2.5-flash", .api_key = "ya29.token" };

static void test_anthropic_request(void)
{
    ad_test_ops = &ad_vertex_anthropic_ops;
    /* providers.md 4.6's body, from its OpenAI form. */
    struct ad_request r;
    struct ad_error err;
    json_t *b = ad_test_build("{\"model\":\"claude\",\"max_tokens\":1024,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
                              true, &claude, &r, &err);
    SAME_JSON(b, "{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":1024,\"stream\":true,"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    CHECK(r.url && strcmp(r.url, BASE "/publishers/anthropic/models/claude-opus-4@20250514:streamRawPredict") == 0);
    CHECK(has_header(&r, "Authorization: Bearer ya29.token") && has_header(&r, "Content-Type: application/json"));
    for (char **h = r.headers; h && *h; h++)
        CHECK(strncmp(*h, "x-api-key", 9) != 0 && strncmp(*h, "anthropic-version", 17) != 0);
    json_decref(b);
    ad_request_free(&r);

    /* Not streaming: rawPredict; the translation is the Anthropic
     * adapter's (system out of the conversation, tools). */
    struct ad_target t = claude;
    t.api_version = "vertex-2099-01-01";
    b = ad_test_build("{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"Hi\"}],"
                      "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}",
                      false, &t, &r, &err);
    CHECK(b && strcmp(r.url, BASE "/publishers/anthropic/models/claude-opus-4@20250514:rawPredict") == 0);
    CHECK(b && strcmp(json_string_value(json_object_get(b, "system")), "S") == 0);
    CHECK(b && json_array_size(json_object_get(b, "tools")) == 1 && !json_object_get(b, "model"));
    CHECK(b && strcmp(json_string_value(json_object_get(b, "anthropic_version")), "vertex-2099-01-01") == 0);
    CHECK(b && !json_object_get(b, "stream"));
    json_decref(b);
    ad_request_free(&r);

    /* Errors: the request's own (from the Anthropic translation), a model
     * id a path cannot carry, a token that would inject a header. */
    b = ad_test_build("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":3}", false, &claude, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_CLIENT && strstr(err.message, "n must be 1") && r.url == NULL);
    t.model = "claude/../x";
    b = ad_test_build("{\"messages\":[]}", false, &t, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_INTERNAL);
    t.model = claude.model;
    t.api_key = "tok\nX: y";
    b = ad_test_build("{\"messages\":[]}", false, &t, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_INTERNAL && r.url == NULL && r.body == NULL && r.headers == NULL);
    ad_request_free(&r);
}

static void test_gemini_request(void)
{
    ad_test_ops = &ad_vertex_gemini_ops;
    const char *req = "{\"messages\":[{\"role\":\"system\",\"content\":\"Be terse.\"},{\"role\":\"user\",\"content\":\"Hi\"}],"
                      "\"temperature\":0.2}";
    struct ad_request r;
    struct ad_error err;
    json_t *b = ad_test_build(req, true, &gemini, &r, &err);
    /* The body is exactly the Gemini adapter's. */
    SAME_JSON(b, "{\"systemInstruction\":{\"parts\":[{\"text\":\"Be terse.\"}]},"
                 "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hi\"}]}],"
                 "\"generationConfig\":{\"temperature\":0.2}}");
    CHECK(r.url && strcmp(r.url, BASE "/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse") == 0);
    CHECK(has_header(&r, "Authorization: Bearer ya29.token"));
    for (char **h = r.headers; h && *h; h++)
        CHECK(strncmp(*h, "x-goog-api-key", 14) != 0);
    json_decref(b);
    ad_request_free(&r);
    b = ad_test_build(req, false, &gemini, &r, &err);
    CHECK(b && strcmp(r.url, BASE "/publishers/google/models/gemini-2.5-flash:generateContent") == 0);
    json_decref(b);
    ad_request_free(&r);
    b = ad_test_build("{\"messages\":5}", false, &gemini, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_CLIENT && r.url == NULL);
    b = ad_test_build("[]", false, &gemini, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_CLIENT);
    ad_request_free(&r);
}

static void test_answers(void)
{
    struct ad_error err;
    ad_test_ops = &ad_vertex_anthropic_ops;
    json_t *c = ad_test_parse("{\"id\":\"msg_v\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-4\","
                              "\"content\":[{\"type\":\"text\",\"text\":\"Hi.\"}],\"stop_reason\":\"end_turn\","
                              "\"usage\":{\"input_tokens\":3,\"output_tokens\":2}}",
                              "alias", &err);
    SAME_JSON(c, "{\"id\":\"msg_v\",\"object\":\"chat.completion\",\"created\":1717000000,\"model\":\"alias\","
                 "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi.\",\"refusal\":null},"
                 "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,"
                 "\"total_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\":0}}}");
    json_decref(c);
    ad_test_ops = &ad_vertex_gemini_ops;
    c = ad_test_parse("{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"4 C and rain.\"}]},"
                      "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":120,\"candidatesTokenCount\":9},"
                      "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc123\"}",
                      NULL, &err);
    CHECK(c && strcmp(json_string_value(json_object_get(c, "id")), "abc123") == 0);
    json_decref(c);
}

static const char anth_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_v\",\"model\":\"claude-opus-4\",\"usage\":{\"input_tokens\":3}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
#define HA "{\"id\":\"msg_v\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"claude-opus-4\",\"choices\":"
static const char anth_want[] =
    HA "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n"
    HA "[{\"index\":0,\"delta\":{\"content\":\"Hi.\"},\"finish_reason\":null}],\"usage\":null}\n"
    HA "[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n"
    HA "[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n"
    "[DONE]\n";

static const char gem_stream[] =
    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}}}]},"
    "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":3},"
    "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"v1\"}\r\n\r\n";
#define HG "{\"id\":\"v1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gemini-2.5-flash\",\"choices\":"
static const char gem_want[] =
    HG "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n"
    HG "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_v1_0\",\"type\":\"function\",\"function\":"
    "{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":null}]}\n"
    HG "[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n"
    "[DONE]\n";

static void test_streams(void)
{
    ad_test_ops = &ad_vertex_anthropic_ops;
    check_all_cuts(anth_stream, true, anth_want, 0);
    const char *const as[] = { anth_stream };
    stream_fuzz(as, 1, 500);
    ad_test_ops = &ad_vertex_gemini_ops;
    check_all_cuts(gem_stream, false, gem_want, 0);
    const char *const gs[] = { gem_stream };
    stream_fuzz(gs, 1, 500);
}

static void test_errors(void)
{
    /* What Vertex itself refuses comes in Google's shape, on both. */
    static const struct ad_test_err_row google[] = {
        { 401, "{\"error\":{\"code\":401,\"message\":\"Request had invalid authentication credentials.\",\"status\":"
               "\"UNAUTHENTICATED\"}}",
          FAIL_AUTH, "invalid_api_key", 401 },
        { 429, "{\"error\":{\"code\":429,\"message\":\"Quota exceeded for aiplatform.googleapis.com/"
               "online_prediction_requests_per_base_model\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
          FAIL_RATE_LIMIT, "rate_limit_exceeded", 429 },
        { 404, "{\"error\":{\"code\":404,\"message\":\"Publisher model not found\",\"status\":\"NOT_FOUND\"}}",
          FAIL_NOT_FOUND, "model_not_found", 404 },
    };
    ad_test_ops = &ad_vertex_gemini_ops;
    check_error_rows(google, 3, gw_classify_http);
    ad_test_ops = &ad_vertex_anthropic_ops;
    for (size_t i = 0; i < 3; i++)
        CHECK(ad_test_ops->classify(google[i].status, google[i].body, strlen(google[i].body), NULL) == google[i].fail);
    /* What the model refuses comes in Anthropic's. */
    static const struct ad_test_err_row anth[] = {
        { 529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}", FAIL_SERVER,
          "overloaded", 503 },
        { 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: "
               "205351 tokens > 200000 maximum\"}}",
          FAIL_CONTEXT, "context_length_exceeded", 400 },
    };
    check_error_rows(anth, 2, gw_classify_http);
    CHECK(ad_ops_find("vertex-gemini") == &ad_vertex_gemini_ops);
    CHECK(ad_ops_find("vertex-anthropic") == &ad_vertex_anthropic_ops);
}

int main(void)
{
    ad_clock = ad_test_clock;
    srand(7);
    test_anthropic_request();
    test_gemini_request();
    test_answers();
    test_streams();
    test_errors();
    UNIT_END("ad_vertex");
}
