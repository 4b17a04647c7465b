/* Table tests of target admission's verdict (gateway/gw_admit.h): every
 * combination of the facts, and the order the checks are made in. */
#include <string.h>

#include "gw_admit.h"
#include "unit.h"

int main(void)
{
    static const struct {
        bool enabled, drained, checked, allows;
        enum gw_admit_verdict want;
    } t[] = {
        { true, false, false, false, GW_ADMIT_OK },       /* ask the breaker next */
        { true, false, true, true, GW_ADMIT_OK },
        { true, false, true, false, GW_ADMIT_BREAKER },
        { true, true, false, false, GW_ADMIT_DRAINED },
        { true, true, true, true, GW_ADMIT_DRAINED },     /* drained beats a closed breaker */
        { true, true, true, false, GW_ADMIT_DRAINED },
        { false, false, false, false, GW_ADMIT_DISABLED },
        { false, true, true, false, GW_ADMIT_DISABLED },  /* no key beats everything */
        { false, false, true, true, GW_ADMIT_DISABLED },
        { false, true, false, false, GW_ADMIT_DISABLED },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct gw_admit_facts f = { t[i].enabled, t[i].drained, t[i].checked, t[i].allows };
        CHECK(gw_admit_judge(&f) == t[i].want);
    }
    /* Exhaustively: admitted exactly when enabled, not drained, and the
     * breaker (once asked) allows. */
    for (unsigned m = 0; m < 16; m++) {
        struct gw_admit_facts f = { m & 1, m & 2, m & 4, m & 8 };
        bool ok = f.enabled && !f.drained && (!f.breaker_checked || f.breaker_allows);
        CHECK((gw_admit_judge(&f) == GW_ADMIT_OK) == ok);
    }
    CHECK(strcmp(gw_admit_reason(GW_ADMIT_DRAINED), "drained") == 0);
    CHECK(strcmp(gw_admit_reason(GW_ADMIT_BREAKER), "breaker_open") == 0);
    CHECK(strcmp(gw_admit_reason(GW_ADMIT_DISABLED), "disabled (no key)") == 0);
    CHECK(strcmp(gw_admit_reason((enum gw_admit_verdict)42), "unknown") == 0);
    UNIT_END("admit");
}
