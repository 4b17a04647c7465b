/*
 * Anthropic Messages wire format (POST /v1/messages): request validation
 * into a struct sim_conv, and rendering of messages, the named-event
 * stream and Anthropic's error bodies.
 *
 * Transport-free (jansson only), like sim_openai.h; sim_anthropic_route.c
 * decides faults and hands the bytes to an exchange.
 */
#ifndef SIM_ANTHROPIC_H
#define SIM_ANTHROPIC_H

#include <jansson.h>
#include <stdbool.h>

#include "sim_gen.h"
#include "sim_strv.h"

struct sim_ant_request {
	const char *model;        /* borrowed from the parsed body */
	bool stream;
	struct sim_conv conv;     /* owned; sim_ant_request_free releases it */
};

/* An Anthropic error: {"type":"error","error":{"type","message"}}. */
struct sim_ant_error {
	int status;               /* 0: allocation failure (a 500) */
	const char *type;
	char message[512];
};

struct sim_ant_meta {
	const char *id;           /* "msg_..." */
	const char *tool_id;      /* "toolu_..." */
	const char *model;
	const char *request_id;   /* into error bodies */
};

int sim_ant_parse_request(const json_t *body, struct sim_ant_request *out,
			  struct sim_ant_error *err);
void sim_ant_request_free(struct sim_ant_request *r);

/* All renderers return malloc'd text, or NULL on allocation failure. */
char *sim_ant_render_message(const struct sim_ant_meta *m,
			     const struct sim_answer *a);
/* Appends the events of a streamed answer: message_start, ping, the
 * content block (text deltas in nchunks pieces as sim_gen_split, or
 * input_json_delta fragments in max(2, nchunks)), message_delta and
 * message_stop.  *n_data: the events before message_stop, the ones a
 * truncating fault counts. */
int sim_ant_render_stream(const struct sim_ant_meta *m,
			  const struct sim_answer *a, long nchunks,
			  struct sim_strv *out, size_t *n_data);
/* "event: error" with the given type (NULL: overloaded_error). */
char *sim_ant_render_stream_error(const char *type, const char *message);
char *sim_ant_render_error(const struct sim_ant_error *e, const char *request_id);
/* The error a "status=N" fault answers with, as Anthropic words it; code
 * (an error type, or "context_length_exceeded" / "insufficient_quota" for
 * Anthropic's own text for those cases) and message override it. */
void sim_ant_fault_error(int status, const char *code, const char *message,
			 long prompt_tokens, struct sim_ant_error *out);

#endif
