/*
 * gw_fault: forced failures (`backstopctl fail`).  At the start of an
 * attempt a matching fault takes the upstream's place: no request is sent,
 * and what the upstream would have done is fed into the attempt's own
 * handlers (response head and body, stream events, the transfer's end with
 * a curl result code), or left to its own timers (a hang).  Classification,
 * retries, breakers, events and the access log then run exactly as for a
 * real failure.  Latency is the exception that calls the upstream: after
 * the delay, the real transfer starts.
 *
 * Ownership: the state of a forced failure (struct gw_fault_run) belongs to
 * its attempt: created by gw_fault_begin, stopped by gw_fault_stop when the
 * attempt is cancelled, freed by gw_fault_free with the attempt.
 */
#ifndef BS_GW_FAULT_H
#define BS_GW_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>

struct gw_attempt;
struct gw_fault_run;

/* 0: no fault, start the upstream transfer; 1: a fault runs the attempt
 * (the caller starts nothing); -1: out of memory. */
int gw_fault_begin(struct gw_attempt *att);
void gw_fault_stop(struct gw_fault_run *run);
void gw_fault_free(struct gw_fault_run *run);

/* gw_attempt.c: the attempt's transfer handlers, as curl calls them. */
size_t gw_attempt_header(struct gw_attempt *att, const char *line, size_t len);
size_t gw_attempt_body(struct gw_attempt *att, const char *p, size_t len);
/* The transfer ended with rc; connected: a connection had been made. */
void gw_attempt_ended(struct gw_attempt *att, CURLcode rc, bool connected);

#endif
