/* gw_usage: token counts without a document; see gw_usage.h. */
#include "gw_usage.h"

#include "gw_reqscan.h"

static uint32_t count(const char *buf, const struct gw_member *m)
{
    if (!m)
        return 0;
    uint64_t v = 0;
    for (size_t i = m->val; i < m->val_end; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return 0; /* negative, fractional or not a number: not a count */
        v = v * 10 + (uint64_t)(buf[i] - '0');
        if (v > UINT32_MAX)
            return UINT32_MAX;
    }
    return (uint32_t)v;
}

int gw_usage_read(const char *json, size_t len, uint32_t *prompt, uint32_t *completion)
{
    struct gw_reqscan outer, inner;
    if (gw_reqscan(json, len, &outer, NULL, 0) < 0 || !outer.object)
        return -1;
    const struct gw_member *u = gw_reqscan_get(&outer, json, "usage");
    if (!u || json[u->val] != '{')
        return -1;
    const char *obj = json + u->val;
    if (gw_reqscan(obj, u->val_end - u->val, &inner, NULL, 0) < 0)
        return -1;
    *prompt = count(obj, gw_reqscan_get(&inner, obj, "prompt_tokens"));
    *completion = count(obj, gw_reqscan_get(&inner, obj, "completion_tokens"));
    return 0;
}
