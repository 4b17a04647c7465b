/*
 * ad_bedrock_req: an OpenAI chat request as a Converse (or ConverseStream)
 * request: parameters here, the conversation in ad_bedrock_msgs.c, tools
 * in ad_bedrock_tools.c, URL and signature in ad_bedrock_sign.c.
 *
 * Dropped because Converse has no equivalent (as for Anthropic): seed,
 * logprobs, top_logprobs, logit_bias, presence/frequency_penalty,
 * reasoning_effort, service_tier, store, metadata, user, modalities,
 * prediction, verbosity, parallel_tool_calls.  n > 1 is refused.
 */
#include "ad_bedrock.h"
#include "ad_params.h"

#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

static int inference_config(const json_t *req, json_t *cfg, struct ad_error *err)
{
    /* Converse does not require maxTokens: without one the model's own
     * default applies, as it does for an OpenAI client. */
    json_int_t n;
    double t;
    const json_t *p;
    json_t *stop;
    int rn = ad_max_tokens(req, &n, err);
    int rt = rn < 0 ? -1 : ad_temperature01(req, &t, err);
    int rp = rt < 0 ? -1 : ad_top_p(req, &p, err);
    int rs = rp < 0 ? -1 : ad_stop_list(req, &stop, err);
    if (rs < 0)
        return -1;
    int rc = rn ? json_object_set_new(cfg, "maxTokens", json_integer(n)) : 0;
    if (rc == 0 && rt)
        rc = json_object_set_new(cfg, "temperature", json_real(t));
    if (rc == 0 && rp)
        rc = json_object_set(cfg, "topP", (json_t *)p);
    if (rs && rc == 0)
        rc = json_object_set_new(cfg, "stopSequences", stop);
    else if (rs)
        json_decref(stop);
    return rc < 0 ? ad_oom(err) : 0;
}

static int build_body(const json_t *req, json_t *body, struct ad_error *err)
{
    const json_t *n = json_object_get(req, "n");
    if (n && !json_is_null(n) && !(json_is_integer(n) && json_integer_value(n) == 1))
        return ad_fail(err, FAIL_CLIENT, "n must be 1 for a Bedrock target (one call gives one answer)");
    struct ad_msgs c;
    if (ad_bedrock_messages(json_object_get(req, "messages"), &c, err) < 0)
        return -1;
    int rc = json_array_size(c.system) ? json_object_set(body, "system", c.system) : 0;
    if (json_object_set(body, "messages", c.messages) < 0 || rc < 0) {
        ad_msgs_free(&c);
        return ad_oom(err);
    }
    json_t *cfg = json_object();
    rc = cfg ? inference_config(req, cfg, err) : ad_oom(err);
    if (rc == 0 && json_object_size(cfg) && json_object_set(body, "inferenceConfig", cfg) < 0)
        rc = ad_oom(err);
    json_decref(cfg);
    if (rc == 0)
        rc = ad_bedrock_tools(req, c.tool_names, body, err);
    ad_msgs_free(&c);
    return rc;
}

int ad_bedrock_build(const json_t *req, bool stream, const struct ad_target *t, struct ad_request *out,
                     struct ad_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(req))
        return ad_fail(err, FAIL_CLIENT, "request body is not a JSON object");
    if (!t || !t->base_url || !t->model || !*t->model)
        return ad_fail(err, FAIL_INTERNAL, "target without base_url or model");
    json_t *body = json_object();
    int rc = body ? build_body(req, body, err) : ad_oom(err);
    if (rc == 0)
        rc = ad_request_body(out, body, err);
    json_decref(body);
    /* The model id is a URI path label: ':' and '/' of ids and ARNs are
     * percent-encoded (and encoded once more in the canonical request). */
    char *label = rc == 0 ? sigv4_uri_encode(t->model, false) : NULL;
    char *path = NULL;
    if (rc == 0 && (!label || asprintf(&path, "/model/%s/%s", label, stream ? "converse-stream" : "converse") < 0)) {
        path = NULL;
        rc = ad_oom(err);
    }
    if (rc == 0)
        rc = ad_bedrock_sign(t, path, out, err);
    free(label);
    free(path);
    if (rc < 0)
        ad_request_free(out);
    return rc;
}
