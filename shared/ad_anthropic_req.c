/*
 * ad_anthropic_req: an OpenAI chat request as an Anthropic Messages
 * request: URL, headers and parameters here, the conversation in
 * ad_anthropic_msgs.c, tools and JSON mode in ad_anthropic_tools.c.
 *
 * Dropped because Anthropic has no equivalent and failing would make a
 * chain that mixes providers unusable: seed, logprobs, top_logprobs,
 * logit_bias, presence/frequency_penalty, reasoning_effort, service_tier,
 * store, metadata, modalities, prediction, verbosity.  n > 1 is refused:
 * one Anthropic call gives one answer.
 */
#include "ad_anthropic.h"
#include "ad_params.h"

#include <string.h>

static int max_tokens(const json_t *req, json_t *body, struct ad_error *err)
{
    json_int_t n = AD_ANTHROPIC_DEFAULT_MAX_TOKENS;
    if (ad_max_tokens(req, &n, err) < 0)
        return -1;
    return json_object_set_new(body, "max_tokens", json_integer(n)) < 0 ? ad_oom(err) : 0;
}

/* temperature, top_p and stop_sequences. */
static int sampling(const json_t *req, json_t *body, struct ad_error *err)
{
    double t;
    const json_t *p;
    json_t *stop;
    int rt = ad_temperature01(req, &t, err);
    int rp = rt < 0 ? -1 : ad_top_p(req, &p, err);
    int rs = rp < 0 ? -1 : ad_stop_list(req, &stop, err);
    if (rs < 0)
        return -1;
    int rc = rt ? json_object_set_new(body, "temperature", json_real(t)) : 0;
    if (rc == 0 && rp)
        rc = json_object_set(body, "top_p", (json_t *)p);
    if (rs && rc == 0)
        rc = json_object_set_new(body, "stop_sequences", stop);
    else if (rs)
        json_decref(stop);
    return rc < 0 ? ad_oom(err) : 0;
}

static int user_metadata(const json_t *req, json_t *body, struct ad_error *err)
{
    /* safety_identifier is what OpenAI now asks for instead of user. */
    const char *user = ad_str(req, "safety_identifier");
    if (!user || !*user)
        user = ad_str(req, "user");
    if (!user || !*user)
        return 0;
    return ad_set_new(body, "metadata", json_pack("{s:s}", "user_id", user)) < 0 ? ad_oom(err) : 0;
}

static int check_n(const json_t *req, struct ad_error *err)
{
    const json_t *n = json_object_get(req, "n");
    if (!n || json_is_null(n) || (json_is_integer(n) && json_integer_value(n) == 1))
        return 0;
    return ad_fail(err, FAIL_CLIENT, "n must be 1 for an Anthropic target (one call gives one answer)");
}

/* base_url + "/v1/messages", or + "/messages" when the base already ends
 * in /v1 (providers are configured both ways, OpenAI-style bases end in
 * /v1). */
static char *messages_url(const char *base)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    bool v1 = n >= 3 && memcmp(base + n - 3, "/v1", 3) == 0;
    return ad_url_join(base, v1 ? "/messages" : "/v1/messages");
}

static int headers(const struct ad_target *t, struct ad_request *out, struct ad_error *err)
{
    if (t->api_key && ad_header_add(&out->headers, "x-api-key", t->api_key) < 0)
        return ad_fail(err, FAIL_INTERNAL, "API key unusable in a header (or out of memory)");
    if (ad_header_add(&out->headers, "anthropic-version", t->api_version ? t->api_version : AD_ANTHROPIC_VERSION) < 0 ||
        ad_header_add(&out->headers, "content-type", "application/json") < 0)
        return ad_fail(err, FAIL_INTERNAL, "anthropic-version unusable in a header (or out of memory)");
    return 0;
}

static int build_body(const json_t *req, bool stream, const struct ad_target *t, json_t *body,
                      struct ad_error *err)
{
    json_t *system = NULL;
    json_t *messages = NULL;
    if (check_n(req, err) < 0)
        return -1;
    if (ad_set_new(body, "model", json_string(t->model)) < 0)
        return ad_oom(err);
    if (max_tokens(req, body, err) < 0 ||
        ad_anthropic_messages(json_object_get(req, "messages"), &system, &messages, err) < 0)
        return -1;
    int rc = system ? json_object_set_new(body, "system", system) : 0;
    if (json_object_set_new(body, "messages", messages) < 0 || rc < 0)
        return ad_oom(err);
    if (ad_anthropic_tools(req, body, err) < 0 || sampling(req, body, err) < 0 || user_metadata(req, body, err) < 0)
        return -1;
    if (stream && json_object_set_new(body, "stream", json_true()) < 0)
        return ad_oom(err);
    return 0;
}

int ad_anthropic_build(const json_t *req, bool stream, const struct ad_target *t, struct ad_request *out,
                       struct ad_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(req))
        return ad_fail(err, FAIL_CLIENT, "request body is not a JSON object");
    if (!t || !t->base_url || !t->model)
        return ad_fail(err, FAIL_INTERNAL, "target without base_url or model");
    json_t *body = json_object();
    int rc = body ? build_body(req, stream, t, body, err) : ad_oom(err);
    if (rc == 0 && !(out->url = messages_url(t->base_url)))
        rc = ad_oom(err);
    if (rc == 0)
        rc = headers(t, out, err);
    if (rc == 0)
        rc = ad_request_body(out, body, err);
    json_decref(body);
    if (rc < 0)
        ad_request_free(out);
    return rc;
}
