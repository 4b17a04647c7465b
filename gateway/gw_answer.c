/*
 * gw_answer: how a chat request answers its client: the upstream's answer
 * with the x-backstop-* headers, the upstream's error as is, a stream ended
 * with an explicit error event, or the gateway's own all-down answer.
 */
#include "gw_chat.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "fmt.h"
#include "gw_body.h"
#include "gw_usage.h"

/* Gateway-raised errors carry the request id and the attempts too. */
static void error_headers(struct gw_chat *chat, int status)
{
    char n[24];
    n[fmt_u64(n, (uint64_t)(chat->attempts > 0 ? chat->attempts : 0))] = '\0';
    http_req_add_header(chat->req, "x-request-id", chat->request_id);
    http_req_add_header(chat->req, "x-backstop-attempts", n);
    if (chat->failover[0])
        http_req_add_header(chat->req, "x-backstop-failover", chat->failover);
    chat->status = status;
    chat->first_out_us = bs_now_us();
}

void gw_chat_reply_error(struct gw_chat *chat, int status, const char *code, const char *msg)
{
    error_headers(chat, status);
    http_req_reply_error(chat->req, status, code, msg);
}

void gw_chat_reply_typed_error(struct gw_chat *chat, int status, const char *type, const char *code,
                               const char *msg)
{
    error_headers(chat, status);
    gw_out_gateway_error(chat, status, type, code, msg);
}

static void add_served_headers(struct gw_chat *chat, struct gw_attempt *att)
{
    char n[16];
    snprintf(n, sizeof n, "%d", chat->attempts);
    chat->served_provider = att->prov->cfg->name;
    chat->served_model = att->tgt->model;
    http_req_add_header(chat->req, "x-request-id", chat->request_id);
    http_req_add_header(chat->req, "x-backstop-provider", att->prov->cfg->name);
    http_req_add_header(chat->req, "x-backstop-model", att->tgt->model);
    http_req_add_header(chat->req, "x-backstop-attempts", n);
    if (chat->failover[0])
        http_req_add_header(chat->req, "x-backstop-failover", chat->failover);
    if (chat->rp.notes[0])
        http_req_add_header(chat->req, "x-backstop-repair", chat->rp.notes);
}

/* Only the usage member is parsed: the answer itself goes out as it came. */
static void take_usage_json(struct gw_chat *chat, struct evbuffer *body)
{
    size_t len = evbuffer_get_length(body);
    const char *text = (const char *)evbuffer_pullup(body, -1);
    if (text)
        gw_usage_read(text, len, &chat->prompt_tokens, &chat->completion_tokens);
}

void gw_answer_success(struct gw_chat *chat, struct gw_attempt *att)
{
    if (chat->committed) {
        http_req_stream_end(chat->req);
        return;
    }
    add_served_headers(chat, att);
    if (att->answer) {
        json_t *u = json_object_get(att->answer, "usage");
        chat->prompt_tokens = (uint32_t)json_integer_value(json_object_get(u, "prompt_tokens"));
        chat->completion_tokens = (uint32_t)json_integer_value(json_object_get(u, "completion_tokens"));
        gw_out_answer(chat, 200, att->answer);
        return;
    }
    take_usage_json(chat, att->resp);
    chat->status = (int)att->status;
    chat->first_out_us = bs_now_us();
    http_req_reply_buffer(chat->req, (int)att->status,
                          att->content_type[0] ? att->content_type : "application/json", att->resp);
}

/* The request's own fault: the client gets the upstream's answer as is. */
void gw_answer_as_is(struct gw_chat *chat, struct gw_attempt *att)
{
    add_served_headers(chat, att);
    if (att->retry_after[0])
        http_req_add_header(chat->req, "Retry-After", att->retry_after);
    if (att->ad) {
        gw_out_upstream_error(chat, att->fail, att->status, att->error_body);
        return;
    }
    chat->status = (int)att->status;
    chat->first_out_us = bs_now_us();
    http_req_reply_buffer(chat->req, (int)att->status,
                          att->content_type[0] ? att->content_type : "application/json", att->resp);
}

/* Bytes already reached the client: end the stream with an explicit error
 * event so no client mistakes a cut for a complete answer. */
void gw_answer_stream_broken(struct gw_chat *chat, struct gw_attempt *att)
{
    gw_out_error(chat, att->fail, att->detail, att->ad ? att->error_body : NULL);
}

void gw_answer_all_failed(struct gw_chat *chat)
{
    if (chat->attempts == 0 && chat->untranslatable[0]) {
        /* No target was tried because the request itself cannot be put in
         * their formats: the client's to fix, as a provider would say. */
        gw_chat_reply_error(chat, 400, "invalid_request", chat->untranslatable);
        return;
    }
    char msg[1024];
    bool late = chat->deadline_hit || bs_now_us() >= chat->deadline_us;
    snprintf(msg, sizeof msg, "%s for model %s: %s",
             late ? "request deadline exceeded" : "every target failed", chat->chain->name,
             chat->reasons[0] ? chat->reasons : "no usable target");
    if (!late) {
        /* When breakers blocked targets, the earliest end of their
         * cool-downs is when trying again can help. */
        uint64_t now = bs_wall_ms(), secs = 1;
        if (chat->breaker_retry_at > now)
            secs = (chat->breaker_retry_at - now + 999) / 1000;
        char ra[24];
        snprintf(ra, sizeof ra, "%llu", (unsigned long long)secs);
        http_req_add_header(chat->req, "Retry-After", ra);
    }
    gw_chat_reply_error(chat, late ? 504 : 503, late ? "deadline_exceeded" : "all_targets_failed", msg);
}

int gw_chat_commit_stream(struct gw_chat *chat, struct gw_attempt *att)
{
    if (!chat->req)
        return -1;
    gw_hedge_settle(chat, att, true);
    add_served_headers(chat, att);
    http_req_add_header(chat->req, "Cache-Control", "no-cache");
    chat->status = (int)att->status;
    chat->committed = true;
    chat->first_out_us = bs_now_us();
    if (chat->chain->continue_streams && !(chat->cont_raw = evbuffer_new()))
        chat->cont_broken = true;
    if (gw_out_stream_begin(chat) < 0)
        return -1;
    return http_req_stream_start(chat->req, (int)att->status, "text/event-stream");
}
