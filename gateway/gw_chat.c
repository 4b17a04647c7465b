/*
 * gw_chat: POST /v1/chat/completions, the request's life.  Parses and
 * bounds the request once, resolves the model to its chain and hands it to
 * the engine (gw_engine.c: attempts, decisions, answers), which ends it
 * with gw_chat_finish(): one access-log line, then everything is freed.
 */
#include "gw_chat.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "fmt.h"
#include "ad_inbound.h"
#include "gw_access.h"
#include "gw_attempt.h"
#include "gw_reqscan.h"
#include "log.h"


static void chat_free(struct gw_chat *chat)
{
    gw_engine_free(chat);
    gw_hedge_free(&chat->hedge);
    gw_repair_free(chat);
    json_decref(chat->body);
    gw_out_free(&chat->out);
    gw_cont_free(&chat->cont);
    gw_catalog_unref(chat->cat);
    free(chat);
}

void gw_chat_finish(struct gw_chat *chat, const struct gw_attempt *att, const char *error)
{
    struct gw *gw = chat->gw;
    uint64_t now = bs_now_us();
    struct gw_access a = {
        .request_id = chat->request_id,
        .client = chat->peer,
        .method = "POST",
        .path = chat->api == GW_API_ANTHROPIC ? "/v1/messages" : "/v1/chat/completions",
        .model = chat->chain ? chat->chain->name : NULL,
        .provider = chat->out.served_provider,
        .upstream_model = chat->out.served_model,
        .status = chat->req ? chat->out.status : 499,
        .attempts = chat->route.attempts,
        .latency_us = now - chat->start_us,
        .ttfb_us = chat->out.first_out_us ? chat->out.first_out_us - chat->start_us : 0,
        .prompt_tokens = att ? att->prompt_tokens : 0,
        .completion_tokens = att ? att->completion_tokens : 0,
        .stream = chat->stream,
        .failover = chat->trace.failover[0] ? chat->trace.failover : NULL,
        .error = error,
        .worker = gw->slot,
    };
    gw_access_write(gw->accbuf, gw->access_fd, &a);
    gw_request_finished(gw);
    chat_free(chat);
}

static void chat_on_close(void *arg)
{
    struct gw_chat *chat = arg;
    chat->req = NULL;
    gw_engine_client_gone(chat);
}

static void chat_on_drain(void *arg)
{
    gw_engine_client_drained(arg);
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
        gw_engine_reject(chat, status, code, msg);
        return;
    }
    gw_engine_start(chat);
}
