/* Answer contracts: the request's contract, the checks of whole answers and
 * of streams, and the per-worker schema cache. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_contract.h"
#include "gw_contract_stream.h"
#include "gw_schema_cache.h"
#include "unit.h"

#define WEATHER                                                                                  \
    "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":"   \
    "\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"," \
    "\"minimum\":1}},\"required\":[\"city\"],\"additionalProperties\":false}}}"
#define CLOCK "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}"

static json_t *req(const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]%s%s}",
             *extra ? "," : "", extra);
    json_t *j = json_loads(text, 0, NULL);
    if (!j)
        fprintf(stderr, "bad test request: %s\n", text);
    return j;
}

static struct gw_contract *contract(json_t *body)
{
    bool oom;
    struct gw_contract *c = gw_contract_new(body, &oom);
    CHECK(!oom);
    return c;
}

static enum ct_problem msg(struct gw_contract *c, const char *m, const char *fr, struct ct_verdict *v)
{
    json_t *j = json_loads(m, 0, NULL);
    CHECK(j != NULL);
    enum ct_problem p = gw_contract_check_message(c, j, fr, v);
    json_decref(j);
    return p;
}

static void test_when_a_contract_applies(void)
{
    const char *none[] = {
        "",
        "\"tools\":[]",
        "\"tools\":[" WEATHER "],\"tool_choice\":\"none\"",
        "\"tools\":[" WEATHER "],\"n\":2",
        "\"response_format\":{\"type\":\"text\"}",
        "\"response_format\":{\"type\":\"json_object\"},\"n\":3",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        json_t *b = req(none[i]);
        struct gw_contract *c = contract(b);
        CHECK(c == NULL);
        gw_contract_free(c);
        json_decref(b);
    }
    json_t *b = req("\"tools\":[" WEATHER "," CLOCK "]");
    struct gw_contract *c = contract(b);
    CHECK(c != NULL && !gw_contract_json_content(c));
    char names[64];
    gw_contract_tool_names(c, names, sizeof names);
    CHECK(strcmp(names, "get_weather, get_time") == 0);
    CHECK(strcmp(gw_contract_choice(c), "auto") == 0);
    gw_contract_free(c);
    json_decref(b);
    b = req("\"response_format\":{\"type\":\"json_object\"}");
    c = contract(b);
    CHECK(c != NULL && gw_contract_json_content(c));
    gw_contract_free(c);
    json_decref(b);
}

static void test_tool_turns(void)
{
    struct ct_verdict v;
    json_t *b = req("\"tools\":[" WEATHER "," CLOCK "],\"tool_choice\":\"auto\"");
    struct gw_contract *c = contract(b);
    /* auto: a text answer is no break */
    CHECK(msg(c, "{\"role\":\"assistant\",\"content\":\"Sunny.\"}", "stop", &v) == CT_OK);
    CHECK(msg(c, "{\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"function\":{\"name\":\"get_weather\","
                 "\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\",\\\"days\\\":2}\"}}]}", "tool_calls", &v) == CT_OK);
    /* a tool with no parameters schema takes any object */
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"get_time\",\"arguments\":\"{\\\"tz\\\":1}\"}}]}",
              "tool_calls", &v) == CT_OK);
    CHECK(msg(c, "{\"content\":null}", "tool_calls", &v) == CT_EMPTY_TOOL_TURN);
    CHECK(strstr(v.message, "finish_reason tool_calls") != NULL && v.call == -1);
    CHECK(msg(c, "{\"content\":\"\",\"tool_calls\":[]}", "stop", &v) == CT_EMPTY_TURN);
    CHECK(msg(c, "{\"content\":null}", NULL, &v) == CT_EMPTY_TURN);
    /* a refusal, or a cut answer, is not an empty turn */
    CHECK(msg(c, "{\"content\":null,\"refusal\":\"I cannot help with that.\"}", "stop", &v) == CT_OK);
    CHECK(msg(c, "{\"content\":\"\"}", "length", &v) == CT_OK);
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"get_wether\",\"arguments\":\"{}\"}}]}",
              "tool_calls", &v) == CT_UNKNOWN_FUNCTION);
    CHECK(strstr(v.message, "'get_wether'") != NULL && v.call == 0);
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"arguments\":\"{}\"}}]}", "tool_calls", &v) ==
          CT_UNKNOWN_FUNCTION);
    /* arguments: parse errors with their position */
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}},"
                 "{\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Os\"}}]}",
              "tool_calls", &v) == CT_BAD_TOOL_ARGS);
    CHECK(v.call == 1);
    CHECK(strstr(v.message, "arguments of get_weather are not valid JSON") != NULL);
    CHECK(strstr(v.message, "at position 12") != NULL);
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"get_time\",\"arguments\":\"[1]\"}}]}",
              "tool_calls", &v) == CT_BAD_TOOL_ARGS);
    CHECK(strstr(v.message, "must be a JSON object") != NULL);
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"get_time\"}}]}", "tool_calls", &v) ==
          CT_BAD_TOOL_ARGS);
    /* schema violations with their JSON path */
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":12}\"}}]}",
              "tool_calls", &v) == CT_TOOL_ARGS_SCHEMA);
    CHECK(strstr(v.message, "$.city") != NULL);
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"a\\\","
                 "\\\"days\\\":0}\"}}]}", "tool_calls", &v) == CT_TOOL_ARGS_SCHEMA);
    CHECK(strstr(v.message, "$.days") != NULL);
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]}",
              "tool_calls", &v) == CT_TOOL_ARGS_SCHEMA);
    CHECK(strstr(v.message, "city") != NULL);
    gw_contract_free(c);
    json_decref(b);

    b = req("\"tools\":[" WEATHER "," CLOCK "],\"tool_choice\":\"required\"");
    c = contract(b);
    CHECK(msg(c, "{\"content\":\"Sunny.\"}", "stop", &v) == CT_EMPTY_TOOL_TURN);
    CHECK(strstr(v.message, "tool_choice: required") != NULL);
    gw_contract_free(c);
    json_decref(b);

    b = req("\"tools\":[" WEATHER "," CLOCK "],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
            "\"get_time\"}}");
    c = contract(b);
    CHECK(strcmp(gw_contract_choice(c), "get_time") == 0);
    CHECK(msg(c, "{\"content\":null}", "stop", &v) == CT_EMPTY_TOOL_TURN);
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"a\\\"}\"}}]}",
              "tool_calls", &v) == CT_UNKNOWN_FUNCTION);
    CHECK(strstr(v.message, "requires function 'get_time'") != NULL);
    gw_contract_free(c);
    json_decref(b);
}

