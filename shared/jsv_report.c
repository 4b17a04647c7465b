/*
 * Turning a failure into jsv_result: the instance path in the spelling of
 * the configuration errors ($.a.b[3], $["odd key"]; see shared/cfg_ctx.c),
 * and short renderings of values so that a message stays one readable line
 * whatever the instance or the schema holds.  Everything is written into
 * the caller's result: no allocation.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsv_impl.h"

#define QUOTE_CUT 64
#define SHOW_DEPTH 2

/* A bounded writer that ends with "..." when it had to cut. */
struct w {
    char *b;
    size_t cap, len;
    bool cut;
};

static void w_init(struct w *w, char *b, size_t cap)
{
    w->b = b;
    w->cap = cap;
    w->len = 0;
    w->cut = false;
    if (cap)
        b[0] = '\0';
}

static void w_put(struct w *w, const char *s, size_t n)
{
    if (w->cut || w->cap < 5)
        return;
    size_t room = w->cap - 4 - w->len; /* keep space for "..." and NUL */
    if (n > room) {
        /* never leave half a UTF-8 sequence before the dots */
        size_t k = room;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        memcpy(w->b + w->len, s, k);
        w->len += k;
        memcpy(w->b + w->len, "...", 4);
        w->len += 3;
        w->cut = true;
        return;
    }
    memcpy(w->b + w->len, s, n);
    w->len += n;
    w->b[w->len] = '\0';
}

static void w_str(struct w *w, const char *s)
{
    w_put(w, s, strlen(s));
}

static void w_fmt(struct w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void w_fmt(struct w *w, const char *fmt, ...)
{
    char tmp[JSV_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        w_put(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string literal of s (len bytes), cut after QUOTE_CUT bytes. */
static void w_quoted(struct w *w, const char *s, size_t len)
{
    w_put(w, "\"", 1);
    size_t i = 0;
    for (; i < len && i < QUOTE_CUT; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            w_put(w, e, 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            w_fmt(w, "\\u%04x", ch);
        } else {
            size_t run = 1;
            /* copy a whole UTF-8 sequence at once so the cut stays clean */
            while (i + run < len && ((unsigned char)s[i + run] & 0xC0) == 0x80)
                run++;
            w_put(w, s + i, run);
            i += run - 1;
        }
    }
    w_put(w, i < len ? "\"..." : "\"", i < len ? 4 : 1);
}

static void w_real(struct w *w, double d)
{
    char b[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, d);
        if (strtod(b, NULL) == d)
            break;
    }
    if (isfinite(d) && !strpbrk(b, ".eE"))
        strcat(b, ".0");
    w_str(w, b);
}

static void w_value(struct w *w, const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_NULL:    w_str(w, "null"); return;
    case JSON_TRUE:    w_str(w, "true"); return;
    case JSON_FALSE:   w_str(w, "false"); return;
    case JSON_INTEGER: w_fmt(w, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); return;
    case JSON_REAL:    w_real(w, json_real_value(v)); return;
    case JSON_STRING:  w_quoted(w, json_string_value(v), json_string_length(v)); return;
    case JSON_ARRAY: {
        if (depth >= SHOW_DEPTH && json_array_size(v)) {
            w_str(w, "[...]");
            return;
        }
        w_str(w, "[");
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            if (i)
                w_str(w, ", ");
            w_value(w, e, depth + 1);
        }
        w_str(w, "]");
        return;
    }
    case JSON_OBJECT: {
        if (depth >= SHOW_DEPTH && json_object_size(v)) {
            w_str(w, "{...}");
            return;
        }
        w_str(w, "{");
        const char *k;
        const json_t *e;
        bool first = true;
        json_object_foreach((json_t *)v, k, e) {
            if (!first)
                w_str(w, ", ");
            first = false;
            w_quoted(w, k, strlen(k));
            w_str(w, ": ");
            w_value(w, e, depth + 1);
        }
        w_str(w, "}");
        return;
    }
    }
}

const char *jsv_show(char *buf, size_t n, const json_t *v)
{
    struct w w;
    w_init(&w, buf, n);
    w_value(&w, v, 0);
    return buf;
}

const char *jsv_show_str(char *buf, size_t n, const char *s)
{
    struct w w;
    w_init(&w, buf, n);
    w_quoted(&w, s, strlen(s));
    return buf;
}

const char *jsv_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "object";
    case JSON_ARRAY:   return "array";
    case JSON_STRING:  return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL:    return "number";
    case JSON_TRUE:
    case JSON_FALSE:   return "boolean";
    case JSON_NULL:    return "null";
    }
    return "?";
}

