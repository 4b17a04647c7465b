/*
 * gw_attempt_ad: the translated path of an attempt, taken whenever the
 * client and the target do not both speak OpenAI.  The target's adapter
 * (ad.h) builds the upstream request; its answer comes back through the
 * adapter as OpenAI chunks or an OpenAI chat.completion, which gw_out.c
 * writes in the client's API.
 *
 * A translated stream is committed to the client on its first content
 * (ad_stream_has_content), not on the role-only chunk every stream opens
 * with, so a target that fails before saying anything is failed over
 * without the client noticing.  Chunks before that are held, each
 * length-prefixed in att->resp.
 */
#include "gw_attempt.h"

#include <event2/buffer.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_chat.h"
#include "gw_chunk.h"
#include "gw_cont.h"
#include "gw_out.h"
#include "gw_repair.h"
#include "log.h"

static void fail_with(struct gw_attempt *att, enum fail_class c, const char *msg)
{
    att->fail = c;
    snprintf(att->detail, sizeof att->detail, "%.159s", msg);
}

static int headers_from(struct gw_attempt *att, char **lines)
{
    struct gw_hdr *list = gw_hdr_append(NULL, "Expect:");
    for (size_t i = 0; list && lines && lines[i]; i++) {
        struct gw_hdr *n = gw_hdr_append(list, lines[i]);
        if (!n)
            gw_hdr_free(list, true);   /* the lines may hold a key */
        list = n;
    }
    att->req_headers = list;
    return list ? 0 : -1;
}

int gw_att_ad_build(struct gw_attempt *att)
{
    struct gw_chat *chat = att->chat;
    const struct cfg_provider *p = att->prov->cfg;
    json_t *base = att->cont ? gw_cont_body(chat) : gw_repair_request(chat, att->target_idx);
    if (!base)
        return -1;
    struct ad_target t = {
        .base_url = p->base_url,
        .model = att->model,   /* the pinned version, if any */
        .api_key = att->prov->api_key,
        .api_version = p->api_version,
        .aws_region = p->aws_region,
        .aws_secret_key = att->prov->aws_secret,
        .aws_session_token = att->prov->aws_token,
    };
    struct ad_request req;
    struct ad_error err = { 0 };
    int rc = att->ad->build_request(base, chat->stream, &t, &req, &err);
    json_decref(base);
    if (rc < 0) {
        /* Another format may express what this one cannot: the chain goes
         * on, and the reason is in the all-down answer if none can. */
        gw_trace_reason_detail(&chat->trace, att->key, "cannot translate the request: ", err.message);
        log_info("request %s: %s cannot take the request: %s", chat->request_id, att->key, err.message);
        if (err.fail == FAIL_CLIENT)
            gw_trace_untranslatable(&chat->trace, err.message);
        return -1;
    }
    rc = headers_from(att, req.headers);
    att->url = req.url;
    att->body = req.body;
    att->body_len = req.body_len;
    req.url = req.body = NULL;
    for (char **h = req.headers; h && *h; h++)
        explicit_bzero(*h, strlen(*h)); /* one of them holds the key */
    ad_request_free(&req);
    return rc;
}

/* The model an answer names: the upstream's own (NULL), except where the
 * format's answers name none (Bedrock Converse): there the target's model
 * id (the pinned version, if any), which is what the upstream would have
 * said. */
static const char *answer_model(const struct gw_attempt *att)
{
    return att->ad == &ad_bedrock_ops ? att->model : NULL;
}

int gw_att_ad_stream_start(struct gw_attempt *att)
{
    /* Usage is always asked of the decoder, for the access log; a client
     * that did not ask for it does not see it (see client_view). */
    att->ads = att->ad->stream_new(answer_model(att), true);
    return att->ads ? 0 : -1;
}

/* A chunk as a client without include_usage gets it: no usage-only chunk
 * (*len = 0), no "usage":null member (every adapter builds its chunks with
 * ad_openai_chunk, which puts usage last). */
