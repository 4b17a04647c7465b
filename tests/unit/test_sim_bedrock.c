/* Unit tests of the simulated Bedrock provider: Converse validation in
 * AWS's words, the reduction to the neutral conversation, the stream's
 * frames (decoded back with shared/evs.c), fault errors, and the SigV4
 * verifier accepting a signature from the adapter's signer and refusing
 * every kind of bad one. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "evs.h"
#include "sigv4.h"
#include "sim_bedrock.h"
#include "unit.h"

/* The conversation borrows from the body: the last one is kept. */
static json_t *last_body;

static int parse(const char *text, struct sim_bdr_request *r, struct sim_bdr_error *e)
{
    json_decref(last_body);
    last_body = json_loads(text, 0, NULL);
    return sim_bdr_parse_request(last_body, false, r, e);
}

static void refused(const char *text, const char *words)
{
    struct sim_bdr_request r;
    struct sim_bdr_error e;
    int rc = parse(text, &r, &e);
    CHECK(rc == -1 && e.status == 400 && strcmp(e.type, "ValidationException") == 0 && strstr(e.message, words));
    if (rc != -1 || !strstr(e.message, words))
        fprintf(stderr, "%s -> %d %s\n", text, rc, e.message);
    if (rc == 0)
        sim_bdr_request_free(&r);
}

static void test_validation(void)
{
    refused("[]", "Malformed input request");
    refused("{\"model\":\"m\",\"messages\":[]}", "extraneous key [model]");
    refused("{\"messages\":[]}", "at least one message");
    refused("{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"text\":\"a\"}]}]}", "start with a user message");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]},{\"role\":\"user\",\"content\":[{\"text\":\"b\"}]}]}",
            "alternate between user and assistant");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"  \"}]}]}", "is blank");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\",\"image\":{}}]}]}", "exactly one member");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":[]}]}", "at least one ContentBlock");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]},{\"role\":\"assistant\",\"content\":"
            "[{\"toolUse\":{\"toolUseId\":\"t\",\"name\":\"f\",\"input\":{}}}]},{\"role\":\"user\",\"content\":"
            "[{\"toolResult\":{\"toolUseId\":\"t\",\"content\":[{\"text\":\"r\"}]}}]}]}",
            "toolConfig field must be defined");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]}],\"inferenceConfig\":{\"temperature\":1.5}}",
            "temperature");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]}],\"toolConfig\":{\"tools\":"
            "[{\"toolSpec\":{\"name\":\"has space\",\"inputSchema\":{\"json\":{}}}}]}}", "toolSpec.name");
    refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]}],\"toolConfig\":{\"tools\":"
            "[{\"toolSpec\":{\"name\":\"f\",\"inputSchema\":{\"json\":{}}}}],\"toolChoice\":{\"tool\":{\"name\":\"g\"}}}}",
            "not in toolConfig.tools");

    /* A good tool loop reduces to the neutral conversation. */
    struct sim_bdr_request r;
    struct sim_bdr_error e;
    int rc = parse("{\"system\":[{\"text\":\"S\"}],\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Weather?\"}]},"
                   "{\"role\":\"assistant\",\"content\":[{\"toolUse\":{\"toolUseId\":\"t\",\"name\":\"f\",\"input\":{}}}]},"
                   "{\"role\":\"user\",\"content\":[{\"toolResult\":{\"toolUseId\":\"t\",\"content\":[{\"text\":\"4 C\"}]}}]}],"
                   "\"inferenceConfig\":{\"maxTokens\":9},"
                   "\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"f\",\"inputSchema\":{\"json\":{\"type\":\"object\"}}}}],"
                   "\"toolChoice\":{\"any\":{}}}}",
                   &r, &e);
    CHECK(rc == 0);
    if (rc == 0) {
        CHECK(r.conv.last_is_tool && strcmp(r.conv.tool_result_text, "4 C") == 0);
        CHECK(strcmp(r.conv.last_user_text, "Weather?") == 0 && r.conv.max_tokens == 9);
        CHECK(r.conv.tool_name && strcmp(r.conv.tool_name, "f") == 0);
        CHECK(r.conv.prompt_bytes == strlen("S") + strlen("Weather?") + strlen("4 C"));
        sim_bdr_request_free(&r);
    }
}

static int count_frame(void *arg, const struct evs_message *m)
{
    int *n = arg;
    (*n)++;
    return evs_header_is(m, ":message-type", "event") || evs_header_is(m, ":message-type", "exception") ? 0 : 1;
}

