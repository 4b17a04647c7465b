/*
 * ad_inbound: the Anthropic Messages API on the client side (POST
 * /v1/messages for clients on the Anthropic SDK).  The gateway turns the
 * client's request into its own OpenAI form, serves it through the same
 * chains and adapters as any other, and turns the OpenAI answer back.
 *
 * Wiring, for a streamed request: the target's decoder (ad_ops.stream_feed)
 * emits OpenAI chunks; pass ad_in_stream_emit as its emit function with an
 * ad_in_stream as arg, and the client gets the Anthropic event sequence
 * through the stream's write function.  An error the gateway raises after
 * the stream started goes the same way: ad_in_stream_emit(s, NULL, 0,
 * false, &err) writes the Anthropic error event.
 *
 * Ownership as in ad.h: results belong to the caller, inputs are borrowed.
 */
#ifndef BS_AD_INBOUND_H
#define BS_AD_INBOUND_H

#include "ad.h"

/* An Anthropic Messages request -> the equivalent OpenAI chat request
 * (model kept: it is the client's alias; a streamed request asks for
 * include_usage, which the Anthropic events need).  NULL with err set
 * (FAIL_CLIENT naming the part) when it cannot be expressed. */
json_t *ad_in_request(const json_t *anthropic_req, struct ad_error *err);

/* An OpenAI chat.completion -> an Anthropic message.  model: the name the
 * client asked for (NULL keeps the completion's). */
json_t *ad_in_response(const json_t *completion, const char *model, struct ad_error *err);

/* An OpenAI error answer (status and body, e.g. from ad_ops.classify or
 * the gateway's own errors) -> an Anthropic error body
 * {"type":"error","error":{"type","message"}}. */
json_t *ad_in_error(long status, const json_t *openai_error);
/* The Anthropic error type for an HTTP status, and for a failure class
 * (errors inside a stream have no status). */
const char *ad_in_error_type_status(long status);
const char *ad_in_error_type_class(enum fail_class c);

/* Writes SSE text to the client; non-zero stops the stream. */
typedef int (*ad_in_write_fn)(void *arg, const char *sse, size_t len);

struct ad_in_stream;
struct ad_in_stream *ad_in_stream_new(const char *model, ad_in_write_fn write, void *arg);
/* An ad_emit_fn (arg: the ad_in_stream).  With error set, chunk may hold
 * the OpenAI error body that came with it (as decoders emit it), which
 * refines the Anthropic error type (overloaded, timeout).  Returns the write function's
 * non-zero value, or -1 when memory ran out or a chunk was unusable (an
 * error event has then been written where possible). */
int ad_in_stream_emit(void *in_stream, const char *chunk, size_t len, bool done, const struct ad_error *error);
/* Whether message_stop (or an error event) has been written. */
bool ad_in_stream_ended(const struct ad_in_stream *s);
void ad_in_stream_free(struct ad_in_stream *s);

#endif
