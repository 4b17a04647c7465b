/*
 * ECMA 262 pattern -> POSIX ERE, and matching under C.UTF-8.
 *
 * The translation reads the ECMA pattern once and writes the ERE; it never
 * tries to be clever about a construct it does not know, it refuses it.
 * Greedy or lazy makes no difference to whether a string matches somewhere,
 * which is all a schema asks, so lazy quantifiers simply become greedy.
 */
#include <locale.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "jsv_regex.h"

struct jsv_regex {
    regex_t re;
    bool utf8;
};

/* ---- the locale ---- */

static locale_t utf8_loc;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
    /* Kept for the life of the process: patterns compiled under it must run
     * under it. */
    utf8_loc = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t utf8_locale(void)
{
    pthread_once(&utf8_once, utf8_init);
    return utf8_loc;
}

/* ---- output buffer ---- */

struct out {
    char *p;
    size_t n, cap;
    bool oom;
    char *err;
    size_t errlen;
    bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->n + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->n + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->oom = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    o->p[o->n] = '\0';
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static int refuse(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct out *o, const char *fmt, ...)
{
    if (!o->failed && o->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->err, o->errlen, fmt, ap);
        va_end(ap);
    }
    o->failed = true;
    return -1;
}

static size_t utf8_put(char *b, uint32_t cp)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes one UTF-8 sequence at *s (jansson strings are valid UTF-8). */
static uint32_t utf8_get(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t cp = p[0];
    int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
    if (extra)
        cp &= 0x3Fu >> extra;
    for (int i = 1; i <= extra && (p[i] & 0xC0) == 0x80; i++)
        cp = (cp << 6) | (p[i] & 0x3F);
    *s += 1 + extra;
    return cp;
}

/* A character that must match itself, outside brackets. */
static void literal(struct out *o, uint32_t cp)
{
    char b[5];
    if (cp < 0x80 && strchr(".[]()*+?{}|^$\\", (int)cp) && cp) {
        b[0] = '\\';
        b[1] = (char)cp;
        put(o, b, 2);
        return;
    }
    put(o, b, utf8_put(b, cp));
}

static bool hex_n(const char *s, int n, uint32_t *cp)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        int h = hex_digit((unsigned char)s[i]);
        if (h < 0)
            return false;
        v = v * 16 + (uint32_t)h;
    }
    *cp = v;
    return true;
}

/* \xHH, \uHHHH (a surrogate pair too), \u{H...}; *s is past the letter.
 * Returns false when malformed. */
static bool hex_escape(char kind, const char **s, uint32_t *cp)
{
    if (kind == 'x') {
        if (!hex_n(*s, 2, cp))
            return false;
        *s += 2;
        return true;
    }
    if (**s == '{') {
        const char *p = *s + 1;
        uint32_t v = 0;
        int digits = 0;
        for (; hex_digit((unsigned char)*p) >= 0 && digits < 7; p++, digits++)
            v = v * 16 + (uint32_t)hex_digit((unsigned char)*p);
        if (!digits || *p != '}' || v > 0x10FFFF)
            return false;
        *cp = v;
        *s = p + 1;
        return true;
    }
    if (!hex_n(*s, 4, cp))
        return false;
    *s += 4;
    uint32_t lo;
    if (*cp >= 0xD800 && *cp < 0xDC00 && (*s)[0] == '\\' && (*s)[1] == 'u' &&
        hex_n(*s + 2, 4, &lo) && lo >= 0xDC00 && lo < 0xE000) {
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
        *s += 6;
    }
    return true;
}

/* Escapes that stand for one character, in and out of brackets.  Returns 1
 * with *cp, 0 when e is not one of them. */
static int char_escape(struct out *o, char e, const char **s, uint32_t *cp)
{
    switch (e) {
    case 'n': *cp = '\n'; return 1;
    case 't': *cp = '\t'; return 1;
    case 'r': *cp = '\r'; return 1;
    case 'f': *cp = '\f'; return 1;
    case 'v': *cp = '\v'; return 1;
    case 'c':
        if ((**s >= 'a' && **s <= 'z') || (**s >= 'A' && **s <= 'Z')) {
            *cp = (uint32_t)(**s % 32);
            (*s)++;
            return 1;
        }
        return refuse(o, "\\c must be followed by a letter");
    case 'x':
    case 'u':
        if (!hex_escape(e, s, cp))
            return refuse(o, "malformed \\%c escape", e);
        if (*cp == 0)
            return refuse(o, "NUL characters are not supported");
        return 1;
    case '0':
        return refuse(o, "\\0 (NUL) is not supported");
    }
    if (e >= '1' && e <= '9')
        return refuse(o, "backreferences (\\%c) are not supported", e);
    if (e == 'k')
        return refuse(o, "named backreferences (\\k) are not supported");
    if (e == 'p' || e == 'P')
        return refuse(o, "Unicode property classes (\\%c{...}) are not supported", e);
    if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z'))
        return refuse(o, "unknown escape \\%c", e);
    return 0;
}

/* ---- bracket expressions ---- */

