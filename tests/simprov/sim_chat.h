/*
 * What every wire format's chat route shares: which fault a request gets,
 * and the timing a fault asks for.
 */
#ifndef SIM_CHAT_H
#define SIM_CHAT_H

#include <event2/http.h>

#include "sim_exchange.h"
#include "sim_gen.h"
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

/* Appends a format's in-stream error event (code and message NULL for the
 * format's default); 0 or -1 when memory ran out. */
typedef int (*sim_error_event_fn)(struct sim_strv *events, const char *code, const char *message);
/* close_after / stream_error_after applied to a planned stream whose first
 * n_data events are the ones they count (f may be NULL). */
int sim_chat_stream_faults(struct sim_plan *p, const struct sim_fault *f, size_t n_data,
			   sim_error_event_fn error_event);
/* The answer options a fault asks for; no_tools takes the tool from conv. */
void sim_chat_gen_opts(const struct sim_server *srv, const struct sim_fault *f, struct sim_conv *conv,
		       struct sim_gen_opts *o);

#endif
