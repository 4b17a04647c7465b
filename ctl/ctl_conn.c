/*
 * ctl_conn: one connection to the admin socket per run, opened at the first
 * call; requests and responses are single JSON lines (docs/admin.md).
 */
#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RESPONSE_MAX (256u * 1024 * 1024)
#define RESPONSE_TIMEOUT_MS 120000   /* a reload parses a file; nothing takes longer */

static int connect_socket(struct ctl *ctl)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(ctl->socket) >= sizeof sun.sun_path)
        return ctl_fail("cannot connect to %s: the path is longer than %zu bytes", ctl->socket,
                        sizeof sun.sun_path - 1);
    memcpy(sun.sun_path, ctl->socket, strlen(ctl->socket) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ctl_fail("cannot create a socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int e = errno;
        close(fd);
        return ctl_fail("cannot connect to %s: %s (errno %d)%s", ctl->socket, strerror(e), e,
                        e == ENOENT || e == ECONNREFUSED ? "; is backstopd running? (-s, -c)"
                        : e == EACCES ? "; the socket's mode and group say who may connect"
                                      : "");
    }
    ctl->fd = fd;
    return CTL_OK;
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One line; *line is malloc'd, NUL-terminated, without its newline. */
static int read_line(struct ctl *ctl, char **line)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return ctl_fail("out of memory");
    for (;;) {
        struct pollfd p = { .fd = ctl->fd, .events = POLLIN };
        int pr = poll(&p, 1, RESPONSE_TIMEOUT_MS);
        if (pr == 0) {
            free(buf);
            return ctl_fail("%s: no response within %d s", ctl->socket, RESPONSE_TIMEOUT_MS / 1000);
        }
        if (pr < 0) {
            int e = errno;
            free(buf);
            return e == EINTR ? CTL_FAILED : ctl_fail("%s: %s", ctl->socket, strerror(e));
        }
        if (cap - len < 4096) {
            if (cap >= RESPONSE_MAX) {
                free(buf);
                return ctl_fail("%s: response larger than %u bytes", ctl->socket, RESPONSE_MAX);
            }
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                return ctl_fail("out of memory");
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = recv(ctl->fd, buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            free(buf);
            return ctl_fail("%s: the controller closed the connection%s%s", ctl->socket,
                            n < 0 ? ": " : " without answering", n < 0 ? strerror(e) : "");
        }
        char *nl = memchr(buf + len, '\n', (size_t)n);
        len += (size_t)n;
        if (nl) {
            *nl = '\0';
            *line = buf;
            return CTL_OK;
        }
    }
}

static void print_error(const struct ctl *ctl, const json_t *err)
{
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    fprintf(stderr, "backstopctl: %s (%s)\n", msg ? msg : "the command failed",
            code ? code : "no error code");
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(err, "details"), i, d)
        fprintf(stderr, "  %s\n", json_string_value(d) ? json_string_value(d) : "?");
    if (ctl->json)
        ctl_print_json(err);
}

int ctl_call(struct ctl *ctl, const char *cmd, json_t *args, json_t **result)
{
    *result = NULL;
    if (ctl->fd < 0 && connect_socket(ctl) != CTL_OK)
        return CTL_FAILED;
    json_t *req = json_pack("{s:s, s:O*}", "cmd", cmd, "args", args);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text)
        return ctl_fail("out of memory");
    size_t len = strlen(text);
    int rc = send_all(ctl->fd, text, len);
    if (rc == 0)
        rc = send_all(ctl->fd, "\n", 1);
    /* The request may hold a secret (keys set). */
    explicit_bzero(text, len);
    free(text);
    if (rc < 0)
        return ctl_fail("%s: cannot send: %s", ctl->socket, strerror(-rc));
    char *line = NULL;
    if (read_line(ctl, &line) != CTL_OK)
        return CTL_FAILED;
    json_error_t je;
    json_t *resp = json_loads(line, 0, &je);
    free(line);
    json_t *ok = json_object_get(resp, "ok");
    if (!json_is_boolean(ok)) {
        json_decref(resp);
        return ctl_fail("%s: not a response: %s", ctl->socket, resp ? "no \"ok\"" : je.text);
    }
    if (!json_is_true(ok)) {
        print_error(ctl, json_object_get(resp, "error"));
        json_decref(resp);
        return CTL_FAILED;
    }
    *result = json_incref(json_object_get(resp, "result"));
    json_decref(resp);
    if (!*result)
        *result = json_null();
    return CTL_OK;
}

int ctl_run(struct ctl *ctl, const char *cmd, json_t *args, ctl_print_fn print, void *ctx)
{
    json_t *r;
    if (ctl_call(ctl, cmd, args, &r) != CTL_OK)
        return CTL_FAILED;
    if (ctl->json || !print)
        ctl_print_json(r);
    else
        print(r, ctx);
    json_decref(r);
    return CTL_OK;
}

int ctl_run_noargs(struct ctl *ctl, const char *cmd, int argc, char **argv, ctl_print_fn print)
{
    if (ctl_no_args(cmd, argc, argv))
        return CTL_USAGE;
    return ctl_run(ctl, cmd, NULL, print, NULL);
}

void ctl_close(struct ctl *ctl)
{
    if (ctl->fd >= 0)
        close(ctl->fd);
    ctl->fd = -1;
}