static void client_view(const struct gw_chat *chat, const char *chunk, size_t *len)
{
    static const char tail[] = ",\"usage\":null}";
    const size_t tl = sizeof tail - 1;
    if (chat->include_usage)
        return;
    if (*len > tl && memcmp(chunk + *len - tl, tail, tl) == 0) {
        *len -= tl - 1; /* the caller writes the closing brace back */
        return;
    }
    if (memmem(chunk, *len, "\"choices\":[]", 12) && memmem(chunk, *len, "\"usage\":{", 9))
        *len = 0;
}

static void take_usage(struct gw_attempt *att, const json_t *u)
{
    if (!json_is_object(u))
        return;
    att->prompt_tokens = (uint32_t)json_integer_value(json_object_get(u, "prompt_tokens"));
    att->completion_tokens = (uint32_t)json_integer_value(json_object_get(u, "completion_tokens"));
}

/* One chunk to where this attempt's output goes. */
static int out(struct gw_attempt *att, const char *chunk, size_t len)
{
    if (att->cont)
        return gw_cont_relay(att->chat, chunk, len, false);
    if (gw_out_chunk(att->chat, chunk, len) < 0)
        return -1;
    gw_cont_observe(att->chat, chunk, len);
    return 0;
}

static int hold(struct gw_attempt *att, const char *chunk, size_t len)
{
    uint32_t n = (uint32_t)len;
    if (evbuffer_add(att->resp, &n, sizeof n) < 0 || evbuffer_add(att->resp, chunk, len) < 0)
        return -1;
    return 0;
}

