/*
 * One chat request/response on the wire: when each byte goes out, and how
 * the exchange ends (completed, cancelled by the client, or aborted by a
 * fault). Format-agnostic: it sends a prepared body or a prepared list of
 * stream events; the wire format layer decides what they contain.
 *
 * Ownership: once created, an exchange frees itself exactly once, from one
 * of libevent's callbacks (the reply was fully written, or the connection
 * closed). Nothing else may free it, and nobody may touch it after handing
 * it to sim_exchange_start().
 */
#ifndef SIM_EXCHANGE_H
#define SIM_EXCHANGE_H

#include <event2/http.h>
#include <stdbool.h>

#include "sim_server.h"
#include "sim_strv.h"

enum sim_stream_end {
	SIM_END_NORMAL,      /* terminating chunk after the last event */
	SIM_END_CLOSE,       /* drop the connection after the last event */
};

struct sim_plan {
	int status;
	const char *content_type;
	char *body;                   /* non-stream body (owned) */

	bool stream;
	struct sim_strv events;       /* stream events (owned) */
	size_t n_send;                /* how many of them to send */
	enum sim_stream_end end;

	bool hang;
	bool reset;
	long latency_ms;              /* before the status line */
	long ttfb_ms;                 /* streams: before the first event */
	long chunk_delay_ms;          /* streams: between events ... */
	long delay_after;             /* ... after the first delay_after of them */
	long retry_after;             /* -1 = no header */
	long retry_after_ms;          /* -1 = no header */
	char request_id[96];          /* x-request-id response header */
	char error_type[160];         /* x-amzn-ErrorType header (AWS errors), "" = none */

	/* counted into the token totals if the exchange completes */
	bool success;
	long prompt_tokens;
	long completion_tokens;
};

/* Binds a new exchange to req and starts watching its connection. Returns
 * NULL on allocation failure (the caller then answers req itself). */
struct sim_exchange *sim_exchange_new(struct sim_server *srv,
				      struct evhttp_request *req);
/* The plan to fill in before starting; initialised to a plain 500. */
struct sim_plan *sim_exchange_plan(struct sim_exchange *ex);
void sim_exchange_start(struct sim_exchange *ex);

/* Shutdown: frees exchanges whose connection somehow outlived evhttp_free. */
void sim_exchange_free_all(struct sim_server *srv);

#endif
