/* Unit tests of the Gemini adapter: golden request building (providers.md
 * 4.2's example from its OpenAI form), schema translation, response
 * parsing (4.3), stream decoding cut at every byte boundary (4.4), and
 * the error table (4.5). */
#include "ad_gemini.h"
#include "ad_test.h"
#include "gw_classify.h"

static const struct ad_target target = { .base_url = "https://generativelanguage.googleapis.com", .model = "gemini-2.5-flash", .api_key = "AIza-test" };

static void test_request_doc_example(void)
{
    /* providers.md 4.2, from the OpenAI request that says the same. */
    const char *openai =
        "{\"model\":\"x\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be terse.\"},"
        "{\"role\":\"user\",\"content\":\"Weather in Oslo?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"temp_c\\\":4}\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"],"
        "\"additionalProperties\":false},\"strict\":true}}],"
        "\"tool_choice\":\"auto\",\"temperature\":0.2,\"top_p\":0.9,\"max_tokens\":1024,\"stop\":[\"END\"],"
        "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"parallel_tool_calls\":true,\"user\":\"u\"}";
    struct ad_request r;
    struct ad_error err;
    json_t *b = ad_test_build(openai, true, &target, &r, &err);
    SAME_JSON(b, "{\"systemInstruction\":{\"parts\":[{\"text\":\"Be terse.\"}]},"
                 "\"contents\":["
                 "{\"role\":\"user\",\"parts\":[{\"text\":\"Weather in Oslo?\"}]},"
                 "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Oslo\"}}}]},"
                 "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"temp_c\":4}}}]}],"
                 "\"tools\":[{\"functionDeclarations\":[{\"name\":\"get_weather\",\"description\":\"Current weather\","
                 "\"parameters\":{\"type\":\"OBJECT\",\"properties\":{\"city\":{\"type\":\"STRING\"}},\"required\":[\"city\"]}}]}],"
                 "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"AUTO\"}},"
                 "\"generationConfig\":{\"temperature\":0.2,\"topP\":0.9,\"maxOutputTokens\":1024,\"stopSequences\":[\"END\"]}}");
    CHECK(r.url && strcmp(r.url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
                                 ":streamGenerateContent?alt=sse") == 0);
    CHECK(has_header(&r, "x-goog-api-key: AIza-test"));
    CHECK(has_header(&r, "Content-Type: application/json"));
    CHECK(strstr(r.body, "\"temperature\":0.2,") != NULL);
    json_decref(b);
    ad_request_free(&r);
}

static void test_request_parts_and_pitfalls(void)
{
    /* Images as data URL (inlineData) and https URL (fileData); developer
     * and system messages in order; consecutive user messages merged;
     * empty assistant dropped; tool results ahead of interleaved user
     * text; a string tool result wrapped; "" arguments are {}; an
     * assistant-first conversation gets a user turn first; a thought
     * signature in the id goes back with its call. */
    json_t *b = body_of(
        "{\"messages\":["
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Rule one.\"}]},"
        "{\"role\":\"assistant\",\"content\":\"Hello.\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is in this image?\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBOR\",\"detail\":\"auto\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.JPG?x=1\"}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\"},{\"type\":\"text\",\"text\":\"b\"}]},"
        "{\"role\":\"system\",\"content\":\"Rule two.\"},"
        "{\"role\":\"assistant\",\"content\":\"\"},"
        "{\"role\":\"user\",\"content\":\"c\"},"
        "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
        "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}},"
        "{\"id\":\"call_r_1~ts~c2lnbmF0dXJl\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]},"
        "{\"role\":\"user\",\"content\":\"interleaved\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"one\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_r_1~ts~c2lnbmF0dXJl\",\"content\":[{\"type\":\"text\",\"text\":\"[1,2]\"}]}]}");
    SAME_JSON(b, "{\"systemInstruction\":{\"parts\":[{\"text\":\"Rule one.\"},{\"text\":\"Rule two.\"}]},"
                 "\"contents\":["
                 "{\"role\":\"user\",\"parts\":[{\"text\":\".\"}]},"
                 "{\"role\":\"model\",\"parts\":[{\"text\":\"Hello.\"}]},"
                 "{\"role\":\"user\",\"parts\":[{\"text\":\"What is in this image?\"},"
                 "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBOR\"}},"
                 "{\"fileData\":{\"mimeType\":\"image/jpeg\",\"fileUri\":\"https://example.com/a.JPG?x=1\"}},"
                 "{\"text\":\"b\"},{\"text\":\"c\"}]},"
                 "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"x\":1}}},"
                 "{\"functionCall\":{\"name\":\"g\",\"args\":{}},\"thoughtSignature\":\"c2lnbmF0dXJl\"}]},"
                 "{\"role\":\"user\",\"parts\":["
                 "{\"functionResponse\":{\"name\":\"f\",\"response\":{\"result\":\"one\"}}},"
                 "{\"functionResponse\":{\"name\":\"g\",\"response\":{\"result\":\"[1,2]\"}}},"
                 "{\"text\":\"interleaved\"}]}]}");
    json_decref(b);

    /* A tool message answers the nearest call with its id. */
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
                "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"old\"}}]},"
                "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"\"},"
                "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"new\"}}]},"
                "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"{}\"}]}");
    SAME_JSON(json_object_get(b, "contents"),
              "[{\"role\":\"user\",\"parts\":[{\"text\":\"go\"}]},"
              "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"old\",\"args\":{}}}]},"
              "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"old\",\"response\":{\"result\":\"\"}}}]},"
              "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"new\",\"args\":{}}}]},"
              "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"new\",\"response\":{}}}]}]");
    CHECK(!json_object_get(b, "generationConfig") && !json_object_get(b, "systemInstruction"));
    json_decref(b);

    /* Only a system prompt: a user turn is still needed. */
    b = body_of("{\"messages\":[{\"role\":\"system\",\"content\":\"S\"}]}");
    SAME_JSON(json_object_get(b, "contents"), "[{\"role\":\"user\",\"parts\":[{\"text\":\".\"}]}]");
    json_decref(b);
}

