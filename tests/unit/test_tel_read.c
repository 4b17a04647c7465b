/*
 * test_tel_read: the controller's end of the telemetry channel
 * (controller/ctr_telemetry.c ctr_tel_read) on a real SOCK_SEQPACKET
 * socketpair: many datagrams per wake-up, the bound per wake-up, messages
 * of a wrong version or size, and the worker's end closing.
 */
#include "ctr.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tel.h"
#include "unit.h"

static bool send_status(int fd, uint64_t served, uint16_t version, size_t len)
{
    struct tel_status s;
    memset(&s, 0, sizeof s);
    s.hdr.kind = TEL_STATUS;
    s.hdr.version = version;
    s.hdr.pid = 77;
    s.served = served;
    return send(fd, &s, len, MSG_DONTWAIT) == (ssize_t)len;
}

int main(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
        perror("socketpair");
        return 1;
    }
    struct ctr *c = calloc(1, sizeof *c);
    struct ctr_slot *s = &c->slots[0];
    s->ctr = c;
    s->tel_fd = sv[1];

    /* More than one wake-up's worth: the first stops at its bound (256),
     * the next takes the rest; a wrong version or size is ignored. */
    bool sent = true;
    for (uint64_t i = 1; i <= 264; i++)
        sent = sent && send_status(sv[0], i, TEL_VERSION, sizeof(struct tel_status));
    sent = sent && send_status(sv[0], 1000, TEL_VERSION + 1, sizeof(struct tel_status));
    sent = sent && send_status(sv[0], 1001, TEL_VERSION, sizeof(struct tel_status) - 8);
    CHECK(sent);
    ctr_tel_read(sv[1], EV_READ, s);
    CHECK(s->last.served == 256 && s->last.hdr.pid == 77);
    CHECK(c->workers_dirty);
    ctr_tel_read(sv[1], EV_READ, s);
    CHECK(s->last.served == 264);
    /* Drained: another wake-up finds nothing and changes nothing. */
    ctr_tel_read(sv[1], EV_READ, s);
    CHECK(s->last.served == 264);

    /* A failover event is queued for the next write. */
    struct tel_failover f;
    memset(&f, 0, sizeof f);
    f.hdr.kind = TEL_FAILOVER;
    f.hdr.version = TEL_VERSION;
    f.fail = TEL_REASON_BREAKER;
    tel_copy(f.request_id, sizeof f.request_id, "r1");
    CHECK(send(sv[0], &f, sizeof f, 0) == (ssize_t)sizeof f);
    CHECK(send_status(sv[0], 265, TEL_VERSION, sizeof(struct tel_status)));
    c->health_dirty = false;
    ctr_tel_read(sv[1], EV_READ, s);
    CHECK(c->health_dirty && c->events != NULL);
    CHECK(s->last.served == 265);

    /* The worker's end closes after one last message: that message counts,
     * and the read returns. */
    CHECK(send_status(sv[0], 266, TEL_VERSION, sizeof(struct tel_status)));
    close(sv[0]);
    ctr_tel_read(sv[1], EV_READ, s);
    CHECK(s->last.served == 266);
    ctr_tel_read(sv[1], EV_READ, s);
    CHECK(s->last.served == 266);

    ctr_tel_free(c);
    close(sv[1]);
    free(c);
    UNIT_END("tel_read");
}
