/* ctl_out: what backstopctl prints: aligned tables, times, durations, and
 * the --json form. */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ctl_table {
    int ncols;
    char **cells;           /* row-major, the heads first */
    size_t nrows, cap;      /* rows including the heads */
};

static char *dup_cell(const char *s)
{
    char *d = strdup(s ? s : "-");
    if (!d) {
        fputs("backstopctl: out of memory\n", stderr);
        exit(CTL_FAILED);
    }
    return d;
}

struct ctl_table *ctl_table_new(int ncols, const char *const *heads)
{
    struct ctl_table *t = calloc(1, sizeof *t);
    if (!t) {
        fputs("backstopctl: out of memory\n", stderr);
        exit(CTL_FAILED);
    }
    t->ncols = ncols;
    ctl_table_add(t, heads);
    return t;
}

void ctl_table_add(struct ctl_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **grown = realloc(t->cells, cap * (size_t)t->ncols * sizeof *grown);
        if (!grown) {
            fputs("backstopctl: out of memory\n", stderr);
            exit(CTL_FAILED);
        }
        t->cells = grown;
        t->cap = cap;
    }
    for (int c = 0; c < t->ncols; c++)
        t->cells[t->nrows * (size_t)t->ncols + (size_t)c] = dup_cell(cells[c]);
    t->nrows++;
}

void ctl_table_print(const struct ctl_table *t, FILE *out)
{
    size_t *w = calloc((size_t)t->ncols, sizeof *w);
    if (!w)
        return;
    for (size_t r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            size_t l = strlen(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (l > w[c])
                w[c] = l;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
            if (c == t->ncols - 1)
                fprintf(out, "%s\n", s);
            else
                fprintf(out, "%-*s  ", (int)w[c], s);
        }
    }
    free(w);
}

void ctl_table_free(struct ctl_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

void ctl_print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (s) {
        puts(s);
        free(s);
    }
}

void ctl_fmt_time(json_int_t ms, char *buf, size_t n)
{
    if (ms <= 0) {
        snprintf(buf, n, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03dZ", day, (int)(ms % 1000));
}

void ctl_fmt_dur(long long ms, char *buf, size_t n)
{
    const char *sign = ms < 0 ? "-" : "";
    if (ms < 0)
        ms = -ms;
    long long s = ms / 1000, m = s / 60, h = m / 60, d = h / 24;
    if (ms < 1000)
        snprintf(buf, n, "%s%lldms", sign, ms);
    else if (s < 60)
        snprintf(buf, n, "%s%llds", sign, s);
    else if (m < 60)
        snprintf(buf, n, "%s%lldm%02llds", sign, m, s % 60);
    else if (h < 24)
        snprintf(buf, n, "%s%lldh%02lldm", sign, h, m % 60);
    else
        snprintf(buf, n, "%s%lldd%lldh", sign, d, h % 24);
}

const char *ctl_str(const json_t *obj, const char *key, char *buf, size_t n)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, n, "%.1f", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, n, "%s", json_is_true(v) ? "yes" : "no");
    else
        snprintf(buf, n, "-");
    return buf;
}