static void test_tool_schema_that_does_not_compile(void)
{
    struct ct_verdict v;
    json_t *b = req("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":"
                    "\"strin\"}}}]");
    struct gw_contract *c = contract(b);
    /* no verdict on grounds the gateway cannot check */
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}", "tool_calls", &v) ==
          CT_OK);
    CHECK(msg(c, "{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}", "tool_calls", &v) ==
          CT_BAD_TOOL_ARGS);
    gw_contract_free(c);
    json_decref(b);
}

static void test_response_formats(void)
{
    struct ct_verdict v;
    json_t *b = req("\"response_format\":{\"type\":\"json_object\"}");
    struct gw_contract *c = contract(b);
    CHECK(msg(c, "{\"content\":\"{\\\"a\\\":1}\"}", "stop", &v) == CT_OK);
    CHECK(msg(c, "{\"content\":\"Sure! {\\\"a\\\":1}\"}", "stop", &v) == CT_NOT_JSON);
    CHECK(strstr(v.message, "not valid JSON") && strstr(v.message, "position"));
    CHECK(msg(c, "{\"content\":\"[1,2]\"}", "stop", &v) == CT_NOT_JSON);
    CHECK(strstr(v.message, "not a JSON object") != NULL);
    CHECK(msg(c, "{\"content\":\"{\\\"a\\\":\"}", "length", &v) == CT_NOT_JSON);
    CHECK(msg(c, "{\"content\":\"\"}", "stop", &v) == CT_EMPTY_TURN);
    gw_contract_free(c);
    json_decref(b);

    b = req("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{"
            "\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":[\"n\"]}}},\"required\":[\"items\"]}}}");
    c = contract(b);
    CHECK(msg(c, "{\"content\":\"{\\\"items\\\":[{\\\"n\\\":1}]}\"}", "stop", &v) == CT_OK);
    CHECK(msg(c, "{\"content\":\"{\\\"items\\\":[{\\\"n\\\":1},{\\\"n\\\":\\\"2\\\"}]}\"}", "stop", &v) ==
          CT_JSON_SCHEMA);
    CHECK(strstr(v.message, "$.items[1].n") != NULL);
    CHECK(msg(c, "{\"content\":\"7\"}", "stop", &v) == CT_JSON_SCHEMA);
    gw_contract_free(c);
    json_decref(b);
}

static void test_whole_answers(void)
{
    struct ct_verdict v;
    json_t *b = req("\"tools\":[" WEATHER "],\"tool_choice\":\"required\"");
    struct gw_contract *c = contract(b);
    const char *good = "{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
                       "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                       "\"arguments\":\"{\\\"city\\\":\\\"x\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}";
    json_t *turn = NULL;
    CHECK(gw_contract_check_answer(c, good, strlen(good), &v, &turn) == CT_OK && turn == NULL);
    const char *bad = "{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null},"
                      "\"finish_reason\":\"tool_calls\"}]}";
    CHECK(gw_contract_check_answer(c, bad, strlen(bad), &v, &turn) == CT_EMPTY_TOOL_TURN);
    CHECK(json_is_object(turn) && json_is_null(json_object_get(turn, "content")));
    json_decref(turn);
    /* not a completion at all: another layer's business */
    CHECK(gw_contract_check_answer(c, "garbage", 7, &v, NULL) == CT_OK);
    CHECK(gw_contract_check_answer(c, "{\"choices\":7}", 13, &v, NULL) == CT_OK);

    /* what a check costs: printed, not asserted (timing is the machine's) */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = 20000;
    for (int i = 0; i < n; i++)
        gw_contract_check_answer(c, good, strlen(good), &v, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / n;
    printf("check of a %zu-byte tool-call answer: %.2f us\n", strlen(good), us);
    gw_contract_free(c);
    json_decref(b);
}

/* ---- streams ---- */

#define CHUNK(delta, fr) \
    "{\"id\":\"s\",\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":" fr "}]}"
