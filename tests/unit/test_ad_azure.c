/* Unit tests of the Azure OpenAI adapter: both URL forms and the api-key
 * header, filter reports removed from answers and streams (the stream cut
 * at every byte boundary), and Azure's errors (providers.md section 5). */
#include "ad_test.h"
#include "gw_classify.h"

static const char *const req = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                               "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"temperature\":0.2}";

static void test_request(void)
{
    /* The dated form: deployment in the path, api-version in the query. */
    struct ad_target t = { .base_url = "https://res.openai.azure.com", .model = "my-gpt4o", .api_key = "azkey", .api_version = "2024-10-21" };
    struct ad_request r;
    struct ad_error err;
    json_t *b = ad_test_build(req, true, &t, &r, &err);
    SAME_JSON(b, "{\"model\":\"my-gpt4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                 "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"temperature\":0.2}");
    CHECK(r.url && strcmp(r.url, "https://res.openai.azure.com/openai/deployments/my-gpt4o/chat/completions"
                                 "?api-version=2024-10-21") == 0);
    CHECK(has_header(&r, "api-key: azkey") && has_header(&r, "Content-Type: application/json"));
    for (char **h = r.headers; h && *h; h++)
        CHECK(strncmp(*h, "Authorization", 13) != 0);
    json_decref(b);
    ad_request_free(&r);

    /* The v1 form: the body's model is the deployment; a base written
     * with /openai/v1/ or /openai gives the same URL. */
    static const char *const bases[] = { "https://res.openai.azure.com/", "https://res.openai.azure.com/openai/v1/",
                                         "https://res.openai.azure.com/openai" };
    for (size_t i = 0; i < 3; i++) {
        struct ad_target v1 = { .base_url = bases[i], .model = "my-gpt4o", .api_key = "azkey", .api_version = i == 2 ? "v1" : NULL };
        b = ad_test_build(req, false, &v1, &r, &err);
        CHECK(b && strcmp(r.url, "https://res.openai.azure.com/openai/v1/chat/completions") == 0);
        CHECK(b && strcmp(json_string_value(json_object_get(b, "model")), "my-gpt4o") == 0);
        CHECK(b && !json_object_get(b, "stream") && !json_object_get(b, "stream_options"));
        json_decref(b);
        ad_request_free(&r);
    }

    /* Names a URL cannot carry, a key that would inject a header. */
    struct ad_target bad = { .base_url = "https://res.openai.azure.com", .model = "my dep/../x", .api_key = "k", .api_version = "2024-10-21" };
    b = ad_test_build(req, false, &bad, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_INTERNAL && r.url == NULL && r.headers == NULL);
    bad.model = "ok";
    bad.api_version = "2024&x=1";
    b = ad_test_build(req, false, &bad, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_INTERNAL);
    bad.api_version = "2024-10-21";
    bad.api_key = "k\r\nX: y";
    b = ad_test_build(req, false, &bad, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_INTERNAL && r.url == NULL && r.body == NULL);
    b = ad_test_build("[1]", false, &t, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_CLIENT);
    ad_request_free(&r);
}

