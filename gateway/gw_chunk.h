/*
 * gw_chunk: whether an OpenAI chat.completion.chunk says anything: text, a
 * refusal, a tool or function call, or an end (a finish_reason).  A
 * role-only or empty delta does not, nor a usage-only chunk.  The native
 * stream commits to the client on the first chunk that does (gw_attempt.c);
 * it is asked only before the commit, once or twice a stream, and builds no
 * document.  Data that is not a chunk as OpenAI documents it (no
 * "choices") counts as saying something, so it is relayed as before.
 */
#ifndef BS_GW_CHUNK_H
#define BS_GW_CHUNK_H

#include <stdbool.h>
#include <stddef.h>

bool gw_chunk_says(const char *data, size_t len);
/* Whether the chunk ends a choice (a non-empty finish_reason): a stream
 * that closes cleanly after one is a complete answer even without
 * data: [DONE], which some compatible servers never send (gw_attempt.c). */
bool gw_chunk_finishes(const char *data, size_t len);

#endif
