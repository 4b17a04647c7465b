/*
 * gw_attempt: one upstream call of a chat request (gw_attempt.h).
 *
 * A stream is committed to the client when the first event that carries
 * content or a tool call arrives, on the native path as on the translated
 * one (gw_attempt_ad.c): the role-only or empty chunks a stream may open
 * with are held and go out first at the commit, so a target that fails
 * after its preamble is failed over without the client noticing.
 */
#include "gw_attempt.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bs_time.h"
#include "fmt.h"
#include "gw_body.h"
#include "gw_chat.h"
#include "gw_chunk.h"
#include "gw_classify.h"
#include "gw_contract_stream.h"
#include "gw_ovr.h"
#include "gw_usage.h"
#include "log.h"

#define ERROR_BODY_MAX (64 * 1024)

static void attempt_end(struct gw_attempt *att);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_attempt *att = arg;
    enum fail_class why;
    if (att->lost)
        why = FAIL_HEDGED;
    else if (att->timer_is_deadline)
        why = FAIL_DEADLINE;
    else if (att->mode == ATT_RELAY || (att->ct && gw_ct_stream_fed(att->ct)))
        why = FAIL_IDLE_TIMEOUT; /* a checked stream holding events back is not waiting for its first */
    else
        why = FAIL_FIRST_TOKEN_TIMEOUT;
    gw_attempt_cancel(att, why);
    attempt_end(att);
}

static bool is_error_event(const struct sse_event *ev)
{
    if (strcmp(ev->event, "error") == 0)
        return true;
    /* Cheap test first: only data that mentions "error" is parsed. */
    if (!memmem(ev->data, ev->data_len, "\"error\"", 7))
        return false;
    json_t *j = json_loadb(ev->data, ev->data_len, 0, NULL);
    bool err = j && json_is_object(j) && json_object_get(j, "error") != NULL;
    json_decref(j);
    return err;
}


/* Returns non-zero to stop: an error event ends the attempt. */
static int on_event(void *arg, const struct sse_event *ev)
{
    struct gw_attempt *att = arg;
    struct gw_chat *chat = att->chat;
    bool done = ev->data_len == 6 && memcmp(ev->data, "[DONE]", 6) == 0;
    if (done) {
        att->saw_done = true;
    } else if (is_error_event(ev)) {
        att->fail = FAIL_STREAM_ERROR;
        snprintf(att->detail, sizeof att->detail, "error event in the stream");
        return 1;
    } else {
        if (memmem(ev->data, ev->data_len, "\"usage\":{", 9))
            gw_usage_read(ev->data, ev->data_len, &att->prompt_tokens, &att->completion_tokens);
        /* A recorded stream is asked at its end instead (gw_cont_finished):
         * searching every event cost about 15 % of a streamed request. */
        if (!att->saw_finish && (att->ct || !gw_cont_recording(chat)))
            att->saw_finish = gw_chunk_finishes(ev->data, ev->data_len);
    }
    if (att->ct)
        return gw_repair_relay(att, ev->data, ev->data_len);
    if (att->mode == ATT_PRECOMMIT && !done) {
        /* A preamble without content is held (native: its bytes stay in
         * att->resp; a continuation drops role-only chunks anyway). */
        if (!gw_chunk_says(ev->data, ev->data_len))
            return 0;
        /* The first good event: from here the client sees this target (a
         * continuation joins a stream the client already has). */
        if (gw_att_pace_commit(att) < 0)
            return 1;
    }
    if (att->cont) {
        if (att->mode == ATT_RELAY && gw_cont_relay(chat, ev->data, ev->data_len, done) < 0) {
            att->fail = FAIL_BAD_RESPONSE;
            snprintf(att->detail, sizeof att->detail, "cannot continue the stream");
            return 1;
        }
    } else if (att->mode == ATT_RELAY && !done) {
        gw_cont_observe(chat, ev->data, ev->data_len);
    }
    return 0;
}

