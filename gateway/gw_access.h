/* gw_access: one structured (JSON) access-log line per client request.
 * Never the prompt or the completion: only ids, names, numbers. */
#ifndef BS_GW_ACCESS_H
#define BS_GW_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

struct gw_access {
    const char *request_id;
    const char *client;      /* peer address */
    const char *method;
    const char *path;
    const char *model;       /* client-facing name, or NULL */
    const char *provider;    /* what served it, or NULL */
    const char *upstream_model;
    int status;              /* to the client; 499 when it went away */
    int attempts;
    uint64_t latency_us;
    uint64_t ttfb_us;        /* to the first byte sent to the client */
    uint32_t prompt_tokens, completion_tokens;
    bool stream;
    const char *failover;    /* reasons, or NULL */
    const char *error;       /* final failure class, or NULL */
    int worker;              /* slot of the worker that served it */
};

void gw_access_write(int fd, const struct gw_access *a);

#endif
