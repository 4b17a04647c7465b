/*
 * Gemini generateContent wire format (Google AI Studio, and Gemini on
 * Vertex AI, which speaks the same body): request validation into a
 * struct sim_conv, and rendering of answers, the data-only SSE stream and
 * Google RPC error bodies.
 *
 * Transport-free (jansson only), like sim_openai.h; sim_gemini_route.c
 * decides faults and hands the bytes to an exchange.
 */
#ifndef SIM_GEMINI_H
#define SIM_GEMINI_H

#include <jansson.h>
#include <stdbool.h>

#include "sim_gen.h"
#include "sim_strv.h"

struct sim_gem_request {
	struct sim_conv conv;     /* owned; sim_gem_request_free releases it */
	json_t *schema;           /* the chosen tool's parameters as JSON Schema (owned) */
};

/* A Google RPC error: {"error":{"code","message","status","details"?}}. */
struct sim_gem_error {
	int status;               /* HTTP; 0: allocation failure (a 500) */
	const char *rpc;          /* "INVALID_ARGUMENT", ... */
	const char *reason;       /* details[].reason, or NULL */
	const char *quota_id;     /* a QuotaFailure violation's quotaId, or NULL */
	char message[512];
};

struct sim_gem_meta {
	const char *response_id;
	const char *model;
	bool filtered;            /* the content_filter fault: cut with SAFETY */
};

int sim_gem_parse_request(const json_t *body, struct sim_gem_request *out,
			  struct sim_gem_error *err);
void sim_gem_request_free(struct sim_gem_request *r);

/* All renderers return malloc'd text (or push to *out), NULL / -1 on
 * allocation failure. */
char *sim_gem_render_response(const struct sim_gem_meta *m,
			      const struct sim_answer *a);
/* The events of a streamed answer: one per text piece (nchunks as for
 * sim_gen_split) or one with the whole function call, the last carrying
 * finishReason and usageMetadata.  No sentinel: every event is data. */
int sim_gem_render_stream(const struct sim_gem_meta *m,
			  const struct sim_answer *a, long nchunks,
			  struct sim_strv *out);
char *sim_gem_render_error(const struct sim_gem_error *e);
/* "data: {"error":{...}}" for an error that strikes mid-stream. */
char *sim_gem_render_stream_error(const char *code, const char *message);
/* The error a "status=N" fault answers with, as Google words it; code
 * ("context_length_exceeded", "insufficient_quota", "API_KEY_INVALID",
 * or an RPC status name) and message override it. */
void sim_gem_fault_error(int status, const char *code, const char *message,
			 long prompt_tokens, struct sim_gem_error *out);

#endif