static void on_head(struct gw_attempt *att)
{
    struct gw_chat *chat = att->chat;
    att->head_us = bs_now_us();
    att->status = gw_up_status(&att->xfer);
    if (att->ad && att->xfer.openai_wire)
        att->ad = &ad_openai_ops;   /* a made-up answer (gw_fault.h) is OpenAI's whatever the target */
    att->sse = strncasecmp(att->content_type, "text/event-stream", 17) == 0;
    if (att->ad && att->status >= 200 && att->status < 300 && chat->stream) {
        /* The adapter knows its stream framing (not always SSE). */
        att->mode = ATT_PRECOMMIT;
        if (gw_att_ad_stream_start(att) < 0) {
            att->fail = FAIL_INTERNAL;
            snprintf(att->detail, sizeof att->detail, "out of memory");
        }
        return;
    }
    if (att->status >= 200 && att->status < 300 && chat->stream && att->sse) {
        att->mode = ATT_PRECOMMIT;
        sse_init(&att->parser, chat->cat->cfg->limits.max_response_bytes);
        return; /* the first-token timer keeps running until the first event */
    }
    att->mode = ATT_BUFFER;
    evtimer_del(att->timer);
    gw_att_pace_arm(att, chat->cat->cfg->timeouts.request_ms);
}

