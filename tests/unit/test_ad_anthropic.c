/* Unit tests of the Anthropic adapter: golden request building, response
 * parsing and stream decoding (each stream cut at every byte boundary and
 * fed one byte at a time must give the same chunks), and the error table.
 * Vectors from providers.md sections 1-3. */
#include "ad_anthropic.h"
#include "ad_test.h"
#include "gw_classify.h"

static const struct ad_target target = { .base_url = "https://api.anthropic.com", .model = "claude-opus-4-20250514", .api_key = "sk-ant-test" };

static void test_request_tools_example(void)
{
    /* providers.md 1.1, the tools example. */
    const char *openai =
        "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]},"
        "\"strict\":true}}],"
        "\"tool_choice\":\"auto\",\"temperature\":0.2,\"max_completion_tokens\":512,"
        "\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
    struct ad_request r;
    struct ad_error err;
    json_t *b = ad_test_build(openai, true, &target, &r, &err);
    SAME_JSON(b, "{\"model\":\"claude-opus-4-20250514\",\"max_tokens\":512,"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"}],"
                 "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Current weather\","
                 "\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                 "\"required\":[\"city\"]}}],"
                 "\"tool_choice\":{\"type\":\"auto\"},\"temperature\":0.2,\"stream\":true}");
    CHECK(r.url && strcmp(r.url, "https://api.anthropic.com/v1/messages") == 0);
    CHECK(has_header(&r, "x-api-key: sk-ant-test"));
    CHECK(has_header(&r, "anthropic-version: 2023-06-01"));
    CHECK(has_header(&r, "content-type: application/json"));
    CHECK(strstr(r.body, "\"temperature\":0.2,") != NULL); /* no 0.20000000000000001 */
    json_decref(b);
    ad_request_free(&r);
}

static void test_request_conversation(void)
{
    /* The OpenAI form of providers.md 2.1's full example must give exactly
     * that example. */
    json_t *b = body_of(
        "{\"model\":\"x\",\"max_tokens\":1024,\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be terse.\"},"
        "{\"role\":\"user\",\"content\":\"Weather in Oslo?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"toolu_01A\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_01A\",\"content\":\"4 C, rain\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}],"
        "\"tool_choice\":\"auto\"}");
    SAME_JSON(b, "{\"model\":\"claude-opus-4-20250514\",\"max_tokens\":1024,\"system\":\"Be terse.\","
                 "\"messages\":["
                 "{\"role\":\"user\",\"content\":\"Weather in Oslo?\"},"
                 "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_weather\","
                 "\"input\":{\"city\":\"Oslo\"}}]},"
                 "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01A\",\"content\":\"4 C, rain\"}]}],"
                 "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Current weather\","
                 "\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}],"
                 "\"tool_choice\":{\"type\":\"auto\"}}");
    json_decref(b);
}

static void test_request_system_and_parts(void)
{
    /* System and developer messages anywhere, in order; multi-part user
     * content with a data URL and an https image; max_tokens defaulted. */
    json_t *b = body_of(
        "{\"messages\":["
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Rule one.\"}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is in this image?\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBOR\",\"detail\":\"auto\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.jpg\"}}]},"
        "{\"role\":\"system\",\"content\":\"Rule two.\"}]}");
    SAME_JSON(b, "{\"model\":\"claude-opus-4-20250514\",\"max_tokens\":4096,"
                 "\"system\":[{\"type\":\"text\",\"text\":\"Rule one.\"},{\"type\":\"text\",\"text\":\"Rule two.\"}],"
                 "\"messages\":[{\"role\":\"user\",\"content\":["
                 "{\"type\":\"text\",\"text\":\"What is in this image?\"},"
                 "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBOR\"}},"
                 "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://example.com/a.jpg\"}}]}]}");
    json_decref(b);
}

