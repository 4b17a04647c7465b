/*
 * ctr_admin_peer: who may use the admin socket.  The socket file's mode is
 * the first gate; this is the second, so that a mode set wider by hand (or a
 * socket directory shared with others) still does not open the control plane.
 * Allowed: root, the controller's own uid (the socket file's owner), and
 * members of admin.group, by primary or supplementary group.
 */
#include "ctr_admin.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The peer's supplementary groups as the kernel has them for that process
 * (/proc/PID/status "Groups:"), which is what the kernel itself checks
 * against the socket file.  -1 when the file cannot be read. */
static int proc_has_group(pid_t pid, gid_t want)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[4096];
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Groups:", 7) != 0)
            continue;
        found = 0;
        char *p = line + 7, *end;
        for (;;) {
            unsigned long g = strtoul(p, &end, 10);
            if (end == p)
                break;
            if ((gid_t)g == want)
                found = 1;
            p = end;
        }
        break;
    }
    fclose(f);
    return found;
}

/* The groups the user database gives the peer's uid: the fallback when its
 * process is gone or in another pid namespace. */
static bool db_has_group(uid_t uid, gid_t gid, gid_t want)
{
    char buf[16384];
    struct passwd pw, *res = NULL;
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || !res)
        return false;
    gid_t groups[256];
    int n = (int)(sizeof groups / sizeof groups[0]);
    if (getgrouplist(pw.pw_name, gid, groups, &n) < 0)
        return false;
    for (int i = 0; i < n; i++)
        if (groups[i] == want)
            return true;
    return false;
}

bool admin_peer_allowed(const struct admin_peer *p, gid_t group)
{
    if (p->uid == 0 || p->uid == geteuid())
        return true;
    if (group == (gid_t)-1)
        return false;
    if (p->gid == group)
        return true;
    int in = proc_has_group(p->pid, group);
    if (in >= 0)
        return in == 1;
    return db_has_group(p->uid, p->gid, group);
}
