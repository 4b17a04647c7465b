/* log: daemon log lines at syslog levels; see log.h. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static int log_level = LOG_INFO;
static char log_role[24] = "main";
static char *log_path;

static const char *const level_names[] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

int log_open_append(const char *path)
{
    int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)
                  : fcntl(2, F_DUPFD_CLOEXEC, 3);
    return fd < 0 ? -errno : fd;
}

int log_open(const char *role, const char *path, int level)
{
    log_set_role(role);
    log_level = level;
    free(log_path);
    log_path = path ? strdup(path) : NULL;
    return log_reopen();
}

int log_reopen(void)
{
    if (!log_path) {
        if (log_fd != 2 && log_fd >= 0)
            close(log_fd);
        log_fd = 2;
        return 0;
    }
    int fd = log_open_append(log_path);
    if (fd < 0) {
        /* Keep logging somewhere: the old file, or stderr if there is none. */
        log_msg(LOG_ERR, "cannot open log file %s: %s", log_path, strerror(-fd));
        return fd;
    }
    if (log_fd != 2 && log_fd >= 0)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void log_close(void)
{
    if (log_fd != 2 && log_fd >= 0)
        close(log_fd);
    log_fd = 2;
    free(log_path);
    log_path = NULL;
}

void log_set_role(const char *role)
{
    snprintf(log_role, sizeof log_role, "%s", role ? role : "main");
}

void log_set_level(int level) { log_level = level; }

void log_timestamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000);
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
    if (level > log_level)
        return;
    char line[2048];
    char ts[32];
    log_timestamp(ts, sizeof ts);
    int n = snprintf(line, sizeof line, "%s backstopd[%ld] %s %s: ", ts, (long)getpid(),
                     log_role, level_names[level & 7]);
    if (n < 0)
        return;
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* truncated; the line still ends with \n */
    /* A message must stay one line: control characters from peer input
     * would let a client forge log lines. */
    for (size_t i = (size_t)n; i < len; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    line[len++] = '\n';
    ssize_t w;
    do
        w = write(log_fd, line, len);
    while (w < 0 && errno == EINTR);
}

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
