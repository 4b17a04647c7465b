/*
 * Error collection and JSON paths for the configuration checker.
 *
 * Paths follow the usual JSONPath spelling ($.a.b[3].c); a key made only of
 * letters, digits, '_' and '-' is written after a dot (so the common model
 * names "gpt-4o-mini" read naturally), anything else in brackets as a JSON
 * string ($.models["meta-llama/Llama-3"]).  Keys and values quoted in
 * messages are cut after 64 bytes: a message must stay one readable line
 * whatever the input holds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_impl.h"

#define QUOTE_CUT 64

void cfg_ctx_init(struct cfg_ctx *c, struct cfg_errors *errs, const char *base_dir,
                  const json_t *root)
{
    memset(c, 0, sizeof *c);
    c->errs = errs;
    c->base_dir = base_dir;
    c->root = root;
    c->path[0] = '$';
    c->plen = 1;
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static bool errors_append(struct cfg_errors *errs, char *msg)
{
    if (!msg)
        return false;
    char **m = realloc(errs->msg, (errs->n + 1) * sizeof *m);
    if (!m) {
        free(msg);
        return false;
    }
    errs->msg = m;
    errs->msg[errs->n++] = msg;
    return true;
}

bool cfg_errors_push(struct cfg_errors *errs, const char *fmt, ...)
{
    if (!errs)
        return true;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    return errors_append(errs, msg);
}

void cfg_err(struct cfg_ctx *c, const char *fmt, ...)
{
    /* Counted even if it cannot be recorded, so the load still fails. */
    c->nerr++;
    if (!c->errs)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *body = vformat(fmt, ap);
    va_end(ap);
    if (!body) {
        c->oom = true;
        return;
    }
    if (!cfg_errors_push(c->errs, "%.*s: %s", (int)c->plen, c->path, body))
        c->oom = true;
    free(body);
}

void cfg_errors_clear(struct cfg_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->n; i++)
        free(errs->msg[i]);
    free(errs->msg);
    errs->msg = NULL;
    errs->n = 0;
}

/* Writes at most QUOTE_CUT input bytes, escaped, never splitting a UTF-8
 * sequence; returns the output length. */
static size_t escape(char *out, const char *s, bool *cut)
{
    size_t o = 0, i = 0;
    for (; s[i] && i < QUOTE_CUT; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)sprintf(out + o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    *cut = s[i] != '\0';
    if (*cut) {
        /* Drop a multi-byte sequence the cut went through. */
        size_t back = i;
        while (back > 0 && ((unsigned char)s[back] & 0xC0) == 0x80)
            back--;
        o -= i - back;
    }
    out[o] = '\0';
    return o;
}

const char *cfg_quote(char buf[CFG_QUOTE_MAX], const char *s)
{
    bool cut;
    buf[0] = '"';
    size_t n = 1 + escape(buf + 1, s, &cut);
    strcpy(buf + n, cut ? "\"..." : "\"");
    return buf;
}

static bool plain_key(const char *k)
{
    if (!*k)
        return false;
    for (; *k; k++) {
        unsigned char ch = (unsigned char)*k;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static void path_append(struct cfg_ctx *c, const char *seg)
{
    size_t n = strlen(seg);
    /* The schema is shallow, so this cannot trigger; it only keeps the
     * buffer safe if a future table nests very deeply. */
    if (c->plen + n >= CFG_PATH_MAX)
        n = CFG_PATH_MAX - 1 - c->plen;
    memcpy(c->path + c->plen, seg, n);
    c->plen += n;
    c->path[c->plen] = '\0';
}

size_t cfg_path_key(struct cfg_ctx *c, const char *key)
{
    size_t old = c->plen;
    char seg[CFG_QUOTE_MAX + 4];
    if (plain_key(key) && strlen(key) <= QUOTE_CUT) {
        seg[0] = '.';
        strcpy(seg + 1, key);
    } else {
        char q[CFG_QUOTE_MAX];
        snprintf(seg, sizeof seg, "[%s]", cfg_quote(q, key));
    }
    path_append(c, seg);
    return old;
}

size_t cfg_path_index(struct cfg_ctx *c, size_t i)
{
    size_t old = c->plen;
    char seg[32];
    snprintf(seg, sizeof seg, "[%zu]", i);
    path_append(c, seg);
    return old;
}

void cfg_path_pop(struct cfg_ctx *c, size_t len)
{
    c->plen = len;
    c->path[len] = '\0';
}