static void test_request_pitfalls(void)
{
    /* providers.md 3.4: consecutive tool results merge into one user turn
     * ahead of a user text that follows; consecutive user messages merge;
     * an empty assistant message disappears; content "" with tool_calls
     * gives tool_use blocks only; empty user text is dropped; "" arguments
     * are {}; a conversation opening with an assistant turn gets a user
     * turn first; a final assistant prefill loses trailing white space. */
    json_t *b = body_of(
        "{\"messages\":["
        "{\"role\":\"assistant\",\"content\":\"Hello.\"},"
        "{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"b\"},"
        "{\"type\":\"text\",\"text\":\"  \"}]},"
        "{\"role\":\"assistant\",\"content\":\"\"},"
        "{\"role\":\"user\",\"content\":\"c\"},"
        "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
        "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}},"
        "{\"id\":\"call:2\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]},"
        "{\"role\":\"user\",\"content\":\"interleaved\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"one\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call:2\",\"content\":[{\"type\":\"text\",\"text\":\"two\"}]},"
        "{\"role\":\"assistant\",\"content\":\"The answer is \"}]}");
    SAME_JSON(b, "{\"model\":\"claude-opus-4-20250514\",\"max_tokens\":4096,\"messages\":["
                 "{\"role\":\"user\",\"content\":\".\"},"
                 "{\"role\":\"assistant\",\"content\":\"Hello.\"},"
                 "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"},"
                 "{\"type\":\"text\",\"text\":\"c\"}]},"
                 "{\"role\":\"assistant\",\"content\":["
                 "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"f\",\"input\":{\"x\":1}},"
                 "{\"type\":\"tool_use\",\"id\":\"call_2\",\"name\":\"g\",\"input\":{}}]},"
                 "{\"role\":\"user\",\"content\":["
                 "{\"type\":\"tool_result\",\"tool_use_id\":\"call_1\",\"content\":\"one\"},"
                 "{\"type\":\"tool_result\",\"tool_use_id\":\"call_2\",\"content\":\"two\"},"
                 "{\"type\":\"text\",\"text\":\"interleaved\"}]},"
                 "{\"role\":\"assistant\",\"content\":\"The answer is\"}]}");
    json_decref(b);

    /* An empty tool result still answers its call. */
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
                "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
                "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"\"}]}");
    SAME_JSON(json_array_get(json_object_get(b, "messages"), 2),
              "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"c\"}]}");
    json_decref(b);

    /* Only a system prompt: a user turn is still needed. */
    b = body_of("{\"messages\":[{\"role\":\"system\",\"content\":\"S\"}]}");
    SAME_JSON(json_object_get(b, "messages"), "[{\"role\":\"user\",\"content\":\".\"}]");
    json_decref(b);
}

static void test_request_params(void)
{
    json_t *b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":99,"
                        "\"max_completion_tokens\":77,\"temperature\":1.5,\"top_p\":0.9,\"stop\":\"END\","
                        "\"user\":\"u-1\",\"seed\":4,\"logprobs\":true,\"presence_penalty\":0.5,\"n\":1}");
    SAME_JSON(b, "{\"model\":\"claude-opus-4-20250514\",\"max_tokens\":77,"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                 "\"temperature\":1.0,\"top_p\":0.9,\"stop_sequences\":[\"END\"],\"metadata\":{\"user_id\":\"u-1\"}}");
    json_decref(b);
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":99,\"stop\":[\"a\",\"\",\"b\"],"
                "\"temperature\":0}");
    CHECK(json_integer_value(json_object_get(b, "max_tokens")) == 99);
    SAME_JSON(json_object_get(b, "stop_sequences"), "[\"a\",\"b\"]");
    SAME_JSON(json_object_get(b, "temperature"), "0.0");
    json_decref(b);
}

static void test_request_tool_choice(void)
{
    const char *tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\"}},"
                        "{\"type\":\"function\",\"function\":{\"name\":\"b\",\"parameters\":{\"properties\":{}}}}]";
    char req[1024];
    static const struct {
        const char *choice;
        const char *want;
    } cases[] = {
        { "\"none\"", "{\"type\":\"none\"}" },
        { "\"auto\"", "{\"type\":\"auto\"}" },
        { "\"required\"", "{\"type\":\"any\"}" },
        { "{\"type\":\"function\",\"function\":{\"name\":\"b\"}}", "{\"type\":\"tool\",\"name\":\"b\"}" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(req, sizeof req, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s,\"tool_choice\":%s}", tools,
                 cases[i].choice);
        json_t *b = body_of(req);
        SAME_JSON(json_object_get(b, "tool_choice"), cases[i].want);
        /* Absent parameters become an empty object schema; a schema
         * without a type gets "object". */
        SAME_JSON(json_object_get(b, "tools"),
                  "[{\"name\":\"a\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}},"
                  "{\"name\":\"b\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}]");
        json_decref(b);
    }
    snprintf(req, sizeof req, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s,\"parallel_tool_calls\":false}",
             tools);
    json_t *b = body_of(req);
    SAME_JSON(json_object_get(b, "tool_choice"), "{\"type\":\"auto\",\"disable_parallel_tool_use\":true}");
    json_decref(b);
    snprintf(req, sizeof req,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s,\"tool_choice\":{\"type\":\"allowed_tools\","
             "\"allowed_tools\":{\"mode\":\"required\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"b\"}}]}}}",
             tools);
    b = body_of(req);
    SAME_JSON(json_object_get(b, "tool_choice"), "{\"type\":\"any\"}");
    CHECK(json_array_size(json_object_get(b, "tools")) == 1);
    json_decref(b);
    /* A tool_choice without tools has nothing to choose from. */
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"required\"}");
    CHECK(b && !json_object_get(b, "tool_choice") && !json_object_get(b, "tools"));
    json_decref(b);
}

