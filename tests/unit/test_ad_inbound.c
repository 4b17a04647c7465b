/* Unit tests of the inbound Anthropic API: requests, answers, streams and
 * errors of Anthropic-SDK clients, alone and as round trips through the
 * Anthropic adapter (Anthropic -> OpenAI -> Anthropic gives back what went
 * in, where the formats can say the same).  Vectors from providers.md
 * sections 1-3. */
#include "ad_anthropic.h"
#include "ad_inbound.h"
#include "ad_test.h"

static json_t *in_request(const char *text, struct ad_error *err)
{
    json_t *req = json_loads(text, 0, NULL);
    if (!req)
        fprintf(stderr, "bad test request: %s\n", text);
    memset(err, 0, sizeof *err);
    json_t *out = ad_in_request(req, err);
    json_decref(req);
    return out;
}

/* providers.md 2.1, the full example. */
static const char anthropic_req[] =
    "{\"model\":\"claude-opus-4-20250514\",\"max_tokens\":1024,\"system\":\"Be terse.\","
    "\"messages\":["
    "{\"role\":\"user\",\"content\":\"Weather in Oslo?\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_weather\",\"input\":{\"city\":\"Oslo\"}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01A\",\"content\":\"4 C, rain\"}]}],"
    "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Current weather\","
    "\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}],"
    "\"tool_choice\":{\"type\":\"auto\"}}";

