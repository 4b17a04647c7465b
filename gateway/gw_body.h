/*
 * gw_body: the upstream body for an OpenAI-compatible target is the client's
 * body with only "model" changed.  Re-serialising the whole document with
 * jansson for that costs time proportional to the prompt on every attempt;
 * splicing the new value into the raw bytes costs one copy.
 */
#ifndef BS_GW_BODY_H
#define BS_GW_BODY_H

#include <stddef.h>

/* body with the value at [vs, ve) (the top-level "model" value, quotes
 * included, as gw_reqscan found it) replaced by model, JSON-escaped;
 * malloc'd, NUL-terminated; NULL when the range is not inside body or memory
 * ran out. */
char *gw_body_splice(const char *body, size_t len, size_t vs, size_t ve, const char *model,
                     size_t *outlen);

#endif
