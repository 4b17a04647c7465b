/*
 * gw_repair_relay: the attempt's side of answer contracts: the check of a
 * whole answer, and the relay of a checked stream (native, or translated by
 * the target's adapter), which writes only what gw_contract_stream
 * released, through gw_out in the client's API (a stream without a
 * contract keeps the relays of gw_attempt.c and gw_attempt_ad.c).
 */
#include "gw_attempt.h"

#include <event2/buffer.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gw_answer.h"
#include "gw_chat.h"
#include "gw_cont.h"
#include "gw_contract_stream.h"
#include "gw_out.h"
#include "gw_repair.h"

int gw_repair_attempt_init(struct gw_attempt *att)
{
    struct gw_chat *chat = att->chat;
    if (!chat->contract || !chat->stream || att->cont)
        return 0;
    att->ct = gw_ct_stream_new(chat->contract, chat->cat->cfg->limits.max_response_bytes);
    return att->ct ? 0 : -1;
}

/* The answer broke the contract: the attempt fails, the chat remembers why
 * and the broken turn (taken) for the corrective retry. */
static void broke(struct gw_attempt *att, const struct ct_verdict *v, json_t *turn)
{
    struct gw_repair *rp = &att->chat->rp;
    att->fail = FAIL_INVALID_RESPONSE;
    snprintf(att->detail, sizeof att->detail, "%s: %.130s", ct_problem_name(v->problem), v->message);
    rp->v = *v;
    json_decref(rp->turn);
    rp->turn = turn;
}

void gw_repair_check_answer(struct gw_attempt *att)
{
    struct gw_chat *chat = att->chat;
    if (!chat->contract || att->status < 200 || att->status >= 300)
        return;
    struct ct_verdict v;
    json_t *turn = NULL;
    enum ct_problem p;
    if (att->answer) { /* translated by the target's adapter */
        p = gw_contract_check_completion(chat->contract, att->answer, &v, &turn);
    } else {
        size_t len = evbuffer_get_length(att->resp);
        const char *body = (const char *)evbuffer_pullup(att->resp, -1);
        p = body ? gw_contract_check_answer(chat->contract, body, len, &v, &turn) : CT_OK;
    }
    if (p != CT_OK)
        broke(att, &v, turn);
    else
        json_decref(turn);
}

/* Writes released records to the client, in its API; -1 when it is gone. */
static int write_records(struct gw_chat *chat, struct evbuffer *recs)
{
    int rc = 0;
    while (evbuffer_get_length(recs) >= sizeof(uint32_t)) {
        uint32_t n;
        evbuffer_remove(recs, &n, sizeof n);
        const char *data = (const char *)evbuffer_pullup(recs, n);
        bool done = n == 6 && memcmp(data, "[DONE]", 6) == 0;
        if (rc == 0 && (done ? gw_out_done(chat) : gw_out_chunk(chat, data, n)) < 0)
            rc = -1;
        if (rc == 0 && !done)
            gw_cont_observe(chat, data, n);
        evbuffer_drain(recs, n);
    }
    return rc;
}

int gw_repair_relay(struct gw_attempt *att, const char *data, size_t len)
{
    /* One worker thread, one event at a time: a single scratch buffer. */
    static struct evbuffer *out;
    struct gw_chat *chat = att->chat;
    struct ct_verdict v;
    if (!out && !(out = evbuffer_new()))
        return -1;
    int rc = gw_ct_stream_feed(att->ct, data, len, out, &v);
    if (rc < 0) {
        att->fail = FAIL_BAD_RESPONSE;
        snprintf(att->detail, sizeof att->detail, "stream held back past max_response_bytes");
    } else if (rc > 0) {
        broke(att, &v, gw_ct_stream_turn(att->ct));
    } else if (evbuffer_get_length(out) > 0) {
        if (att->mode == ATT_PRECOMMIT && gw_att_pace_commit(att) < 0)
            rc = 1;
        if (rc == 0 && write_records(chat, out) < 0)
            rc = 1;
    }
    evbuffer_drain(out, evbuffer_get_length(out));
    return rc != 0;
}

void gw_repair_answer_held(struct gw_chat *chat, const struct gw_attempt *att)
{
    struct evbuffer *held = gw_ct_stream_take_held(att->ct);
    if (!held || gw_answer_stream_head(chat, att) < 0) {
        gw_answer_error(chat, 502, "invalid_response", att->detail);
    } else {
        write_records(chat, held);
        /* The broken stream was cut where the break was seen. */
        if (!att->saw_done)
            gw_out_done(chat);
        gw_out_stream_end(chat);
    }
    if (held)
        evbuffer_free(held);
}