static void test_request(void)
{
    struct ad_error err;
    json_t *o = in_request(anthropic_req, &err);
    SAME_JSON(o, "{\"model\":\"claude-opus-4-20250514\",\"messages\":["
                 "{\"role\":\"system\",\"content\":\"Be terse.\"},"
                 "{\"role\":\"user\",\"content\":\"Weather in Oslo?\"},"
                 "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"toolu_01A\",\"type\":\"function\","
                 "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},"
                 "{\"role\":\"tool\",\"tool_call_id\":\"toolu_01A\",\"content\":\"4 C, rain\"}],"
                 "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
                 "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}],"
                 "\"tool_choice\":\"auto\",\"max_tokens\":1024}");

    /* Round trip: through the Anthropic adapter it is the request again. */
    struct ad_target t = { .base_url = "https://api.anthropic.com", .model = "claude-opus-4-20250514", .api_key = "k" };
    struct ad_request r;
    CHECK(ad_anthropic_ops.build_request(o, false, &t, &r, &err) == 0);
    json_t *back = json_loadb(r.body, r.body_len, 0, NULL);
    SAME_JSON(back, anthropic_req);
    json_decref(back);
    ad_request_free(&r);
    json_decref(o);

    /* Everything else a client may send. */
    o = in_request(
        "{\"model\":\"alias\",\"max_tokens\":50,\"stream\":true,\"temperature\":0.5,\"top_p\":0.8,\"top_k\":5,"
        "\"stop_sequences\":[\"X\"],\"metadata\":{\"user_id\":\"u1\"},\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2000},"
        "\"system\":[{\"type\":\"text\",\"text\":\"A\",\"cache_control\":{\"type\":\"ephemeral\"}},{\"type\":\"text\",\"text\":\"B\"}],"
        "\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},"
        "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBOR\"}},"
        "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://example.com/a.jpg\"}}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\",\"signature\":\"s\"},"
        "{\"type\":\"text\",\"text\":\"Let me check.\"},{\"type\":\"tool_use\",\"id\":\"tu1\",\"name\":\"f\",\"input\":{}},"
        "{\"type\":\"tool_use\",\"id\":\"tu2\",\"name\":\"g\",\"input\":{\"q\":[1,2]}}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"tu1\",\"is_error\":true,\"content\":"
        "[{\"type\":\"text\",\"text\":\"boom\"}]},{\"type\":\"tool_result\",\"tool_use_id\":\"tu2\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"see\"},{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x/p.png\"}}]},"
        "{\"type\":\"text\",\"text\":\"and?\"}]}],"
        "\"tools\":[{\"type\":\"custom\",\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}},"
        "{\"name\":\"g\",\"input_schema\":{\"type\":\"object\"}}],"
        "\"tool_choice\":{\"type\":\"tool\",\"name\":\"g\",\"disable_parallel_tool_use\":true},"
        "\"output_config\":{\"format\":{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\"}}}}",
        &err);
    SAME_JSON(o, "{\"model\":\"alias\",\"messages\":["
                 "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"A\"},{\"type\":\"text\",\"text\":\"B\"}]},"
                 "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},"
                 "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBOR\"}},"
                 "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.jpg\"}}]},"
                 "{\"role\":\"assistant\",\"content\":\"Let me check.\",\"tool_calls\":["
                 "{\"id\":\"tu1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
                 "{\"id\":\"tu2\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"{\\\"q\\\":[1,2]}\"}}]},"
                 "{\"role\":\"tool\",\"tool_call_id\":\"tu1\",\"content\":\"Error: boom\"},"
                 "{\"role\":\"tool\",\"tool_call_id\":\"tu2\",\"content\":\"see\"},"
                 "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/p.png\"}},"
                 "{\"type\":\"text\",\"text\":\"and?\"}]}],"
                 "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}},"
                 "{\"type\":\"function\",\"function\":{\"name\":\"g\",\"parameters\":{\"type\":\"object\"}}}],"
                 "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}},\"parallel_tool_calls\":false,"
                 "\"max_tokens\":50,\"temperature\":0.5,\"top_p\":0.8,\"stop\":[\"X\"],\"user\":\"u1\","
                 "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"output\",\"schema\":{\"type\":\"object\"}}},"
                 "\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    json_decref(o);

    static const struct {
        const char *choice;
        const char *want;
    } choices[] = { { "{\"type\":\"any\"}", "\"required\"" }, { "{\"type\":\"none\"}", "\"none\"" } };
    for (size_t i = 0; i < 2; i++) {
        char req[256];
        snprintf(req, sizeof req, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":%s}",
                 choices[i].choice);
        o = in_request(req, &err);
        SAME_JSON(json_object_get(o, "tool_choice"), choices[i].want);
        json_decref(o);
    }

    static const char *const bad[] = {
        "{\"messages\":[]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{}}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"file\"}}]}]}",
        "{\"model\":\"m\",\"messages\":[],\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]}",
        "{\"model\":\"m\",\"messages\":[],\"tools\":[{\"name\":\"f\"}]}",
        "{\"model\":\"m\",\"messages\":[],\"tool_choice\":{\"type\":\"maybe\"}}",
        "{\"model\":\"m\",\"messages\":[],\"max_tokens\":-1}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"f\",\"input\":\"{}\"}]}]}",
        "{\"model\":\"m\",\"messages\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = in_request(bad[i], &err);
        CHECK(o == NULL && err.fail == FAIL_CLIENT && err.message[0]);
        if (o)
            fprintf(stderr, "accepted: %s\n", bad[i]);
    }
    o = in_request("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\"}]}]}", &err);
    CHECK(o == NULL && strstr(err.message, "messages[0].content[0]"));
}

/* providers.md 2.2. */
static const char anthropic_resp[] =
    "{\"id\":\"msg_01X\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-4-20250514\","
    "\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_01B\",\"name\":\"get_weather\",\"input\":{\"city\":\"Bergen\"}}],"
    "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":410,\"output_tokens\":52,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1024}}";

static void test_response(void)
{
    struct ad_error err;
    /* providers.md 1.2 as an Anthropic message. */
    json_t *c = json_loads(
        "{\"id\":\"chatcmpl-123\",\"object\":\"chat.completion\",\"created\":1717000000,\"model\":\"gpt-4o-2024-08-06\","
        "\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\",\"logprobs\":null,"
        "\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null,"
        "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]}}],"
        "\"usage\":{\"prompt_tokens\":82,\"completion_tokens\":17,\"total_tokens\":99,"
        "\"prompt_tokens_details\":{\"cached_tokens\":64,\"audio_tokens\":0}}}",
        0, NULL);
    json_t *a = ad_in_response(c, "claude-alias", &err);
    SAME_JSON(a, "{\"id\":\"msg_chatcmpl-123\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-alias\","
                 "\"content\":[{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Oslo\"}}],"
                 "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
                 "\"usage\":{\"input_tokens\":18,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":64,"
                 "\"output_tokens\":17}}");
    json_decref(a);
    json_decref(c);

    /* Round trip: Anthropic -> OpenAI (the adapter) -> Anthropic. */
    c = ad_anthropic_ops.parse_response(anthropic_resp, strlen(anthropic_resp), NULL, &err);
    a = ad_in_response(c, NULL, &err);
    SAME_JSON(a, anthropic_resp);
    json_decref(a);
    json_decref(c);

    /* finish_reason -> stop_reason; invalid arguments kept whole; refusal
     * is text. */
    static const char *const map[][2] = {
        { "stop", "end_turn" }, { "length", "max_tokens" }, { "tool_calls", "tool_use" },
        { "content_filter", "refusal" }, { "function_call", "tool_use" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"finish_reason\":\"%s\",\"message\":"
                 "{\"role\":\"assistant\",\"content\":\"Hi\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
                 "\"function\":{\"name\":\"f\",\"arguments\":\"{oops\"}}]}}]}",
                 map[i][0]);
        c = json_loads(text, 0, NULL);
        a = ad_in_response(c, NULL, &err);
        CHECK(a && strcmp(json_string_value(json_object_get(a, "stop_reason")), map[i][1]) == 0);
        SAME_JSON(json_object_get(a, "content"),
                  "[{\"type\":\"text\",\"text\":\"Hi\"},{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"f\","
                  "\"input\":{\"_raw\":\"{oops\"}}]");
        json_decref(a);
        json_decref(c);
    }
    c = json_loads("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":\"No.\"},"
                   "\"finish_reason\":\"content_filter\"}]}", 0, NULL);
    a = ad_in_response(c, NULL, &err);
    SAME_JSON(json_object_get(a, "content"), "[{\"type\":\"text\",\"text\":\"No.\"}]");
    CHECK(strcmp(json_string_value(json_object_get(a, "id")), "msg_gateway") == 0);
    json_decref(a);
    json_decref(c);
    c = json_loads("{\"choices\":[]}", 0, NULL);
    CHECK(ad_in_response(c, NULL, &err) == NULL && err.fail == FAIL_BAD_RESPONSE);
    json_decref(c);
}

/* ---- streams ---- */

struct sink {
    char *text;
    size_t len;
};

static int write_sse(void *arg, const char *sse, size_t len)
{
    struct sink *k = arg;
    k->text = realloc(k->text, k->len + len + 1);
    memcpy(k->text + k->len, sse, len);
    k->len += len;
    k->text[k->len] = '\0';
    return 0;
}

/* Upstream bytes (cut at the given points) through a decoder into the
 * inbound encoder; returns the SSE text the client gets (malloc'd). */
static char *pipe_stream(const struct ad_ops *ops, const char *model, const char *stream, const size_t *cuts,
                         size_t ncuts, int *rc_out)
{
    struct sink k = { NULL, 0 };
    write_sse(&k, "", 0);
    struct ad_in_stream *in = ad_in_stream_new(model, write_sse, &k);
    struct ad_stream *s = ops->stream_new(NULL, true);
    size_t len = strlen(stream), at = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        rc = ops->stream_feed(s, stream + at, end - at, ad_in_stream_emit, in);
        at = end;
    }
    ops->stream_free(s);
    ad_in_stream_free(in);
    if (rc_out)
        *rc_out = rc;
    return k.text;
}

static void check_cuts(const struct ad_ops *ops, const char *stream, const char *want, int want_rc)
{
    size_t len = strlen(stream);
    int bad = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        int rc;
        char *got = pipe_stream(ops, NULL, stream, &cut, 1, &rc);
        if (rc != want_rc || strcmp(got, want) != 0) {
            if (!bad++)
                fprintf(stderr, "cut %zu (rc %d):\n%s\nwant:\n%s\n", cut, rc, got, want);
        }
        free(got);
    }
    CHECK(bad == 0);
    size_t *cuts = malloc(len * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    int rc;
    char *got = pipe_stream(ops, NULL, stream, cuts, len - 1, &rc);
    CHECK(rc == want_rc && strcmp(got, want) == 0);
    free(got);
    free(cuts);
}

#define EV(name, data) "event: " name "\ndata: " data "\n\n"

/* providers.md 1.3: an OpenAI tool-call stream. */
static const char openai_stream[] =
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":82,\"completion_tokens\":17,\"total_tokens\":99}}\n\n"
    "data: [DONE]\n\n";

static const char openai_stream_want[] =
    EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_chatcmpl-1\",\"type\":\"message\","
                        "\"role\":\"assistant\",\"content\":[],\"model\":\"gpt-4o\",\"stop_reason\":null,"
                        "\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\","
                              "\"id\":\"call_1\",\"name\":\"get_weather\",\"input\":{}}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
                              "\"partial_json\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
    EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
                        "\"usage\":{\"input_tokens\":82,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
                        "\"output_tokens\":17}}")
    EV("message_stop", "{\"type\":\"message_stop\"}");

