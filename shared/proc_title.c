/*
 * proc_title: the names ps, top and pgrep show.  Workers are exec'd through
 * /proc/self/exe, so without this their comm is "exe".
 *
 * comm (15 bytes) carries the program, "backstopd", for every process, so
 * `pgrep -x backstopd` and top's default view find them all; the argument
 * area carries the role ("backstopd: worker 3"), for `ps -o args`, top -c and
 * `pgrep -f 'backstopd: worker'`.  The role does not fit comm whole.
 *
 * The argument area is rewritten in place and never grown: the bytes past
 * the last argument hold the environment, which glibc still points into.
 */
#include "proc.h"

#include <string.h>
#include <sys/prctl.h>

void proc_title(int argc, char **argv, const char *comm, const char *title)
{
    prctl(PR_SET_NAME, comm, 0, 0, 0);
    if (argc < 1 || !argv[0])
        return;
    /* The area runs from argv[0] to the end of the last argument that
     * follows it contiguously (the kernel lays them out that way). */
    char *start = argv[0];
    char *end = start + strlen(start) + 1;
    for (int i = 1; i < argc && argv[i] == end; i++)
        end = argv[i] + strlen(argv[i]) + 1;
    size_t cap = (size_t)(end - start);
    size_t n = strlen(title);
    if (n > cap - 1)
        n = cap - 1;
    memcpy(start, title, n);
    /* NUL-filled to the end, and the kernel sees its final NUL in place, so
     * /proc/PID/cmdline is the title and does not run on into environ. */
    memset(start + n, 0, cap - n);
    for (int i = 1; i < argc; i++)
        argv[i] = end - 1;
}
