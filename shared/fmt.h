/* fmt: formatting for the per-request path, where parsing snprintf's format
 * string costs more than the work itself.  Each writes no NUL unless it
 * says so and returns the length written. */
#ifndef BS_FMT_H
#define BS_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Decimal; dst has room for 20 bytes. */
static inline size_t fmt_u64(char *dst, uint64_t v)
{
    char t[20];
    size_t n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        dst[i] = t[n - 1 - i];
    return n;
}

/* Lower-case hex, zero-padded to `digits` (at most 16). */
static inline size_t fmt_hex(char *dst, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) {
        dst[i] = hex[v & 15];
        v >>= 4;
    }
    return (size_t)digits;
}

/* The strings one after the other into dst[cap] (cap > 0), cut to fit and
 * NUL-terminated, as snprintf(dst, cap, "%s%s...") would; the list ends
 * with NULL.  Returns the length written. */
static inline size_t fmt_join(char *dst, size_t cap, const char *s, ...)
{
    size_t n = 0;
    va_list ap;
    va_start(ap, s);
    for (; s; s = va_arg(ap, const char *)) {
        size_t l = strlen(s);
        if (l > cap - 1 - n)
            l = cap - 1 - n;
        memcpy(dst + n, s, l);
        n += l;
    }
    va_end(ap);
    dst[n] = '\0';
    return n;
}

#endif