/* providers.md 2.3. */
static const char anthropic_stream[] =
    EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01X\",\"type\":\"message\",\"role\":\"assistant\","
                        "\"content\":[],\"model\":\"claude-opus-4-20250514\",\"stop_reason\":null,\"stop_sequence\":null,"
                        "\"usage\":{\"input_tokens\":410,\"output_tokens\":1}}}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking.\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
                              "\"id\":\"toolu_01B\",\"name\":\"get_weather\",\"input\":{}}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
                              "\"partial_json\":\"{\\\"city\\\": \\\"Bergen\\\"}\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")
    EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
                        "\"usage\":{\"output_tokens\":52}}")
    EV("message_stop", "{\"type\":\"message_stop\"}");

/* The same events back, but for usage: message_start cannot know it yet
 * (OpenAI reports it at the end), message_delta has all of it. */
static const char anthropic_stream_back[] =
    EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01X\",\"type\":\"message\",\"role\":\"assistant\","
                        "\"content\":[],\"model\":\"claude-opus-4-20250514\",\"stop_reason\":null,\"stop_sequence\":null,"
                        "\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking.\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
                              "\"id\":\"toolu_01B\",\"name\":\"get_weather\",\"input\":{}}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
                              "\"partial_json\":\"{\\\"city\\\": \\\"Bergen\\\"}\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")
    EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
                        "\"usage\":{\"input_tokens\":410,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
                        "\"output_tokens\":52}}")
    EV("message_stop", "{\"type\":\"message_stop\"}");