static void test_response(void)
{
    struct ad_error err;
    json_t *c = ad_test_parse(
        "{\"id\":\"chatcmpl-A\",\"object\":\"chat.completion\",\"created\":1717000000,\"model\":\"gpt-4o-2024-08-06\","
        "\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":{\"filtered\":false,"
        "\"severity\":\"safe\"},\"jailbreak\":{\"filtered\":false,\"detected\":false}}}],"
        "\"choices\":[{\"index\":0,\"finish_reason\":\"content_filter\",\"logprobs\":null,"
        "\"message\":{\"role\":\"assistant\",\"content\":\"Partial\"},"
        "\"content_filter_results\":{\"violence\":{\"filtered\":true,\"severity\":\"high\"}}}],"
        "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}",
        "alias", &err);
    SAME_JSON(c, "{\"id\":\"chatcmpl-A\",\"object\":\"chat.completion\",\"created\":1717000000,\"model\":\"alias\","
                 "\"choices\":[{\"index\":0,\"finish_reason\":\"content_filter\",\"logprobs\":null,"
                 "\"message\":{\"role\":\"assistant\",\"content\":\"Partial\"}}],"
                 "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}");
    json_decref(c);
    c = ad_test_parse("{\"error\":{\"message\":\"x\"}}", NULL, &err);
    CHECK(c == NULL && err.fail == FAIL_BAD_RESPONSE);
    c = ad_test_parse("nope", NULL, &err);
    CHECK(c == NULL && err.fail == FAIL_BAD_RESPONSE);
}

/* providers.md 5: the first chunk has only the prompt's filter results,
 * others carry content_filter_results, one has no delta at all; the
 * output filter stops the answer with content_filter. */
static const char stream[] =
    "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":"
    "[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}}}]}\n\n"
    "data: {\"id\":\"chatcmpl-Z\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null,"
    "\"content_filter_results\":{}}]}\n\n"
    "data: {\"id\":\"chatcmpl-Z\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null,"
    "\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}}}]}\n\n"
    "data: {\"id\":\"chatcmpl-Z\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\","
    "\"choices\":[{\"index\":0,\"finish_reason\":null,\"content_filter_offsets\":{\"start_offset\":0},"
    "\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}}}]}\n\n"
    "data: {\"id\":\"chatcmpl-Z\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-Z\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\","
    "\"choices\":[{\"index\":0,\"finish_reason\":\"content_filter\",\"content_filter_results\":{\"violence\":"
    "{\"filtered\":true,\"severity\":\"high\"}}}]}\n\n"
    "data: {\"id\":\"chatcmpl-Z\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n"
    "data: [DONE]\n\n";

#define H "{\"id\":\"chatcmpl-Z\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\","
static const char want[] =
    H "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n"
    H "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n"
    H "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n"
    H "\"choices\":[{\"index\":0,\"finish_reason\":\"content_filter\",\"delta\":{}}]}\n"
    H "\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n"
    "[DONE]\n";

static void test_stream(void)
{
    check_all_cuts(stream, true, want, 0);
    struct out o;
    run(stream, strlen(stream), NULL, 0, false, &o);
    CHECK(o.calls == 6 && !o.content_at[0] && o.content_at[1]);
    free(o.text);
    const char *err = "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"code\":null}}\n\n";
    CHECK(run(err, strlen(err), NULL, 0, false, &o) == -1);
    CHECK(strncmp(o.text, "ERR stream_error {\"error\":", 26) == 0);
    free(o.text);
    const char *const streams[] = { stream };
    stream_fuzz(streams, 1, 1500);
}

static void test_errors(void)
{
    static const struct ad_test_err_row rows[] = {
        /* providers.md 5's filtered prompt. */
        { 400, "{\"error\":{\"message\":\"The response was filtered due to the prompt triggering Azure OpenAI's content "
               "management policy.\",\"type\":null,\"param\":\"prompt\",\"code\":\"content_filter\",\"status\":400,"
               "\"innererror\":{\"code\":\"ResponsibleAIPolicyViolation\",\"content_filter_result\":{\"hate\":"
               "{\"filtered\":true,\"severity\":\"high\"}}}}}",
          FAIL_CLIENT, "content_filter", 400 },
        { 404, "{\"error\":{\"code\":\"DeploymentNotFound\",\"message\":\"The API deployment for this resource does not "
               "exist.\"}}",
          FAIL_NOT_FOUND, "DeploymentNotFound", 404 },
        { 429, "{\"error\":{\"code\":\"429\",\"message\":\"Requests to the ChatCompletions_Create Operation have exceeded "
               "token rate limit. Please retry after 86400 seconds.\"}}",
          FAIL_QUOTA, "insufficient_quota", 429 },
        { 429, "{\"error\":{\"code\":\"429\",\"message\":\"Requests to the ChatCompletions_Create Operation have exceeded "
               "token rate limit. Please retry after 6 seconds.\"}}",
          FAIL_RATE_LIMIT, "429", 429 },
        { 401, "{\"error\":{\"code\":\"401\",\"message\":\"Access denied due to invalid subscription key or wrong API "
               "endpoint.\"}}",
          FAIL_AUTH, "401", 401 },
        { 400, "{\"error\":{\"message\":\"This model's maximum context length is 128000 tokens.\",\"type\":"
               "\"invalid_request_error\",\"param\":\"messages\",\"code\":\"context_length_exceeded\"}}",
          FAIL_CONTEXT, "context_length_exceeded", 400 },
        { 500, "{\"error\":{\"message\":\"internal\",\"type\":\"server_error\"}}", FAIL_SERVER, "server_error", 500 },
        { 503, "<html>busy</html>", FAIL_SERVER, "server_error", 503 },
    };
    check_error_rows(rows, sizeof rows / sizeof rows[0], gw_classify_http);
    json_t *e = NULL;
    ad_test_ops->classify(400, rows[0].body, strlen(rows[0].body), &e);
    SAME_JSON(e, "{\"error\":{\"message\":\"The response was filtered due to the prompt triggering Azure OpenAI's "
                 "content management policy.\",\"type\":\"invalid_request_error\",\"param\":\"prompt\","
                 "\"code\":\"content_filter\"}}");
    json_decref(e);
    CHECK(ad_ops_find("azure") == &ad_azure_ops);
}

int main(void)
{
    ad_clock = ad_test_clock;
    ad_test_ops = &ad_azure_ops;
    srand(6);
    test_request();
    test_response();
    test_stream();
    test_errors();
    UNIT_END("ad_azure");
}