#define ROLE CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null")
#define TEXT(t) CHUNK("{\"content\":\"" t "\"}", "null")
#define CALL_START(i, name) \
    CHUNK("{\"tool_calls\":[{\"index\":" #i ",\"id\":\"call_" #i "\",\"type\":\"function\",\"function\":{" \
          "\"name\":\"" name "\",\"arguments\":\"\"}}]}", "null")
#define CALL_ARGS(i, a) CHUNK("{\"tool_calls\":[{\"index\":" #i ",\"function\":{\"arguments\":\"" a "\"}}]}", "null")
#define FINISH(fr) CHUNK("{}", "\"" fr "\"")

/* Feeds one event; returns the number of records released by it. */
static int feed(struct ct_stream *s, const char *data, int *rc, struct ct_verdict *v)
{
    struct evbuffer *out = evbuffer_new();
    *rc = gw_ct_stream_feed(s, data, strlen(data), out, v);
    int n = 0;
    while (evbuffer_get_length(out) >= 4) {
        uint32_t len;
        evbuffer_remove(out, &len, 4);
        evbuffer_drain(out, len);
        n++;
    }
    evbuffer_free(out);
    return n;
}

static void test_stream_text_flows(void)
{
    struct ct_verdict v;
    int rc;
    json_t *b = req("\"tools\":[" WEATHER "]");
    struct gw_contract *c = contract(b);
    struct ct_stream *s = gw_ct_stream_new(c, 1 << 20);
    /* the role chunk waits for the first text, then both go, then text flows */
    CHECK(!gw_ct_stream_fed(s));
    CHECK(feed(s, ROLE, &rc, &v) == 0 && rc == 0 && !gw_ct_stream_released(s) && gw_ct_stream_fed(s));
    CHECK(feed(s, TEXT("Sun"), &rc, &v) == 2 && rc == 0 && gw_ct_stream_released(s));
    CHECK(feed(s, TEXT("ny."), &rc, &v) == 1 && rc == 0);
    CHECK(feed(s, FINISH("stop"), &rc, &v) == 1 && rc == 0);
    CHECK(feed(s, "{\"id\":\"s\",\"choices\":[],\"usage\":{\"prompt_tokens\":1}}", &rc, &v) == 1 && rc == 0);
    CHECK(feed(s, "[DONE]", &rc, &v) == 1 && rc == 0);
    gw_ct_stream_free(s);

    /* what a checked text chunk costs: printed, not asserted; a long text
     * answer is not bounded by what the stream may hold */
    s = gw_ct_stream_new(c, 64 * 1024);
    struct evbuffer *out = evbuffer_new();
    const char *chunk = "{\"id\":\"chatcmpl-sim-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                        "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word \"},"
                        "\"logprobs\":null,\"finish_reason\":null}]}";
    struct timespec t0, t1;
    int n = 50000, released = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        released += gw_ct_stream_feed(s, chunk, strlen(chunk), out, &v) == 0;
        evbuffer_drain(out, evbuffer_get_length(out));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(released == n);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / n;
    printf("check of a %zu-byte text chunk: %.2f us\n", strlen(chunk), us);
    evbuffer_free(out);
    gw_ct_stream_free(s);
    gw_contract_free(c);
    json_decref(b);
}

