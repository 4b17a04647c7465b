/*
 * gw_chat: POST /v1/chat/completions, the request's life.  Parses and
 * bounds the request once, resolves the model to its chain, starts the first
 * attempt (gw_failover.c decides what follows each one, gw_answer.c answers),
 * and ends with one access-log line; telemetry records every attempt and
 * every switch.
 */
#include "gw_chat.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "fmt.h"
#include "gw_access.h"
#include "gw_breaker.h"
#include "gw_classify.h"
#include "gw_reqscan.h"
#include "log.h"
#include "tel.h"


static void chat_free(struct gw_chat *chat)
{
    if (chat->wait_ev)
        event_free(chat->wait_ev);
    if (chat->hedge_ev)
        event_free(chat->hedge_ev);
    gw_attempt_free(chat->hedge);
    gw_attempt_free(chat->loser);
    gw_attempt_free(chat->att);
    gw_repair_free(chat);
    json_decref(chat->body);
    ad_in_stream_free(chat->in_stream);
    gw_cont_free(chat);
    free(chat->order);
    gw_catalog_unref(chat->cat);
    free(chat);
}

void gw_chat_finish(struct gw_chat *chat, const char *error)
{
    struct gw *gw = chat->gw;
    uint64_t now = bs_now_us();
    struct gw_access a = {
        .request_id = chat->request_id,
        .client = chat->peer,
        .method = "POST",
        .path = chat->api == GW_API_ANTHROPIC ? "/v1/messages" : "/v1/chat/completions",
        .model = chat->chain ? chat->chain->name : NULL,
        .provider = chat->served_provider,
        .upstream_model = chat->served_model,
        .status = chat->req ? chat->status : 499,
        .attempts = chat->attempts,
        .latency_us = now - chat->start_us,
        .ttfb_us = chat->first_out_us ? chat->first_out_us - chat->start_us : 0,
        .prompt_tokens = chat->prompt_tokens,
        .completion_tokens = chat->completion_tokens,
        .stream = chat->stream,
        .failover = chat->failover[0] ? chat->failover : NULL,
        .error = error,
        .worker = gw->slot,
    };
    gw_access_write(gw->accbuf, gw->access_fd, &a);
    gw_request_finished(gw);
    chat_free(chat);
}

void gw_chat_report(struct gw_chat *chat, struct gw_attempt *att)
{
    struct tel_attempt t;
    memset(&t, 0, sizeof t);
    t.hdr.kind = TEL_ATTEMPT;
    uint64_t now = bs_now_us();
    t.wall_ms = bs_wall_ms();
    t.status = (int32_t)att->status;
    t.fail = (uint16_t)att->fail;
    t.attempt_no = (uint16_t)chat->attempts;
    t.trial = att->trial_epoch != 0;
    t.trial_epoch = att->trial_epoch;
    t.target_id = att->tgt->id;
    t.generation = chat->cat->generation;
    t.latency_ms = (uint32_t)((now - att->start_us) / 1000);
    t.ttfb_ms = att->head_us ? (uint32_t)((att->head_us - att->start_us) / 1000) : 0;
    if (att->fail == FAIL_NONE) {
        t.prompt_tokens = chat->prompt_tokens;
        t.completion_tokens = chat->completion_tokens;
    }
    tel_copy(t.provider, sizeof t.provider, att->prov->cfg->name);
    tel_copy(t.model, sizeof t.model, att->tgt->model);
    tel_copy(t.chain, sizeof t.chain, chat->chain->name);
    tel_copy(t.request_id, sizeof t.request_id, chat->request_id);
    gw_tel_attempt(chat->gw, &t);
}

/* One failover event for the controller's history: the request moved from
 * `from` to the target now running.  Held for the worker's next telemetry
 * flush (gw_tel_batch.c), so a skipped target costs no system call. */
void gw_chat_event(struct gw_chat *chat, const char *from, int reason, uint64_t added_us)
{
    struct tel_failover f;
    memset(&f, 0, sizeof f);
    f.hdr.kind = TEL_FAILOVER;
    f.wall_ms = bs_wall_ms();
    f.added_ms = (uint32_t)(added_us / 1000);
    f.fail = (uint16_t)reason;
    tel_copy(f.chain, sizeof f.chain, chat->chain->name);
    tel_copy(f.from, sizeof f.from, from);
    tel_copy(f.to, sizeof f.to, chat->att ? chat->att->brk_key : "");
    f.to_id = chat->att ? chat->att->tgt->id : TEL_NO_TARGET;
    f.generation = chat->cat->generation;
    tel_copy(f.request_id, sizeof f.request_id, chat->request_id);
    gw_tel_event(chat->gw, &f);
}