static void test_request_params(void)
{
    json_t *b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":99,"
                        "\"max_completion_tokens\":77,\"temperature\":1.5,\"top_p\":0.9,\"stop\":\"END\","
                        "\"seed\":4,\"presence_penalty\":0.5,\"frequency_penalty\":-0.5,\"n\":2,\"logprobs\":true}");
    SAME_JSON(json_object_get(b, "generationConfig"),
              "{\"maxOutputTokens\":77,\"stopSequences\":[\"END\"],\"temperature\":1.5,\"topP\":0.9,"
              "\"presencePenalty\":0.5,\"frequencyPenalty\":-0.5,\"seed\":4,\"candidateCount\":2}");
    json_decref(b);
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":[\"a\",\"\",\"b\"],\"n\":1}");
    SAME_JSON(json_object_get(b, "generationConfig"), "{\"stopSequences\":[\"a\",\"b\"]}");
    json_decref(b);
}

static void test_request_tools(void)
{
    const char *tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\"}},"
                        "{\"type\":\"function\",\"function\":{\"name\":\"b\",\"parameters\":{\"type\":\"object\","
                        "\"properties\":{}}}},"
                        "{\"type\":\"function\",\"function\":{\"name\":\"c\",\"parameters\":{\"properties\":"
                        "{\"x\":{\"type\":\"integer\",\"format\":\"int64\"}}}}}]";
    char req[2048];
    static const struct {
        const char *choice;
        const char *want;
    } cases[] = {
        { "\"none\"", "{\"functionCallingConfig\":{\"mode\":\"NONE\"}}" },
        { "\"auto\"", "{\"functionCallingConfig\":{\"mode\":\"AUTO\"}}" },
        { "\"required\"", "{\"functionCallingConfig\":{\"mode\":\"ANY\"}}" },
        { "{\"type\":\"function\",\"function\":{\"name\":\"b\"}}",
          "{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"b\"]}}" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(req, sizeof req, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s,\"tool_choice\":%s}", tools,
                 cases[i].choice);
        json_t *b = body_of(req);
        SAME_JSON(json_object_get(b, "toolConfig"), cases[i].want);
        /* No parameters, or an object without properties: none (Gemini
         * rejects an empty OBJECT); a schema without a type: OBJECT. */
        SAME_JSON(json_object_get(b, "tools"),
                  "[{\"functionDeclarations\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\",\"parameters\":"
                  "{\"type\":\"OBJECT\",\"properties\":{\"x\":{\"type\":\"INTEGER\",\"format\":\"int64\"}}}}]}]");
        json_decref(b);
    }
    snprintf(req, sizeof req,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s,\"tool_choice\":{\"type\":\"allowed_tools\","
             "\"allowed_tools\":{\"mode\":\"required\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"b\"}}]}}}",
             tools);
    json_t *b = body_of(req);
    SAME_JSON(json_object_get(b, "toolConfig"), "{\"functionCallingConfig\":{\"mode\":\"ANY\"}}");
    SAME_JSON(json_object_get(b, "tools"), "[{\"functionDeclarations\":[{\"name\":\"b\"}]}]");
    json_decref(b);
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"required\"}");
    CHECK(b && !json_object_get(b, "toolConfig") && !json_object_get(b, "tools"));
    json_decref(b);
}

