/*
 * log: the daemon log, at syslog levels, one line per message, tagged with
 * the process role and pid:
 *   2026-11-22T07:50:01.123Z backstopd[1234] worker warning: message
 * Every line goes out in one write(2) on an O_APPEND descriptor, so the
 * controller's and the workers' lines never interleave inside a line.
 * log_reopen() (on SIGUSR1) reopens the file after a rotation.
 *
 * The module owns one process-wide descriptor; log_close() releases it.
 */
#ifndef BS_LOG_H
#define BS_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

/* path NULL = stderr.  Returns 0, or -errno when the file cannot be opened
 * (logging then goes to stderr). */
int log_open(const char *role, const char *path, int level);
void log_set_role(const char *role);
void log_set_level(int level);
int log_reopen(void);
void log_close(void);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap);

#define log_err(...)     log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)    log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)

/* Opens path for appending (0640), or dups stderr for NULL.  For logs other
 * than the daemon log (the access log).  Returns the fd or -errno. */
int log_open_append(const char *path);

/* "2026-11-22T07:50:01.123Z" into buf (>= 32 bytes). */
void log_timestamp(char *buf, size_t len);

#endif
