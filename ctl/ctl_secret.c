/*
 * ctl_secret: reads a provider key for `keys set` from a file or stdin,
 * never from argv (where every user of the machine could read it in ps).
 * On a terminal, echo is off while it is typed.  The secret lives only in
 * sodium_malloc'd memory (locked, left out of core dumps).
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"

#define CAP (KEYS_SECRET_MAX + 3)   /* room to see that a secret is too long */

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

/* Ctrl-C while typing must not leave the terminal without echo. */
static void restore_tty(int sig)
{
    if (tty_changed)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

static bool echo_off(void)
{
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &saved_tty) < 0)
        return false;
    t = saved_tty;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    signal(SIGINT, restore_tty);
    signal(SIGTERM, restore_tty);
    signal(SIGHUP, restore_tty);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
        return false;
    tty_changed = 1;
    return true;
}

static void echo_on(void)
{
    if (tty_changed)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    tty_changed = 0;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

/* Reads to EOF, or to the first newline on a terminal. */
static int read_fd(int fd, bool one_line, char *buf, size_t *len)
{
    *len = 0;
    while (*len < CAP) {
        ssize_t n = read(fd, buf + *len, one_line ? 1 : CAP - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        *len += (size_t)n;
        if (one_line && buf[*len - 1] == '\n')
            break;
    }
    return 0;
}

int ctl_read_secret(const char *path, const char *provider, char **secret, size_t *len)
{
    *secret = NULL;
    if (sodium_init() < 0)
        return ctl_fail("cannot initialise libsodium");
    char *buf = sodium_malloc(CAP + 1);
    if (!buf)
        return ctl_fail("out of memory");
    int fd = STDIN_FILENO, rc;
    bool tty = false;
    const char *from = path ? path : "stdin";
    if (path && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = ctl_fail("cannot read the secret from %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!path && isatty(fd)) {
        tty = true;
        fprintf(stderr, "API key for provider %s (not echoed): ", provider);
        fflush(stderr);
        if (!echo_off()) {
            echo_on();
            rc = ctl_fail("cannot turn off echo on the terminal; pipe the secret in instead");
            goto fail;
        }
    }
    rc = read_fd(fd, tty, buf, len);
    if (tty) {
        echo_on();
        fputc('\n', stderr);
    }
    if (path)
        close(fd);
    if (rc < 0) {
        rc = ctl_fail("cannot read the secret from %s: %s", from, strerror(-rc));
        goto fail;
    }
    /* One trailing newline is how files and `echo` end a line, not part of
     * the key. */
    if (*len > 0 && buf[*len - 1] == '\n') {
        (*len)--;
        if (*len > 0 && buf[*len - 1] == '\r')
            (*len)--;
    }
    buf[*len] = '\0';
    const char *why = keys_secret_invalid(buf, *len);
    if (why) {
        rc = ctl_fail("refusing the secret from %s: %s", from, why);
        goto fail;
    }
    *secret = buf;
    return CTL_OK;
fail:
    keys_free(buf);
    return rc;
}
