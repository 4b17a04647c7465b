/*
 * A growable list of byte strings: how a wire format hands a prepared stream
 * of events to the transport without either knowing the other.
 *
 * All strings live back to back in one buffer and are addressed by offset,
 * so a stream of a few hundred thousand events costs a handful of
 * allocations rather than one per event. Pointers from sim_strv_at() are
 * valid until the next call that adds to the list.
 */
#ifndef SIM_STRV_H
#define SIM_STRV_H

#include <stddef.h>

struct sim_strv {
	char *buf;            /* the strings, back to back */
	size_t used, bufcap;  /* bytes in buf (incl. an open string), capacity */
	size_t *end;          /* end[i]: offset one past string i */
	size_t n, cap;        /* strings, capacity of end[] */
};

/* Takes ownership of s (malloc'd) even on failure, so callers never need a
 * second cleanup path. Returns 0, or -1 on allocation failure (s NULL counts
 * as one). */
int sim_strv_push(struct sim_strv *sv, char *s, size_t len);
/* Wraps a JSON text as one SSE event ("data: <json>\n\n"); frees json. */
int sim_strv_push_sse(struct sim_strv *sv, char *json);

/* Building a string in place: sim_strv_append adds bytes to an open string
 * (opening one if none is), sim_strv_close ends it as the next entry.
 * Returns 0, or -1 on allocation failure (the open string is then kept; drop
 * it with sim_strv_truncate). */
int sim_strv_append(struct sim_strv *sv, const char *s, size_t len);
int sim_strv_close(struct sim_strv *sv);

static inline const char *sim_strv_at(const struct sim_strv *sv, size_t i,
				      size_t *len)
{
	size_t start = i ? sv->end[i - 1] : 0;
	*len = sv->end[i] - start;
	return sv->buf + start;
}

/* Drops every string from index n on (and any open string). */
void sim_strv_truncate(struct sim_strv *sv, size_t n);
/* Cuts the last string to its first len bytes (no-op when it is shorter). */
void sim_strv_shorten_last(struct sim_strv *sv, size_t len);
void sim_strv_free(struct sim_strv *sv);

#endif
