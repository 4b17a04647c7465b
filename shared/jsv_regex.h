/*
 * jsv_regex: JSON Schema patterns (ECMA 262 syntax) run on the POSIX
 * extended regex engine of the C library.
 *
 * A pattern is translated once: the ECMA shorthands (\d \w \s and their
 * negations), escapes (\n \t \uXXXX ...), non-capturing and named groups and
 * lazy quantifiers have POSIX equivalents; lookaround, backreferences and
 * Unicode property classes do not and are refused, so a schema that needs
 * them fails to compile instead of validating wrongly.  Matching is per code
 * point when the C.UTF-8 locale exists (it is built into glibc >= 2.35),
 * without touching the process locale.  docs/jsonschema.md lists the
 * differences that remain.
 */
#ifndef BS_JSV_REGEX_H
#define BS_JSV_REGEX_H

#include <stdbool.h>
#include <stddef.h>

struct jsv_regex;

/* NULL with a one-line reason in err when the pattern is not supported or
 * does not compile. */
struct jsv_regex *jsv_regex_new(const char *ecma, char *err, size_t errlen);
/* Search semantics, as in ECMA: anywhere in s unless anchored. */
bool jsv_regex_match(const struct jsv_regex *re, const char *s, size_t len);
void jsv_regex_free(struct jsv_regex *re);

/* The POSIX text of an ECMA pattern (malloc'd), for tests; utf8 says
 * whether non-ASCII characters may appear inside brackets.  NULL with err
 * set on failure. */
char *jsv_regex_translate(const char *ecma, bool utf8, char *err, size_t errlen);

#endif
