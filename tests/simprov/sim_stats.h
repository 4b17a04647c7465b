/*
 * Counters a test reads back (GET /_sim/stats) to reconcile what the gateway
 * claims with what actually reached the provider.
 *
 * Every chat request ends in exactly one of completed, cancelled or aborted,
 * or is still in_flight, so at any moment without an intervening reset:
 *     requests == completed + cancelled + aborted + in_flight
 * faulted counts requests a fault spec applied to, whatever their ending.
 */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include <jansson.h>

struct sim_stats {
	long long requests;          /* chat requests received */
	long long stream_requests;   /* of which asked for "stream": true */
	long long completed;         /* response fully written */
	long long cancelled;         /* client went away before that */
	long long aborted;           /* we dropped the connection (a fault) */
	long long faulted;           /* a fault spec applied */
	long long prompt_tokens;     /* summed over successful completions */
	long long completion_tokens;
	long long in_flight;         /* a gauge: reset leaves it alone */
	long long connections;       /* TCP connections accepted, admin ones too:
				      * few per many requests = keep-alive */
	json_t *models;              /* requested model -> count */
	json_t *last_request;        /* last chat body as parsed, or NULL */
	json_t *last_headers;        /* selected headers of that request */
};

int sim_stats_init(struct sim_stats *st);
void sim_stats_free(struct sim_stats *st);
/* Zeroes everything but in_flight, which still describes live requests. */
void sim_stats_reset(struct sim_stats *st);

/* Records an arriving chat request. body may be NULL (not JSON); the header
 * values may be NULL (absent). */
/* Counts a request for model m (formats that name it outside the body). */
void sim_stats_model(struct sim_stats *st, const char *m);
void sim_stats_arrival(struct sim_stats *st, json_t *body,
		       const char *authorization, const char *request_id,
		       const char *content_type);

char *sim_stats_render(const struct sim_stats *st, const char *name);

#endif
