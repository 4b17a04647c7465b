/* gw_tel: the worker's end of the telemetry channel (see shared/tel.h). */
#include "gw.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tel.h"

/* Messages per sendmmsg call: a flush of a large batch takes a few calls. */
#define SENDV_CHUNK 64

void gw_tel_send(struct gw *gw, void *msg, size_t len)
{
    struct iovec iov = { msg, len };
    gw_tel_sendv(gw, &iov, 1);
}

void gw_tel_sendv(struct gw *gw, const struct iovec *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct tel_hdr *h = msgs[i].iov_base;
        h->version = TEL_VERSION;
        h->pid = gw->pid;
    }
    if (gw->tel_fd < 0)
        return;
    struct mmsghdr mm[SENDV_CHUNK];
    size_t done = 0;
    while (done < n) {
        unsigned k = n - done < SENDV_CHUNK ? (unsigned)(n - done) : SENDV_CHUNK;
        memset(mm, 0, k * sizeof *mm);
        for (unsigned i = 0; i < k; i++) {
            /* sendmsg does not write through msg_iov: the cast drops a
             * const the interface lacks. */
            mm[i].msg_hdr.msg_iov = (struct iovec *)&msgs[done + i];
            mm[i].msg_hdr.msg_iovlen = 1;
        }
        int r = sendmmsg(gw->tel_fd, mm, k, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            /* Full channel: drop and count rather than block a request. */
            gw->tel_dropped += (uint32_t)(n - done);
            return;
        }
        done += (size_t)r;
    }
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

void gw_request_finished(struct gw *gw)
{
    /* The first one tells the controller this worker is healthy, which lifts
     * its restart throttle. */
    if (gw->served++ == 0)
        gw_tel_status(gw);
}
