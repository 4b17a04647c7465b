/* gw_up_curl: upstream transfers through libcurl; see gw_up_curl.h. */
#include "gw_up_curl.h"

#include <stddef.h>
#include <stdlib.h>

enum xfer_rc gw_up_curl_rc(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return XFER_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return XFER_RESOLVE;
    case CURLE_COULDNT_CONNECT:
        return XFER_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return XFER_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
        return XFER_TLS;
    case CURLE_SEND_ERROR:
        return XFER_SEND;
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:          /* a reset or closed HTTP/2 stream reads as a failed receive */
    case CURLE_HTTP2_STREAM:
        return XFER_RECV;
    case CURLE_PARTIAL_FILE:
        return XFER_PARTIAL;
    case CURLE_GOT_NOTHING:
        return XFER_NOTHING;
    case CURLE_WEIRD_SERVER_REPLY:
        return XFER_BAD_REPLY;
    case CURLE_WRITE_ERROR:
        return XFER_WRITE;
    case CURLE_OUT_OF_MEMORY:
        return XFER_NOMEM;
    default:
        return XFER_OTHER;
    }
}

static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
    struct gw_xfer *x = arg;
    return x->on_header(x->arg, p, size * n);
}

static size_t body_cb(char *p, size_t size, size_t n, void *arg)
{
    struct gw_xfer *x = arg;
    size_t got = x->on_body(x->arg, p, size * n);
    return got == GW_XFER_PAUSE ? CURL_WRITEFUNC_PAUSE : got;
}

static void on_done(struct curlm_job *job, CURLcode rc)
{
    struct gw_xfer *x = (struct gw_xfer *)(void *)((char *)job - offsetof(struct gw_xfer, job));
    curl_off_t connected = 0;
    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &x->status);
    curl_easy_getinfo(job->easy, CURLINFO_CONNECT_TIME_T, &connected);
    x->connected = connected > 0;
    x->why = curl_easy_strerror(rc);
    x->done(x, gw_up_curl_rc(rc));
}

/* curl reads the list while it builds the request, after this returns: the
 * nodes live with the transfer, the lines stay the owner's. */
static int copy_headers(struct gw_xfer *x)
{
    size_t n = 0;
    for (const struct gw_hdr *h = x->headers; h; h = h->next)
        n++;
    free(x->curl_headers);
    x->curl_headers = NULL;
    if (n == 0)
        return 0;
    struct curl_slist *l = calloc(n, sizeof *l);
    if (!l)
        return -1;
    size_t i = 0;
    for (const struct gw_hdr *h = x->headers; h; h = h->next, i++) {
        l[i].data = (char *)h->line;   /* curl only reads the lines */
        l[i].next = i + 1 < n ? &l[i + 1] : NULL;
    }
    x->curl_headers = l;
    return 0;
}

int gw_up_curl_start(struct curlm *m, struct gw_xfer *x)
{
    if (!x->job.easy && !(x->job.easy = curlm_easy(m)))
        return -1;
    if (copy_headers(x) < 0)
        return -1;
    CURL *e = x->job.easy;
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->curl_headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, x->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    x->job.done = on_done;
    return curlm_add(m, &x->job);
}

void gw_up_curl_cancel(struct curlm *m, struct gw_xfer *x)
{
    curlm_remove(m, &x->job);
}

void gw_up_curl_resume(struct gw_xfer *x)
{
    curl_easy_pause(x->job.easy, CURLPAUSE_CONT);
}

long gw_up_curl_status(const struct gw_xfer *x)
{
    long status = x->status;
    curl_easy_getinfo(x->job.easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

void gw_up_curl_finish(struct curlm *m, struct gw_xfer *x)
{
    curlm_release(m, x->job.easy);
    x->job.easy = NULL;
    free(x->curl_headers);
    x->curl_headers = NULL;
}