/* Appends one formatted item, with sep before it unless it is the first. */
void gw_chat_append(char *buf, size_t cap, const char *sep, const char *fmt, const char *a,
                   const char *b, const char *c, const char *d)
{
    size_t len = strlen(buf);
    if (len < cap)
        snprintf(buf + len, cap - len, fmt, len ? sep : "", a, b, c, d);
}

static void drop_attempt(struct gw_chat *chat, struct gw_attempt **slot, enum fail_class why)
{
    if (!*slot)
        return;
    gw_attempt_cancel(*slot, why);
    gw_chat_report(chat, *slot);
    gw_attempt_free(*slot);
    *slot = NULL;
}

static void chat_on_close(void *arg)
{
    struct gw_chat *chat = arg;
    chat->req = NULL;
    drop_attempt(chat, &chat->hedge, FAIL_CANCELLED);
    drop_attempt(chat, &chat->loser, FAIL_HEDGED);
    if (chat->att) {
        /* The client is gone: stop the upstream now, it bills per token. */
        gw_attempt_cancel(chat->att, FAIL_CANCELLED);
        gw_chat_attempt_done(chat, chat->att);
    } else {
        gw_chat_finish(chat, fail_class_name(FAIL_CANCELLED));
    }
}

static void chat_on_drain(void *arg)
{
    struct gw_chat *chat = arg;
    struct gw_attempt *att = chat->att;
    if (att && att->paused && att->running)
        gw_attempt_resume(att);
}

static void set_request_id(struct gw_chat *chat, const char *given)
{
    size_t n = given ? strlen(given) : 0;
    bool ok = n > 0 && n < 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)given[i]) || strchr("-_.:", given[i]);
    if (ok) {
        memcpy(chat->request_id, given, n + 1);
        return;
    }
    struct gw *gw = chat->gw;
    uint64_t x = (++gw->req_seq) * 0x9E3779B97F4A7C15ULL ^ gw->req_salt;
    /* "req_%08x%016llx" */
    char *p = chat->request_id;
    memcpy(p, "req_", 4);
    p += 4;
    p += fmt_hex(p, gw->req_salt, 8);
    p += fmt_hex(p, x, 16);
    *p = '\0';
}

json_t *gw_chat_body(struct gw_chat *chat)
{
    if (chat->body || !chat->req)
        return chat->body;
    size_t len;
    const char *raw = http_req_body(chat->req, &len);
    json_error_t jerr;
    /* Checked by gw_reqscan already; a failure here is memory, or a number
     * jansson cannot hold (see gw_reqscan.h). */
    chat->body = json_loadb(raw ? raw : "", len, 0, &jerr);
    if (!chat->body)
        log_warn("request %s: cannot build the body document: %s", chat->request_id, jerr.text);
    return chat->body;
}

/* An OpenAI client's fields, read from the scan: no document is built. */
static int openai_fields(struct gw_chat *chat, const char *body, const struct gw_reqscan *scan,
                         char *name, size_t name_cap, char *msg, size_t cap)
{
    const struct gw_member *model = gw_reqscan_get(scan, body, "model");
    if (!model || body[model->val] != '"' || model->val_end - model->val == 2) {
        snprintf(msg, cap, "'model' is required and must be a non-empty string");
        return 400;
    }
    chat->model_vs = model->val;
    chat->model_ve = model->val_end;
    if (gw_reqscan_string(body, model, name, name_cap) < 0)
        snprintf(name, name_cap, "(a name too long for any chain)");
    const struct gw_member *messages = gw_reqscan_get(scan, body, "messages");
    size_t m = messages ? messages->val + 1 : 0;
    while (messages && m < messages->val_end && strchr(" \t\r\n", body[m]))
        m++;
    if (!messages || body[messages->val] != '[' || body[m] == ']') {
        snprintf(msg, cap, "'messages' is required and must be a non-empty array");
        return 400;
    }
    const struct gw_member *stream = gw_reqscan_get(scan, body, "stream");
    char sv = stream ? body[stream->val] : 'n';
    if (sv != 't' && sv != 'f' && sv != 'n') {
        snprintf(msg, cap, "'stream' must be a boolean");
        return 400;
    }
    chat->stream = sv == 't';
    const struct gw_member *tools = gw_reqscan_get(scan, body, "tools");
    const struct gw_member *rf = gw_reqscan_get(scan, body, "response_format");
    chat->contract_fields = (tools && body[tools->val] == '[') || (rf && body[rf->val] == '{');
    const struct gw_member *so = chat->stream ? gw_reqscan_get(scan, body, "stream_options") : NULL;
    if (so && body[so->val] == '{') {
        struct gw_reqscan opts;
        const char *o = body + so->val;
        const struct gw_member *iu = gw_reqscan(o, so->val_end - so->val, &opts, NULL, 0) == 0
                                         ? gw_reqscan_get(&opts, o, "include_usage") : NULL;
        chat->include_usage = iu && o[iu->val] == 't';
    }
    return 0;
}