static void test_request_json_mode(void)
{
    /* A schema without client tools: forced through the reserved tool. */
    json_t *b = body_of(
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\","
        "\"json_schema\":{\"name\":\"answer\",\"strict\":true,\"schema\":{\"type\":\"object\",\"properties\":"
        "{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"],\"additionalProperties\":false}}}}");
    SAME_JSON(json_object_get(b, "tools"),
              "[{\"name\":\"backstop_json_response\",\"description\":\"Give the answer as this tool's input.\","
              "\"input_schema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"],"
              "\"additionalProperties\":false}}]");
    SAME_JSON(json_object_get(b, "tool_choice"), "{\"type\":\"tool\",\"name\":\"backstop_json_response\"}");
    json_decref(b);
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_object\"}}");
    SAME_JSON(json_object_get(json_array_get(json_object_get(b, "tools"), 0), "input_schema"), "{\"type\":\"object\"}");
    json_decref(b);
    /* With client tools: an instruction joins the system prompt. */
    b = body_of("{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"x\"}],"
                "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\"}}],"
                "\"response_format\":{\"type\":\"json_object\"}}");
    json_t *sys = json_object_get(b, "system");
    CHECK(json_array_size(sys) == 2);
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(sys, 0), "text")), "S") == 0);
    CHECK(strstr(json_string_value(json_object_get(json_array_get(sys, 1), "text")), "JSON") != NULL);
    CHECK(json_array_size(json_object_get(b, "tools")) == 1);
    json_decref(b);
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"text\"}}");
    CHECK(b && !json_object_get(b, "tools") && !json_object_get(b, "system"));
    json_decref(b);
}

static void test_request_target(void)
{
    const char *req = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    struct ad_target t = { .base_url = "http://127.0.0.1:9000/v1/", .model = "m", .api_version = "2024-01-01" };
    struct ad_request r;
    struct ad_error err;
    json_t *b = ad_test_build(req, false, &t, &r, &err);
    CHECK(b && strcmp(r.url, "http://127.0.0.1:9000/v1/messages") == 0);
    CHECK(has_header(&r, "anthropic-version: 2024-01-01"));
    for (char **h = r.headers; h && *h; h++)
        CHECK(strncmp(*h, "x-api-key", 9) != 0);
    CHECK(!json_object_get(b, "stream"));
    json_decref(b);
    ad_request_free(&r);
    t.base_url = "https://gw.example/anthropic";
    check_key_injection(req, t);
    t.api_key = NULL;
    b = ad_test_build(req, false, &t, &r, &err);
    CHECK(b && strcmp(r.url, "https://gw.example/anthropic/v1/messages") == 0);
    json_decref(b);
    ad_request_free(&r);
    ad_request_free(NULL);
}

static void test_request_errors(void)
{
    check_refusals(ad_test_common_refusals, sizeof ad_test_common_refusals / sizeof ad_test_common_refusals[0]);
    struct ad_error e = fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"tool_calls\":"
              "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "messages[1]") && strstr(e.message, "not a JSON object"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "n must be 1"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
              "{\"url\":\"data:image/bmp;base64,Qk0=\"}}]}]}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "image/bmp"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
              "\"function\":{\"name\":\"backstop_json_response\"}}]}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "reserved"));
}

/* ---- responses ---- */