/* Text, then two tool calls, then text again; the first tool call's name
 * and arguments split over several deltas. */
#define OC(delta, finish) "data: {\"id\":\"c9\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":" finish "}]}\n\n"
static const char mixed_stream[] =
    OC("{\"role\":\"assistant\"}", "null")
    OC("{\"content\":\"Hel\"}", "null")
    OC("{\"content\":\"lo\"}", "null")
    OC("{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}", "null")
    OC("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\"\"}}]}", "null")
    OC("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]}", "null")
    OC("{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}", "null")
    OC("{\"content\":\"!\"}", "null")
    OC("{}", "\"stop\"")
    "data: [DONE]\n\n";

static const char mixed_want[] =
    EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_c9\",\"type\":\"message\",\"role\":\"assistant\","
                        "\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"stop_sequence\":null,"
                        "\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
                              "\"id\":\"call_a\",\"name\":\"f\",\"input\":{}}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
                              "\"partial_json\":\"{\\\"a\\\"\"}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
                              "\"partial_json\":\":1}\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\","
                              "\"id\":\"call_b\",\"name\":\"g\",\"input\":{}}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
                              "\"partial_json\":\"{}\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":3}")
    EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
                        "\"usage\":{\"input_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
                        "\"output_tokens\":0}}")
    EV("message_stop", "{\"type\":\"message_stop\"}");

