/*
 * A growable list of owned byte strings: how a wire format hands a prepared
 * stream of events to the transport without either knowing the other.
 */
#ifndef SIM_STRV_H
#define SIM_STRV_H

#include <stddef.h>

struct sim_strv {
	char **v;
	size_t *len;
	size_t n, cap;
};

/* Takes ownership of s (malloc'd) even on failure, so callers never need a
 * second cleanup path. Returns 0, or -1 on allocation failure. */
int sim_strv_push(struct sim_strv *sv, char *s, size_t len);
/* Wraps a JSON text as one SSE event ("data: <json>\n\n"); frees json. */
int sim_strv_push_sse(struct sim_strv *sv, char *json);
/* Drops (and frees) every string from index n on. */
void sim_strv_truncate(struct sim_strv *sv, size_t n);
void sim_strv_free(struct sim_strv *sv);

#endif
