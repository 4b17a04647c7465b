/* gw_trace: the notes and telemetry a chat request leaves (gw_trace.h). */
#include "gw_trace.h"

#include <stdio.h>
#include <string.h>

#include "bs_time.h"
#include "fmt.h"
#include "gw_attempt.h"
#include "gw_chat.h"
#include "tel.h"

void gw_trace_append(char *buf, size_t cap, const char *sep, const char *item, const char *item2,
                     const char *item3)
{
    size_t len = strlen(buf);
    if (len + 1 >= cap)
        return;
    fmt_join(buf + len, cap - len, len ? sep : "", item, item2 ? item2 : "", item3 ? item3 : "", NULL);
}

void gw_trace_failover(struct gw_trace *t, const char *key, const char *why)
{
    gw_trace_append(t->failover, sizeof t->failover, ",", key, "=", why);
}

void gw_trace_reason(struct gw_trace *t, const char *key, const char *why, long status)
{
    char st[24] = "";
    if (status) {
        char *p = st;
        memcpy(p, " (HTTP ", 7);
        p += 7;
        p += fmt_u64(p, (uint64_t)status);
        *p++ = ')';
        *p = '\0';
    }
    char item[TEL_TARGET_MAX + 64];
    fmt_join(item, sizeof item, key, ": ", why, st, NULL);
    gw_trace_append(t->reasons, sizeof t->reasons, "; ", item, NULL, NULL);
}

void gw_trace_reason_detail(struct gw_trace *t, const char *key, const char *what, const char *detail)
{
    char item[TEL_TARGET_MAX + 256];
    fmt_join(item, sizeof item, key, ": ", what, detail, NULL);
    gw_trace_append(t->reasons, sizeof t->reasons, "; ", item, NULL, NULL);
}

void gw_trace_untranslatable(struct gw_trace *t, const char *why)
{
    fmt_join(t->untranslatable, sizeof t->untranslatable, why, NULL);
}

void gw_trace_attempt(struct gw_chat *chat, const struct gw_attempt *att)
{
    struct tel_attempt t;
    memset(&t, 0, sizeof t);
    t.hdr.kind = TEL_ATTEMPT;
    uint64_t now = bs_now_us();
    t.wall_ms = bs_wall_ms();
    t.status = (int32_t)att->status;
    t.fail = (uint16_t)att->fail;
    t.attempt_no = (uint16_t)chat->route.attempts;
    t.trial = att->trial_epoch != 0;
    t.trial_epoch = att->trial_epoch;
    t.target_id = att->tgt->id;
    t.generation = chat->cat->generation;
    t.latency_ms = (uint32_t)((now - att->start_us) / 1000);
    t.ttfb_ms = att->head_us ? (uint32_t)((att->head_us - att->start_us) / 1000) : 0;
    if (att->fail == FAIL_NONE) {
        t.prompt_tokens = att->prompt_tokens;
        t.completion_tokens = att->completion_tokens;
    }
    tel_copy(t.provider, sizeof t.provider, att->prov->cfg->name);
    tel_copy(t.model, sizeof t.model, att->tgt->model);
    tel_copy(t.chain, sizeof t.chain, chat->chain->name);
    tel_copy(t.request_id, sizeof t.request_id, chat->request_id);
    gw_tel_attempt(chat->gw, &t);
}

/* Held for the worker's next telemetry flush (gw_tel_batch.c), so a skipped
 * target costs no system call. */
void gw_trace_switch(struct gw_chat *chat, const char *from, const struct gw_attempt *to, int reason,
                     uint64_t added_us)
{
    struct tel_failover f;
    memset(&f, 0, sizeof f);
    f.hdr.kind = TEL_FAILOVER;
    f.wall_ms = bs_wall_ms();
    f.added_ms = (uint32_t)(added_us / 1000);
    f.fail = (uint16_t)reason;
    tel_copy(f.chain, sizeof f.chain, chat->chain->name);
    tel_copy(f.from, sizeof f.from, from);
    tel_copy(f.to, sizeof f.to, to ? to->key : "");
    f.to_id = to ? to->tgt->id : TEL_NO_TARGET;
    f.generation = chat->cat->generation;
    tel_copy(f.request_id, sizeof f.request_id, chat->request_id);
    gw_tel_event(chat->gw, &f);
}