static void test_render(void)
{
    struct sim_answer a = { .kind = SIM_ANSWER_TEXT, .content = "Hello there you", .prompt_tokens = 3,
                            .completion_tokens = 3 };
    struct sim_strv sv = { 0 };
    size_t n_data = 0;
    CHECK(sim_bdr_render_stream(&a, "tu", 0, &sv, &n_data) == 0);
    /* messageStart, three word deltas, contentBlockStop, messageStop; then metadata. */
    CHECK(n_data == 6 && sv.n == 7);
    CHECK(sim_bdr_push_exception(&sv, "throttlingException", "slow") == 0);
    struct evs_decoder d;
    evs_decoder_init(&d);
    int frames = 0;
    for (size_t i = 0; i < sv.n; i++) {
        size_t len;
        const char *f = sim_strv_at(&sv, i, &len);
        CHECK(evs_feed(&d, f, len, count_frame, &frames) == 0);
    }
    CHECK(frames == 8 && d.len == 0);
    evs_decoder_free(&d);
    sim_strv_free(&sv);

    char *body = sim_bdr_render_converse(&a, "tu");
    json_t *doc = body ? json_loads(body, 0, NULL) : NULL;
    CHECK(doc && strcmp(json_string_value(json_object_get(doc, "stopReason")), "end_turn") == 0);
    CHECK(json_integer_value(json_object_get(json_object_get(doc, "usage"), "totalTokens")) == 6);
    json_decref(doc);
    free(body);

    struct sim_bdr_error e;
    sim_bdr_fault_error(429, NULL, NULL, &e);
    CHECK(strcmp(e.type, "ThrottlingException") == 0 && strstr(e.message, "Too many requests"));
    sim_bdr_fault_error(400, "context_length_exceeded", NULL, &e);
    CHECK(strcmp(e.type, "ValidationException") == 0 && strstr(e.message, "Input is too long"));
    sim_bdr_fault_error(503, "MyException", "boom", &e);
    CHECK(strcmp(e.type, "MyException") == 0 && strcmp(e.message, "boom") == 0);
    sim_bdr_fault_error(599, NULL, NULL, &e);
    CHECK(strcmp(e.type, "InternalServerException") == 0);
}

/* ---- the verifier ---- */

struct hdrs {
    const char *names[8];
    const char *values[8];
    size_t n;
};

static const char *find(void *arg, const char *name)
{
    struct hdrs *h = arg;
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}

static const char secret[] = "sim/Secret+Key";
static const char path[] = "/model/anthropic.claude-v1%3A0/converse";
static const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hi\"}]}]}";

/* A request signed at time t with the given secret; *h receives its
 * headers (the strings live in the static buffers below). */
static void signed_request(struct hdrs *h, long long t, const char *with_secret, const char *akid)
{
    static char date[17], auth[512];
    sigv4_amz_date(t, date);
    const char *lines[] = { "host: 127.0.0.1:9", NULL, "content-type: application/json" };
    char dl[64];
    snprintf(dl, sizeof dl, "x-amz-date: %s", date);
    lines[1] = dl;
    struct sigv4_request r = { "POST", path, NULL, lines, 3, body, strlen(body) };
    struct sigv4_key k = { akid, with_secret, "us-east-1", "bedrock" };
    char *a = sigv4_authorization(&k, date, &r);
    snprintf(auth, sizeof auth, "%s", a ? a : "");
    free(a);
    *h = (struct hdrs){ { "Host", "X-Amz-Date", "Content-Type", "Authorization" },
                        { "127.0.0.1:9", date, "application/json", auth }, 4 };
}

static int verify(struct hdrs *h, long long now, const char *b, struct sim_bdr_error *e)
{
    struct sim_bdr_signed s = { "POST", path, NULL, find, h, b, strlen(b), now };
    return sim_bdr_verify(&s, "AKIDSIM", secret, e);
}

static void test_verify(void)
{
    long long now = (long long)time(NULL);
    struct hdrs h;
    struct sim_bdr_error e;
    signed_request(&h, now, secret, "AKIDSIM");
    CHECK(verify(&h, now, body, &e) == 0);
    /* Another body, another secret, another key, a stale date. */
    CHECK(verify(&h, now, "{}", &e) == -1 && e.status == 403 && strcmp(e.type, "InvalidSignatureException") == 0);
    signed_request(&h, now, "wrong", "AKIDSIM");
    CHECK(verify(&h, now, body, &e) == -1 && strcmp(e.type, "InvalidSignatureException") == 0);
    signed_request(&h, now, secret, "AKIDOTHER");
    CHECK(verify(&h, now, body, &e) == -1 && strcmp(e.type, "UnrecognizedClientException") == 0);
    signed_request(&h, now - 3600, secret, "AKIDSIM");
    CHECK(verify(&h, now, body, &e) == -1 && strstr(e.message, "Signature expired"));
    /* A signed header that did not arrive; no Authorization; garbage. */
    signed_request(&h, now, secret, "AKIDSIM");
    h.names[2] = "X-Other";
    CHECK(verify(&h, now, body, &e) == -1 && strcmp(e.type, "IncompleteSignatureException") == 0);
    h.n = 3;
    CHECK(verify(&h, now, body, &e) == -1 && strcmp(e.type, "MissingAuthenticationTokenException") == 0);
    signed_request(&h, now, secret, "AKIDSIM");
    h.values[3] = "AWS4-HMAC-SHA256 nonsense";
    CHECK(verify(&h, now, body, &e) == -1 && strcmp(e.type, "IncompleteSignatureException") == 0);
    /* Without a configured key any well-formed Authorization passes. */
    signed_request(&h, now, "wrong", "AKIDOTHER");
    struct sim_bdr_signed s = { "POST", path, NULL, find, &h, body, strlen(body), now };
    CHECK(sim_bdr_verify(&s, NULL, NULL, &e) == 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_validation();
    test_render();
    test_verify();
    json_decref(last_body);
    UNIT_END("sim_bedrock");
}