static void test_stream_tool_calls_held(void)
{
    struct ct_verdict v;
    int rc;
    json_t *b = req("\"tools\":[" WEATHER "," CLOCK "],\"tool_choice\":\"required\"");
    struct gw_contract *c = contract(b);
    struct ct_stream *s = gw_ct_stream_new(c, 1 << 20);
    CHECK(feed(s, ROLE, &rc, &v) == 0);
    CHECK(feed(s, CALL_START(0, "get_time"), &rc, &v) == 0);
    CHECK(feed(s, CALL_ARGS(0, "{}"), &rc, &v) == 0);
    /* the second call completes the first: role + first call go out */
    CHECK(feed(s, CALL_START(1, "get_weather"), &rc, &v) == 3 && rc == 0);
    CHECK(feed(s, CALL_ARGS(1, "{\\\"city\\\""), &rc, &v) == 0);
    CHECK(feed(s, CALL_ARGS(1, ":\\\"Oslo\\\"}"), &rc, &v) == 0);
    CHECK(feed(s, FINISH("tool_calls"), &rc, &v) == 4 && rc == 0);
    CHECK(feed(s, "[DONE]", &rc, &v) == 1 && rc == 0);
    json_t *turn = gw_ct_stream_turn(s);
    json_t *calls = json_object_get(turn, "tool_calls");
    CHECK(json_array_size(calls) == 2);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(json_array_get(calls, 1), "function"),
                                                   "arguments")), "{\"city\":\"Oslo\"}") == 0);
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(calls, 1), "id")), "call_1") == 0);
    json_decref(turn);
    gw_ct_stream_free(s);

    /* broken arguments: caught when the call completes, nothing released */
    s = gw_ct_stream_new(c, 1 << 20);
    CHECK(feed(s, ROLE, &rc, &v) == 0);
    CHECK(feed(s, CALL_START(0, "get_weather"), &rc, &v) == 0);
    CHECK(feed(s, CALL_ARGS(0, "{\\\"city\\\": \\\"Os"), &rc, &v) == 0 && rc == 0);
    CHECK(feed(s, FINISH("tool_calls"), &rc, &v) == 0 && rc == 1);
    CHECK(v.problem == CT_BAD_TOOL_ARGS && v.call == 0 && !gw_ct_stream_released(s));
    struct evbuffer *held = gw_ct_stream_take_held(s);
    CHECK(held && evbuffer_get_length(held) > strlen(ROLE) + strlen(FINISH("tool_calls")));
    evbuffer_free(held);
    gw_ct_stream_free(s);

    /* a bad first call is caught as soon as the second starts */
    s = gw_ct_stream_new(c, 1 << 20);
    feed(s, CALL_START(0, "get_weather"), &rc, &v);
    feed(s, CALL_ARGS(0, "{\\\"city\\\":1}"), &rc, &v);
    CHECK(feed(s, CALL_START(1, "get_time"), &rc, &v) == 0 && rc == 1 && v.problem == CT_TOOL_ARGS_SCHEMA);
    gw_ct_stream_free(s);

    /* an empty tool turn */
    s = gw_ct_stream_new(c, 1 << 20);
    CHECK(feed(s, ROLE, &rc, &v) == 0 && rc == 0);
    CHECK(feed(s, FINISH("tool_calls"), &rc, &v) == 0 && rc == 1 && v.problem == CT_EMPTY_TOOL_TURN);
    gw_ct_stream_free(s);

    /* no finish_reason at all: [DONE] closes the turn */
    s = gw_ct_stream_new(c, 1 << 20);
    CHECK(feed(s, ROLE, &rc, &v) == 0);
    CHECK(feed(s, "[DONE]", &rc, &v) == 0 && rc == 1 && v.problem == CT_EMPTY_TOOL_TURN);
    gw_ct_stream_free(s);

    /* text before a required call flows; a missing call is then too late to hide */
    s = gw_ct_stream_new(c, 1 << 20);
    CHECK(feed(s, TEXT("Let me check."), &rc, &v) == 1);
    CHECK(feed(s, FINISH("stop"), &rc, &v) == 0 && rc == 1 && gw_ct_stream_released(s));
    gw_ct_stream_free(s);

    /* what is held is bounded */
    s = gw_ct_stream_new(c, 64);
    feed(s, CALL_START(0, "get_weather"), &rc, &v);
    CHECK(rc == -1);
    gw_ct_stream_free(s);
    gw_contract_free(c);
    json_decref(b);
}

