/* gw_classify: turns what an upstream did into a failure class. */
#ifndef BS_GW_CLASSIFY_H
#define BS_GW_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include "fail.h"
#include "xfer_rc.h"

/* How a transfer ended (any backend: gateway/gw_upstream.h).  connected: the
 * TCP connection had been established; answered: the response head had
 * arrived. */
enum fail_class gw_classify_xfer(enum xfer_rc rc, bool connected, bool answered);
/* A non-2xx answer, by status and (OpenAI-shaped) error body. */
enum fail_class gw_classify_http(long status, const char *body, size_t len);

#endif
