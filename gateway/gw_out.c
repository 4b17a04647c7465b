/*
 * gw_out: what the client reads, in the API it speaks.  Internally every
 * answer is OpenAI's (chunks, a chat.completion, an error body); an OpenAI
 * client gets it as it is, an Anthropic client (POST /v1/messages) gets it
 * through the inbound translation (ad_inbound.h), so both share every
 * chain, adapter and failover.  Every head goes out here, which records
 * the status and the time the client got it.
 */
#include "gw_out.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ad_inbound.h"
#include "bs_time.h"
#include "gw_chat.h"

static void head_sent(struct gw_chat *chat, int status)
{
    chat->out.status = status;
    chat->out.first_out_us = bs_now_us();
}

void gw_out_served(struct gw_chat *chat, const char *provider, const char *model)
{
    chat->out.served_provider = provider;
    chat->out.served_model = model;
}

/* One event, one write (each write is an HTTP chunk of its own). */
static int write_data(struct gw_chat *chat, const char *data, size_t len)
{
    static struct evbuffer *ev; /* one worker thread: one scratch buffer */
    if (!chat->req || (!ev && !(ev = evbuffer_new())))
        return -1;
    int rc = evbuffer_add(ev, "data: ", 6) | evbuffer_add(ev, data, len) | evbuffer_add(ev, "\n\n", 2);
    size_t n = evbuffer_get_length(ev);
    if (rc == 0)
        rc = http_req_stream_write(chat->req, evbuffer_pullup(ev, -1), n);
    evbuffer_drain(ev, n);
    return rc < 0 ? -1 : 0;
}

/* ad_in_write_fn: the Anthropic events, already framed. */
static int write_sse(void *arg, const char *sse, size_t len)
{
    struct gw_chat *chat = arg;
    return chat->req && http_req_stream_write(chat->req, sse, len) == 0 ? 0 : -1;
}

int gw_out_stream_begin(struct gw_chat *chat, int status)
{
    if (!chat->req)
        return -1;
    head_sent(chat, status);
    chat->out.committed = true;
    if (chat->api == GW_API_ANTHROPIC && !chat->out.in_stream &&
        !(chat->out.in_stream = ad_in_stream_new(chat->chain->name, write_sse, chat)))
        return -1;
    return http_req_stream_start(chat->req, status, "text/event-stream");
}

void gw_out_stream_end(struct gw_chat *chat)
{
    http_req_stream_end(chat->req);
}

void gw_out_reply_error(struct gw_chat *chat, int status, const char *code, const char *message)
{
    head_sent(chat, status);
    http_req_reply_error(chat->req, status, code, message);
}

void gw_out_reply_buffer(struct gw_chat *chat, int status, const char *content_type, struct evbuffer *body)
{
    head_sent(chat, status);
    http_req_reply_buffer(chat->req, status, content_type, body);
}

void gw_out_free(struct gw_out_state *out)
{
    ad_in_stream_free(out->in_stream);
    out->in_stream = NULL;
}

int gw_out_chunk(struct gw_chat *chat, const char *chunk, size_t len)
{
    if (chat->api == GW_API_OPENAI)
        return write_data(chat, chunk, len);
    return chat->out.in_stream && ad_in_stream_emit(chat->out.in_stream, chunk, len, false, NULL) == 0 ? 0 : -1;
}

int gw_out_done(struct gw_chat *chat)
{
    if (chat->api == GW_API_OPENAI)
        return write_data(chat, "[DONE]", 6);
    return chat->out.in_stream && ad_in_stream_emit(chat->out.in_stream, NULL, 0, true, NULL) == 0 ? 0 : -1;
}

void gw_out_error(struct gw_chat *chat, enum fail_class c, const char *message, const json_t *error)
{
    gw_out_error_as(chat, c, "server_error", fail_class_name(c), message, error);
}

void gw_out_error_as(struct gw_chat *chat, enum fail_class c, const char *type, const char *code,
                     const char *message, const json_t *error)
{
    int rc = -1;
    if (chat->api == GW_API_ANTHROPIC) {
        struct ad_error err = { .fail = c };
        snprintf(err.message, sizeof err.message, "%s", message);
        char *body = error ? json_dumps(error, JSON_COMPACT) : NULL;
        if (chat->out.in_stream && !ad_in_stream_ended(chat->out.in_stream))
            ad_in_stream_emit(chat->out.in_stream, body, body ? strlen(body) : 0, false, &err);
        free(body);
        rc = chat->out.in_stream && ad_in_stream_ended(chat->out.in_stream) ? 0 : -1;
    } else {
        json_t *ev = json_pack("{s:{s:s, s:s, s:s}}", "error", "message", message, "type", type,
                               "code", code);
        char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
        json_decref(ev);
        rc = text ? write_data(chat, text, strlen(text)) : -1;
        free(text);
    }
    if (rc == 0)
        http_req_stream_end(chat->req);
    else
        http_req_stream_abort(chat->req);
}

static void reply_json(struct gw_chat *chat, int status, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        head_sent(chat, 502);
        http_req_reply_error(chat->req, 502, "bad_response", "the upstream answer cannot be translated");
        return;
    }
    head_sent(chat, status);
    http_req_reply(chat->req, status, "application/json", text, strlen(text));
    free(text);
}

void gw_out_answer(struct gw_chat *chat, int status, const json_t *completion)
{
    if (chat->api == GW_API_OPENAI) {
        reply_json(chat, status, json_incref((json_t *)completion));
        return;
    }
    struct ad_error err = { 0 };
    reply_json(chat, status, ad_in_response(completion, chat->chain->name, &err));
}

void gw_out_upstream_error(struct gw_chat *chat, enum fail_class c, long status, const json_t *error)
{
    char msg[64];
    snprintf(msg, sizeof msg, "upstream answered HTTP %ld", status);
    json_t *own = error ? NULL : json_pack("{s:{s:s, s:s, s:s, s:n}}", "error", "message", msg, "type",
                                           gw_error_type(ad_client_status(c, status)), "code",
                                           fail_class_name(c), "param");
    if (!error)
        error = own;
    if (chat->api == GW_API_OPENAI) {
        reply_json(chat, ad_client_status(c, status), json_incref((json_t *)error));
    } else {
        /* Anthropic clients know Anthropic's statuses (529 included). */
        int st = status >= 400 && status <= 599 ? (int)status : 502;
        reply_json(chat, st, ad_in_error(st, error));
    }
    json_decref(own);
}

void gw_out_gateway_error(struct gw_chat *chat, int status, const char *type, const char *code,
                          const char *message)
{
    json_t *error = json_pack("{s:{s:s, s:s, s:s, s:n}}", "error", "message", message, "type", type,
                              "code", code, "param");
    if (chat->api == GW_API_OPENAI || !error)
        reply_json(chat, status, error);
    else
        reply_json(chat, status, ad_in_error(status, error));
    if (chat->api != GW_API_OPENAI)
        json_decref(error);
}