static void test_stream(void)
{
    check_cuts(&ad_openai_ops, openai_stream, openai_stream_want, 0);
    check_cuts(&ad_anthropic_ops, anthropic_stream, anthropic_stream_back, 0);
    check_cuts(&ad_openai_ops, mixed_stream, mixed_want, 0);

    /* An upstream error event after content: the Anthropic error event,
     * and nothing after it. */
    static const char err_stream[] =
        EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_E\",\"model\":\"c\",\"usage\":{}}}")
        EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
        EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}")
        EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Slow down\"}}")
        EV("message_stop", "{\"type\":\"message_stop\"}");
    static const char err_want[] =
        EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_E\",\"type\":\"message\",\"role\":\"assistant\","
                            "\"content\":[],\"model\":\"c\",\"stop_reason\":null,\"stop_sequence\":null,"
                            "\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}")
        EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
        EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}")
        EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Slow down\"}}");
    check_cuts(&ad_anthropic_ops, err_stream, err_want, -1);

    /* Anthropic to Anthropic, an overload keeps its own type. */
    static const char over_stream[] =
        EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_E\",\"model\":\"c\",\"usage\":{}}}")
        EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
        EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}")
        EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
    static const char over_want[] =
        EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_E\",\"type\":\"message\",\"role\":\"assistant\","
                            "\"content\":[],\"model\":\"c\",\"stop_reason\":null,\"stop_sequence\":null,"
                            "\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}")
        EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
        EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}")
        EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
    check_cuts(&ad_anthropic_ops, over_stream, over_want, -1);

    /* An error the gateway raises itself, before anything went out, and
     * the client's model name. */
    struct sink k = { NULL, 0 };
    struct ad_in_stream *in = ad_in_stream_new("alias", write_sse, &k);
    struct ad_error e = { FAIL_DEADLINE, "request deadline exceeded" };
    CHECK(ad_in_stream_emit(in, NULL, 0, false, &e) == -1);
    CHECK(ad_in_stream_ended(in));
    CHECK(ad_in_stream_emit(in, "{}", 2, false, NULL) == 0); /* ignored */
    CHECK(strcmp(k.text, EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"timeout_error\","
                                     "\"message\":\"request deadline exceeded\"}}")) == 0);
    ad_in_stream_free(in);
    free(k.text);

    /* Done without any chunk: still the whole sequence. */
    k.text = NULL;
    k.len = 0;
    in = ad_in_stream_new("alias", write_sse, &k);
    CHECK(ad_in_stream_emit(in, NULL, 0, true, NULL) == 0 && ad_in_stream_ended(in));
    CHECK(strstr(k.text, "event: message_start\n") == k.text && strstr(k.text, "\"model\":\"alias\"") &&
          strstr(k.text, "event: message_delta\n") && strstr(k.text, "\"stop_reason\":\"end_turn\"") &&
          strstr(k.text, "event: message_stop\n"));
    ad_in_stream_free(in);
    free(k.text);

    /* A delta for a tool call whose block was closed cannot be said. */
    static const char interleaved[] =
        OC("{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}", "null")
        OC("{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}", "null")
        OC("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"}\"}}]}", "null")
        "data: [DONE]\n\n";
    int rc;
    char *got = pipe_stream(&ad_openai_ops, NULL, interleaved, NULL, 0, &rc);
    CHECK(rc == -1);
    CHECK(strstr(got, "event: error\n") && !strstr(got, "message_stop"));
    free(got);

    /* Garbage through both stages: no crash, no leak. */
    srand(11);
    char buf[1024];
    for (int round = 0; round < 1000; round++) {
        const char *src = round % 2 ? mixed_stream : anthropic_stream;
        size_t len = strlen(src) < sizeof buf - 1 ? strlen(src) : sizeof buf - 1;
        memcpy(buf, src, len);
        for (int n = rand() % 8; n > 0; n--)
            buf[rand() % (int)len] = (char)(rand() % 256);
        buf[len] = '\0';
        size_t cut = (size_t)rand() % (len + 1);
        got = pipe_stream(round % 2 ? &ad_openai_ops : &ad_anthropic_ops, NULL, buf, &cut, 1, &rc);
        free(got);
    }
}


/* The words and keys of Anthropic requests and OpenAI answers, what the
 * inbound translators look for. */
static const char *const in_words[] = { "text", "image", "tool_use", "tool_result", "base64", "url", "auto", "any",
                                        "tool", "none", "thinking", "custom", "user", "assistant", "image/png", "",
                                        "{\"a\":1}", "{", "stop", "length", "tool_calls" };
static const char *const in_keys[] = { "type", "text", "content", "role", "name", "id", "source", "input",
                                       "input_schema", "tool_use_id", "is_error", "data", "media_type",
                                       "arguments", "function", "message", "tool_calls", "index" };
static const struct ad_test_vocab in_vocab = AD_TEST_VOCAB(in_words, in_keys);

static const char openai_answer[] =
    "{\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\",\"message\":"
    "{\"role\":\"assistant\",\"content\":\"Hi\",\"refusal\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
    "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,"
    "\"prompt_tokens_details\":{\"cached_tokens\":1}}}";

/* Requests, answers and chunks with random parts replaced: a clear error
 * or a result, never a crash or a leak. */
static void test_mutations(void)
{
    int odd = 0;
    ad_test_vocab = &in_vocab;
    srand(5);
    for (int round = 0; round < 4000; round++) {
        struct ad_error err = { FAIL_NONE, "" };
        json_t *req = json_loads(anthropic_req, 0, NULL);
        mutate(req, 0);
        json_t *o = ad_in_request(req, &err);
        odd += !o && (err.fail != FAIL_CLIENT || !err.message[0]);
        if (o) {
            /* What comes out must be something the Anthropic adapter can
             * take or refuse cleanly. */
            struct ad_target t = { .base_url = "https://a", .model = "m" };
            struct ad_request r;
            if (ad_anthropic_ops.build_request(o, false, &t, &r, &err) < 0)
                odd += err.fail != FAIL_CLIENT;
            ad_request_free(&r);
        }
        json_decref(o);
        json_decref(req);

        json_t *ans = json_loads(openai_answer, 0, NULL);
        mutate(ans, 0);
        json_t *a = ad_in_response(ans, round % 2 ? "alias" : NULL, &err);
        odd += !a && err.fail != FAIL_BAD_RESPONSE && err.fail != FAIL_INTERNAL;
        json_decref(a);
        /* The same answer as a stream chunk into the encoder. */
        char *text = json_dumps(ans, JSON_COMPACT);
        struct sink k = { NULL, 0 };
        struct ad_in_stream *in = ad_in_stream_new(NULL, write_sse, &k);
        ad_in_stream_emit(in, text, strlen(text), false, NULL);
        ad_in_stream_emit(in, NULL, 0, true, NULL);
        odd += !ad_in_stream_ended(in);
        ad_in_stream_free(in);
        free(k.text);
        free(text);
        json_t *ae = ad_in_error(400 + rand() % 200, ans);
        odd += ae == NULL;
        json_decref(ae);
        json_decref(ans);
    }
    CHECK(odd == 0);
}

