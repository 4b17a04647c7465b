/*
 * ctr_token: short-lived provider credentials (Vertex AI OAuth access
 * tokens) kept fresh by the controller.
 *
 * A provider with token_command (run by /bin/sh -c; its stdout is the
 * token) or token_file (read) gets its key from there instead of an
 * environment variable.  The output is either the token alone on its first
 * line, or a JSON object with "access_token" (or "token") and "expires_in"
 * (seconds from now) or "expires_at" (Unix seconds), as the metadata server
 * and `gcloud auth print-access-token --format=json` give it.
 *
 * The token is published the way `backstopctl keys set` publishes a key:
 * stored encrypted (ctr_keys_set), then a new catalog generation, so every
 * worker picks it up.  It is fetched once, blocking, before the workers
 * start, then refreshed ahead of its expiry (five minutes, or half its
 * life when shorter) or every TOKEN_UNKNOWN_LIFE_MS when the source names
 * no expiry; a failure keeps the current token and retries in
 * TOKEN_RETRY_MS.  Commands run in their own process group and are killed
 * (the group) after TOKEN_TIMEOUT_MS; the controller's reaper hands their
 * exit status here (ctr_token_reaped).
 */
#include "ctr.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bs_time.h"
#include "keys.h"
#include "log.h"

#define TOKEN_TIMEOUT_MS      30000
#define TOKEN_RETRY_MS        30000
#define TOKEN_UNKNOWN_LIFE_MS (30 * 60 * 1000)
#define TOKEN_AHEAD_MS        (5 * 60 * 1000)
#define TOKEN_MAX             16384

struct tok {
    struct ctr *c;
    char *provider;
    char *command;               /* or NULL */
    char *file;                  /* or NULL */
    pid_t pid;                   /* the running command, 0 when none */
    int fd;                      /* its stdout, -1 when closed */
    bool eof, exited;
    int status;
    struct event *read_ev;
    struct event *timer_ev;      /* next refresh, or the running command's deadline */
    char buf[TOKEN_MAX];
    size_t len;
    bool overflow;
    char last_fp[KEYS_HEX_LEN];  /* fingerprint of the token last stored */
};

struct ctr_tokens {
    struct tok **v;
    size_t n;
};

static void timer_cb(evutil_socket_t fd, short what, void *arg);

static void arm(struct tok *t, uint64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    event_add(t->timer_ev, &tv);
}

static void wipe(struct tok *t)
{
    explicit_bzero(t->buf, sizeof t->buf);
    t->len = 0;
    t->overflow = false;
}

/* ---- parsing and publishing ---- */

/* The token and its expiry (0: not given) from a source's output, in
 * place in buf; NULL with why set when there is none. */
static const char *parse(char *buf, size_t len, size_t *tlen, uint64_t *expires_ms, const char **why)
{
    *expires_ms = 0;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    char *s = buf + strspn(buf, " \t\r\n");
    if (*s != '{') {
        *tlen = strcspn(s, "\r\n");
        *why = "the output is empty";
        return *tlen ? s : NULL;
    }
    json_t *doc = json_loads(s, 0, NULL);
    const json_t *tok = json_object_get(doc, "access_token");
    if (!tok)
        tok = json_object_get(doc, "token");
    const json_t *in = json_object_get(doc, "expires_in");
    const json_t *at = json_object_get(doc, "expires_at");
    const char *out = NULL;
    *why = "the JSON output has no access_token string";
    if (json_is_string(tok) && json_string_length(tok) && json_string_length(tok) < TOKEN_MAX) {
        /* Back into buf, so the secret has one place to be wiped from. */
        *tlen = json_string_length(tok);
        memmove(buf, json_string_value(tok), *tlen + 1);
        out = buf;
        if (json_is_number(in) && json_number_value(in) > 0)
            *expires_ms = bs_wall_ms() + (uint64_t)(json_number_value(in) * 1000);
        else if (json_is_number(at) && json_number_value(at) > 0)
            *expires_ms = (uint64_t)(json_number_value(at) * 1000);
    }
    if (json_is_string(tok))
        explicit_bzero((char *)json_string_value(tok), json_string_length(tok));
    json_decref(doc);
    return out;
}

/* When to refresh a token that expires at expires_ms (0: unknown). */
static uint64_t refresh_in(uint64_t expires_ms)
{
    if (!expires_ms)
        return TOKEN_UNKNOWN_LIFE_MS;
    uint64_t now = bs_wall_ms();
    uint64_t life = expires_ms > now ? expires_ms - now : 0;
    uint64_t ahead = life / 2 < TOKEN_AHEAD_MS ? life / 2 : TOKEN_AHEAD_MS;
    return life - ahead < 1000 ? 1000 : life - ahead;
}