static void test_schema(void)
{
    /* What Gemini's subset cannot take is translated or left out. */
    const char *schema =
        "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\",\"additionalProperties\":false,"
        "\"properties\":{"
        "\"name\":{\"type\":[\"string\",\"null\"],\"format\":\"email\",\"description\":\"who\"},"
        "\"when\":{\"type\":\"string\",\"format\":\"date-time\"},"
        "\"kind\":{\"enum\":[\"a\",\"b\"]},"
        "\"fixed\":{\"const\":\"k\"},"
        "\"level\":{\"type\":\"integer\",\"enum\":[1,2]},"
        "\"either\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]},"
        "\"maybe\":{\"anyOf\":[{\"$ref\":\"#/$defs/pt\"},{\"type\":\"null\"}]},"
        "\"list\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/p~1t\"},\"minItems\":1},"
        "\"both\":{\"allOf\":[{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"boolean\"}}}],\"description\":\"d\"},"
        "\"multi\":{\"type\":[\"string\",\"integer\"]}},"
        "\"required\":[\"name\"],"
        "\"$defs\":{\"pt\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"number\"}}}},"
        "\"definitions\":{\"p/t\":{\"type\":\"string\"}}}";
    json_t *s = json_loads(schema, 0, NULL);
    struct ad_error err;
    json_t *g = ad_gemini_schema(s, "here", &err);
    SAME_JSON(g, "{\"type\":\"OBJECT\",\"required\":[\"name\"],\"properties\":{"
                 "\"name\":{\"type\":\"STRING\",\"nullable\":true,\"description\":\"who\"},"
                 "\"when\":{\"type\":\"STRING\",\"format\":\"date-time\"},"
                 "\"kind\":{\"type\":\"STRING\",\"format\":\"enum\",\"enum\":[\"a\",\"b\"]},"
                 "\"fixed\":{\"type\":\"STRING\",\"format\":\"enum\",\"enum\":[\"k\"]},"
                 "\"level\":{\"type\":\"INTEGER\"},"
                 "\"either\":{\"anyOf\":[{\"type\":\"STRING\"},{\"type\":\"NUMBER\"}]},"
                 "\"maybe\":{\"nullable\":true,\"type\":\"OBJECT\",\"properties\":{\"x\":{\"type\":\"NUMBER\"}}},"
                 "\"list\":{\"type\":\"ARRAY\",\"minItems\":1,\"items\":{\"type\":\"STRING\"}},"
                 "\"both\":{\"description\":\"d\",\"type\":\"OBJECT\",\"properties\":{\"q\":{\"type\":\"BOOLEAN\"}}},"
                 "\"multi\":{\"anyOf\":[{\"type\":\"STRING\"},{\"type\":\"INTEGER\"}]}}}");
    json_decref(g);
    json_decref(s);

    static const char *const bad[] = {
        "{\"$ref\":\"#\"}",                                   /* recursive */
        "{\"$ref\":\"https://x/s.json\"}",                    /* remote */
        "{\"allOf\":[{\"type\":\"string\"},{\"minLength\":1}]}",
        "{\"type\":\"array\",\"items\":[{\"type\":\"string\"}]}",
        "{\"type\":5}",
        "{\"properties\":{\"a\":7}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = json_loads(bad[i], 0, NULL);
        memset(&err, 0, sizeof err);
        g = ad_gemini_schema(s, "tools[0].function.parameters", &err);
        CHECK(g == NULL && err.fail == FAIL_CLIENT && strstr(err.message, "tools[0].function.parameters"));
        json_decref(g);
        json_decref(s);
    }
}

