/* gw_usage: the token counts of an OpenAI answer or stream chunk, read from
 * its text with the request scanner rather than a jansson document (this
 * runs on every answer, for the access log and the controller). */
#ifndef BS_GW_USAGE_H
#define BS_GW_USAGE_H

#include <stddef.h>
#include <stdint.h>

/* json: one JSON object; its "usage" member's prompt_tokens and
 * completion_tokens go to *prompt and *completion (those absent or not
 * unsigned integers read as 0).  0 when a usage object was there, -1 when
 * not (the outputs are then untouched). */
int gw_usage_read(const char *json, size_t len, uint32_t *prompt, uint32_t *completion);

#endif
