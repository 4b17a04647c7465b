/*
 * gw_repair: after an answer broke the request's contract, the next step:
 * corrective retry, failover, or the exhausted answer (see the header).
 * Broken answers never count against a target's health: the attempt is
 * reported as invalid_response, which the breakers ignore, and the switch
 * is recorded as a failover event with that reason (a retry of the same
 * target too, from and to the same target).
 */
#include "gw_chat.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "gw_answer.h"
#include "gw_attempt.h"
#include "gw_contract_stream.h"
#include "log.h"
#include "tel.h"

int gw_repair_init(struct gw_chat *chat)
{
    /* An OpenAI client's body is only scanned: without tools or a
     * response_format there is no contract, and no document is built. */
    if (!chat->chain->repair.enabled || (chat->api == GW_API_OPENAI && !chat->contract_fields))
        return 0;
    json_t *body = gw_chat_body(chat);
    if (!body)
        return -1;
    bool oom;
    chat->contract = gw_contract_new(body, &oom);
    return oom ? -1 : 0;
}

void gw_repair_free(struct gw_chat *chat)
{
    gw_contract_free(chat->contract);
    chat->contract = NULL;
    json_decref(chat->rp.turn);
    chat->rp.turn = NULL;
}

bool gw_repair_applies(const struct gw_chat *chat, size_t target)
{
    return chat->rp.corrective && chat->rp.target == target && chat->rp.turn;
}

json_t *gw_repair_request(struct gw_chat *chat, size_t target)
{
    return gw_repair_applies(chat, target) ? gw_repair_body(chat)
                                           : json_incref(gw_chat_body(chat));
}

/* Header values are one line: control characters become blanks. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

void gw_repair_broke(struct gw_chat *chat, const struct gw_attempt *att)
{
    struct gw_repair *rp = &chat->rp;
    const char *problem = ct_problem_name(rp->v.problem);
    gw_trace_append(rp->problems, sizeof rp->problems, "; ", att->key, ": ", rp->v.message);
    char what[64];
    fmt_join(what, sizeof what, "invalid_response (", problem, ")", NULL);
    gw_trace_reason_detail(&chat->trace, att->key, what, "");
    log_info("request %s: %s broke the contract: %s", chat->request_id, att->key, rp->v.message);
}

void gw_repair_arm(struct gw_chat *chat, size_t target)
{
    chat->rp.corrective = true;
    chat->rp.target = target;
}

void gw_repair_started(struct gw_chat *chat, bool started)
{
    if (started)
        chat->rp.same++;
    else
        chat->rp.corrective = false;
}

void gw_repair_note(struct gw_chat *chat, const char *from, const char *how)
{
    struct gw_repair *rp = &chat->rp;
    char item[TEL_TARGET_MAX + 64];
    fmt_join(item, sizeof item, ct_problem_name(rp->v.problem), "@", from, "->", how, NULL);
    gw_trace_append(rp->notes, sizeof rp->notes, ",", item, NULL, NULL);
}

void gw_repair_reset(struct gw_chat *chat)
{
    chat->rp.corrective = false;
    chat->rp.same = 0;
}

void gw_repair_answer_exhausted(struct gw_chat *chat, const struct gw_attempt *att)
{
    struct gw_repair *rp = &chat->rp;
    if (chat->chain->repair.on_exhausted == CFG_EXH_RETURN_LAST) {
        char h[400];
        snprintf(h, sizeof h, "failed; %s: %.360s", ct_problem_name(rp->v.problem), rp->v.message);
        one_line(h);
        http_req_add_header(chat->req, "x-backstop-validation", h);
        if (att->ct)
            gw_repair_answer_held(chat, att);
        else
            gw_answer_success(chat, att);
        return;
    }
    char msg[1024];
    snprintf(msg, sizeof msg, "every answer for model %s broke the request's contract: %s", chat->chain->name,
             rp->problems);
    gw_answer_typed_error(chat, 502, "invalid_response", ct_problem_name(rp->v.problem), msg);
}

void gw_repair_answer_broken_stream(struct gw_chat *chat)
{
    const struct gw_repair *rp = &chat->rp;
    gw_out_error_as(chat, FAIL_INVALID_RESPONSE, "invalid_response", ct_problem_name(rp->v.problem),
                    rp->v.message, NULL);
}
