/* unit: the smallest test harness: CHECK records a failure with its place
 * and goes on; UNIT_END prints the closing line and sets the exit code. */
#ifndef BS_UNIT_H
#define BS_UNIT_H

#include <stdio.h>

static int unit_passed, unit_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            unit_passed++;                                                            \
        } else {                                                                      \
            unit_failed++;                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define UNIT_END(name)                                                                \
    do {                                                                              \
        printf("%s: %d passed, %d failed\n", name, unit_passed, unit_failed);         \
        return unit_failed ? 1 : 0;                                                   \
    } while (0)

#endif
