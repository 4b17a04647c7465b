/* gw_tel: the worker's end of the telemetry channel (see shared/tel.h). */
#include "gw.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tel.h"

void gw_tel_send(struct gw *gw, void *msg, size_t len)
{
    struct tel_hdr *h = msg;
    h->version = TEL_VERSION;
    h->pid = gw->pid;
    if (gw->tel_fd < 0)
        return;
    ssize_t n;
    do
        n = send(gw->tel_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    /* Full channel: drop and count rather than block a request. */
    if (n < 0)
        gw->tel_dropped++;
}

void gw_tel_status(struct gw *gw)
{
    struct tel_status s;
    memset(&s, 0, sizeof s);
    s.hdr.kind = TEL_STATUS;
    s.slot = (uint16_t)gw->slot;
    s.draining = gw->draining;
    s.in_flight = gw->http ? (uint32_t)http_server_in_flight(gw->http) : 0;
    s.connections = gw->http ? (uint32_t)http_server_connections(gw->http) : 0;
    s.dropped = gw->tel_dropped;
    s.served = gw->served;
    s.started_wall_ms = gw->started_wall_ms;
    s.generation = gw->cat ? gw->cat->generation : 0;
    gw_tel_send(gw, &s, sizeof s);
}