static void test_response(void)
{
    struct ad_error err;
    /* providers.md 2.2. */
    json_t *c = ad_test_parse("{\"id\":\"msg_01X\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-4-20250514\","
                      "\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
                      "{\"type\":\"tool_use\",\"id\":\"toolu_01B\",\"name\":\"get_weather\",\"input\":{\"city\":\"Bergen\"}}],"
                      "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
                      "\"usage\":{\"input_tokens\":410,\"output_tokens\":52,"
                      "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1024}}",
                      NULL, &err);
    SAME_JSON(c, "{\"id\":\"msg_01X\",\"object\":\"chat.completion\",\"created\":1717000000,"
                 "\"model\":\"claude-opus-4-20250514\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                 "\"content\":\"Checking.\",\"refusal\":null,\"tool_calls\":[{\"id\":\"toolu_01B\",\"type\":\"function\","
                 "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Bergen\\\"}\"}}]},"
                 "\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
                 "\"usage\":{\"prompt_tokens\":1434,\"completion_tokens\":52,\"total_tokens\":1486,"
                 "\"prompt_tokens_details\":{\"cached_tokens\":1024}}}");
    json_decref(c);

    /* Thinking dropped, text joined, tool calls only: content null; cache
     * writes counted into the prompt; the client's model name. */
    c = ad_test_parse("{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":["
              "{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"s\"},"
              "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{}}],"
              "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":5,\"output_tokens\":7,"
              "\"cache_creation_input_tokens\":100}}",
              "my-alias", &err);
    SAME_JSON(json_object_get(json_array_get(json_object_get(c, "choices"), 0), "message"),
              "{\"role\":\"assistant\",\"content\":null,\"refusal\":null,\"tool_calls\":[{\"id\":\"t1\",\"type\":\"function\","
              "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}");
    SAME_JSON(json_object_get(c, "usage"),
              "{\"prompt_tokens\":105,\"completion_tokens\":7,\"total_tokens\":112,"
              "\"prompt_tokens_details\":{\"cached_tokens\":0,\"cache_write_tokens\":100}}");
    CHECK(strcmp(json_string_value(json_object_get(c, "model")), "my-alias") == 0);
    json_decref(c);

    /* The forced JSON tool is the answer's text, and a plain stop. */
    c = ad_test_parse("{\"id\":\"msg_3\",\"type\":\"message\",\"model\":\"m\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\","
              "\"name\":\"backstop_json_response\",\"input\":{\"a\":\"b\"}}],\"stop_reason\":\"tool_use\",\"usage\":{}}",
              NULL, &err);
    json_t *ch = json_array_get(json_object_get(c, "choices"), 0);
    SAME_JSON(json_object_get(ch, "message"), "{\"role\":\"assistant\",\"content\":\"{\\\"a\\\":\\\"b\\\"}\",\"refusal\":null}");
    CHECK(strcmp(json_string_value(json_object_get(ch, "finish_reason")), "stop") == 0);
    json_decref(c);

    /* stop_reason -> finish_reason, providers.md 3.2. */
    static const char *const map[][2] = {
        { "end_turn", "stop" },         { "stop_sequence", "stop" }, { "max_tokens", "length" },
        { "model_context_window_exceeded", "length" }, { "tool_use", "stop" }, /* no real tool call */
        { "refusal", "content_filter" }, { "pause_turn", "stop" },  { "something_new", "stop" },
    };
    check_finish_map(map, sizeof map / sizeof map[0],
                     "{\"id\":\"m\",\"type\":\"message\",\"model\":\"m\",\"content\":[{\"type\":\"text\","
                     "\"text\":\"x\"}],\"stop_reason\":\"%s\",\"usage\":{}}");
    CHECK(strcmp(ad_anthropic_finish("tool_use", true), "tool_calls") == 0);
    CHECK(strcmp(ad_anthropic_finish(NULL, false), "stop") == 0);

    /* Unusable answers. */
    static const char *const bad[] = {
        "not json", "[1]", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}",
        "{\"type\":\"message\"}", "{\"type\":\"message\",\"content\":[{\"type\":\"tool_use\",\"name\":\"f\"}]}",
        "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":5}]}", "{\"type\":\"message\",\"content\":[7]}",
    };
    check_bad_answers(bad, sizeof bad / sizeof bad[0]);
}

/* ---- streams ---- */

/* providers.md 2.3, verbatim. */
static const char doc_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01X\",\"type\":\"message\",\"role\":\"assistant\","
    "\"content\":[],\"model\":\"claude-opus-4-20250514\",\"stop_reason\":null,\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":410,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking.\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01B\","
    "\"name\":\"get_weather\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\"{\\\"city\\\": \\\"Bergen\\\"}\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":52}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

