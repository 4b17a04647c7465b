/*
 * proc_secure: cores and ptrace.  A worker's memory holds every provider key
 * in the clear (as Bearer headers while a request is in flight), so a core
 * file or a debugger attached by any process of the same uid would read
 * them.  Non-dumpable closes both; RLIMIT_CORE 0 is the second lock.  exec
 * resets the dumpable flag, so every program calls this itself.
 */
#include "proc.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int proc_secure(bool allow_cores)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) != 0)
        return -errno;
    rl.rlim_cur = allow_cores ? rl.rlim_max : 0;
    if (setrlimit(RLIMIT_CORE, &rl) != 0)
        return -errno;
    if (prctl(PR_SET_DUMPABLE, allow_cores ? 1 : 0, 0, 0, 0) != 0)
        return -errno;
    return 0;
}

bool proc_cores_allowed(void)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur != 0;
}
