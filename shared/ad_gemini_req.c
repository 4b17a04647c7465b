/*
 * ad_gemini_req: an OpenAI chat request as a Gemini generateContent
 * request: URL, key and generationConfig here, the conversation in
 * ad_gemini_msgs.c, tools and JSON mode in ad_gemini_tools.c.
 *
 * Dropped because Gemini has no equivalent and failing would make a chain
 * that mixes providers unusable: logprobs, top_logprobs, logit_bias,
 * parallel_tool_calls, reasoning_effort, service_tier, store, metadata,
 * user, modalities, prediction, verbosity.
 */
#include "ad_gemini.h"
#include "ad_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ad_gemini_method(bool stream)
{
    /* Without alt=sse the stream is one JSON array, not events. */
    return stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
}

/* Copies a number parameter under Gemini's name. */
static int number(const json_t *req, const char *key, json_t *gc, const char *to, struct ad_error *err)
{
    const json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return ad_fail(err, FAIL_CLIENT, "%s must be a number", key);
    return json_object_set(gc, to, (json_t *)v) < 0 ? ad_oom(err) : 0;
}

static int generation_config(const json_t *req, bool stream, json_t *gc, struct ad_error *err)
{
    json_int_t max = 0;
    if (ad_max_tokens(req, &max, err) < 0)
        return -1;
    if (max && json_object_set_new(gc, "maxOutputTokens", json_integer(max)) < 0)
        return ad_oom(err);
    json_t *stop;
    if (ad_stop_list(req, &stop, err) < 0)
        return -1;
    if (stop && json_object_set_new(gc, "stopSequences", stop) < 0)
        return ad_oom(err);
    if (number(req, "temperature", gc, "temperature", err) < 0 || number(req, "top_p", gc, "topP", err) < 0 ||
        number(req, "presence_penalty", gc, "presencePenalty", err) < 0 ||
        number(req, "frequency_penalty", gc, "frequencyPenalty", err) < 0)
        return -1;
    const json_t *seed = json_object_get(req, "seed");
    if (seed && !json_is_null(seed)) {
        if (!json_is_integer(seed))
            return ad_fail(err, FAIL_CLIENT, "seed must be an integer");
        if (json_object_set(gc, "seed", (json_t *)seed) < 0)
            return ad_oom(err);
    }
    const json_t *n = json_object_get(req, "n");
    if (n && !json_is_null(n)) {
        if (!json_is_integer(n) || json_integer_value(n) < 1)
            return ad_fail(err, FAIL_CLIENT, "n must be a positive integer");
        /* A stream's chunks carry one choice each; the decoder follows one. */
        if (stream && json_integer_value(n) > 1)
            return ad_fail(err, FAIL_CLIENT, "n must be 1 for a streamed Gemini request");
        if (json_integer_value(n) > 1 && json_object_set(gc, "candidateCount", (json_t *)n) < 0)
            return ad_oom(err);
    }
    return 0;
}

int ad_gemini_body(const json_t *req, bool stream, json_t *body, struct ad_error *err)
{
    json_t *system = NULL;
    json_t *contents = NULL;
    if (ad_gemini_contents(json_object_get(req, "messages"), &system, &contents, err) < 0)
        return -1;
    int rc = system ? json_object_set_new(body, "systemInstruction", system) : 0;
    if (json_object_set_new(body, "contents", contents) < 0 || rc < 0)
        return ad_oom(err);
    json_t *gc = json_object();
    if (!gc)
        return ad_oom(err);
    if (generation_config(req, stream, gc, err) < 0 || ad_gemini_tools(req, body, gc, err) < 0) {
        json_decref(gc);
        return -1;
    }
    if (json_object_size(gc) == 0) {
        json_decref(gc);
        return 0;
    }
    return json_object_set_new(body, "generationConfig", gc) < 0 ? ad_oom(err) : 0;
}

char *ad_gemini_model_path(const char *base, const char *model, const char *method)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    const char *slash = memrchr(base, '/', n);
    bool versioned = slash && n - (size_t)(slash - base) >= 3 && slash[1] == 'v' && slash[2] >= '0' && slash[2] <= '9';
    if (strncmp(model, "models/", 7) == 0)
        model += 7; /* the API's own resource name */
    char *path = NULL;
    if (asprintf(&path, "%s/models/%s%s", versioned ? "" : "/" AD_GEMINI_VERSION, model, method) < 0)
        return NULL;
    return path;
}

static char *gemini_url(const char *base, const char *model, bool stream)
{
    char *path = ad_gemini_model_path(base, model, ad_gemini_method(stream));
    char *url = path ? ad_url_join(base, path) : NULL;
    free(path);
    return url;
}

static int gemini_build(const json_t *req, bool stream, const struct ad_target *t, struct ad_request *out,
                        struct ad_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(req))
        return ad_fail(err, FAIL_CLIENT, "request body is not a JSON object");
    if (!t || !t->base_url || !t->model)
        return ad_fail(err, FAIL_INTERNAL, "target without base_url or model");
    json_t *body = json_object();
    int rc = body ? ad_gemini_body(req, stream, body, err) : ad_oom(err);
    if (rc == 0 && !(out->url = gemini_url(t->base_url, t->model, stream)))
        rc = ad_oom(err);
    if (rc == 0 && t->api_key && ad_header_add(&out->headers, "x-goog-api-key", t->api_key) < 0)
        rc = ad_fail(err, FAIL_INTERNAL, "API key unusable in a header (or out of memory)");
    if (rc == 0 && ad_header_add(&out->headers, "Content-Type", "application/json") < 0)
        rc = ad_oom(err);
    if (rc == 0)
        rc = ad_request_body(out, body, err);
    json_decref(body);
    if (rc < 0)
        ad_request_free(out);
    return rc;
}

char *ad_gemini_probe_url(const struct ad_target *t)
{
    char *path = ad_gemini_model_path(t->base_url, t->model, "");
    char *url = path ? ad_url_join(t->base_url, path) : NULL;
    free(path);
    return url;
}

const struct ad_ops ad_gemini_ops = {
    .name = "gemini",
    .build_request = gemini_build,
    .parse_response = ad_gemini_parse,
    .stream_new = ad_gemini_stream_new,
    .stream_feed = ad_gemini_feed,
    .stream_free = ad_stream_free,
    .classify = ad_gemini_classify,
};
