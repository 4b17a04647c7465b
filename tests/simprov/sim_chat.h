/*
 * What every wire format's chat route shares: which fault a request gets,
 * and the timing a fault asks for.
 */
#ifndef SIM_CHAT_H
#define SIM_CHAT_H

#include <event2/http.h>

#include "sim_exchange.h"
#include "sim_fault.h"
#include "sim_server.h"

enum pick { PICK_NONE, PICK_FAULT, PICK_BAD_HEADER };

/* The request's x-sim-fault header, else the standing fault (consuming its
 * count and rate sequence); *f is filled for PICK_FAULT, *err for
 * PICK_BAD_HEADER. */
enum pick sim_chat_pick_fault(struct sim_server *srv, struct evhttp_request *req,
			      struct sim_fault *f, struct sim_fault_error *err);
/* latency, ttfb, chunk delay and retry-after from the fault into the plan. */
void sim_chat_plan_timing(struct sim_plan *p, const struct sim_fault *f);

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