static void test_request_json_mode(void)
{
    /* providers.md 4.2's responseMimeType and responseSchema. */
    json_t *b = body_of(
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\","
        "\"json_schema\":{\"name\":\"answer\",\"strict\":true,\"schema\":{\"type\":\"object\",\"properties\":"
        "{\"a\":{\"type\":\"string\"}},\"additionalProperties\":false}}}}");
    SAME_JSON(json_object_get(b, "generationConfig"),
              "{\"responseMimeType\":\"application/json\",\"responseSchema\":{\"type\":\"OBJECT\",\"properties\":"
              "{\"a\":{\"type\":\"STRING\"}}}}");
    json_decref(b);
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_object\"}}");
    SAME_JSON(json_object_get(b, "generationConfig"), "{\"responseMimeType\":\"application/json\"}");
    json_decref(b);
    /* With client tools: an instruction joins the system instruction. */
    b = body_of("{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"x\"}],"
                "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\"}}],"
                "\"response_format\":{\"type\":\"json_object\"}}");
    json_t *parts = json_object_get(json_object_get(b, "systemInstruction"), "parts");
    CHECK(json_array_size(parts) == 2 && strstr(json_string_value(json_object_get(json_array_get(parts, 1), "text")), "JSON"));
    CHECK(!json_object_get(b, "generationConfig"));
    json_decref(b);
    b = body_of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\"}}],"
                "\"response_format\":{\"type\":\"json_object\"}}");
    parts = json_object_get(json_object_get(b, "systemInstruction"), "parts");
    CHECK(json_array_size(parts) == 1);
    json_decref(b);
}

static void test_request_target(void)
{
    const char *req = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    struct ad_target t = { .base_url = "http://127.0.0.1:9000/v1/", .model = "models/gemini-x" };
    struct ad_request r;
    struct ad_error err;
    json_t *b = ad_test_build(req, false, &t, &r, &err);
    CHECK(b && strcmp(r.url, "http://127.0.0.1:9000/v1/models/gemini-x:generateContent") == 0);
    for (char **h = r.headers; h && *h; h++)
        CHECK(strncmp(*h, "x-goog-api-key", 14) != 0);
    json_decref(b);
    ad_request_free(&r);
    t.base_url = "https://gw.example/google/v1beta1";
    check_key_injection(req, t);
    t.api_key = NULL;
    b = ad_test_build(req, true, &t, &r, &err);
    CHECK(b && strcmp(r.url, "https://gw.example/google/v1beta1/models/gemini-x:streamGenerateContent?alt=sse") == 0);
    json_decref(b);
    ad_request_free(&r);
}

static void test_request_errors(void)
{
    check_refusals(ad_test_common_refusals, sizeof ad_test_common_refusals / sizeof ad_test_common_refusals[0]);
    /* A tool_choice Gemini cannot say is refused by name. */
    struct ad_error e = fails(AD_TEST_BAD_TOOL_CHOICE);
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "tool_choice") && strstr(e.message, "Gemini"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"tool\",\"tool_call_id\":\"nope\","
              "\"content\":\"r\"}]}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "messages[1]") && strstr(e.message, "no earlier tool call"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
              "{\"url\":\"https://x/image?id=3\"}}]}]}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "image type"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "temperature"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":"
              "{\"name\":\"a\",\"parameters\":{\"type\":\"object\",\"properties\":{\"r\":{\"$ref\":\"#\"}}}}}]}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "tools[0].function.parameters"));
    e = fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"xml\"}}");
    CHECK(e.fail == FAIL_CLIENT && strstr(e.message, "response_format"));
}

static void test_request_n_stream(void)
{
    struct ad_request r;
    struct ad_error err;
    json_t *b = ad_test_build("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", true, &target, &r, &err);
    CHECK(b == NULL && err.fail == FAIL_CLIENT && strstr(err.message, "n must be 1"));
    ad_request_free(&r);
}

/* ---- responses ---- */

