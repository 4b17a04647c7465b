/*
 * State shared by the HTTP side of the simulated provider: the listener's
 * configuration, the standing fault, the counters and the live exchanges.
 */
#ifndef SIM_SERVER_H
#define SIM_SERVER_H

#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>

#include "sim_fault.h"
#include "sim_stats.h"

struct sim_exchange;

struct sim_server {
	struct event_base *base;
	struct evhttp *http;
	const char *name;
	const char *model_version;   /* NULL: echo the requested model */
	/* --aws-key AKID:SECRET: Bedrock requests must be SigV4-signed with it
	 * (NULL: any Authorization is taken unverified). */
	const char *aws_access_key;
	const char *aws_secret_key;
	bool verbose;

	struct sim_stats stats;

	/* The standing fault (--fault or POST /_sim/fault). */
	bool fault_active;
	struct sim_fault fault;
	char fault_spec[SIM_FAULT_SPEC_MAX + 1];
	long fault_remaining;        /* requests left under count=, -1 = all */
	unsigned long fault_seq;     /* rate= sequence of the standing fault */
	unsigned long header_seq;    /* rate= sequence of x-sim-fault faults */

	unsigned long long next_id;  /* never reset: ids stay unique */
	struct sim_exchange *live;   /* chat exchanges not yet finished */
	struct evbuffer *scratch;    /* staging for reply chunks */
};

/* Installs spec as the standing fault; 0 or -1 with *err. */
int sim_server_set_fault(struct sim_server *srv, const char *spec,
			 struct sim_fault_error *err);
void sim_server_clear_fault(struct sim_server *srv);

/* Chat completions (OpenAI format), in sim_chat.c. */
void sim_chat_openai(struct sim_server *srv, struct evhttp_request *req);
/* POST /v1/messages (sim_anthropic_route.c) */
void sim_chat_anthropic(struct sim_server *srv, struct evhttp_request *req);
/* Bedrock Converse (model id as it appeared in the path, decoded), in
 * sim_bedrock_route.c. */
void sim_chat_bedrock(struct sim_server *srv, struct evhttp_request *req, const char *model, bool stream);
/* Whether path is /model/{modelId}/converse[-stream]: the id (decoded)
 * into model, the operation into *stream. */
bool sim_bedrock_match(const char *path, char *model, size_t size, bool *stream);
/* Paths with a model in them: Gemini's .../models/{m}:generateContent
 * (sim_gemini_route.c) and Azure's /openai/... (sim_azure.c).  Whether the
 * path was theirs (then the request is answered). */
bool sim_route_gemini(struct sim_server *srv, struct evhttp_request *req, const char *path);
bool sim_route_azure(struct sim_server *srv, struct evhttp_request *req, const char *path);
/* Vertex AI's Anthropic paths (sim_vertex.c). */
bool sim_route_vertex(struct sim_server *srv, struct evhttp_request *req, const char *path);

/* Small HTTP helpers, in sim_http.c. */
const char *sim_http_reason(int status);
/* Sends body (malloc'd, taken over; NULL means allocation failed and turns
 * into a bare 500) as application/json. */
void sim_http_send_json(struct evhttp_request *req, int status, char *body);
/* An OpenAI-shaped error body, for routes outside the chat path. */
void sim_http_send_error(struct evhttp_request *req, int status,
			 const char *type, const char *code,
			 const char *param, const char *message);

#endif
