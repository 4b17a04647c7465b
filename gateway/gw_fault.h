/*
 * gw_fault: forced failures (`backstopctl fail`), the third backend of
 * upstream transfers (gw_upstream.h).  gw_up_start hands a transfer here
 * first; when a fault of the catalog's overrides matches it (by the xfer's
 * match: provider, "provider/model", chain, key, stream, tools), no request
 * is sent and the fault makes up what the upstream would have done through
 * the transfer's own callbacks: a response head and body (an error document,
 * a stream cut or broken after some events, an empty tool turn), or the
 * transfer's end with a result (a timeout, a reset), or nothing at all (a
 * hang: the owner's own timers end it).  Classification, retries, breakers,
 * events and the access log then run exactly as for a real failure.  A
 * made-up answer is in OpenAI's wire format whatever the target's is
 * (x->openai_wire), so a drill on an Anthropic or Bedrock target fails the
 * same way as on an OpenAI one.  Latency is the exception that calls the
 * upstream: after the delay, the real transfer starts (gw_up_start_real)
 * and the fault steps aside.
 *
 * Ownership: a fault's state (struct gw_fault_run) hangs off the transfer
 * (x->fault): created by gw_fault_start, stopped by gw_fault_cancel, freed
 * by gw_fault_free from gw_up_finish.
 */
#ifndef BS_GW_FAULT_H
#define BS_GW_FAULT_H

struct gw_up;
struct gw_xfer;

/* 0: no fault matches, start the real transfer; 1: a fault runs x (done()
 * will be called, or the owner's timers end it); -1: out of memory. */
int gw_fault_start(struct gw_up *up, struct gw_xfer *x);
/* Each is a no-op for a transfer no fault runs. */
void gw_fault_cancel(struct gw_xfer *x);
/* A made-up body the owner paused: offered again now. */
void gw_fault_resume(struct gw_xfer *x);
void gw_fault_free(struct gw_xfer *x);

#endif