#define HEAD "{\"id\":\"msg_01X\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"claude-opus-4-20250514\","

static const char doc_want[] =
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Checking.\"},\"finish_reason\":null}]}\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"toolu_01B\",\"type\":\"function\","
    "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
    "\"{\\\"city\\\": \\\"Bergen\\\"}\"}}]},\"finish_reason\":null}]}\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n"
    "[DONE]\n";

static const char doc_want_usage[] =
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Checking.\"},\"finish_reason\":null}],\"usage\":null}\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"toolu_01B\",\"type\":\"function\","
    "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}],\"usage\":null}\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
    "\"{\\\"city\\\": \\\"Bergen\\\"}\"}}]},\"finish_reason\":null}],\"usage\":null}\n"
    HEAD "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n"
    HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":410,\"completion_tokens\":52,\"total_tokens\":462,"
    "\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n"
    "[DONE]\n";

/* Two tool calls around a thinking block and text (Anthropic indexes 0..4,
 * OpenAI tool indexes 0 and 1), an empty input streamed as nothing, ping,
 * an unknown event, cache usage updated by message_delta, CRLF lines. */
static const char tool_stream[] =
    "event: message_start\r\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_T\",\"type\":\"message\",\"role\":\"assistant\","
    "\"content\":[],\"model\":\"claude-x\",\"stop_reason\":null,\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":90,\"output_tokens\":1}}}\r\n\r\n"
    "event: ping\r\ndata: {\"type\":\"ping\"}\r\n\r\n"
    ": comment\r\n\r\n"
    "event: content_block_start\r\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me\"}}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"xx\"}}\r\n\r\n"
    "event: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n"
    "event: content_block_start\r\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_A\","
    "\"name\":\"now\",\"input\":{}}}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\r\n\r\n"
    "event: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":1}\r\n\r\n"
    "event: content_block_start\r\n"
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"text_delta\",\"text\":\"Ol\\u00e9 \"}}\r\n\r\n"
    "event: something_new\r\ndata: {\"type\":\"something_new\",\"x\":1}\r\n\r\n"
    "event: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":2}\r\n\r\n"
    "event: content_block_start\r\n"
    "data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_B\","
    "\"name\":\"get_weather\",\"input\":{}}}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"ci\"}}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ty\\\":\\\"Oslo\\\"}\"}}\r\n\r\n"
    "event: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":3}\r\n\r\n"
    "event: message_delta\r\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":30,\"cache_creation_input_tokens\":5}}\r\n\r\n"
    "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n"
    "event: ping\r\ndata: {\"type\":\"ping\"}\r\n\r\n";

#define HT "{\"id\":\"msg_T\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"claude-x\",\"choices\":[{\"index\":0,\"delta\":"
#define TAIL ",\"finish_reason\":null}],\"usage\":null}\n"

static const char tool_want[] =
    HT "{\"role\":\"assistant\",\"content\":\"\"}" TAIL
    HT "{\"tool_calls\":[{\"index\":0,\"id\":\"toolu_A\",\"type\":\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"\"}}]}" TAIL
    HT "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}" TAIL
    HT "{\"content\":\"Ol\xc3\xa9 \"}" TAIL
    HT "{\"tool_calls\":[{\"index\":1,\"id\":\"toolu_B\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}" TAIL
    HT "{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{\\\"ci\"}}]}" TAIL
    HT "{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"ty\\\":\\\"Oslo\\\"}\"}}]}" TAIL
    HT "{},\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n"
    "{\"id\":\"msg_T\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"claude-x\",\"choices\":[],"
    "\"usage\":{\"prompt_tokens\":105,\"completion_tokens\":30,\"total_tokens\":135,"
    "\"prompt_tokens_details\":{\"cached_tokens\":90,\"cache_write_tokens\":5}}}\n"
    "[DONE]\n";

static const char json_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_J\",\"model\":\"c\",\"usage\":{\"input_tokens\":3}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\","
    "\"name\":\"backstop_json_response\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":4}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

#define HJ "{\"id\":\"msg_J\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"c\",\"choices\":[{\"index\":0,\"delta\":"
static const char json_want[] =
    HJ "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n"
    HJ "{\"content\":\"{\\\"a\\\":\"},\"finish_reason\":null}]}\n"
    HJ "{\"content\":\"1}\"},\"finish_reason\":null}]}\n"
    HJ "{},\"finish_reason\":\"stop\"}]}\n"
    "[DONE]\n";

