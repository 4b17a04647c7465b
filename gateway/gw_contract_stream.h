/*
 * gw_contract_stream: a streamed answer checked against its contract while
 * it streams.  Text deltas are released as they arrive; tool-call deltas are
 * held until that call's arguments are complete (the next call starts, or
 * the choice finishes) and valid; with a response_format the content is
 * held until the choice finishes, since JSON is only checkable whole; the
 * role chunk waits for the first thing released, so an empty turn never
 * commits the client to this target.
 *
 * Pure: jansson and an evbuffer, no I/O.  Events are handed in as their
 * data (the bytes after "data: "); what may go to the client now comes out
 * as records (uint32 length in host order, then the data), in order.
 *
 * Ownership: one per streamed attempt, owned by the attempt; it borrows the
 * chat's contract, which outlives every attempt.
 */
#ifndef BS_GW_CONTRACT_STREAM_H
#define BS_GW_CONTRACT_STREAM_H

#include <event2/buffer.h>

#include "gw_contract.h"

struct ct_stream;

/* max_bytes bounds what is held and accumulated. NULL when out of memory. */
struct ct_stream *gw_ct_stream_new(struct gw_contract *c, size_t max_bytes);
void gw_ct_stream_free(struct ct_stream *s);

/* One event's data ("[DONE]" included).  Returns 0 (records to release, if
 * any, appended to out), 1 when the answer broke the contract (v filled;
 * nothing of this event is released), -1 when out of memory or past
 * max_bytes. */
int gw_ct_stream_feed(struct ct_stream *s, const char *data, size_t len, struct evbuffer *out,
                      struct ct_verdict *v);
/* Whether anything was released yet; whether any event came at all. */
bool gw_ct_stream_released(const struct ct_stream *s);
bool gw_ct_stream_fed(const struct ct_stream *s);
/* The assistant message as streamed so far: {role, content, tool_calls}. */
json_t *gw_ct_stream_turn(const struct ct_stream *s);
/* The records held back (the broken part of the answer), taken by the caller. */
struct evbuffer *gw_ct_stream_take_held(struct ct_stream *s);

#endif
