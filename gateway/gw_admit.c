/* gw_admit: may this target take this request now? (gw_admit.h) */
#include "gw_admit.h"

#include "gw_breaker.h"
#include "gw_chat.h"
#include "gw_ovr.h"

enum gw_admit_verdict gw_admit_judge(const struct gw_admit_facts *f)
{
    if (!f->enabled)
        return GW_ADMIT_DISABLED;
    if (f->drained)
        return GW_ADMIT_DRAINED;
    if (f->breaker_checked && !f->breaker_allows)
        return GW_ADMIT_BREAKER;
    return GW_ADMIT_OK;
}

void gw_admit(const struct gw_chat *chat, const struct cfg_target *t, struct gw_admission *out)
{
    const struct gw_catalog *cat = chat->cat;
    const char *key = cat->cfg->target_ids[t->id].key;
    struct gw_admit_facts f = {
        .enabled = cat->providers[t->provider].enabled,
        .drained = gw_ovr_drained(cat->ovr, cat->providers[t->provider].cfg->name, key),
    };
    out->trial_epoch = 0;
    out->retry_at = 0;
    out->verdict = gw_admit_judge(&f);
    if (out->verdict != GW_ADMIT_OK)
        return;
    /* Last: a half-open breaker grants this very request its trial. */
    f.breaker_checked = true;
    uint32_t tid = gw_brk_tid(chat->gw, cat, t->id);
    f.breaker_allows = gw_brk_admit(chat->gw, tid, &out->trial_epoch) != GW_DENY;
    out->verdict = gw_admit_judge(&f);
    if (out->verdict == GW_ADMIT_BREAKER)
        out->retry_at = gw_brk_retry_at(chat->gw, tid);
}

const char *gw_admit_reason(enum gw_admit_verdict v)
{
    switch (v) {
    case GW_ADMIT_OK: return "admitted";
    case GW_ADMIT_DISABLED: return "disabled (no key)";
    case GW_ADMIT_DRAINED: return "drained";
    case GW_ADMIT_BREAKER: return "breaker_open";
    }
    return "unknown";
}