struct cls {
    uint8_t ascii[16];
    bool space;
    bool negated;
    struct out wide; /* UTF-8 of non-ASCII members */
};

static void cls_set(struct cls *k, uint32_t lo, uint32_t hi)
{
    for (uint32_t c = lo; c <= hi; c++)
        k->ascii[c / 8] |= (uint8_t)(1u << (c % 8));
}

static bool cls_has(const struct cls *k, uint32_t c)
{
    return k->ascii[c / 8] & (1u << (c % 8));
}

/* One member: returns 1 with a character in *cp, 2 for a shorthand that
 * was added to k, -1 on error.  *s is at the member. */
static int cls_atom(struct out *o, struct cls *k, const char **s, uint32_t *cp)
{
    if (**s != '\\') {
        *cp = utf8_get(s);
        return 1;
    }
    char e = (*s)[1];
    if (!e)
        return refuse(o, "pattern ends inside [...]");
    *s += 2;
    switch (e) {
    case 'd': cls_set(k, '0', '9'); return 2;
    case 'w':
        cls_set(k, '0', '9');
        cls_set(k, 'A', 'Z');
        cls_set(k, 'a', 'z');
        cls_set(k, '_', '_');
        return 2;
    case 's': k->space = true; return 2;
    case 'D':
    case 'W':
    case 'S':
        return refuse(o, "\\%c inside [...] is not supported", e);
    case 'b': *cp = '\b'; return 1;
    case '-': *cp = '-'; return 1;
    }
    int r = char_escape(o, e, s, cp);
    if (r)
        return r;
    (*s)--;
    *cp = utf8_get(s); /* an escaped punctuation or non-ASCII character */
    return 1;
}

static void cls_add(struct out *o, struct cls *k, uint32_t lo, uint32_t hi)
{
    if (hi < 0x80) {
        cls_set(k, lo, hi);
        return;
    }
    if (lo != hi) {
        refuse(o, "ranges of non-ASCII characters inside [...] are not supported");
        return;
    }
    char b[4];
    put(&k->wide, b, utf8_put(b, lo));
}

static bool special_in_brackets(uint32_t c)
{
    return c == ']' || c == '^' || c == '-' || c == '[';
}

/* Writes the members in an order POSIX reads unambiguously: ']' first,
 * '-' last, '^' never first, '[' where it cannot open "[:" "[." "[=". */
static void cls_emit(struct out *o, struct cls *k)
{
    struct out in = {0};
    if (cls_has(k, ']'))
        puts_(&in, "]");
    for (uint32_t c = 1; c < 0x80;) {
        if (!cls_has(k, c) || special_in_brackets(c)) {
            c++;
            continue;
        }
        uint32_t end = c;
        while (end + 1 < 0x80 && cls_has(k, end + 1) && !special_in_brackets(end + 1))
            end++;
        char b[3] = {(char)c, '-', (char)end};
        if (end == c)
            put(&in, b, 1);
        else if (end == c + 1)
            put(&in, (char[]){(char)c, (char)end}, 2);
        else
            put(&in, b, 3);
        c = end + 1;
    }
    if (k->space)
        puts_(&in, "[:space:]");
    if (k->wide.n)
        put(&in, k->wide.p, k->wide.n);
    if (cls_has(k, '['))
        puts_(&in, "[");
    if (cls_has(k, '^'))
        puts_(&in, "^");
    if (cls_has(k, '-'))
        puts_(&in, "-");
    if (in.oom) {
        o->oom = true;
    } else if (!in.n) {
        if (k->negated)
            puts_(o, "."); /* [^] matches any character */
        else
            refuse(o, "the empty class [] is not supported");
    } else if (!k->negated && in.p[0] == '^') {
        /* only '^' and maybe '-' are members */
        puts_(o, in.n == 1 ? "\\^" : "[-^]");
    } else {
        puts_(o, k->negated ? "[^" : "[");
        put(o, in.p, in.n);
        puts_(o, "]");
    }
    free(in.p);
}

static void bracket(struct out *o, const char **s, bool utf8)
{
    struct cls k = {0};
    if (**s == '^') {
        k.negated = true;
        (*s)++;
    }
    while (!o->failed && **s != ']') {
        if (!**s) {
            refuse(o, "unterminated [...]");
            break;
        }
        uint32_t lo, hi;
        int r = cls_atom(o, &k, s, &lo);
        if (r != 1)
            continue;
        if ((*s)[0] == '-' && (*s)[1] && (*s)[1] != ']') {
            (*s)++;
            if (cls_atom(o, &k, s, &hi) != 1) {
                refuse(o, "a range inside [...] must end in a character");
                break;
            }
            if (hi < lo) {
                refuse(o, "range out of order inside [...]");
                break;
            }
        } else {
            hi = lo;
        }
        cls_add(o, &k, lo, hi);
    }
    if (!o->failed && k.wide.n && !utf8)
        refuse(o, "non-ASCII characters inside [...] need the C.UTF-8 locale");
    if (!o->failed) {
        (*s)++;
        cls_emit(o, &k);
    }
    if (k.wide.oom)
        o->oom = true;
    free(k.wide.p);
}