/* The stream proved good: the client gets it from here, held chunks first. */
static int commit(struct gw_attempt *att)
{
    if (gw_att_pace_commit(att) < 0)
        return -1;
    struct evbuffer *held = att->resp;
    while (evbuffer_get_length(held) >= sizeof(uint32_t)) {
        uint32_t n;
        evbuffer_remove(held, &n, sizeof n);
        const char *data = (const char *)evbuffer_pullup(held, n);
        int rc = data ? out(att, data, n) : -1;
        evbuffer_drain(held, n);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int relay(struct gw_attempt *att, const char *chunk, size_t len);

/* The output failed: the client is gone, or a continuation cannot go on. */
static int broken(struct gw_attempt *att)
{
    if (att->fail == FAIL_NONE)
        fail_with(att, att->cont ? FAIL_BAD_RESPONSE : FAIL_CANCELLED,
                  att->cont ? "cannot continue the stream" : "the client is gone");
    return 1;
}

static int on_emit(void *arg, const char *chunk, size_t len, bool done, const struct ad_error *error)
{
    struct gw_attempt *att = arg;
    struct gw_chat *chat = att->chat;
    if (error) {
        fail_with(att, error->fail == FAIL_NONE ? FAIL_STREAM_ERROR : error->fail, error->message);
        /* Kept for an Anthropic client, whose error event it refines. */
        json_decref(att->error_body);
        att->error_body = len ? json_loadb(chunk, len, 0, NULL) : NULL;
        return 1;
    }
    if (done) {
        att->saw_done = true;
        if (att->ct) /* an answer contract: gw_repair_relay.c decides what goes out */
            return gw_repair_relay(att, "[DONE]", 6);
        /* A stream that ended without content is still a complete answer. */
        if (att->mode == ATT_PRECOMMIT && commit(att) < 0)
            return broken(att);
        if ((att->cont ? gw_cont_relay(chat, NULL, 0, true) : gw_out_done(chat)) < 0)
            return broken(att);
        return 0;
    }
    if (!att->saw_finish && (att->ct || !gw_cont_recording(chat)))
        att->saw_finish = gw_chunk_finishes(chunk, len);
    if (memmem(chunk, len, "\"usage\":{", 9)) {
        json_t *j = json_loadb(chunk, len, 0, NULL);
        take_usage(att, json_object_get(j, "usage"));
        json_decref(j);
    }
    size_t full = len;
    client_view(chat, chunk, &len);
    if (len == 0)
        return 0;
    char *copy = NULL;
    if (len != full) {
        /* Cut before the usage member: close the object again. */
        if (!(copy = malloc(len)))
            return (fail_with(att, FAIL_INTERNAL, "out of memory"), 1);
        memcpy(copy, chunk, len - 1);
        copy[len - 1] = '}';
        chunk = copy;
    }
    int rc = att->ct ? gw_repair_relay(att, chunk, len) : relay(att, chunk, len);
    free(copy);
    return rc;
}

/* A chunk the client may see: held until the stream proves good, then out. */
static int relay(struct gw_attempt *att, const char *chunk, size_t len)
{
    if (att->mode == ATT_PRECOMMIT) {
        if (!ad_stream_has_content(att->ads))
            return hold(att, chunk, len) < 0 ? (fail_with(att, FAIL_INTERNAL, "out of memory"), 1) : 0;
        if (commit(att) < 0)
            return broken(att);
    }
    return out(att, chunk, len) < 0 ? broken(att) : 0;
}

size_t gw_att_ad_feed(struct gw_attempt *att, const char *p, size_t len)
{
    struct gw_chat *chat = att->chat;
    if (!att->ads)
        return 0;
    int rc = att->ad->stream_feed(att->ads, p, len, on_emit, att);
    if (rc != 0 && att->fail == FAIL_NONE)
        fail_with(att, FAIL_BAD_RESPONSE, "unusable upstream stream");
    if (att->fail != FAIL_NONE)
        return 0;
    /* A checked stream may hold chunks back: the upstream is not silent. */
    if ((att->mode == ATT_RELAY || att->ct) && !att->saw_done) {
        evtimer_del(att->timer);
        gw_att_pace_arm(att, chat->cat->cfg->timeouts.idle_stream_ms);
    }
    return len;
}

/* The formats whose only end is the OpenAI data: [DONE] line. */
static bool ends_with_done(const struct ad_ops *ad)
{
    return ad == &ad_openai_ops || ad == &ad_azure_ops;
}

void gw_att_ad_done(struct gw_attempt *att)
{
    size_t len = evbuffer_get_length(att->resp);
    const char *body = (const char *)evbuffer_pullup(att->resp, -1);
    if (att->status < 200 || att->status >= 300) {
        att->fail = att->ad->classify(att->status, body, len, &att->error_body);
        if (att->fail == FAIL_NONE)
            att->fail = FAIL_BAD_RESPONSE;
        snprintf(att->detail, sizeof att->detail, "HTTP %ld", att->status);
        return;
    }
    if (att->mode == ATT_BUFFER) {
        struct ad_error err = { 0 };
        att->answer = att->ad->parse_response(body ? body : "", len, answer_model(att), &err);
        if (!att->answer)
            fail_with(att, err.fail == FAIL_NONE ? FAIL_BAD_RESPONSE : err.fail, err.message);
        else
            take_usage(att, json_object_get(att->answer, "usage"));
        return;
    }
    if (att->saw_done)
        return;
    /* An OpenAI-format stream whose server never sends data: [DONE] is
     * complete once a finish_reason came and the transfer ended cleanly.
     * The other formats have end events of their own (Anthropic
     * message_stop, Bedrock metadata after messageStop), which their
     * decoders report as done: without those the stream is cut. */
    if ((att->saw_finish || gw_cont_finished(att->chat)) && ends_with_done(att->ad)) {
        on_emit(att, NULL, 0, true, NULL);
        return;
    }
    fail_with(att, FAIL_STREAM_CUT, "stream ended before its end event");
}

void gw_att_ad_free(struct gw_attempt *att)
{
    if (att->ads)
        att->ad->stream_free(att->ads);
    gw_hdr_free(att->req_headers, true);
    free(att->url);
    json_decref(att->answer);
    json_decref(att->error_body);
}
