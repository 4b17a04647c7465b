/*
 * gw_answer: the final answers of a chat request, as the engine chose them
 * (gw_decide.h): the upstream's answer with the x-backstop-* headers, the
 * upstream's error as is, a stream ended with an explicit error event, the
 * gateway's own all-down answer, or an error about the request itself.  It
 * writes through gw_out and reads the chat, the attempt and the trace.
 */
#ifndef BS_GW_ANSWER_H
#define BS_GW_ANSWER_H

#include <stdbool.h>
#include <stdint.h>

struct gw_chat;
struct gw_attempt;

/* An error the gateway raises about the request (400, 404, 503 ...). */
void gw_answer_error(struct gw_chat *chat, int status, const char *code, const char *msg);
/* An error whose "type" is not the default for its status. */
void gw_answer_typed_error(struct gw_chat *chat, int status, const char *type, const char *code,
                           const char *msg);
/* The attempt's stream is about to reach the client: send the head.  0,
 * or -1 when the client cannot take it. */
int gw_answer_stream_head(struct gw_chat *chat, const struct gw_attempt *att);
void gw_answer_success(struct gw_chat *chat, const struct gw_attempt *att);
void gw_answer_as_is(struct gw_chat *chat, const struct gw_attempt *att);
void gw_answer_stream_broken(struct gw_chat *chat, const struct gw_attempt *att);
void gw_answer_all_failed(struct gw_chat *chat, uint64_t breaker_retry_at, bool late);

#endif