static void test_response(void)
{
    struct ad_error err;
    /* providers.md 4.3. */
    json_t *c = ad_test_parse(
        "{\"candidates\":[{\"index\":0,\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"4 C and rain.\"}]},"
        "\"finishReason\":\"STOP\",\"safetyRatings\":[]}],"
        "\"usageMetadata\":{\"promptTokenCount\":120,\"candidatesTokenCount\":9,\"thoughtsTokenCount\":0,"
        "\"cachedContentTokenCount\":0,\"totalTokenCount\":129},"
        "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc123\"}",
        NULL, &err);
    SAME_JSON(c, "{\"id\":\"abc123\",\"object\":\"chat.completion\",\"created\":1717000000,\"model\":\"gemini-2.5-flash\","
                 "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"4 C and rain.\",\"refusal\":null},"
                 "\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                 "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":9,\"total_tokens\":129,"
                 "\"prompt_tokens_details\":{\"cached_tokens\":0}}}");
    json_decref(c);

    /* Calls (STOP means tool_calls here), a thought part left out, a
     * thought signature carried in the id, cached and thought tokens. */
    c = ad_test_parse(
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"hmm\",\"thought\":true},"
        "{\"text\":\"Checking.\"},"
        "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Bergen\"}},\"thoughtSignature\":\"U2ln\"},"
        "{\"functionCall\":{\"id\":\"fc-7\",\"name\":\"now\"}}]},\"finishReason\":\"STOP\"}],"
        "\"usageMetadata\":{\"promptTokenCount\":1100,\"candidatesTokenCount\":20,\"thoughtsTokenCount\":30,"
        "\"cachedContentTokenCount\":1024},\"responseId\":\"r9\"}",
        "alias", &err);
    SAME_JSON(c, "{\"id\":\"r9\",\"object\":\"chat.completion\",\"created\":1717000000,\"model\":\"alias\","
                 "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Checking.\",\"refusal\":null,"
                 "\"tool_calls\":[{\"id\":\"call_r9_0~ts~U2ln\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                 "\"arguments\":\"{\\\"city\\\":\\\"Bergen\\\"}\"}},"
                 "{\"id\":\"fc-7\",\"type\":\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"{}\"}}]},"
                 "\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
                 "\"usage\":{\"prompt_tokens\":1100,\"completion_tokens\":50,\"total_tokens\":1150,"
                 "\"prompt_tokens_details\":{\"cached_tokens\":1024},\"completion_tokens_details\":{\"reasoning_tokens\":30}}}");
    json_decref(c);

    /* Only calls: content null.  Two candidates: two choices. */
    c = ad_test_parse("{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]}},"
                      "{\"index\":1,\"content\":{\"parts\":[{\"text\":\"b\"}]},\"finishReason\":\"MAX_TOKENS\"}]}",
                      NULL, &err);
    json_t *ch = json_object_get(c, "choices");
    CHECK(json_array_size(ch) == 2);
    CHECK(json_is_null(json_object_get(json_object_get(json_array_get(ch, 0), "message"), "content")));
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(ch, 1), "finish_reason")), "length") == 0);
    CHECK(strncmp(json_string_value(json_object_get(c, "id")), "gemini-", 7) == 0);
    CHECK(strcmp(json_string_value(json_object_get(c, "model")), "unknown") == 0);
    json_decref(c);

    /* A blocked prompt: an empty, filtered answer. */
    c = ad_test_parse("{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{\"promptTokenCount\":5}}", NULL,
                      &err);
    SAME_JSON(json_object_get(c, "choices"), "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\","
                                             "\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"content_filter\"}]");
    json_decref(c);

    /* finishReason -> finish_reason, providers.md 4.3's table. */
    static const char *const map[][2] = {
        { "STOP", "stop" },          { "MAX_TOKENS", "length" },       { "SAFETY", "content_filter" },
        { "RECITATION", "content_filter" }, { "BLOCKLIST", "content_filter" }, { "PROHIBITED_CONTENT", "content_filter" },
        { "SPII", "content_filter" }, { "IMAGE_SAFETY", "content_filter" }, { "IMAGE_PROHIBITED_CONTENT", "content_filter" },
        { "MALFORMED_FUNCTION_CALL", "stop" }, { "OTHER", "stop" }, { "LANGUAGE", "stop" },
        { "FINISH_REASON_UNSPECIFIED", "stop" }, { "SOMETHING_NEW", "stop" },
    };
    check_finish_map(map, sizeof map / sizeof map[0],
                     "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"finishReason\":\"%s\"}]}");
    CHECK(strcmp(ad_gemini_finish("STOP", true), "tool_calls") == 0);

    static const char *const bad[] = {
        "not json", "[1]", "{\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}", "{}",
        "{\"candidates\":[{\"content\":{\"parts\":{}}}]}",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"args\":{}}}]}}]}",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":[1]}}]}}]}",
    };
    check_bad_answers(bad, sizeof bad / sizeof bad[0]);
}

/* ---- streams ---- */

