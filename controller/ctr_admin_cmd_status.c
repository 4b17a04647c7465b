/* ctr_admin_cmd_status: `status`, the controller and each worker slot. */
#include "ctr_admin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bs_time.h"
#include "version.h"

static const char *slot_state(const struct ctr_slot *s)
{
    switch (s->state) {
    case SLOT_RUNNING: return s->pid > 0 ? "running" : "starting";
    case SLOT_WAITING: return "restarting";   /* back-off after an early death */
    case SLOT_RETIRED: return "retiring";     /* draining after `workers` went down */
    case SLOT_EMPTY:   break;
    }
    return "empty";
}

/* The bound address, port 0 resolved; null once the socket is closed. */
static json_t *listen_json(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 16];
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return json_null();
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        snprintf(buf, sizeof buf, "[%s]:%d", host, ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        snprintf(buf, sizeof buf, "%s:%d", host, ntohs(s4->sin_port));
    }
    return json_string(buf);
}

static json_t *slot_json(const struct ctr_slot *s, uint64_t now)
{
    bool live = s->pid > 0;
    return json_pack("{s:i, s:o, s:s, s:o, s:o, s:I, s:i, s:i, s:I, s:b, s:i}", "slot", s->index,
                     "pid", live ? json_integer(s->pid) : json_null(), "state", slot_state(s),
                     "started_ms", live ? json_integer((json_int_t)s->started_wall_ms) : json_null(),
                     "uptime_ms", live ? json_integer((json_int_t)(now - s->started_wall_ms))
                                       : json_null(),
                     "served", (json_int_t)s->last.served, "in_flight", (int)s->last.in_flight,
                     "connections", (int)s->last.connections,
                     "generation", (json_int_t)s->last.generation,
                     "draining", s->last.draining != 0, "telemetry_dropped", (int)s->last.dropped);
}

void admin_cmd_status(struct ctr *c, const struct admin_peer *peer, json_t *args,
                      struct admin_reply *r)
{
    (void)peer;
    (void)args;
    uint64_t now = bs_wall_ms();
    json_t *workers = json_array();
    for (int i = 0; workers && i < c->nslots; i++)
        if (c->slots[i].state != SLOT_EMPTY)
            json_array_append_new(workers, slot_json(&c->slots[i], now));
    r->result = json_pack("{s:I, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:o, s:b, s:i, s:o*}",
                          "pid", (json_int_t)getpid(), "version", BACKSTOP_VERSION,
                          "generation", (json_int_t)c->generation,
                          "started_ms", (json_int_t)c->started_wall_ms,
                          "uptime_ms", (json_int_t)(now - c->started_wall_ms),
                          "config", c->config_path, "state_dir", c->cfg->state_dir,
                          "admin_socket", c->cfg->admin.socket, "listen", listen_json(c->listen_fd),
                          "stopping", c->stopping, "workers_configured", c->cfg->workers,
                          "workers", workers);
}