static void test_stream_golden(void)
{
    check_all_cuts(doc_stream, false, doc_want, 0);
    check_all_cuts(doc_stream, true, doc_want_usage, 0);
    check_all_cuts(tool_stream, true, tool_want, 0);
    check_all_cuts(json_stream, false, json_want, 0);

    /* Content is flagged from the first text chunk on, before its emit;
     * the role chunk does not count. */
    struct out o;
    run(doc_stream, strlen(doc_stream), NULL, 0, false, &o);
    CHECK(o.calls == 6);
    CHECK(!o.content_at[0] && o.content_at[1] && o.content_at[5]);
    free(o.text);

    /* The client's model name replaces the upstream's; after the end,
     * bytes are ignored. */
    check_alias_and_end(doc_stream, strlen(doc_stream), "claude-opus", 6);
    check_stop_after(doc_stream, strlen(doc_stream), NULL);
}

static void test_stream_errors(void)
{
    /* An error event after content: emitted once with its class, as an
     * OpenAI error body; the stream is over. */
    static const char err_stream[] =
        "event: message_start\n"
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_E\",\"model\":\"c\",\"usage\":{}}}\n\n"
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
        "event: error\n"
        "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
#define HE "{\"id\":\"msg_E\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"c\",\"choices\":[{\"index\":0,\"delta\":"
    static const char err_want[] =
        HE "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n"
        HE "{\"content\":\"Hi\"},\"finish_reason\":null}]}\n"
        "ERR server_error {\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":\"overloaded\"}}\n";
    check_all_cuts(err_stream, false, err_want, -1);

    /* Error types -> classes inside a stream. */
    static const struct {
        const char *type;
        enum fail_class fail;
    } types[] = {
        { "overloaded_error", FAIL_SERVER }, { "api_error", FAIL_SERVER },         { "rate_limit_error", FAIL_RATE_LIMIT },
        { "timeout_error", FAIL_SERVER },    { "billing_error", FAIL_QUOTA },      { "invalid_request_error", FAIL_CLIENT },
        { "mystery_error", FAIL_STREAM_ERROR },
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char ev[256];
        snprintf(ev, sizeof ev, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"m\"}}\n\n",
                 types[i].type);
        struct out o;
        CHECK(run(ev, strlen(ev), NULL, 0, false, &o) == -1);
        char want[64];
        snprintf(want, sizeof want, "ERR %s ", fail_class_name(types[i].fail));
        CHECK(strncmp(o.text, want, strlen(want)) == 0);
        free(o.text);
    }

    /* Not this format: a clear bad_response, never a crash. */
    static const char *const bad[] = {
        "data: not json\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\"}}\n\n",
        "data: {\"type\":\"message_start\"}\n\n",
        "data: {\"type\":\"message_start\",\"message\":{}}\n\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n",
        "data: {\"type\":\"message_start\",\"message\":{}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":3,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
        "data: {\"type\":\"message_start\",\"message\":{}}\n\ndata: {\"type\":\"content_block_start\",\"index\":99999,"
        "\"content_block\":{\"type\":\"text\"}}\n\n",
        "data: {\"type\":\"message_start\",\"message\":{}}\n\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"tool_use\"}}\n\n",
        "data: {\"type\":\"message_start\",\"message\":{}}\n\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\"}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{}}\n\n",
    };
    check_bad_streams(bad, sizeof bad / sizeof bad[0]);

    /* A cut stream never says done: the caller sees the cut. */
    struct out o;
    CHECK(run(doc_stream, strlen(doc_stream) - 30, NULL, 0, false, &o) == 0);
    CHECK(strstr(o.text, "[DONE]") == NULL);
    free(o.text);
}

/* Random cuts of real streams and random garbage: the decoder may fail,
 * never crash or leak (the ASan build checks), and an ended stream stays
 * ended. */
static void test_stream_fuzz(void)
{
    const char *const streams[] = { doc_stream, tool_stream, json_stream };
    stream_fuzz(streams, 3, 3000);
}

/* A request that builds, however mutated, still has its messages. */
static bool has_messages(const json_t *body)
{
    return json_is_array(json_object_get(body, "messages"));
}

/* Requests and answers with random parts replaced: a clear error or a
 * result, never a crash or a leak (the ASan build checks). */