/* providers.md 4.4: data-only events, no sentinel, \r\n and \n\n framing,
 * a whole functionCall in one event, usage on the last. */
static const char tool_stream[] =
    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Check\"}]},\"index\":0}],"
    "\"usageMetadata\":{\"promptTokenCount\":120,\"candidatesTokenCount\":1},\"modelVersion\":\"gemini-2.5-flash\","
    "\"responseId\":\"abc123\"}\r\n\r\n"
    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"ing, \\u00e9.\"},"
    "{\"text\":\"secret\",\"thought\":true}]},\"index\":0}],\"responseId\":\"abc123\"}\n\n"
    ": keep-alive\n\n"
    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\","
    "\"args\":{\"city\":\"Oslo\"}}},{\"functionCall\":{\"name\":\"now\",\"args\":{}},\"thoughtSignature\":\"c2ln\"}]},"
    "\"index\":0}]}\n\n"
    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
    "\"usageMetadata\":{\"promptTokenCount\":120,\"candidatesTokenCount\":9,\"thoughtsTokenCount\":4,"
    "\"cachedContentTokenCount\":100,\"totalTokenCount\":133}}\n\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"after the end\"}]}}]}\n\n";

#define HEAD "{\"id\":\"abc123\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gemini-2.5-flash\","
#define CH "\"choices\":[{\"index\":0,\"delta\":"

static const char tool_want[] =
    HEAD CH "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n"
    HEAD CH "{\"content\":\"Check\"},\"finish_reason\":null}]}\n"
    HEAD CH "{\"content\":\"ing, \xc3\xa9.\"},\"finish_reason\":null}]}\n"
    HEAD CH "{\"tool_calls\":[{\"index\":0,\"id\":\"call_abc123_0\",\"type\":\"function\",\"function\":"
    "{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},\"finish_reason\":null}]}\n"
    HEAD CH "{\"tool_calls\":[{\"index\":1,\"id\":\"call_abc123_1~ts~c2ln\",\"type\":\"function\",\"function\":"
    "{\"name\":\"now\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n"
    HEAD CH "{},\"finish_reason\":\"tool_calls\"}]}\n"
    "[DONE]\n";

#define TAIL ",\"finish_reason\":null}],\"usage\":null}\n"
static const char tool_want_usage[] =
    HEAD CH "{\"role\":\"assistant\",\"content\":\"\"}" TAIL
    HEAD CH "{\"content\":\"Check\"}" TAIL
    HEAD CH "{\"content\":\"ing, \xc3\xa9.\"}" TAIL
    HEAD CH "{\"tool_calls\":[{\"index\":0,\"id\":\"call_abc123_0\",\"type\":\"function\",\"function\":"
    "{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]}" TAIL
    HEAD CH "{\"tool_calls\":[{\"index\":1,\"id\":\"call_abc123_1~ts~c2ln\",\"type\":\"function\",\"function\":"
    "{\"name\":\"now\",\"arguments\":\"{}\"}}]}" TAIL
    HEAD CH "{},\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n"
    HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":13,\"total_tokens\":133,"
    "\"prompt_tokens_details\":{\"cached_tokens\":100},\"completion_tokens_details\":{\"reasoning_tokens\":4}}}\n"
    "[DONE]\n";

static const char text_stream[] =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}],\"modelVersion\":\"g\"}\r\r"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" there\"}]},\"finishReason\":\"MAX_TOKENS\"}]}\r\r";

#define HT "{\"id\":\"gemini-1717000000\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"g\"," CH
static const char text_want[] =
    HT "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n"
    HT "{\"content\":\"Hi\"},\"finish_reason\":null}]}\n"
    HT "{\"content\":\" there\"},\"finish_reason\":null}]}\n"
    HT "{},\"finish_reason\":\"length\"}]}\n"
    "[DONE]\n";

static const char blocked_stream[] =
    "data: {\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},\"responseId\":\"b\",\"modelVersion\":\"g\"}\n\n";
#define HB "{\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"g\"," CH
static const char blocked_want[] =
    HB "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n"
    HB "{},\"finish_reason\":\"content_filter\"}]}\n"
    "[DONE]\n";

static const char error_stream[] =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}],\"modelVersion\":\"g\",\"responseId\":\"e\"}\n\n"
    "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n";
