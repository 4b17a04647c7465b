/*
 * gw_up_curl: the libcurl backend of upstream transfers (gw_upstream.h),
 * run on the worker's curlm (shared/curlm.h).  The only place where a
 * gw_xfer meets libcurl's types: its headers become a curl_slist, its
 * callbacks are wrapped in curl's signatures (GW_XFER_PAUSE becomes
 * CURL_WRITEFUNC_PAUSE), and curl's result becomes an enum xfer_rc with
 * curl's own text in x->why.
 */
#ifndef BS_GW_UP_CURL_H
#define BS_GW_UP_CURL_H

#include <curl/curl.h>

#include "curlm.h"
#include "gw_upstream.h"

/* 0 or -1 (done() is not called). */
int gw_up_curl_start(struct curlm *m, struct gw_xfer *x);
void gw_up_curl_cancel(struct curlm *m, struct gw_xfer *x);
void gw_up_curl_resume(struct gw_xfer *x);
long gw_up_curl_status(const struct gw_xfer *x);
/* Returns the handle to the pool and frees the header copy. */
void gw_up_curl_finish(struct curlm *m, struct gw_xfer *x);

/* The transfer result a libcurl code stands for. */
enum xfer_rc gw_up_curl_rc(CURLcode rc);

#endif
