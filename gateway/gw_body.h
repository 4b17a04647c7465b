/*
 * gw_body: the upstream body for an OpenAI-compatible target is the client's
 * body with only "model" changed.  Re-serialising the whole document with
 * jansson for that costs time proportional to the prompt on every attempt;
 * splicing the new value into the raw bytes costs one copy.
 */
#ifndef BS_GW_BODY_H
#define BS_GW_BODY_H

#include <stddef.h>

/* Finds the top-level member `key` (a plain key, no escapes) of a JSON
 * object text: the byte range of its value in *vstart / *vend.  0 when found
 * exactly once; -1 otherwise. */
int gw_body_find_member(const char *body, size_t len, const char *key, size_t *vstart,
                        size_t *vend);

/* Finds the top-level "model" member of a JSON object text and returns, in
 * *vstart / *vend, the byte range of its value (quotes included).  0 when
 * found; -1 when the text is not an object with exactly one top-level
 * "model" string (the caller then re-serialises instead). */
int gw_body_find_model(const char *body, size_t len, size_t *vstart, size_t *vend);

/* body with the value of its top-level "model" replaced by model (JSON-
 * escaped); malloc'd, NUL-terminated; NULL when the splice does not apply
 * or memory ran out. */
char *gw_body_with_model(const char *body, size_t len, const char *model, size_t *outlen);
/* The same, with the value's range already known (gw_reqscan found it). */
char *gw_body_splice(const char *body, size_t len, size_t vs, size_t ve, const char *model,
                     size_t *outlen);

#endif