#define HE "{\"id\":\"e\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"g\"," CH
static const char error_want[] =
    HE "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n"
    HE "{\"content\":\"Hi\"},\"finish_reason\":null}]}\n"
    "ERR server_error {\"error\":{\"message\":\"The model is overloaded.\",\"type\":\"server_error\",\"param\":null,"
    "\"code\":\"overloaded\"}}\n";

static void test_stream_golden(void)
{
    check_all_cuts(tool_stream, false, tool_want, 0);
    check_all_cuts(tool_stream, true, tool_want_usage, 0);
    check_all_cuts(text_stream, false, text_want, 0);
    check_all_cuts(blocked_stream, false, blocked_want, 0);
    check_all_cuts(error_stream, false, error_want, -1);

    /* Content counts from the first text chunk on, not the role chunk. */
    struct out o;
    run(tool_stream, strlen(tool_stream), NULL, 0, false, &o);
    CHECK(o.calls == 7);
    CHECK(!o.content_at[0] && o.content_at[1] && o.content_at[6]);
    free(o.text);

    /* The client's model name; later bytes ignored after the end. */
    check_alias_and_end(text_stream, strlen(text_stream), "\"model\":\"g\"", 5);
    check_stop_after(tool_stream, strlen(tool_stream), NULL);

    /* A body that stops before finishReason never says done. */
    CHECK(run(tool_stream, 400, NULL, 0, false, &o) == 0);
    CHECK(strstr(o.text, "[DONE]") == NULL);
    free(o.text);
}

static void test_stream_errors(void)
{
    static const char *const bad[] = {
        "data: not json\n\n",
        "data: [1]\n\n",
        "data: {\"candidates\":{}}\n\n",
        "data: {\"candidates\":[{\"content\":{\"parts\":7}}]}\n\n",
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"args\":{}}}]}}]}\n\n",
    };
    check_bad_streams(bad, sizeof bad / sizeof bad[0]);
    /* Errors inside a stream keep their class. */
    static const char *const classed[][2] = {
        { "data: {\"error\":{\"code\":429,\"message\":\"slow\",\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n", "ERR rate_limit" },
        { "data: {\"error\":{\"code\":400,\"message\":\"The input token count (9) exceeds the maximum number of tokens "
          "allowed (5).\",\"status\":\"INVALID_ARGUMENT\"}}\n\n", "ERR context" },
        { "data: {\"error\":{\"message\":\"?\"}}\n\n", "ERR stream_error" },
    };
    for (size_t i = 0; i < sizeof classed / sizeof classed[0]; i++) {
        struct out o;
        CHECK(run(classed[i][0], strlen(classed[i][0]), NULL, 0, false, &o) == -1);
        CHECK(strncmp(o.text, classed[i][1], strlen(classed[i][1])) == 0);
        free(o.text);
    }
}

static void test_stream_fuzz(void)
{
    const char *const streams[] = { tool_stream, text_stream, blocked_stream, error_stream };
    stream_fuzz(streams, 4, 3000);
}

/* A request that builds, however mutated, still has contents. */
static bool has_contents(const json_t *body)
{
    return json_array_size(json_object_get(body, "contents")) > 0;
}

/* Requests and answers with random parts replaced: a clear error or a
 * result, never a crash or a leak (the ASan build checks). */
static void test_mutations(void)
{
    static const char *const requests[] = {
        "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBOR\"}}]},"
        "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"c~ts~sig\",\"type\":\"function\",\"function\":"
        "{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c~ts~sig\",\"content\":\"r\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":"
        "{\"a\":{\"anyOf\":[{\"$ref\":\"#/$defs/d\"},{\"type\":\"null\"}]},\"b\":{\"type\":[\"array\",\"null\"],\"items\":"
        "{\"type\":\"string\"}}},\"$defs\":{\"d\":{\"type\":\"integer\"}}}}}],"
        "\"tool_choice\":{\"type\":\"allowed_tools\",\"allowed_tools\":{\"mode\":\"auto\",\"tools\":[{\"type\":\"function\","
        "\"function\":{\"name\":\"f\"}}]}},\"stop\":[\"x\"],\"temperature\":0.5,\"max_tokens\":9,\"seed\":1}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\","
        "\"json_schema\":{\"name\":\"n\",\"schema\":{\"type\":\"object\",\"properties\":{\"k\":{\"enum\":[\"a\"]}}}}},\"n\":2}",
    };
    static const char answer[] =
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"a\"},{\"text\":\"t\",\"thought\":true},"
        "{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}},\"thoughtSignature\":\"s\"}]},\"finishReason\":\"STOP\"}],"
        "\"usageMetadata\":{\"promptTokenCount\":3,\"cachedContentTokenCount\":9},\"responseId\":\"r\",\"modelVersion\":\"m\"}";
    mutation_rounds(requests, 2, answer, 4000, 3, has_contents);
}

