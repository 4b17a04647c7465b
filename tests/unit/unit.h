/* unit: the smallest test harness.  CHECK records a failure with its place
 * and goes on; SKIP counts a case that could not run here and says why;
 * UNIT_END prints the closing line, "NAME: N passed, N failed, N skipped",
 * and sets the exit code.  A binary that ran no check at all fails: a
 * suite whose cases all went missing or were all skipped proves nothing.
 *
 * The counters are per binary (each test_*.c includes this once). */
#ifndef BS_UNIT_H
#define BS_UNIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int unit_passed, unit_failed, unit_skipped;

/* Returns ok, so a test can stop when a prerequisite failed:
 * if (!CHECK(c != NULL)) return; */
static inline bool unit_check(bool ok, const char *file, int line, const char *what)
{
    if (ok) {
        unit_passed++;
    } else {
        unit_failed++;
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    }
    return ok;
}

/* As unit_check, for a check whose failure says more than its condition
 * (the place is the caller's, for helpers that take __LINE__). */
__attribute__((format(printf, 4, 5))) static inline bool unit_checkf(bool ok, const char *file, int line,
                                                                       const char *fmt, ...)
{
    if (ok) {
        unit_passed++;
        return true;
    }
    unit_failed++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: check failed: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return false;
}

__attribute__((format(printf, 2, 3))) static inline void unit_skip(const char *name, const char *why, ...)
{
    unit_skipped++;
    va_list ap;
    va_start(ap, why);
    printf("SKIP %s: ", name);
    vprintf(why, ap);
    putchar('\n');
    va_end(ap);
}

/* For a suite that counts its cases itself (one read from data files at
 * run time, with tallies per file): its totals join the closing line. */
static inline void unit_add(int passed, int failed, int skipped)
{
    unit_passed += passed;
    unit_failed += failed;
    unit_skipped += skipped;
}

static inline int unit_end(const char *name)
{
    if (unit_passed + unit_failed == 0) {
        fprintf(stderr, "%s: no check ran\n", name);
        unit_failed++;
    }
    printf("%s: %d passed, %d failed, %d skipped\n", name, unit_passed, unit_failed, unit_skipped);
    fflush(stdout);
    return unit_failed ? 1 : 0;
}

#define CHECK(cond) unit_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECKF(cond, ...) unit_checkf(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* SKIP("case name", "why, printf-style", ...) */
#define SKIP(...) unit_skip(__VA_ARGS__)
#define UNIT_END(name) return unit_end(name)

#endif