static void test_stream_json_content_held(void)
{
    struct ct_verdict v;
    int rc;
    json_t *b = req("\"response_format\":{\"type\":\"json_object\"}");
    struct gw_contract *c = contract(b);
    struct ct_stream *s = gw_ct_stream_new(c, 1 << 20);
    CHECK(feed(s, ROLE, &rc, &v) == 0);
    CHECK(feed(s, TEXT("{\\\"a\\\":"), &rc, &v) == 0);
    CHECK(feed(s, TEXT("1}"), &rc, &v) == 0);
    CHECK(feed(s, FINISH("stop"), &rc, &v) == 4 && rc == 0);
    gw_ct_stream_free(s);
    s = gw_ct_stream_new(c, 1 << 20);
    CHECK(feed(s, TEXT("Sure: {"), &rc, &v) == 0);
    CHECK(feed(s, FINISH("stop"), &rc, &v) == 0 && rc == 1 && v.problem == CT_NOT_JSON);
    gw_ct_stream_free(s);
    gw_contract_free(c);
    json_decref(b);
}

static void test_schema_cache(void)
{
    gw_schema_cache_clear();
    uint64_t base = gw_schema_cache_compiles();
    json_t *a = json_loads("{\"type\":\"object\",\"required\":[\"x\"]}", 0, NULL);
    json_t *a2 = json_loads("{\"required\":[\"x\"],\"type\":\"object\"}", 0, NULL);
    struct gw_schema *s1 = gw_schema_get(a), *s2 = gw_schema_get(a2);
    /* the same schema, keys in another order: one compilation */
    CHECK(s1 && s1 == s2 && s1->js && gw_schema_cache_compiles() == base + 1);
    gw_schema_put(s2);
    json_t *bad = json_loads("{\"type\":7}", 0, NULL);
    struct gw_schema *sb = gw_schema_get(bad);
    CHECK(sb && !sb->js && sb->err[0]);
    gw_schema_put(sb);
    sb = gw_schema_get(bad);
    CHECK(gw_schema_cache_compiles() == base + 2);
    gw_schema_put(sb);
    /* past the bound the least recently used goes; s1 is still held */
    for (int i = 0; i < GW_SCHEMA_CACHE_MAX + 5; i++) {
        json_t *j = json_pack("{s:i}", "maxLength", i);
        gw_schema_put(gw_schema_get(j));
        json_decref(j);
    }
    CHECK(gw_schema_cache_size() == GW_SCHEMA_CACHE_MAX);
    json_t *inst = json_loads("{\"x\":1}", 0, NULL);
    CHECK(jsv_validate(s1->js, inst, NULL) == JSV_VALID);
    json_decref(inst);
    gw_schema_put(s1);
    /* evicted, so compiled again */
    uint64_t before = gw_schema_cache_compiles();
    gw_schema_put(gw_schema_get(a));
    CHECK(gw_schema_cache_compiles() == before + 1);
    json_decref(a);
    json_decref(a2);
    json_decref(bad);
    gw_schema_cache_clear();
    CHECK(gw_schema_cache_size() == 0);
}

int main(void)
{
    test_when_a_contract_applies();
    test_tool_turns();
    test_tool_schema_that_does_not_compile();
    test_response_formats();
    test_whole_answers();
    test_stream_text_flows();
    test_stream_tool_calls_held();
    test_stream_json_content_held();
    test_schema_cache();
    gw_schema_cache_clear();
    UNIT_END("contract");
}
