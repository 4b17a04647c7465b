/* gw_upstream: picks a transfer's backend and forwards to it; see gw_upstream.h. */
#include "gw_upstream.h"

#include <stdlib.h>

#include "gw_fault.h"
#include "gw_h1.h"
#include "gw_up_curl.h"
#include "log.h"

struct gw_up {
    struct event_base *base;
    struct gw_h1 *h1;         /* NULL: every URL goes through libcurl (a proxy is set) */
    struct curlm *curl;
};

/* libcurl sends plain http through a proxy named by these; the built-in
 * client knows no proxies, so it stands aside when one is set. */
static const char *proxy_variable(void)
{
    static const char *const names[] = { "http_proxy", "all_proxy", "ALL_PROXY" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return names[i];
    }
    return NULL;
}

struct gw_up *gw_up_new(struct event_base *base, long max_host_connections)
{
    struct gw_up *up = calloc(1, sizeof *up);
    if (!up)
        return NULL;
    up->base = base;
    up->curl = curlm_new(base, max_host_connections);
    const char *proxy = proxy_variable();
    if (proxy)
        log_info("upstream: %s is set: plain-http upstreams go through libcurl and the proxy", proxy);
    else
        up->h1 = gw_h1_new(base);
    if (!up->curl || (!proxy && !up->h1)) {
        gw_up_free(up);
        return NULL;
    }
    return up;
}

void gw_up_free(struct gw_up *up)
{
    if (!up)
        return;
    gw_h1_free(up->h1);
    curlm_free(up->curl);
    free(up);
}

struct event_base *gw_up_base(const struct gw_up *up)
{
    return up->base;
}

int gw_up_start_real(struct gw_up *up, struct gw_xfer *x)
{
    x->status = 0;
    x->connected = false;
    x->why = NULL;
    if (up->h1 && !x->use_curl && x->url) {
        int rc = gw_h1_start(up->h1, x);
        if (rc != GW_H1_DECLINED)
            return rc;
    }
    return gw_up_curl_start(up->curl, x);
}

int gw_up_start(struct gw_up *up, struct gw_xfer *x)
{
    x->status = 0;
    x->connected = false;
    x->why = NULL;
    x->openai_wire = false;
    int forced = gw_fault_start(up, x);
    if (forced != 0)
        return forced < 0 ? -1 : 0;
    return gw_up_start_real(up, x);
}

void gw_up_cancel(struct gw_up *up, struct gw_xfer *x)
{
    gw_fault_cancel(x);
    if (x->conn)
        gw_h1_cancel(up->h1, x);
    else if (x->job.easy)
        gw_up_curl_cancel(up->curl, x);
}

void gw_up_resume(struct gw_up *up, struct gw_xfer *x)
{
    if (x->conn)
        gw_h1_resume(up->h1, x);
    else if (x->job.easy)
        gw_up_curl_resume(x);
    else
        gw_fault_resume(x);
}

long gw_up_status(const struct gw_xfer *x)
{
    return x->job.easy ? gw_up_curl_status(x) : x->status;
}

void gw_up_finish(struct gw_up *up, struct gw_xfer *x)
{
    gw_fault_free(x);
    gw_up_curl_finish(up->curl, x);
}
