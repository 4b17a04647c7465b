/*
 * ad_azure: Azure OpenAI.  The body and answers are OpenAI's, so this is
 * the identity adapter with Azure's URL and key, and with Azure's content
 * filter reports tidied away: prompt_filter_results and per-choice
 * content_filter_results would only confuse OpenAI clients, and the
 * stream's first chunk (no id, no choices, only the prompt's filter
 * results) would break the many clients that read choices[0].
 *
 * Two URL forms: the dated one, with the deployment in the path and
 * api-version in the query (target api_version set to a date), and the v1
 * one, where the body's model names the deployment (api_version unset or
 * "v1").  Either way the target's model is the deployment name.
 */
#include "ad_openai.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A daily quota answers 429 with a retry-after of about a day; waiting
 * cannot help, so from an hour on it counts as exhausted quota. */
#define QUOTA_RETRY_SECONDS 3600

/* Deployment names and API versions are plain words; anything else would
 * need escaping and is a configuration mistake. */
static bool url_word(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
            return false;
    return true;
}

static bool v1_form(const struct ad_target *t)
{
    return !t->api_version || strcmp(t->api_version, "v1") == 0;
}

/* The resource's base: the configured URL without a trailing /openai or
 * /openai/v1 (both are common ways to write an Azure endpoint). */
static size_t resource_len(const char *base)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    if (n >= 10 && memcmp(base + n - 10, "/openai/v1", 10) == 0)
        n -= 10;
    else if (n >= 7 && memcmp(base + n - 7, "/openai", 7) == 0)
        n -= 7;
    return n;
}

/* The resource's URL for what: chat completions of the deployment, or
 * another route (the model list) of the resource. */
static char *azure_url(const struct ad_target *t, const char *what)
{
    char *path = NULL;
    int n = (int)resource_len(t->base_url);
    int rc = v1_form(t) ? asprintf(&path, "%.*s/openai/v1%s", n, t->base_url, what)
                        : strcmp(what, "/chat/completions") == 0
                              ? asprintf(&path, "%.*s/openai/deployments/%s%s?api-version=%s", n, t->base_url,
                                         t->model, what, t->api_version)
                              : asprintf(&path, "%.*s/openai%s?api-version=%s", n, t->base_url, what, t->api_version);
    return rc < 0 ? NULL : path;
}

static int azure_build(const json_t *req, bool stream, const struct ad_target *t, struct ad_request *out,
                       struct ad_error *err)
{
    memset(out, 0, sizeof *out);
    if (!t || !t->base_url || !t->model)
        return ad_fail(err, FAIL_INTERNAL, "target without base_url or model");
    if (!url_word(t->model) || (!v1_form(t) && !url_word(t->api_version)))
        return ad_fail(err, FAIL_INTERNAL, "Azure deployment or api-version holds characters a URL cannot carry");
    /* The OpenAI body as the identity adapter makes it, with its own URL
     * and Authorization header replaced by Azure's. */
    struct ad_target plain = *t;
    plain.api_key = NULL;
    if (ad_openai_ops.build_request(req, stream, &plain, out, err) < 0)
        return -1;
    for (char **h = out->headers; h && *h; h++)
        free(*h);
    free(out->headers);
    out->headers = NULL;
    free(out->url);
    out->url = azure_url(t, "/chat/completions");
    int rc = out->url ? 0 : ad_oom(err);
    if (rc == 0 && t->api_key && ad_header_add(&out->headers, "api-key", t->api_key) < 0)
        rc = ad_fail(err, FAIL_INTERNAL, "API key unusable in a header (or out of memory)");
    if (rc == 0 && ad_header_add(&out->headers, "Content-Type", "application/json") < 0)
        rc = ad_oom(err);
    if (rc < 0)
        ad_request_free(out);
    return rc;
}

/* Drops Azure's filter reports from a completion or chunk; a choice left
 * without a delta gets an empty one (chunks only).  Whether it changed. */