/* Publishes what the source gave; returns when to look again (ms). */
static uint64_t take(struct tok *t)
{
    size_t tlen = 0;
    uint64_t expires = 0;
    const char *why = NULL;
    const char *token = parse(t->buf, t->len, &tlen, &expires, &why);
    const char *bad = token ? keys_secret_invalid(token, tlen) : why;
    uint64_t next = TOKEN_RETRY_MS;
    if (bad) {
        log_err("token: provider %s: %s from %s; the current key stays, retry in %d s", t->provider, bad,
                t->command ? "token_command" : "token_file", TOKEN_RETRY_MS / 1000);
    } else {
        char fp[KEYS_HEX_LEN];
        keys_fingerprint(token, tlen, fp);
        next = refresh_in(expires);
        if (strcmp(fp, t->last_fp) != 0) {
            json_t *res = NULL;
            char err[256];
            if (ctr_keys_set(t->c, t->provider, token, tlen, &res, err, sizeof err) < 0) {
                log_err("token: provider %s: cannot publish the token: %s", t->provider, err);
                next = TOKEN_RETRY_MS;
            } else {
                memcpy(t->last_fp, fp, sizeof fp);
                log_notice("token: provider %s: new token published (fingerprint %s, %s%llu s)", t->provider, fp,
                           expires ? "expires in " : "no expiry given, refreshed in ",
                           (unsigned long long)((expires ? expires - bs_wall_ms() : next) / 1000));
            }
            json_decref(res);
        }
    }
    wipe(t);
    return next;
}

/* ---- sources ---- */

static int read_file(struct tok *t)
{
    int fd = open(t->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_err("token: provider %s: cannot open token_file %s: %s", t->provider, t->file, strerror(errno));
        return -1;
    }
    ssize_t n;
    while ((n = read(fd, t->buf + t->len, sizeof t->buf - 1 - t->len)) > 0)
        t->len += (size_t)n;
    int e = errno;
    close(fd);
    if (n < 0 || t->len == sizeof t->buf - 1) {
        log_err("token: provider %s: token_file %s: %s", t->provider, t->file,
                n < 0 ? strerror(e) : "larger than a token can be");
        wipe(t);
        return -1;
    }
    return 0;
}

/* Starts the command with its stdout on a pipe (t->fd). */
static int spawn(struct tok *t)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        log_err("token: provider %s: pipe: %s", t->provider, strerror(errno));
        return -1;
    }
    char *argv[] = { "sh", "-c", t->command, NULL };
    sigset_t none, old;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        /* async-signal-safe calls only */
        int devnull = open("/dev/null", O_RDONLY);
        if (dup2(p[1], 1) < 0 || (devnull >= 0 && dup2(devnull, 0) < 0))
            _exit(127);
        setpgid(0, 0);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv("/bin/sh", argv);
        _exit(127);
    }
    int saved = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        log_err("token: provider %s: fork: %s", t->provider, strerror(saved));
        return -1;
    }
    t->pid = pid;
    t->fd = p[0];
    t->eof = t->exited = false;
    t->status = 0;
    return 0;
}

static void kill_command(struct tok *t)
{
    if (t->pid > 0)
        kill(-t->pid, SIGKILL); /* its process group: sh and what it started */
}

static void close_pipe(struct tok *t)
{
    if (t->read_ev) {
        event_free(t->read_ev);
        t->read_ev = NULL;
    }
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
}

/* Reads what is there; true at end of output. */
static bool drain(struct tok *t)
{
    char junk[512];
    for (;;) {
        bool full = t->len >= sizeof t->buf - 1;
        ssize_t n = read(t->fd, full ? junk : t->buf + t->len, full ? sizeof junk : sizeof t->buf - 1 - t->len);
        if (n > 0) {
            if (full)
                t->overflow = true;
            else
                t->len += (size_t)n;
            continue;
        }
        return n == 0 || (errno != EAGAIN && errno != EINTR);
    }
}

/* The command is over when its output ended and it exited. */
static void command_done(struct tok *t)
{
    if (!t->eof || !t->exited)
        return;
    t->pid = 0;
    uint64_t next;
    if (!WIFEXITED(t->status) || WEXITSTATUS(t->status) != 0 || t->overflow) {
        log_err("token: provider %s: token_command %s; the current key stays, retry in %d s", t->provider,
                t->overflow ? "printed more than a token can be"
                : WIFEXITED(t->status) ? "failed (non-zero exit)" : "was killed or timed out",
                TOKEN_RETRY_MS / 1000);
        wipe(t);
        next = TOKEN_RETRY_MS;
    } else {
        next = take(t);
    }
    arm(t, next);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct tok *t = arg;
    if (!drain(t))
        return;
    t->eof = true;
    close_pipe(t);
    /* The reaper may not have run yet; ask once ourselves. */
    int status;
    if (!t->exited && waitpid(t->pid, &status, WNOHANG) == t->pid) {
        t->exited = true;
        t->status = status;
    }
    command_done(t);
}

/* Reads the file, or starts the command: true when a command now runs
 * (its output is t->fd, non-blocking); else the next look is armed. */
