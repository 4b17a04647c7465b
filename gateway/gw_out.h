/*
 * gw_out: what the client reads, in the API it speaks (see gw_out.c), and
 * the record of what it was sent.
 *
 * Ownership: struct gw_out_state lives inside its chat and is written only
 * by gw_out.c: every answer head and stream goes out through here, so the
 * status and timing the access log shows are the ones the client got.
 */
#ifndef BS_GW_OUT_H
#define BS_GW_OUT_H

#include <event2/buffer.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "fail.h"

struct gw_chat;
struct ad_in_stream;

struct gw_out_state {
    int status;                   /* the status the client got (0: nothing yet) */
    bool committed;               /* the client has the response head */
    uint64_t first_out_us;        /* when it got it */
    const char *served_provider;  /* the target that answered, for the access log */
    const char *served_model;
    struct ad_in_stream *in_stream;  /* Anthropic client, streamed: the event writer */
};

/* The target whose answer the client gets (strings of the chat's catalog). */
void gw_out_served(struct gw_chat *chat, const char *provider, const char *model);
/* Starts the client's stream (head with status, then events); -1 when the
 * client is gone or memory ran out. */
int gw_out_stream_begin(struct gw_chat *chat, int status);
int gw_out_chunk(struct gw_chat *chat, const char *chunk, size_t len);
int gw_out_done(struct gw_chat *chat);
/* Ends the stream cleanly after its last event. */
void gw_out_stream_end(struct gw_chat *chat);
/* Ends a started stream with an explicit error event; error: the OpenAI
 * error body the upstream's stream gave, or NULL. */
void gw_out_error(struct gw_chat *chat, enum fail_class c, const char *message, const json_t *error);
/* The same with the OpenAI error's type and code chosen by the caller. */
void gw_out_error_as(struct gw_chat *chat, enum fail_class c, const char *type, const char *code,
                     const char *message, const json_t *error);
/* An error the gateway raises itself, before the stream started, in the
 * client's API ({"error":{message,type,code,param}} for OpenAI). */
void gw_out_gateway_error(struct gw_chat *chat, int status, const char *type, const char *code,
                          const char *message);
/* The same with the default type for the status (invalid_request_error, ...). */
void gw_out_reply_error(struct gw_chat *chat, int status, const char *code, const char *message);
/* A whole answer (an OpenAI chat.completion) in the client's API. */
void gw_out_answer(struct gw_chat *chat, int status, const json_t *completion);
/* An upstream's body as it came (the native path). */
void gw_out_reply_buffer(struct gw_chat *chat, int status, const char *content_type, struct evbuffer *body);
/* An OpenAI error body from an upstream, in the client's API; status is
 * the upstream's. */
void gw_out_upstream_error(struct gw_chat *chat, enum fail_class c, long status, const json_t *error);
void gw_out_free(struct gw_out_state *out);

#endif
