/*
 * ad_openai: the identity adapter, for OpenAI and every server speaking its
 * API.  The client already speaks this format, so the work is setting the
 * upstream model, checking that answers are what they claim to be, and
 * telling the gateway when a stream carries its first content.
 */
#include "ad_openai.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_classify.h"

static int openai_build(const json_t *req, bool stream, const struct ad_target *t,
                        struct ad_request *out, struct ad_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(req))
        return ad_fail(err, FAIL_CLIENT, "request body is not a JSON object");
    if (!t || !t->base_url || !t->model)
        return ad_fail(err, FAIL_INTERNAL, "target without base_url or model");
    /* A shallow copy: only top-level members change, the messages are shared. */
    json_t *body = json_copy((json_t *)req);
    if (!body || json_object_set_new(body, "model", json_string(t->model)) < 0)
        goto oom;
    if (stream) {
        if (json_object_set_new(body, "stream", json_true()) < 0)
            goto oom;
    } else {
        /* OpenAI rejects stream_options on a request that does not stream. */
        json_object_del(body, "stream");
        json_object_del(body, "stream_options");
    }
    out->url = ad_url_join(t->base_url, "/chat/completions");
    if (!out->url || ad_request_body(out, body, err) < 0)
        goto oom;
    if (t->api_key) {
        char *auth = NULL;
        if (asprintf(&auth, "Bearer %s", t->api_key) < 0)
            goto oom;
        int rc = ad_header_add(&out->headers, "Authorization", auth);
        free(auth);
        if (rc < 0) {
            json_decref(body);
            ad_request_free(out);
            return ad_fail(err, FAIL_INTERNAL, "API key unusable in a header (or out of memory)");
        }
    }
    if (ad_header_add(&out->headers, "Content-Type", "application/json") < 0)
        goto oom;
    json_decref(body);
    return 0;
oom:
    json_decref(body);
    ad_request_free(out);
    return ad_oom(err);
}

static bool has_error(const json_t *doc)
{
    const json_t *e = json_object_get(doc, "error");
    return e && !json_is_null(e);
}

static json_t *openai_parse(const char *body, size_t len, const char *model, struct ad_error *err)
{
    json_t *doc = ad_answer_load(body, len, err);
    if (!doc)
        return NULL;
    const json_t *e = json_object_get(doc, "error");
    if (has_error(doc)) {
        const char *msg = json_is_string(e) ? json_string_value(e) : ad_str(e, "message");
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answered 2xx with an error: %s", msg ? msg : "?");
    } else if (!json_is_array(json_object_get(doc, "choices"))) {
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answer has no choices");
    } else if (model && json_object_set_new(doc, "model", json_string(model)) < 0) {
        ad_oom(err);
    } else {
        return doc;
    }
    json_decref(doc);
    return NULL;
}

/* Whether any choice's delta carries text, a refusal or a tool call. */
static bool chunk_has_content(const json_t *chunk)
{
    size_t i;
    const json_t *choice;
    json_array_foreach(json_object_get(chunk, "choices"), i, choice) {
        const json_t *d = json_object_get(choice, "delta");
        const json_t *tc = json_object_get(d, "tool_calls");
        if (json_string_length(json_object_get(d, "content")) ||
            json_string_length(json_object_get(d, "refusal")) ||
            (json_is_array(tc) && json_array_size(tc)) || json_is_object(json_object_get(d, "function_call")))
            return true;
    }
    return false;
}

static int stream_error(struct ad_stream *s, const json_t *doc)
{
    const json_t *e = json_object_get(doc, "error");
    const char *msg = json_is_string(e) ? json_string_value(e) : ad_str(e, "message");
    if (!msg)
        msg = "error event in the upstream stream";
    json_t *body = NULL;
    if (json_is_object(e))
        body = json_pack("{s:O}", "error", e);
    return ad_stream_fail(s, FAIL_STREAM_ERROR, body, "%s", msg);
}

int ad_openai_event(struct ad_stream *s, const struct sse_event *ev, ad_openai_fix_fn fix)
{
    if (ev->data_len == 6 && memcmp(ev->data, "[DONE]", 6) == 0) {
        ad_stream_done(s);
        return 1;
    }
    if (ev->data_len == 0)
        return 0;
    json_t *doc = json_loadb(ev->data, ev->data_len, 0, NULL);
    int rc;
    if (strcmp(ev->event, "error") == 0 || has_error(doc)) {
        rc = stream_error(s, doc);
    } else if (!json_is_object(doc)) {
        rc = ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream stream event is not a JSON object");
    } else if (json_object_get(doc, "choices") && !json_is_array(json_object_get(doc, "choices"))) {
        rc = ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream chunk with choices not an array");
    } else {
        enum ad_fix fixed = fix ? fix(doc) : AD_FIX_SAME;
        bool content = chunk_has_content(doc);
        const char *m = ad_str(doc, "model");
        bool restamp = s->model && (!m || strcmp(m, s->model) != 0);
        if (fixed == AD_FIX_DROP) {
            rc = 0;
        } else if (restamp || fixed == AD_FIX_CHANGED) {
            /* Re-serialised only when needed: otherwise the bytes go out
             * as the upstream wrote them. */
            if (restamp && json_object_set_new(doc, "model", json_string(s->model)) < 0)
                rc = ad_stream_fail(s, FAIL_INTERNAL, NULL, "out of memory");
            else
                rc = ad_stream_chunk(s, json_incref(doc), content);
        } else {
            rc = ad_stream_chunk_text(s, ev->data, ev->data_len, content);
        }
    }
    json_decref(doc);
    return rc ? rc : s->over;
}

static int openai_event(void *arg, const struct sse_event *ev)
{
    return ad_openai_event(arg, ev, NULL);
}

static struct ad_stream *openai_stream_new(const char *model, bool include_usage)
{
    return ad_stream_new(model, include_usage, NULL, NULL);
}

static int openai_feed(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit, void *arg)
{
    return ad_stream_run(s, buf, len, emit, arg, openai_event);
}

static enum fail_class openai_classify(long status, const char *body, size_t len, json_t **openai_error)
{
    enum fail_class c = gw_classify_http(status, body, len);
    if (!openai_error)
        return c;
    *openai_error = NULL;
    json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const json_t *e = json_object_get(doc, "error");
    if (json_is_object(e) && json_is_string(json_object_get(e, "message"))) {
        *openai_error = json_incref(doc); /* already the OpenAI shape: as the upstream wrote it */
    } else {
        /* Compatible servers are looser ({"error":"..."}, {"detail":...},
         * plain text): the client still gets the standard shape. */
        char fallback[AD_FALLBACK_MSG_LEN];
        const char *s = json_is_string(e) ? json_string_value(e) : ad_str(doc, "message");
        *openai_error = ad_openai_error_for(c, ad_error_message(s, status, fallback));
    }
    json_decref(doc);
    return c;
}

const struct ad_ops ad_openai_ops = {
    .name = "openai",
    .build_request = openai_build,
    .parse_response = openai_parse,
    .stream_new = openai_stream_new,
    .stream_feed = openai_feed,
    .stream_free = ad_stream_free,
    .classify = openai_classify,
};