static bool begin(struct tok *t)
{
    if (t->file) {
        arm(t, read_file(t) == 0 ? take(t) : TOKEN_RETRY_MS);
        return false;
    }
    if (spawn(t) < 0) {
        arm(t, TOKEN_RETRY_MS);
        return false;
    }
    fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
    return true;
}

static void start_async(struct tok *t)
{
    if (!begin(t))
        return;
    t->read_ev = event_new(t->c->base, t->fd, EV_READ | EV_PERSIST, read_cb, t);
    if (!t->read_ev || event_add(t->read_ev, NULL) < 0) {
        log_err("token: provider %s: cannot watch the command's output", t->provider);
        kill_command(t);
        close_pipe(t);
        t->eof = true; /* command_done once the reaper reports it */
    }
    arm(t, TOKEN_TIMEOUT_MS);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct tok *t = arg;
    if (t->pid > 0) {
        /* The deadline of a running command: kill it; the reaper and the
         * end of its output finish the attempt. */
        log_err("token: provider %s: token_command still running after %d s; killed", t->provider,
                TOKEN_TIMEOUT_MS / 1000);
        kill_command(t);
        return;
    }
    start_async(t);
}

/* The first fetch, before the workers start: blocking, bounded. */
static void fetch_now(struct tok *t)
{
    if (!begin(t))
        return;
    uint64_t deadline = bs_wall_ms() + TOKEN_TIMEOUT_MS;
    while (!t->eof) {
        uint64_t now = bs_wall_ms();
        if (now >= deadline) {
            log_err("token: provider %s: token_command still running after %d s; killed", t->provider,
                    TOKEN_TIMEOUT_MS / 1000);
            kill_command(t);
            deadline = UINT64_MAX;
        }
        struct pollfd pfd = { t->fd, POLLIN, 0 };
        int ms = deadline == UINT64_MAX ? 1000 : (int)(deadline - now);
        if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
            break;
        if (pfd.revents && drain(t))
            t->eof = true;
    }
    close_pipe(t);
    t->eof = true;
    int status = 0;
    while (waitpid(t->pid, &status, 0) < 0 && errno == EINTR)
        ;
    t->exited = true;
    t->status = status;
    command_done(t);
}

/* ---- the set of sources ---- */

static void tok_free(struct tok *t)
{
    if (!t)
        return;
    kill_command(t);
    close_pipe(t);
    if (t->pid > 0)
        waitpid(t->pid, NULL, WNOHANG); /* else the reaper collects it */
    if (t->timer_ev)
        event_free(t->timer_ev);
    wipe(t);
    free(t->provider);
    free(t->command);
    free(t->file);
    free(t);
}

static struct tok *tok_new(struct ctr *c, const struct cfg_provider *p)
{
    struct tok *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->c = c;
    t->fd = -1;
    t->provider = strdup(p->name);
    t->command = p->token_command ? strdup(p->token_command) : NULL;
    t->file = p->token_file ? strdup(p->token_file) : NULL;
    t->timer_ev = evtimer_new(c->base, timer_cb, t);
    if (!t->provider || (p->token_command && !t->command) || (p->token_file && !t->file) || !t->timer_ev) {
        tok_free(t);
        return NULL;
    }
    return t;
}

void ctr_token_free(struct ctr *c)
{
    struct ctr_tokens *ts = c->tokens;
    if (!ts)
        return;
    for (size_t i = 0; i < ts->n; i++)
        tok_free(ts->v[i]);
    free(ts->v);
    free(ts);
    c->tokens = NULL;
}

/* Sources for the current configuration; the first fetch blocking when
 * sync (at start), else right away on the event loop. */
static int build(struct ctr *c, bool sync)
{
    ctr_token_free(c);
    struct ctr_tokens *ts = calloc(1, sizeof *ts);
    if (!ts)
        return -ENOMEM;
    c->tokens = ts;
    for (size_t i = 0; i < c->cfg->nproviders; i++) {
        const struct cfg_provider *p = &c->cfg->providers[i];
        if (!p->token_command && !p->token_file)
            continue;
        struct tok **v = realloc(ts->v, (ts->n + 1) * sizeof *v);
        struct tok *t = v ? tok_new(c, p) : NULL;
        if (v)
            ts->v = v;
        if (!t) {
            log_err("token: provider %s: out of memory; its key is not refreshed", p->name);
            return -ENOMEM;
        }
        ts->v[ts->n++] = t;
        if (sync)
            fetch_now(t);
        else
            arm(t, 0);
    }
    return 0;
}

int ctr_token_start(struct ctr *c)
{
    return build(c, true);
}

void ctr_token_reload(struct ctr *c)
{
    if (build(c, false) < 0)
        log_err("token: reload: out of memory");
}

bool ctr_token_reaped(struct ctr *c, pid_t pid, int status)
{
    struct ctr_tokens *ts = c->tokens;
    for (size_t i = 0; ts && i < ts->n; i++) {
        struct tok *t = ts->v[i];
        if (t->pid != pid)
            continue;
        t->exited = true;
        t->status = status;
        command_done(t);
        return true;
    }
    return false;
}
