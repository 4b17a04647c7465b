/*
 * What every wire format's chat route shares: which fault a request gets,
 * and the timing a fault asks for.
 */
#ifndef SIM_CHAT_H
#define SIM_CHAT_H

#include <event2/http.h>
#include <jansson.h>

#include "sim_exchange.h"
#include "sim_fault.h"
#include "sim_gen.h"
#include "sim_server.h"

enum pick { PICK_NONE, PICK_FAULT, PICK_BAD_HEADER };

/* The request's x-sim-fault header, else the standing fault (consuming its
 * count and rate sequence); *f is filled for PICK_FAULT, *err for
 * PICK_BAD_HEADER. */
enum pick sim_chat_pick_fault(struct sim_server *srv, struct evhttp_request *req,
			      struct sim_fault *f, struct sim_fault_error *err);
/* latency, ttfb, chunk delay and retry-after from the fault into the plan. */
void sim_chat_plan_timing(struct sim_plan *p, const struct sim_fault *f);

/* A format's mid-stream error event (malloc'd); code/message may be NULL. */
typedef char *(*sim_error_event_fn)(const char *code, const char *message);
/* close_after / stream_error_after cut the prepared events after n_data
 * of them (the format's terminator is never sent then); no_done sends
 * the n_data events and ends cleanly, without the terminator;
 * cut_after_done sends them all and closes before the chunked end.
 * 0 or -1. */
int sim_chat_plan_stream_faults(struct sim_plan *p, const struct sim_fault *f, size_t n_data,
				sim_error_event_fn render_error);
/* The model an answer names: the fault's model=, else the server's
 * --model-version, else what the request asked for (requested). */
const char *sim_chat_model(const struct sim_server *srv, const struct sim_fault *f,
			   const char *requested);
/* The generator's options from the fault (no_tools clears conv's tool). */
struct sim_gen_opts sim_chat_gen_opts(const struct sim_server *srv, const struct sim_fault *f,
				      struct sim_conv *conv);
/* A chat request as every format's route starts it: its exchange and
 * plan (with the request id), the body (owned, NULL when not JSON), the
 * arrival counted (key: the credential to record), the fault picked and
 * its timing applied.  c->fp points into c itself: do not copy c. */
struct sim_chat_req {
	struct sim_exchange *ex;
	struct sim_plan *p;
	unsigned long long id;
	json_t *body;
	enum pick pk;
	struct sim_fault f;
	struct sim_fault_error ferr;
	const struct sim_fault *fp;   /* &f when pk == PICK_FAULT, else NULL */
};
/* 0, or -1 when no exchange could be made (req answered with a 500). */
int sim_chat_begin(struct sim_server *srv, struct evhttp_request *req, const char *key,
		   struct sim_chat_req *c);

/* Rendering failed: the plan becomes a plain 500. */
void sim_chat_plan_failed(struct sim_plan *p);

/* A dialect of the OpenAI format (Azure OpenAI): what it changes on the
 * OpenAI route.  Hooks may be NULL. */
struct sim_oai_flavor {
	const char *model;        /* reported model when the body's is not used, or NULL */
	/* Rewrites a 200 answer: p->body, or p->events before stream faults
	 * apply (*n_data: the events a truncating fault counts). */
	int (*answer)(struct sim_plan *p, const struct sim_fault *f, size_t *n_data);
	/* Rewrites the error a status fault produced. */
	void (*fault_error)(struct sim_plan *p, const struct sim_fault *f);
};
/* The OpenAI chat route in a dialect (NULL: plain OpenAI). */
void sim_chat_openai_as(struct sim_server *srv, struct evhttp_request *req,
			const struct sim_oai_flavor *fl);

#endif