/* ---- the pattern ---- */

/* {n}, {n,}, {n,m}: the length of the quantifier at s, 0 if s is a literal
 * brace as ECMA reads it. */
static size_t quantifier_len(const char *s)
{
    size_t i = 1, d = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++, d++;
    if (!d)
        return 0;
    if (s[i] == ',') {
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
    }
    return s[i] == '}' ? i + 1 : 0;
}

static void escape(struct out *o, const char **s)
{
    char e = (*s)[1];
    if (!e) {
        refuse(o, "pattern ends with a backslash");
        return;
    }
    *s += 2;
    switch (e) {
    case 'd': puts_(o, "[0-9]"); return;
    case 'D': puts_(o, "[^0-9]"); return;
    case 'w': puts_(o, "[A-Za-z0-9_]"); return;
    case 'W': puts_(o, "[^A-Za-z0-9_]"); return;
    case 's': puts_(o, "[[:space:]]"); return;
    case 'S': puts_(o, "[^[:space:]]"); return;
    case 'b': puts_(o, "\\b"); return;
    case 'B': puts_(o, "\\B"); return;
    }
    uint32_t cp;
    int r = char_escape(o, e, s, &cp);
    if (r < 0)
        return;
    if (r == 0) {
        (*s)--;
        cp = utf8_get(s);
    }
    literal(o, cp);
}

static void group(struct out *o, const char **s)
{
    const char *p = *s + 1;
    if (*p != '?') {
        *s = p;
        puts_(o, "(");
        return;
    }
    p++;
    if (*p == ':') {
        *s = p + 1;
    } else if (*p == '=' || *p == '!') {
        refuse(o, "lookahead (?%c...) is not supported", *p);
        return;
    } else if (*p == '<' && (p[1] == '=' || p[1] == '!')) {
        refuse(o, "lookbehind (?<%c...) is not supported", p[1]);
        return;
    } else if (*p == '<') {
        const char *end = strchr(p, '>');
        if (!end) {
            refuse(o, "unterminated group name");
            return;
        }
        *s = end + 1;
    } else {
        refuse(o, "unknown group (?%c", *p ? *p : ' ');
        return;
    }
    puts_(o, "(");
}

static void translate(struct out *o, const char *s, bool utf8)
{
    while (*s && !o->failed && !o->oom) {
        size_t q;
        switch (*s) {
        case '\\':
            escape(o, &s);
            continue;
        case '[':
            s++;
            bracket(o, &s, utf8);
            continue;
        case '(':
            group(o, &s);
            continue;
        case '.':
            /* ECMA's dot stops at line terminators; the POSIX one does not. */
            puts_(o, "[^\n\r]");
            s++;
            continue;
        case '*':
        case '+':
        case '?':
            put(o, s, 1);
            s++;
            break;
        case '{':
            q = quantifier_len(s);
            if (!q) {
                puts_(o, "\\{");
                s++;
                continue;
            }
            put(o, s, q);
            s += q;
            break;
        case '}':
            puts_(o, "\\}");
            s++;
            continue;
        case ']':
            puts_(o, "\\]");
            s++;
            continue;
        default:
            put(o, s, 1);
            s++;
            continue;
        }
        if (*s == '?') /* lazy: see the top of the file */
            s++;
    }
}

char *jsv_regex_translate(const char *ecma, bool utf8, char *err, size_t errlen)
{
    struct out o = {.err = err, .errlen = errlen};
    puts_(&o, "");
    translate(&o, ecma, utf8);
    if (o.oom && !o.failed)
        refuse(&o, "out of memory");
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    return o.p;
}

struct jsv_regex *jsv_regex_new(const char *ecma, char *err, size_t errlen)
{
    locale_t loc = utf8_locale();
    char *ere = jsv_regex_translate(ecma, loc != (locale_t)0, err, errlen);
    if (!ere)
        return NULL;
    struct jsv_regex *re = calloc(1, sizeof *re);
    if (!re) {
        free(ere);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    re->utf8 = loc != (locale_t)0;
    locale_t old = re->utf8 ? uselocale(loc) : (locale_t)0;
    int rc = regcomp(&re->re, ere, REG_EXTENDED | REG_NOSUB);
    if (re->utf8)
        uselocale(old);
    free(ere);
    if (rc != 0) {
        char why[128];
        regerror(rc, &re->re, why, sizeof why);
        snprintf(err, errlen, "%s", why);
        free(re);
        return NULL;
    }
    return re;
}

bool jsv_regex_match(const struct jsv_regex *re, const char *s, size_t len)
{
    locale_t old = re->utf8 ? uselocale(utf8_locale()) : (locale_t)0;
    /* REG_STARTEND: the length bounds the search, so a string holding
     * U+0000 is searched whole. */
    regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)len};
    int rc = regexec(&re->re, s, 1, &m, REG_STARTEND);
    if (re->utf8)
        uselocale(old);
    return rc == 0;
}

void jsv_regex_free(struct jsv_regex *re)
{
    if (!re)
        return;
    regfree(&re->re);
    free(re);
}