const char *jsv_types_str(char *buf, size_t n, unsigned mask)
{
    static const struct {
        unsigned bit;
        const char *name;
    } order[] = {
        {JSV_T_OBJECT, "object"},   {JSV_T_ARRAY, "array"},     {JSV_T_STRING, "string"},
        {JSV_T_NUMBER, "number"},   {JSV_T_INTEGER, "integer"}, {JSV_T_BOOLEAN, "boolean"},
        {JSV_T_NULL, "null"},
    };
    if (mask & JSV_T_NUMBER)
        mask &= ~(unsigned)JSV_T_INTEGER;
    const char *names[8];
    size_t k = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (mask & order[i].bit)
            names[k++] = order[i].name;
    struct w w;
    w_init(&w, buf, n);
    if (!k)
        w_str(&w, "(none)");
    for (size_t i = 0; i < k; i++) {
        if (i)
            w_str(&w, i + 1 == k ? " or " : ", ");
        w_str(&w, names[i]);
    }
    return buf;
}

/* ---- paths ---- */

static bool plain_key(const char *k)
{
    if (!*k || strlen(k) > QUOTE_CUT)
        return false;
    for (; *k; k++) {
        unsigned char ch = (unsigned char)*k;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static void format_path(char *out, size_t cap, const struct jsv_loc *at)
{
    const struct jsv_loc *chain[JSV_MAX_DEPTH + 2];
    size_t n = 0;
    for (const struct jsv_loc *l = at; l && l->up && n < sizeof chain / sizeof chain[0]; l = l->up)
        chain[n++] = l;
    struct w w;
    w_init(&w, out, cap);
    w_str(&w, "$");
    while (n--) {
        const struct jsv_loc *l = chain[n];
        if (!l->key) {
            w_fmt(&w, "[%zu]", l->index);
        } else if (plain_key(l->key)) {
            w_str(&w, ".");
            w_str(&w, l->key);
        } else {
            w_str(&w, "[");
            w_quoted(&w, l->key, strlen(l->key));
            w_str(&w, "]");
        }
    }
}

/* ---- failures ---- */

static void report(struct jsv_result *r, const struct jsv_loc *at, const char *kw,
                   const char *text)
{
    r->keyword = kw;
    format_path(r->path, sizeof r->path, at);
    struct w w;
    w_init(&w, r->message, sizeof r->message);
    w_str(&w, r->path);
    w_str(&w, ": ");
    w_str(&w, text);
}

int jsv_fail(struct jsv_vctx *c, const struct jsv_loc *at, const char *kw, const char *fmt, ...)
{
    if (c->quiet) {
        c->fail_depth = at->depth;
        c->fail_kw = kw;
        return JSV_INVALID;
    }
    if (c->out) {
        char text[JSV_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        report(c->out, at, kw, text);
    }
    return JSV_INVALID;
}

int jsv_fail_type(struct jsv_vctx *c, const struct jsv_loc *at, unsigned want, const json_t *v)
{
    if (c->quiet) {
        c->fail_types = want;
        return jsv_fail(c, at, "type", "%s", "");
    }
    char t[96];
    return jsv_fail(c, at, "type", "expected type %s, got %s", jsv_types_str(t, sizeof t, want),
                    jsv_type_name(v));
}

int jsv_too_deep(struct jsv_vctx *c, const struct jsv_loc *at)
{
    /* Written even inside a probe: this ends the whole validation. */
    if (c->out) {
        char text[64];
        snprintf(text, sizeof text, "nested deeper than %d levels; not validated", JSV_MAX_DEPTH);
        report(c->out, at, "depth", text);
    }
    return JSV_TOO_DEEP;
}

void jsv_wrap(struct jsv_vctx *c, const struct jsv_loc *at, const char *kw, const char *fmt, ...)
{
    struct jsv_result *r = c->out;
    if (!r || c->quiet)
        return;
    /* the inner text without its path */
    char inner[JSV_MSG_MAX];
    size_t plen = strlen(r->path);
    const char *was = strncmp(r->message, r->path, plen) == 0 && r->message[plen] == ':'
                          ? r->message + plen + 2
                          : r->message;
    snprintf(inner, sizeof inner, "%s", was);
    char head[JSV_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    char text[2 * JSV_MSG_MAX];
    snprintf(text, sizeof text, "%s%s", head, inner);
    report(r, at, kw, text);
}
