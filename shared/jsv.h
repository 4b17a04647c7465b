/*
 * jsv: a JSON Schema validator on jansson, for the schemas that tool
 * definitions (`parameters`) and response formats (`json_schema`) carry.
 *
 * A schema is compiled once (jsv_compile) and the result reused for every
 * answer: compiling checks the schema itself, resolves every $ref and
 * compiles every pattern, so validation resolves and parses nothing and
 * allocates nothing (regexec inside the C library aside).  Validation stops at the first violation and reports it with
 * the instance path in the $.a[2].b spelling of the configuration errors
 * (docs/config.md), so the message can go back to a model as it is.
 *
 * A compiled schema is immutable: any number of threads may validate against
 * it at once.  What is supported, and how patterns differ from ECMA 262, is
 * in docs/jsonschema.md.
 */
#ifndef BS_JSV_H
#define BS_JSV_H

#include <stddef.h>

#include <jansson.h>

/* The dialect decides the few keywords whose meaning changed between drafts:
 * whether $ref hides its siblings (up to draft 7 it does) and which key
 * names an anchor.  A root "$schema" naming a known draft wins over the
 * default the caller gives. */
enum jsv_draft {
    JSV_DRAFT4 = 4,
    JSV_DRAFT6 = 6,
    JSV_DRAFT7 = 7,
    JSV_DRAFT2020 = 2020, /* also 2019-09, which agrees on every supported keyword */
};

/* Nesting that validation follows before it gives up: every schema entered,
 * through a property, an item, a combinator or a $ref, counts one level. */
#define JSV_MAX_DEPTH 128

#define JSV_PATH_MAX 256
#define JSV_MSG_MAX 512

enum jsv_verdict {
    JSV_VALID = 0,
    JSV_INVALID = 1,
    /* Nesting passed JSV_MAX_DEPTH before a verdict: neither valid nor known
     * to be invalid.  The caller decides; r says where. */
    JSV_TOO_DEEP = 2,
};

struct jsv_result {
    /* The keyword that failed ("type", "required", ...; "depth" for
     * JSV_TOO_DEEP); a static string. */
    const char *keyword;
    /* Where in the instance: "$", "$.city", "$.items[2].name",
     * "$[\"odd key\"]".  Cut with "..." if longer than the buffer. */
    char path[JSV_PATH_MAX];
    /* One line: the path, then what was expected, e.g.
     * `$.city: expected type string, got integer`.  Values quoted from the
     * instance or the schema are shortened, so it stays readable. */
    char message[JSV_MSG_MAX];
};

struct jsv_schema;

/* Compiles schema (an object or a boolean) in the draft its "$schema"
 * names, or draft 2020-12.  The schema is copied: the caller keeps its own.
 * On error returns NULL and writes one line to err (if errlen > 0) with the
 * place in the schema as a JSON pointer, e.g.
 * `#/properties/unit/type: unknown type "strin"`. */
struct jsv_schema *jsv_compile(const json_t *schema, char *err, size_t errlen);
struct jsv_schema *jsv_compile_draft(const json_t *schema, enum jsv_draft dflt, char *err,
                                     size_t errlen);

/* Returns a jsv_verdict.  r may be NULL when only the verdict is wanted;
 * otherwise it is filled unless the instance is valid. */
int jsv_validate(const struct jsv_schema *s, const json_t *instance, struct jsv_result *r);

void jsv_free(struct jsv_schema *s);

#endif
