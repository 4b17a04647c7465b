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

#include "bs_time.h"
#include "gw_breaker.h"
#include "gw_contract_stream.h"
#include "log.h"

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

/* Starts the corrective retry of att's target; false when it cannot. */
static bool retry_same(struct gw_chat *chat, struct gw_attempt *att)
{
    const struct cfg_repair *cfg = &chat->chain->repair;
    struct gw_repair *rp = &chat->rp;
    if (rp->same >= cfg->retry_same || chat->deadline_hit || bs_now_us() >= chat->deadline_us)
        return false;
    uint64_t epoch;
    if (gw_brk_admit(chat->gw, gw_brk_tid(chat->gw, chat->cat, att->tgt->id), &epoch) == GW_DENY)
        return false;
    rp->corrective = true;
    rp->target = att->target_idx;
    if (gw_attempt_start(chat, att->target_idx, epoch) < 0) {
        rp->corrective = false;
        log_err("request %s: cannot start a corrective retry", chat->request_id);
        return false;
    }
    rp->same++;
    return true;
}

/* Every attempt broke the contract: the chain's on_exhausted says how the
 * client learns it. */
static void answer_exhausted(struct gw_chat *chat, struct gw_attempt *att)
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
    gw_chat_reply_typed_error(chat, 502, "invalid_response", ct_problem_name(rp->v.problem), msg);
}

void gw_repair_after(struct gw_chat *chat, struct gw_attempt *att)
{
    struct gw_repair *rp = &chat->rp;
    const char *problem = ct_problem_name(rp->v.problem);
    gw_chat_append(rp->problems, sizeof rp->problems, "; ", "%s%s: %s%s%s", att->brk_key, rp->v.message,
                   "", "");
    gw_chat_append(chat->reasons, sizeof chat->reasons, "; ", "%s%s: invalid_response (%s)%s%s",
                   att->brk_key, problem, "", "");
    log_info("request %s: %s broke the contract: %s", chat->request_id, att->brk_key, rp->v.message);
    if (chat->committed) {
        /* Text already reached the client: a retry would repeat it.  The
         * stream ends with an explicit error instead (docs/design.md). */
        gw_out_error_as(chat, FAIL_INVALID_RESPONSE, "invalid_response", problem, rp->v.message, NULL);
        gw_attempt_free(att);
        gw_chat_finish(chat, fail_class_name(FAIL_INVALID_RESPONSE));
        return;
    }
    char from[TEL_TARGET_MAX];
    snprintf(from, sizeof from, "%s", att->brk_key);
    uint64_t cost = bs_now_us() - chat->target_start_us;
    if (retry_same(chat, att)) {
        gw_chat_append(rp->notes, sizeof rp->notes, ",", "%s%s@%s->%s%s", problem, from, "retry", "");
        gw_chat_event(chat, from, FAIL_INVALID_RESPONSE, cost);
        gw_attempt_free(att);
        return;
    }
    rp->corrective = false;
    rp->same = 0;
    chat->target_retries = 0;
    if (gw_chat_try_next(chat)) {
        gw_chat_append(rp->notes, sizeof rp->notes, ",", "%s%s@%s->%s%s", problem, from, "failover", "");
        gw_chat_append(chat->failover, sizeof chat->failover, ",", "%s%s=%s%s%s", from,
                       fail_class_name(FAIL_INVALID_RESPONSE), "", "");
        gw_chat_event(chat, from, FAIL_INVALID_RESPONSE, cost);
        gw_attempt_free(att);
        return;
    }
    answer_exhausted(chat, att);
    gw_attempt_free(att);
    gw_chat_finish(chat, fail_class_name(FAIL_INVALID_RESPONSE));
}