static void test_errors(void)
{
    static const struct {
        long status;
        const char *body;
        const char *type;
    } table[] = {
        { 400, "{\"error\":{\"message\":\"context\",\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\"}}",
          "invalid_request_error" },
        { 401, "{\"error\":{\"message\":\"key\"}}", "authentication_error" },
        { 402, "{}", "billing_error" },
        { 403, "{\"error\":{\"message\":\"no\"}}", "permission_error" },
        { 404, "{\"error\":{\"message\":\"no model\"}}", "not_found_error" },
        { 413, "{\"error\":{\"message\":\"big\"}}", "request_too_large" },
        { 422, "{\"error\":{\"message\":\"odd\"}}", "invalid_request_error" },
        { 429, "{\"error\":{\"message\":\"slow\",\"code\":\"rate_limit_exceeded\"}}", "rate_limit_error" },
        { 429, "{\"error\":{\"message\":\"quota\",\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}",
          "billing_error" },
        { 500, "{\"error\":{\"message\":\"boom\"}}", "api_error" },
        { 502, "{\"error\":\"bad gateway\"}", "api_error" },
        { 503, "{\"error\":{\"message\":\"every target failed\",\"code\":\"all_targets_failed\"}}", "overloaded_error" },
        { 504, "{\"error\":{\"message\":\"deadline\"}}", "timeout_error" },
        { 529, "{\"error\":{\"message\":\"overloaded\"}}", "overloaded_error" },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        json_t *oe = json_loads(table[i].body, 0, NULL);
        json_t *ae = ad_in_error(table[i].status, oe);
        CHECK(strcmp(json_string_value(json_object_get(ae, "type")), "error") == 0);
        const json_t *e = json_object_get(ae, "error");
        CHECK(strcmp(json_string_value(json_object_get(e, "type")), table[i].type) == 0);
        CHECK(json_string_length(json_object_get(e, "message")) > 0);
        CHECK(json_object_size(ae) == 2 && json_object_size(e) == 2);
        json_decref(ae);
        json_decref(oe);
    }
    json_t *ae = ad_in_error(500, NULL);
    SAME_JSON(ae, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"upstream answered HTTP 500\"}}");
    json_decref(ae);

    /* Round trip of an Anthropic error through the adapter's classify and
     * back: the type survives where the status carries it. */
    const char *overloaded = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
    json_t *oe = NULL;
    enum fail_class c = ad_anthropic_ops.classify(529, overloaded, strlen(overloaded), &oe);
    ae = ad_in_error(ad_client_status(c, 529), oe);
    SAME_JSON(ae, overloaded);
    json_decref(ae);
    json_decref(oe);

    static const struct {
        enum fail_class c;
        const char *type;
    } classes[] = {
        { FAIL_CLIENT, "invalid_request_error" }, { FAIL_CONTEXT, "invalid_request_error" },
        { FAIL_AUTH, "authentication_error" },    { FAIL_QUOTA, "billing_error" },
        { FAIL_NOT_FOUND, "not_found_error" },    { FAIL_RATE_LIMIT, "rate_limit_error" },
        { FAIL_IDLE_TIMEOUT, "timeout_error" },   { FAIL_SERVER, "api_error" },
        { FAIL_STREAM_CUT, "api_error" },
    };
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        CHECK(strcmp(ad_in_error_type_class(classes[i].c), classes[i].type) == 0);
}

int main(void)
{
    ad_clock = ad_test_clock;
    test_request();
    test_response();
    test_stream();
    test_errors();
    test_mutations();
    UNIT_END("ad_inbound");
}
