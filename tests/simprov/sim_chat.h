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

#endif