/* An Anthropic client's request, translated into an OpenAI document that
 * becomes chat->body; answers are translated back in gw_out.c. */
static int anthropic_fields(struct gw_chat *chat, char *name, size_t name_cap, char *msg,
                            size_t cap)
{
    json_t *in = gw_chat_body(chat);
    if (!in) {
        snprintf(msg, cap, "the gateway is out of memory");
        return 503;
    }
    struct ad_error err = { 0 };
    json_t *oreq = ad_in_request(in, &err);
    if (!oreq) {
        snprintf(msg, cap, "%s", err.message);
        return err.fail == FAIL_INTERNAL ? 503 : 400;
    }
    json_decref(chat->body);
    chat->body = oreq;
    json_t *model = json_object_get(oreq, "model");
    if (!json_is_string(model) || json_string_length(model) == 0) {
        snprintf(msg, cap, "'model' is required and must be a non-empty string");
        return 400;
    }
    snprintf(name, name_cap, "%s", json_string_value(model));
    json_t *messages = json_object_get(oreq, "messages");
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        snprintf(msg, cap, "'messages' is required and must be a non-empty array");
        return 400;
    }
    chat->stream = json_is_true(json_object_get(oreq, "stream"));
    chat->include_usage = chat->stream &&
        json_is_true(json_object_get(json_object_get(oreq, "stream_options"), "include_usage"));
    return 0;
}

/* 0, or an HTTP status with msg filled: the client's request is unusable. */
static int parse_request(struct gw_chat *chat, struct http_req *req, char *msg, size_t cap,
                         const char **code)
{
    size_t len;
    const char *body = http_req_body(req, &len);
    if (!body)
        body = "";
    struct gw_reqscan scan;
    char why[160];
    *code = "invalid_request";
    if (gw_reqscan(body, len, &scan, why, sizeof why) < 0) {
        *code = "invalid_json";
        snprintf(msg, cap, "request body is not valid JSON: %s", why);
        return 400;
    }
    if (!scan.object) {
        snprintf(msg, cap, "request body must be a JSON object");
        return 400;
    }
    char name[256];
    int status = chat->api == GW_API_ANTHROPIC
                     ? anthropic_fields(chat, name, sizeof name, msg, cap)
                     : openai_fields(chat, body, &scan, name, sizeof name, msg, cap);
    if (status)
        return status;
    chat->chain = gw_catalog_find(chat->cat, name);
    if (!chat->chain) {
        *code = "model_not_found";
        snprintf(msg, cap, "the model '%.128s' does not exist on this gateway; GET /v1/models lists "
                           "the models it serves", name);
        return 404;
    }
    int timeout = chat->cat->cfg->timeouts.request_ms;
    const char *t = http_req_header(req, "x-backstop-timeout-ms");
    if (t) {
        char *end;
        long v = strtol(t, &end, 10);
        if (*t == '\0' || *end || v < 1 || v > timeout) {
            *code = "invalid_timeout";
            snprintf(msg, cap, "x-backstop-timeout-ms must be an integer from 1 to %d", timeout);
            return 400;
        }
        timeout = (int)v;
    }
    chat->deadline_us = chat->start_us + (uint64_t)timeout * 1000;
    return 0;
}

void gw_chat_handle(struct gw *gw, struct http_req *req, enum gw_api api)
{
    struct gw_chat *chat = calloc(1, sizeof *chat);
    if (!chat) {
        http_req_reply_error(req, 503, "out_of_memory", "the gateway is out of memory");
        gw_request_finished(gw);
        return;
    }
    chat->gw = gw;
    chat->req = req;
    chat->api = api;
    chat->cat = gw_catalog_ref(gw->cat);
    chat->start_us = http_req_start_us(req);
    fmt_join(chat->peer, sizeof chat->peer, http_req_peer(req), NULL);
    set_request_id(chat, http_req_header(req, "x-request-id"));
    http_req_set_callbacks(req, chat_on_drain, chat_on_close, chat);
    char msg[512];
    const char *code;
    int status = parse_request(chat, req, msg, sizeof msg, &code);
    if (status) {
        gw_chat_reply_error(chat, status, code, msg);
        gw_chat_finish(chat, code);
        return;
    }
    if (gw_chat_order(chat) < 0 || gw_repair_init(chat) < 0) {
        gw_chat_reply_error(chat, 503, "out_of_memory", "the gateway is out of memory");
        gw_chat_finish(chat, "internal");
        return;
    }
    if (!gw_chat_try_next(chat)) {
        gw_answer_all_failed(chat);
        gw_chat_finish(chat, "no_target");
        return;
    }
    gw_hedge_arm(chat);
}
