/*
 * AWS Bedrock Converse wire format (POST /model/{modelId}/converse and
 * /converse-stream): request validation into a struct sim_conv, rendering of
 * Converse answers, ConverseStream's binary event-stream frames (shared/evs.c,
 * CRCs and all) and AWS error bodies; and SigV4 verification of a request.
 *
 * Transport-free except for the verifier's view of the request;
 * sim_bedrock_route.c decides faults and hands the bytes to an exchange.
 */
#ifndef SIM_BEDROCK_H
#define SIM_BEDROCK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sim_gen.h"
#include "sim_strv.h"

struct sim_bdr_request {
	bool stream;              /* from the URL */
	struct sim_conv conv;     /* owned; sim_bdr_request_free releases it */
};

/* An AWS error: HTTP status, exception name (the x-amzn-ErrorType header)
 * and {"message": ...}. */
struct sim_bdr_error {
	int status;               /* 0: allocation failure (a 500) */
	const char *type;         /* e.g. "ValidationException" */
	char type_buf[64];        /* when type is a fault's own code */
	char message[512];
};

int sim_bdr_parse_request(const json_t *body, bool stream, struct sim_bdr_request *out,
			  struct sim_bdr_error *err);
void sim_bdr_request_free(struct sim_bdr_request *r);

/* {"output":{"message":...},"stopReason","usage","metrics"}; malloc'd. */
char *sim_bdr_render_converse(const struct sim_answer *a, const char *tool_id);
/* Appends the stream's frames: messageStart, the content block (text deltas
 * in nchunks pieces as sim_gen_split, or a toolUse start and input fragments
 * in max(2, nchunks)), contentBlockStop, messageStop and metadata.  *n_data:
 * the frames before metadata, the ones a truncating fault counts. */
int sim_bdr_render_stream(const struct sim_answer *a, const char *tool_id, long nchunks,
			  struct sim_strv *out, size_t *n_data);
/* An exception frame (:message-type exception); type NULL means
 * internalServerException. */
int sim_bdr_push_exception(struct sim_strv *out, const char *type, const char *message);
char *sim_bdr_render_error(const struct sim_bdr_error *e);
/* The error a "status=N" fault answers with, as Bedrock words it; code (an
 * exception name, or context_length_exceeded / insufficient_quota /
 * model_not_ready) and message override it. */
void sim_bdr_fault_error(int status, const char *code, const char *message, struct sim_bdr_error *out);

/* What the verifier sees of a request. */
struct sim_bdr_signed {
	const char *method;
	const char *path;         /* raw, as sent */
	const char *query;        /* NULL: none */
	const char *(*header)(void *arg, const char *name);  /* case-insensitive */
	void *header_arg;
	const void *body;
	size_t body_len;
	long long now;            /* unix seconds */
};

/* SigV4 check against access_key/secret (NULL access_key: any well-formed
 * Authorization passes unverified).  0, or -1 with *err as AWS's front end
 * answers (403 and its exception). */
int sim_bdr_verify(const struct sim_bdr_signed *r, const char *access_key, const char *secret,
		   struct sim_bdr_error *err);

#endif
