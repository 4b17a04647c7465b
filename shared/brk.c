/* brk: names of breaker states, as ctl and logs show them (see brk.h). */
#include "brk.h"

const char *brk_state_name(int state)
{
    switch (state) {
    case BRK_CLOSED: return "closed";
    case BRK_OPEN: return "open";
    case BRK_HALF_OPEN: return "half-open";
    default: return "unknown";
    }
}