/* ---- errors ---- */

static void test_error_table(void)
{
    /* providers.md 4.5 and section 7's Gemini column. */
    static const struct ad_test_err_row rows[] = {
        { 400, "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key.\",\"status\":"
               "\"INVALID_ARGUMENT\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
               "\"reason\":\"API_KEY_INVALID\",\"domain\":\"googleapis.com\"}]}}",
          FAIL_AUTH, "invalid_api_key", 401 },
        { 400, "{\"error\":{\"code\":400,\"message\":\"The input token count (1200000) exceeds the maximum number of "
               "tokens allowed (1048576).\",\"status\":\"INVALID_ARGUMENT\"}}",
          FAIL_CONTEXT, "context_length_exceeded", 400 },
        { 400, "{\"error\":{\"code\":400,\"message\":\"Invalid JSON payload\",\"status\":\"INVALID_ARGUMENT\"}}",
          FAIL_CLIENT, NULL, 400 },
        { 400, "{\"error\":{\"code\":400,\"message\":\"User location is not supported\",\"status\":\"FAILED_PRECONDITION\"}}",
          FAIL_AUTH, "invalid_api_key", 401 },
        { 403, "{\"error\":{\"code\":403,\"message\":\"denied\",\"status\":\"PERMISSION_DENIED\"}}", FAIL_AUTH,
          "permission_denied", 403 },
        { 401, "{\"error\":{\"code\":401,\"message\":\"bad token\",\"status\":\"UNAUTHENTICATED\"}}", FAIL_AUTH,
          "invalid_api_key", 401 },
        { 404, "{\"error\":{\"code\":404,\"message\":\"models/x is not found\",\"status\":\"NOT_FOUND\"}}",
          FAIL_NOT_FOUND, "model_not_found", 404 },
        { 429, "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
          FAIL_RATE_LIMIT, "rate_limit_exceeded", 429 },
        { 429, "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota\",\"status\":\"RESOURCE_EXHAUSTED\","
               "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaId\":"
               "\"GenerateRequestsPerDayPerProjectPerModel-FreeTier\"}]}]}}",
          FAIL_QUOTA, "insufficient_quota", 429 },
        { 500, "{\"error\":{\"code\":500,\"message\":\"Internal error\",\"status\":\"INTERNAL\"}}", FAIL_SERVER,
          "server_error", 500 },
        { 503, "{\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}",
          FAIL_SERVER, "overloaded", 503 },
        { 504, "{\"error\":{\"code\":504,\"message\":\"Deadline exceeded\",\"status\":\"DEADLINE_EXCEEDED\"}}",
          FAIL_SERVER, "timeout", 504 },
        { 502, "<html>bad gateway</html>", FAIL_SERVER, "server_error", 502 },
        { 429, "[{\"error\":{\"code\":429,\"message\":\"Quota exceeded\",\"status\":\"RESOURCE_EXHAUSTED\"}}]",
          FAIL_RATE_LIMIT, "rate_limit_exceeded", 429 },
        { 400, "not json", FAIL_CLIENT, NULL, 400 },
        { 422, "{\"error\":{\"message\":\"odd\"}}", FAIL_CLIENT, NULL, 422 },
    };
    check_error_rows(rows, sizeof rows / sizeof rows[0], gw_classify_http);
    CHECK(ad_test_ops->classify(401, NULL, 0, NULL) == FAIL_AUTH);
    CHECK(ad_ops_find("gemini") == &ad_gemini_ops);
}

int main(void)
{
    ad_clock = ad_test_clock;
    ad_test_ops = &ad_gemini_ops;
    ad_test_target = &target;
    srand(5);
    test_request_doc_example();
    test_request_parts_and_pitfalls();
    test_request_params();
    test_request_tools();
    test_schema();
    test_request_json_mode();
    test_request_target();
    test_request_errors();
    test_request_n_stream();
    test_response();
    test_stream_golden();
    test_stream_errors();
    test_stream_fuzz();
    test_mutations();
    test_error_table();
    UNIT_END("ad_gemini");
}
