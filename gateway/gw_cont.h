/*
 * gw_cont: continuing a streamed text answer that broke after bytes reached
 * the client (see gw_cont.c).
 *
 * Ownership: struct gw_cont lives inside its chat and is written only by
 * gw_cont.c; gw_cont_free() releases what it holds.
 */
#ifndef BS_GW_CONT_H
#define BS_GW_CONT_H

#include <event2/buffer.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct gw_chat;

struct gw_cont {
    bool broken;                  /* tool calls, several choices, unparsable: cannot continue */
    bool finished;                /* a finish_reason went out: nothing left to continue */
    json_t *id, *created, *model; /* the stream's identity, as the client first saw it */
    struct evbuffer *raw;         /* the events relayed, length-prefixed, until needed */
    struct evbuffer *text;        /* parsed from raw when a continuation starts */
};

/* The stream was committed to the client: start remembering what it sees
 * (when the chain continues streams). */
void gw_cont_begin(struct gw_chat *chat);
void gw_cont_observe(struct gw_chat *chat, const char *data, size_t len);
/* Parses what was relayed (once) and says whether it can be continued. */
bool gw_cont_possible(struct gw_chat *chat);
/* The request for the next target: the client's, plus the partial answer
 * as a trailing assistant message.  NULL when out of memory. */
json_t *gw_cont_body(struct gw_chat *chat);
/* Relays one event of a continuing attempt, re-stamped; -1 on failure. */
int gw_cont_relay(struct gw_chat *chat, const char *data, size_t len, bool done);
/* Whether the events the client gets are being recorded (the chain
 * continues streams and this one can still be continued): then
 * gw_cont_finished() can tell whether a finish_reason went out, and the
 * attempt need not look for one in every event. */
bool gw_cont_recording(const struct gw_chat *chat);
/* Whether a finish_reason reached the client, from what was recorded (the
 * record is parsed once, as for a continuation). */
bool gw_cont_finished(struct gw_chat *chat);
void gw_cont_free(struct gw_cont *cont);

#endif
