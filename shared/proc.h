/*
 * proc: what every Backstop process does to itself at start, before it holds
 * a secret: keep its memory out of cores and out of other users' reach
 * (proc_secure.c), and name itself so ps/top/pgrep tell the roles apart
 * (proc_title.c).  docs/operations.md describes both for operators.
 */
#ifndef BS_PROC_H
#define BS_PROC_H

#include <stdbool.h>

/* Makes the process non-dumpable (no core, no ptrace or /proc/PID/mem by
 * another process of the same uid) and sets RLIMIT_CORE to 0.  With
 * allow_cores, the opposite: dumpable, and the soft core limit raised to the
 * hard one, for an operator debugging a crash.  Returns 0, or -errno of the
 * first call that failed (the process is then as safe as that call left it). */
int proc_secure(bool allow_cores);

/* Whether this process's soft core limit is above 0: after proc_secure, the
 * decision it made.  The controller passes it to each worker on the command
 * line, which is more robust than letting the worker read the inherited
 * limit (a sanitizer runtime, for one, lowers it before main). */
bool proc_cores_allowed(void);

/* Sets the 15-byte comm (top, pgrep -x) to comm, and rewrites the argument
 * area of argv (ps -o args, pgrep -f, /proc/PID/cmdline) to title, cut to the
 * area's size.  argv must be main's; its strings are overwritten, so copy
 * whatever is still needed first. */
void proc_title(int argc, char **argv, const char *comm, const char *title);

#endif