static size_t on_header(void *arg, const char *p, size_t len)
{
    struct gw_attempt *att = arg;
    /* A new status line (after a 100 Continue, say) starts a new head. */
    if (len > 5 && memcmp(p, "HTTP/", 5) == 0) {
        att->content_type[0] = att->retry_after[0] = att->retry_after_ms[0] = '\0';
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return len;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    char *dst = NULL;
    size_t cap = 0;
    if (nlen == 12 && strncasecmp(p, "content-type", 12) == 0)
        dst = att->content_type, cap = sizeof att->content_type;
    else if (nlen == 11 && strncasecmp(p, "retry-after", 11) == 0)
        dst = att->retry_after, cap = sizeof att->retry_after;
    else if (nlen == 14 && strncasecmp(p, "retry-after-ms", 14) == 0)
        dst = att->retry_after_ms, cap = sizeof att->retry_after_ms;
    if (dst) {
        size_t m = vlen < cap - 1 ? vlen : cap - 1;
        memcpy(dst, v, m);
        dst[m] = '\0';
    }
    return len;
}

/* Relays a stream's bytes byte for byte, but only up to the end of its last
 * whole event: the bytes of an unfinished one wait in att->resp for its
 * blank line.  So whatever follows a cut (an error event, a continuation)
 * starts on an event boundary, and the client never reads half a data line
 * glued to the next.  upto: how many bytes of p run through its last blank
 * line, 0 when it has none. */
static int relay_events(struct gw_attempt *att, const char *p, size_t len, size_t upto)
{
    struct http_req *req = att->chat->req;
    struct evbuffer *held = att->resp;
    if (upto == 0)
        return evbuffer_add(held, p, len);
    size_t hl = evbuffer_get_length(held);
    if (hl) {
        if (evbuffer_add(held, p, upto) < 0)
            return -1;
        if (http_req_stream_write(req, evbuffer_pullup(held, -1), hl + upto) < 0)
            return -1;
        evbuffer_drain(held, hl + upto);
    } else if (http_req_stream_write(req, p, upto) < 0) {
        return -1;
    }
    return upto < len ? evbuffer_add(held, p + upto, len - upto) : 0;
}

static size_t on_body(void *arg, const char *p, size_t len)
{
    struct gw_attempt *att = arg;
    struct gw_chat *chat = att->chat;
    if (att->lost)
        return 0; /* the race is over; its cancellation is queued */
    if (att->mode == ATT_HEAD)
        on_head(att);
    if (att->fail != FAIL_NONE)
        return 0;
    if (att->mode == ATT_BUFFER) {
        size_t max = att->status >= 200 && att->status < 300 ? chat->cat->cfg->limits.max_response_bytes
                                                              : ERROR_BODY_MAX;
        if (evbuffer_get_length(att->resp) + len > max) {
            att->fail = FAIL_BAD_RESPONSE;
            snprintf(att->detail, sizeof att->detail, "answer larger than %zu bytes", max);
            return 0;
        }
        return evbuffer_add(att->resp, p, len) == 0 ? len : 0;
    }
    if (!chat->req)
        return 0;
    if (att->mode == ATT_RELAY && http_req_output_pending(chat->req) > 256 * 1024) {
        /* A slow client: stop reading the upstream instead of buffering.
         * curl hands the same bytes again on resume.  The upstream is not
         * idle, we are: only the deadline runs meanwhile. */
        att->paused = true;
        evtimer_del(att->timer);
        gw_att_pace_arm(att, INT32_MAX / 1000);
        return GW_XFER_PAUSE;
    }
    if (att->ad)
        return gw_att_ad_feed(att, p, len);
    bool was_relaying = att->mode == ATT_RELAY;
    /* A continuation's events are re-stamped and written one by one by
     * on_event; its raw bytes are never relayed. */
    if (!was_relaying && !att->cont && !att->ct && evbuffer_add(att->resp, p, len) < 0)
        return 0;
    int rc = sse_feed(&att->parser, p, len, on_event, att);
    if (rc < 0 && att->fail == FAIL_NONE) {
        att->fail = FAIL_BAD_RESPONSE;
        snprintf(att->detail, sizeof att->detail, "stream event too large or out of memory");
    }
    if (att->fail != FAIL_NONE)
        return 0;
    if (att->cont || att->ct) {
        /* A checked stream may hold events back: the upstream is not
         * silent for it, so its idle limit runs from the first event. */
        if (att->mode == ATT_RELAY || att->ct) {
            evtimer_del(att->timer);
            gw_att_pace_arm(att, chat->cat->cfg->timeouts.idle_stream_ms);
        }
    } else if (was_relaying) {
        if (relay_events(att, p, len, att->parser.blank_end) < 0)
            return 0;
        evtimer_del(att->timer);
        gw_att_pace_arm(att, chat->cat->cfg->timeouts.idle_stream_ms);
    } else if (att->mode == ATT_RELAY) {
        /* Just committed: everything held so far goes out as it came, up
         * to the end of the last whole event (the committing one at least). */
        size_t held = evbuffer_get_length(att->resp);
        size_t out = held - (len - att->parser.blank_end);
        unsigned char *bytes = evbuffer_pullup(att->resp, (ssize_t)out);
        if (http_req_stream_write(chat->req, bytes, out) < 0)
            return 0;
        evbuffer_drain(att->resp, out);
    }
    return len;
}

/* Only the usage member is parsed: the answer itself goes out as it came. */
static void take_usage(struct gw_attempt *att)
{
    size_t len = evbuffer_get_length(att->resp);
    const char *text = (const char *)evbuffer_pullup(att->resp, -1);
    if (text)
        gw_usage_read(text, len, &att->prompt_tokens, &att->completion_tokens);
}

/* A native stream that closed cleanly after its finish_reason but without
 * data: [DONE] (some compatible servers never send it) is complete: the
 * client gets the [DONE] it would have had, through the same path the
 * upstream's own would have taken. */
static void end_without_done(struct gw_attempt *att)
{
    static const struct sse_event done = { .event = "", .data = "[DONE]", .data_len = 6 };
    bool raw = att->mode == ATT_RELAY && !att->cont && !att->ct;
    if (on_event(att, &done) != 0 && att->fail == FAIL_NONE) {
        att->fail = FAIL_CANCELLED;
        snprintf(att->detail, sizeof att->detail, "the client is gone");
    }
    if (att->fail == FAIL_NONE && raw && att->chat->req) {
        static const char line[] = "data: [DONE]\n\n";
        if (http_req_stream_write(att->chat->req, line, sizeof line - 1) < 0) {
            att->fail = FAIL_CANCELLED;
            snprintf(att->detail, sizeof att->detail, "the client is gone");
        }
    }
}

static void attempt_ended(struct gw_attempt *att, enum xfer_rc rc, const char *why, bool connected)
{
    att->running = false;
    /* After the stream's end event the answer is whole: a transport error
     * past it (a close before the chunked terminator, a reset) loses
     * nothing the client needs, so it is no failure of the target. */
    if (rc != XFER_OK && att->saw_done && (att->mode == ATT_RELAY || att->mode == ATT_PRECOMMIT)) {
        log_debug("request %s: %s: %s after the end of the stream, ignored", att->chat->request_id,
                  att->key, why ? why : xfer_rc_text(rc));
        rc = XFER_OK;
    }
    if (att->fail == FAIL_NONE) {
        if (rc != XFER_OK) {
            att->fail = gw_classify_xfer(rc, connected, att->head_us != 0 || att->status > 0);
            snprintf(att->detail, sizeof att->detail, "%s", why ? why : xfer_rc_text(rc));
        } else if (att->mode == ATT_HEAD) {
            on_head(att); /* a head without a body */
        }
        if (att->fail == FAIL_NONE && att->ad) {
            gw_att_ad_done(att);
        } else if (att->fail == FAIL_NONE && (att->status < 200 || att->status >= 300)) {
            size_t len = evbuffer_get_length(att->resp);
            att->fail = gw_classify_http(att->status, (const char *)evbuffer_pullup(att->resp, -1), len);
            snprintf(att->detail, sizeof att->detail, "HTTP %ld", att->status);
        } else if (att->fail == FAIL_NONE && (att->mode == ATT_RELAY || att->mode == ATT_PRECOMMIT) &&
                   !att->saw_done) {
            if (att->saw_finish || gw_cont_finished(att->chat)) {
                end_without_done(att);
            } else {
                att->fail = FAIL_STREAM_CUT;
                snprintf(att->detail, sizeof att->detail, "stream ended without [DONE]");
            }
        }
        if (att->fail == FAIL_NONE && att->mode == ATT_BUFFER) {
            if (!att->ad)
                take_usage(att);
            gw_repair_check_answer(att);
        }
    }
    attempt_end(att);
}

static void on_done(struct gw_xfer *x, enum xfer_rc rc)
{
    struct gw_attempt *att = (struct gw_attempt *)x;
    if (att->fail == FAIL_NONE)
        att->status = x->status;
    attempt_ended(att, rc, x->why, x->connected);
}

static void attempt_end(struct gw_attempt *att)
{
    evtimer_del(att->timer);
    att->ops->ended(att);
}

static int build_body(struct gw_attempt *att)
{
    struct gw_chat *chat = att->chat;
    if (att->ad)
        return gw_att_ad_build(att);
    bool fix = !att->cont && gw_repair_applies(chat, att->target_idx);
    if (!att->cont && !fix && chat->req) {
        /* The common case: the client's bytes with only the model changed. */
        size_t len;
        const char *raw = http_req_body(chat->req, &len);
        if (raw && (att->body = gw_body_splice(raw, len, chat->model_vs, chat->model_ve,
                                               att->model, &att->body_len)))
            return 0;
    }
    json_t *base = att->cont ? gw_cont_body(chat) : gw_repair_request(chat, att->target_idx);
    json_t *model = json_string(att->model);
    if (base && model && json_object_set_new(base, "model", model) == 0)
        att->body = json_dumps(base, JSON_COMPACT);
    else
        json_decref(model);
    json_decref(base);
    if (att->body)
        att->body_len = strlen(att->body);
    return att->body ? 0 : -1;
}

static json_t *openai_body(void *arg)
{
    return gw_chat_body(((struct gw_attempt *)arg)->chat);
}

struct gw_attempt *gw_attempt_start(struct gw_chat *chat, size_t target,
                                    const struct gw_attempt_spec *spec)
{
    struct gw *gw = chat->gw;
    const struct cfg_target *tgt = &chat->chain->targets[target];
    struct gw_attempt *att = calloc(1, sizeof *att);
    if (!att)
        return NULL;
    att->chat = chat;
    att->ops = spec->ops;
    att->tgt = tgt;
    att->prov = &chat->cat->providers[tgt->provider];
    att->key = chat->cat->cfg->target_ids[tgt->id].key;
    att->start_us = bs_now_us();
    att->trial_epoch = spec->trial_epoch;
    att->cont = spec->cont;
    att->target_idx = target;
    /* Only an OpenAI client on an OpenAI-format target skips the adapter. */
    att->ad = att->prov->native && chat->api == GW_API_OPENAI ? NULL : att->prov->ad;
    att->model = gw_ovr_model(chat->cat->ovr, chat->chain->name, att->key, tgt->model);
    att->resp = evbuffer_new();
    att->timer = evtimer_new(gw->base, on_timer, att);
    if (!att->resp || !att->timer || build_body(att) < 0 ||
        gw_repair_attempt_init(att) < 0) {
        gw_attempt_free(att);
        return NULL;
    }
    fmt_join(att->rid_header, sizeof att->rid_header, "X-Request-Id: ", chat->request_id, NULL);
    /* Prepended without copying the provider's list: curl only reads it. */
    att->rid_node.line = att->rid_header;
    att->rid_node.next = att->ad ? att->req_headers : att->prov->headers;
    struct gw_xfer *x = &att->xfer;
    x->url = att->ad ? att->url : att->prov->chat_url;
    x->headers = &att->rid_node;
    x->body = att->body;
    x->body_len = att->body_len;
    x->connect_timeout_ms = chat->cat->cfg->timeouts.connect_ms;
    x->use_curl = att->prov->cfg->http_client == CFG_HTTP_CURL;
    x->match = (struct gw_xfer_match){
        .ovr = chat->cat->ovr, .provider = att->prov->cfg->name, .target_key = att->key,
        .chain = chat->chain->name, .key_fpr = att->prov->key_fpr, .model = att->model,
        .request_id = chat->request_id, .stream = chat->stream, .openai_body = openai_body,
    };
    x->on_header = on_header;
    x->on_body = on_body;
    x->arg = att;
    x->done = on_done;
    if (gw_up_start(gw->up, &att->xfer) < 0) {
        gw_attempt_free(att);
        return NULL;
    }
    att->running = true;
    gw_att_pace_arm(att, chat->cat->cfg->timeouts.first_token_ms);
    return att;
}

void gw_attempt_lose(struct gw_attempt *att)
{
    /* Called from inside a curl callback, where removing a handle is not
     * allowed: the attempt's own timer does it on the next loop turn. */
    att->lost = true;
    evtimer_del(att->timer);
    struct timeval now = { 0, 0 };
    evtimer_add(att->timer, &now);
}

void gw_attempt_resume(struct gw_attempt *att)
{
    att->paused = false;
    evtimer_del(att->timer);
    gw_att_pace_arm(att, att->chat->cat->cfg->timeouts.idle_stream_ms);
    gw_up_resume(att->chat->gw->up, &att->xfer);
}

void gw_attempt_cancel(struct gw_attempt *att, enum fail_class why)
{
    if (att->running) {
        gw_up_cancel(att->chat->gw->up, &att->xfer);
        att->running = false;
    }
    evtimer_del(att->timer);
    if (att->fail == FAIL_NONE) {
        att->fail = why;
        snprintf(att->detail, sizeof att->detail, "%s", fail_class_name(why));
    }
}

void gw_attempt_free(struct gw_attempt *att)
{
    if (!att)
        return;
    if (att->running)
        gw_up_cancel(att->chat->gw->up, &att->xfer);
    gw_up_finish(att->chat->gw->up, &att->xfer);
    if (att->timer)
        event_free(att->timer);
    if (att->resp)
        evbuffer_free(att->resp);
    sse_free(&att->parser);
    gw_ct_stream_free(att->ct);
    gw_att_ad_free(att);
    free(att->body);
    free(att);
}
