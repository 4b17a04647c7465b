/*
 * ad_vertex: Vertex AI, for Gemini and for Anthropic's models.  Both are
 * the other adapters' translations at Vertex's URLs with an OAuth access
 * token (the target's api_key, which the controller keeps fresh):
 *
 *   {base}/publishers/google/models/{model}:generateContent
 *   {base}/publishers/google/models/{model}:streamGenerateContent?alt=sse
 *   {base}/publishers/anthropic/models/{model}:rawPredict | :streamRawPredict
 *
 * where base is ".../v1/projects/{project}/locations/{location}".  For
 * Anthropic the model moves from the body into the URL and the API
 * version into the body (anthropic_version); answers and streams are
 * Anthropic's own, so that adapter reads them.
 */
#include "ad_anthropic.h"
#include "ad_gemini.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What Vertex's Anthropic endpoints take when the target names none. */
#define VERTEX_ANTHROPIC_VERSION "vertex-2023-10-16"

/* Model ids such as claude-opus-4@20250514 go into the path as they are;
 * anything needing escapes is a configuration mistake. */
static bool model_word(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_.@", *s))
            return false;
    return true;
}

static int check_target(const struct ad_target *t, struct ad_error *err)
{
    if (!t || !t->base_url || !t->model)
        return ad_fail(err, FAIL_INTERNAL, "target without base_url or model");
    if (!model_word(t->model))
        return ad_fail(err, FAIL_INTERNAL, "Vertex model id %.64s holds characters a URL path cannot carry", t->model);
    return 0;
}

/* URL and headers; out->body is already set. */
static int finish(const struct ad_target *t, const char *publisher, const char *method, struct ad_request *out,
                  struct ad_error *err)
{
    char *path = NULL;
    if (asprintf(&path, "/publishers/%s/models/%s%s", publisher, t->model, method) < 0)
        return ad_oom(err);
    out->url = ad_url_join(t->base_url, path);
    free(path);
    if (!out->url)
        return ad_oom(err);
    if (t->api_key) {
        char *auth = NULL;
        int rc = -1;
        if (asprintf(&auth, "Bearer %s", t->api_key) >= 0) {
            rc = ad_header_add(&out->headers, "Authorization", auth);
            free(auth);
        }
        if (rc < 0)
            return ad_fail(err, FAIL_INTERNAL, "access token unusable in a header (or out of memory)");
    }
    return ad_header_add(&out->headers, "Content-Type", "application/json") < 0 ? ad_oom(err) : 0;
}

static int vertex_gemini_build(const json_t *req, bool stream, const struct ad_target *t, struct ad_request *out,
                               struct ad_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(req))
        return ad_fail(err, FAIL_CLIENT, "request body is not a JSON object");
    if (check_target(t, err) < 0)
        return -1;
    json_t *body = json_object();
    int rc = body ? ad_gemini_body(req, stream, body, err) : ad_oom(err);
    if (rc == 0)
        rc = ad_request_body(out, body, err);
    if (rc == 0)
        rc = finish(t, "google", ad_gemini_method(stream), out, err);
    json_decref(body);
    if (rc < 0)
        ad_request_free(out);
    return rc;
}

static int vertex_anthropic_build(const json_t *req, bool stream, const struct ad_target *t, struct ad_request *out,
                                  struct ad_error *err)
{
    memset(out, 0, sizeof *out);
    if (check_target(t, err) < 0)
        return -1;
    /* The Messages request as the Anthropic adapter makes it; only its
     * body is kept, with the model out and the version in. */
    struct ad_target plain = { .base_url = t->base_url, .model = t->model };
    struct ad_request a;
    if (ad_anthropic_build(req, stream, &plain, &a, err) < 0)
        return -1;
    json_t *body = json_loadb(a.body, a.body_len, 0, NULL);
    ad_request_free(&a);
    int rc = body ? 0 : ad_oom(err);
    if (rc == 0) {
        json_object_del(body, "model");
        if (json_object_set_new(body, "anthropic_version",
                                json_string(t->api_version ? t->api_version : VERTEX_ANTHROPIC_VERSION)) < 0)
            rc = ad_oom(err);
    }
    if (rc == 0)
        rc = ad_request_body(out, body, err);
    if (rc == 0)
        rc = finish(t, "anthropic", stream ? ":streamRawPredict" : ":rawPredict", out, err);
    json_decref(body);
    if (rc < 0)
        ad_request_free(out);
    return rc;
}

const struct ad_ops ad_vertex_gemini_ops = {
    .name = "vertex-gemini",
    .build_request = vertex_gemini_build,
    .parse_response = ad_gemini_parse,
    .stream_new = ad_gemini_stream_new,
    .stream_feed = ad_gemini_feed,
    .stream_free = ad_stream_free,
    .classify = ad_gemini_classify,
};

/* Anthropic's classifier already reads Google RPC errors, which Vertex
 * answers with for what fails before the model (token, quota, region). */
const struct ad_ops ad_vertex_anthropic_ops = {
    .name = "vertex-anthropic",
    .build_request = vertex_anthropic_build,
    .parse_response = ad_anthropic_parse,
    .stream_new = ad_anthropic_stream_new,
    .stream_feed = ad_anthropic_feed,
    .stream_free = ad_stream_free,
    .classify = ad_anthropic_classify,
};
