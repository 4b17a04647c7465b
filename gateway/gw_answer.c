/*
 * gw_answer: how a chat request answers its client (gw_answer.h).
 */
#include "gw_answer.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "fmt.h"
#include "gw_attempt.h"
#include "gw_chat.h"

/* Gateway-raised errors carry the request id and the attempts too. */
static void error_headers(struct gw_chat *chat)
{
    char n[24];
    n[fmt_u64(n, (uint64_t)(chat->route.attempts > 0 ? chat->route.attempts : 0))] = '\0';
    http_req_add_header(chat->req, "x-request-id", chat->request_id);
    http_req_add_header(chat->req, "x-backstop-attempts", n);
    if (chat->trace.failover[0])
        http_req_add_header(chat->req, "x-backstop-failover", chat->trace.failover);
}

void gw_answer_error(struct gw_chat *chat, int status, const char *code, const char *msg)
{
    error_headers(chat);
    gw_out_reply_error(chat, status, code, msg);
}

void gw_answer_typed_error(struct gw_chat *chat, int status, const char *type, const char *code,
                           const char *msg)
{
    error_headers(chat);
    gw_out_gateway_error(chat, status, type, code, msg);
}

static void add_served_headers(struct gw_chat *chat, const struct gw_attempt *att)
{
    char n[16];
    n[fmt_u64(n, (uint64_t)chat->route.attempts)] = '\0';
    gw_out_served(chat, att->prov->cfg->name, att->tgt->model);
    http_req_add_header(chat->req, "x-request-id", chat->request_id);
    http_req_add_header(chat->req, "x-backstop-provider", att->prov->cfg->name);
    http_req_add_header(chat->req, "x-backstop-model", att->tgt->model);
    http_req_add_header(chat->req, "x-backstop-attempts", n);
    if (chat->trace.failover[0])
        http_req_add_header(chat->req, "x-backstop-failover", chat->trace.failover);
    if (chat->rp.notes[0])
        http_req_add_header(chat->req, "x-backstop-repair", chat->rp.notes);
}

void gw_answer_success(struct gw_chat *chat, const struct gw_attempt *att)
{
    if (chat->out.committed) {
        gw_out_stream_end(chat);
        return;
    }
    add_served_headers(chat, att);
    if (att->answer) {
        gw_out_answer(chat, 200, att->answer);
        return;
    }
    gw_out_reply_buffer(chat, (int)att->status, att->content_type[0] ? att->content_type : "application/json",
                        att->resp);
}

/* The request's own fault: the client gets the upstream's answer as is. */
void gw_answer_as_is(struct gw_chat *chat, const struct gw_attempt *att)
{
    add_served_headers(chat, att);
    if (att->retry_after[0])
        http_req_add_header(chat->req, "Retry-After", att->retry_after);
    if (att->ad) {
        gw_out_upstream_error(chat, att->fail, att->status, att->error_body);
        return;
    }
    gw_out_reply_buffer(chat, (int)att->status, att->content_type[0] ? att->content_type : "application/json",
                        att->resp);
}

/* Bytes already reached the client: end the stream with an explicit error
 * event so no client mistakes a cut for a complete answer. */
void gw_answer_stream_broken(struct gw_chat *chat, const struct gw_attempt *att)
{
    gw_out_error(chat, att->fail, att->detail, att->ad ? att->error_body : NULL);
}

void gw_answer_all_failed(struct gw_chat *chat, uint64_t breaker_retry_at, bool late)
{
    if (chat->route.attempts == 0 && chat->trace.untranslatable[0]) {
        /* No target was tried because the request itself cannot be put in
         * their formats: the client's to fix, as a provider would say. */
        gw_answer_error(chat, 400, "invalid_request", chat->trace.untranslatable);
        return;
    }
    char msg[1024];
    snprintf(msg, sizeof msg, "%s for model %s: %s",
             late ? "request deadline exceeded" : "every target failed", chat->chain->name,
             chat->trace.reasons[0] ? chat->trace.reasons : "no usable target");
    if (!late) {
        /* When breakers blocked targets, the earliest end of their
         * cool-downs is when trying again can help. */
        uint64_t now = bs_wall_ms(), secs = 1;
        if (breaker_retry_at > now)
            secs = (breaker_retry_at - now + 999) / 1000;
        char ra[24];
        ra[fmt_u64(ra, secs)] = '\0';
        http_req_add_header(chat->req, "Retry-After", ra);
    }
    gw_answer_error(chat, late ? 504 : 503, late ? "deadline_exceeded" : "all_targets_failed", msg);
}

int gw_answer_stream_head(struct gw_chat *chat, const struct gw_attempt *att)
{
    if (!chat->req)
        return -1;
    add_served_headers(chat, att);
    http_req_add_header(chat->req, "Cache-Control", "no-cache");
    return gw_out_stream_begin(chat, (int)att->status);
}