static void test_mutations(void)
{
    static const char *const requests[] = {
        "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBOR\"}}]},"
        "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":"
        "{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"r\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}],"
        "\"tool_choice\":{\"type\":\"allowed_tools\",\"allowed_tools\":{\"mode\":\"auto\",\"tools\":[{\"type\":\"function\","
        "\"function\":{\"name\":\"f\"}}]}},\"stop\":[\"x\"],\"temperature\":0.5,\"max_tokens\":9,\"user\":\"u\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\","
        "\"json_schema\":{\"name\":\"n\",\"schema\":{\"type\":\"object\"}}},\"parallel_tool_calls\":false}",
    };
    static const char answer[] =
        "{\"id\":\"msg_01X\",\"type\":\"message\",\"model\":\"m\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
        "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"a\":1}},{\"type\":\"tool_use\",\"id\":\"u\","
        "\"name\":\"backstop_json_response\",\"input\":{}}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":1}}";
    mutation_rounds(requests, 2, answer, 4000, 2, has_messages);
}

/* ---- errors ---- */

static void test_error_table(void)
{
    static const struct ad_test_err_row table[] = {
        { 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"max_tokens: bad\"}}",
          FAIL_CLIENT, NULL, 400 },
        { 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: 205351 tokens > 200000 maximum\"}}",
          FAIL_CONTEXT, "context_length_exceeded", 400 },
        { 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Your credit balance is too low to access the API.\"}}",
          FAIL_QUOTA, "insufficient_quota", 429 },
        { 401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}",
          FAIL_AUTH, "invalid_api_key", 401 },
        { 402, "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\",\"message\":\"billing\"}}", FAIL_QUOTA,
          "insufficient_quota", 429 },
        { 403, "{\"type\":\"error\",\"error\":{\"type\":\"permission_error\",\"message\":\"no\"}}", FAIL_AUTH,
          "permission_denied", 403 },
        { 404, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"model: x\"}}", FAIL_NOT_FOUND,
          "model_not_found", 404 },
        { 413, "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\",\"message\":\"Request exceeds the maximum size\"}}",
          FAIL_CONTEXT, "context_length_exceeded", 400 },
        { 413, "<html>413 Request Entity Too Large</html>", FAIL_CONTEXT, "context_length_exceeded", 400 },
        { 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}", FAIL_RATE_LIMIT,
          "rate_limit_exceeded", 429 },
        { 500, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal\"}}", FAIL_SERVER,
          "server_error", 500 },
        { 504, "{\"type\":\"error\",\"error\":{\"type\":\"timeout_error\",\"message\":\"timed out\"}}", FAIL_SERVER,
          "timeout", 504 },
        { 529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}", FAIL_SERVER,
          "overloaded", 503 },
        { 529, "", FAIL_SERVER, "overloaded", 503 },
        { 503, "upstream connect error", FAIL_SERVER, "server_error", 503 },
        { 429, "[{\"error\":{\"code\":429,\"message\":\"Quota exceeded\",\"status\":\"RESOURCE_EXHAUSTED\"}}]",
          FAIL_RATE_LIMIT, "rate_limit_exceeded", 429 },
        { 400, "not json at all", FAIL_CLIENT, NULL, 400 },
        { 422, "{\"type\":\"error\",\"error\":{\"message\":\"odd\"}}", FAIL_CLIENT, NULL, 422 },
    };
    check_error_rows(table, sizeof table / sizeof table[0], gw_classify_http);
    CHECK(ad_anthropic_ops.classify(401, NULL, 0, NULL) == FAIL_AUTH);
    CHECK(ad_client_status(FAIL_BAD_RESPONSE, 302) == 502);
    CHECK(ad_ops_find("anthropic") == &ad_anthropic_ops && ad_ops_find("openai-compatible") == &ad_openai_ops);
    CHECK(ad_ops_find("gemini-pro") == NULL && ad_ops_find(NULL) == NULL);
}

int main(void)
{
    ad_clock = ad_test_clock;
    ad_test_ops = &ad_anthropic_ops;
    ad_test_target = &target;
    srand(4);
    test_request_tools_example();
    test_request_conversation();
    test_request_system_and_parts();
    test_request_pitfalls();
    test_request_params();
    test_request_tool_choice();
    test_request_json_mode();
    test_request_target();
    test_request_errors();
    test_response();
    test_stream_golden();
    test_stream_errors();
    test_stream_fuzz();
    test_mutations();
    test_error_table();
    UNIT_END("ad_anthropic");
}