static bool strip_filters(json_t *doc, bool chunk)
{
    bool changed = json_object_del(doc, "prompt_filter_results") == 0;
    changed = (json_object_del(doc, "prompt_annotations") == 0) || changed;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "choices"), i, c) {
        changed = (json_object_del(c, "content_filter_results") == 0) || changed;
        changed = (json_object_del(c, "content_filter_offsets") == 0) || changed;
        if (chunk && !json_object_get(c, "delta")) {
            json_object_set_new(c, "delta", json_object());
            changed = true;
        }
    }
    return changed;
}

static json_t *azure_parse(const char *body, size_t len, const char *model, struct ad_error *err)
{
    json_t *doc = ad_openai_ops.parse_response(body, len, model, err);
    if (doc)
        strip_filters(doc, false);
    return doc;
}

/* A chunk with nothing for the client: no choice says anything and it
 * carries no usage (Azure's filter-only chunks). */
static bool empty_chunk(const json_t *doc)
{
    const json_t *u = json_object_get(doc, "usage");
    if (u && !json_is_null(u))
        return false;
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(doc, "choices"), i, c) {
        const json_t *f = json_object_get(c, "finish_reason");
        if (json_object_size(json_object_get(c, "delta")) || (f && !json_is_null(f)))
            return false;
    }
    return true;
}

static enum ad_fix azure_fix(json_t *chunk)
{
    bool changed = strip_filters(chunk, true);
    if (changed && empty_chunk(chunk))
        return AD_FIX_DROP;
    return changed ? AD_FIX_CHANGED : AD_FIX_SAME;
}

static int azure_event(void *arg, const struct sse_event *ev)
{
    return ad_openai_event(arg, ev, azure_fix);
}

static struct ad_stream *azure_stream_new(const char *model, bool include_usage)
{
    return ad_stream_new(model, include_usage, NULL, NULL);
}

static int azure_feed(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit, void *arg)
{
    return ad_stream_run(s, buf, len, emit, arg, azure_event);
}

/* "... Please retry after 86400 seconds." */
static long retry_seconds(const char *msg)
{
    const char *p = msg ? strcasestr(msg, "retry after ") : NULL;
    if (!p)
        return -1;
    char *end;
    long v = strtol(p + 12, &end, 10);
    return end == p + 12 ? -1 : v;
}

static bool content_filtered(const json_t *e)
{
    const char *code = ad_str(e, "code");
    const char *inner = ad_str(json_object_get(e, "innererror"), "code");
    return (code && strcmp(code, "content_filter") == 0) ||
           (inner && strcmp(inner, "ResponsibleAIPolicyViolation") == 0);
}

static enum fail_class azure_classify(long status, const char *body, size_t len, json_t **openai_error)
{
    enum fail_class c = ad_openai_ops.classify(status, body, len, NULL);
    json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const json_t *e = json_object_get(doc, "error");
    const char *msg = ad_str(e, "message");
    const char *code = ad_str(e, "code");
    if (content_filtered(e))
        c = FAIL_CLIENT; /* the prompt itself was refused: policy, not health */
    else if (c == FAIL_RATE_LIMIT && retry_seconds(msg) >= QUOTA_RETRY_SECONDS)
        c = FAIL_QUOTA;
    if (openai_error) {
        char fallback[AD_FALLBACK_MSG_LEN];
        msg = ad_error_message(msg, status, fallback);
        /* Azure's own codes (DeploymentNotFound, content_filter) tell the
         * client more than the class's; quota and context keep theirs so
         * the answer classifies back the same. */
        json_t *out = ad_openai_error_for(c, msg);
        json_t *oe = json_object_get(out, "error");
        if (oe && code && c != FAIL_QUOTA && c != FAIL_CONTEXT)
            json_object_set_new(oe, "code", json_string(code));
        if (oe && content_filtered(e))
            json_object_set_new(oe, "param", json_string("prompt"));
        *openai_error = out;
    }
    json_decref(doc);
    return c;
}

char *ad_azure_probe_url(const struct ad_target *t)
{
    return azure_url(t, "/models");
}

const struct ad_ops ad_azure_ops = {
    .name = "azure",
    .build_request = azure_build,
    .parse_response = azure_parse,
    .stream_new = azure_stream_new,
    .stream_feed = azure_feed,
    .stream_free = ad_stream_free,
    .classify = azure_classify,
};
