/*
 * jsv internals shared by the compiler (jsv_compile.c, jsv_keywords.c,
 * jsv_ref.c), the validator (jsv_validate.c, jsv_combine.c, jsv_report.c)
 * and the JSON value rules both use (jsv_json.c).  Patterns are
 * jsv_regex.h's.
 *
 * Every schema location compiles to one node; keywords that hold
 * subschemas point at other nodes, so $ref is a plain pointer and
 * recursive schemas are cycles in the graph.  Values the validator compares
 * against (enum, const, bounds, required names) point into the schema's
 * private copy, which the compiled schema owns.
 */
#ifndef BS_JSV_IMPL_H
#define BS_JSV_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "jsv.h"
#include "jsv_regex.h"

/* Instance types as a mask; integer is a subset of number. */
enum {
    JSV_T_NULL = 1 << 0,
    JSV_T_BOOLEAN = 1 << 1,
    JSV_T_OBJECT = 1 << 2,
    JSV_T_ARRAY = 1 << 3,
    JSV_T_NUMBER = 1 << 4,
    JSV_T_STRING = 1 << 5,
    JSV_T_INTEGER = 1 << 6,
    /* "type" was given: "type": [] allows nothing, which is not "no type". */
    JSV_T_GIVEN = 1 << 7,
};

#define JSV_UNSET SIZE_MAX

struct jsv_node;

struct jsv_prop {
    const char *name;
    const struct jsv_node *node;
};

struct jsv_pprop {
    const char *source;
    struct jsv_regex *re;
    const struct jsv_node *node;
};

/* dependencies / dependentRequired / dependentSchemas: when `name` is
 * present, either the names in `required` must be too, or the object must
 * match `node`. */
struct jsv_dep {
    const char *name;
    const json_t *required;
    const struct jsv_node *node;
};

struct jsv_list {
    const struct jsv_node **v;
    size_t n;
};

struct jsv_node {
    struct jsv_node *next_alloc; /* every node of a schema, for jsv_free */
    char *where;                 /* JSON pointer of the schema location */
    unsigned char mark;          /* compile-time cycle check */

    bool reject_all; /* the boolean schema false */
    unsigned types;  /* JSV_T_* mask; 0 = no type keyword */

    const struct jsv_node *ref;
    const json_t *enum_values; /* array */
    const json_t *const_value;

    /* numbers: the bound values themselves, so integers compare exactly */
    const json_t *minimum, *maximum, *ex_minimum, *ex_maximum, *multiple_of;
    bool minimum_exclusive, maximum_exclusive; /* draft-4 boolean form */

    /* strings */
    size_t min_length, max_length; /* code points; JSV_UNSET when absent */
    struct jsv_regex *pattern;
    const char *pattern_source;

    /* arrays */
    size_t min_items, max_items;
    bool unique_items;
    struct jsv_list prefix;       /* prefixItems, or items in array form */
    const struct jsv_node *items; /* every item past the prefix */
    const struct jsv_node *contains;
    size_t min_contains, max_contains;

    /* objects */
    size_t min_props, max_props;
    const json_t *required;   /* array of strings */
    const json_t *props_json; /* "properties", to tell its names at once */
    struct jsv_prop *props;
    size_t nprops;
    struct jsv_pprop *pprops;
    size_t npprops;
    const struct jsv_node *additional;
    struct jsv_dep *deps;
    size_t ndeps;

    /* in place */
    struct jsv_list all_of, any_of, one_of;
    const struct jsv_node *not_, *if_, *then_, *else_;
};

struct jsv_schema {
    json_t *doc; /* private copy of the schema text */
    struct jsv_node *root;
    struct jsv_node *nodes; /* allocation list */
    int draft;
};

/* ---- compiling (jsv_compile.c) ---- */

struct jsv_map;

struct jsv_cc {
    struct jsv_schema *s;
    struct jsv_map *map; /* schema json_t* -> node */
    int draft;
    int depth;
    char *err;
    size_t errlen;
    bool failed;
};

/* Records the first error only; later ones are consequences. */
void jsv_cc_error(struct jsv_cc *cc, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The node of the subschema js, compiled on first use; `where` (its JSON
 * pointer, malloc'd) is taken over, and may be NULL after an allocation
 * failure, which is then reported.  The node is registered before its
 * keywords are read, so a $ref back to an ancestor gets the node under
 * construction.  NULL after an error. */
struct jsv_node *jsv_cc_node(struct jsv_cc *cc, const json_t *js, char *where);
/* base + "/" + a (+ "/" + b), each escaped as a JSON pointer token;
 * malloc'd, NULL on OOM. */
char *jsv_where(const char *base, const char *a, const char *b);
char *jsv_where_index(const char *base, const char *a, size_t i);

/* ---- keywords (jsv_keywords.c) ---- */

/* Fills n from the object schema js (n->where set). */
void jsv_compile_keywords(struct jsv_cc *cc, struct jsv_node *n, const json_t *js);

/* ---- references (jsv_ref.c) ---- */

/* The schema value `ref` (from the node at where) names, in the document;
 * NULL with an error recorded when it is not a local reference or does not
 * resolve. */
const json_t *jsv_ref_resolve(struct jsv_cc *cc, const char *ref, const char *where);

/* ---- JSON values (jsv_json.c) ---- */

unsigned jsv_type_of(const json_t *v); /* one JSV_T_* bit, plus INTEGER for whole numbers */
bool jsv_type_matches(unsigned mask, const json_t *v);
/* -1, 0, 1; both numbers.  Integers beyond 2^53 compare exactly. */
int jsv_num_cmp(const json_t *a, const json_t *b);
/* JSON equality: 1 == 1.0, key order does not matter, true != 1. */
bool jsv_equal(const json_t *a, const json_t *b);
bool jsv_multiple_of(const json_t *v, const json_t *m);
size_t jsv_utf8_len(const char *s, size_t bytes);
bool jsv_is_count(const json_t *v, size_t *out); /* non-negative integer, 2.0 included */

/* ---- validating (jsv_validate.c, jsv_combine.c) ---- */

/* The instance location as a chain up to the root; key NULL = index. */
struct jsv_loc {
    const struct jsv_loc *up;
    const char *key;
    size_t index;
    int depth;
};

struct jsv_vctx {
    struct jsv_result *out; /* may be NULL */
    /* > 0 inside a probe (anyOf branch, not, if): a failure is only a
     * verdict, and what failed is kept below for the combinator to choose
     * which branch to explain. */
    int quiet;
    int fail_depth;          /* instance depth of the last quiet failure */
    const char *fail_kw;     /* its keyword */
    unsigned fail_types;     /* the expected types, when fail_kw is "type" */
    /* Subvalues validated so far: how far a probe got before it failed. */
    unsigned long progress;
};

/* JSV_VALID, JSV_INVALID or JSV_TOO_DEEP. */
int jsv_check(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
              const struct jsv_loc *at, int level);
int jsv_check_any_of(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                     const struct jsv_loc *at, int level);
int jsv_check_one_of(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                     const struct jsv_loc *at, int level);
int jsv_check_not(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                  const struct jsv_loc *at, int level);
int jsv_check_if(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                 const struct jsv_loc *at, int level);

/* ---- reporting (jsv_report.c) ---- */

/* Records a failure of keyword kw at `at`: in a probe only what the
 * combinator needs, otherwise the formatted result.  Returns JSV_INVALID. */
int jsv_fail(struct jsv_vctx *c, const struct jsv_loc *at, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int jsv_fail_type(struct jsv_vctx *c, const struct jsv_loc *at, unsigned want, const json_t *v);
int jsv_too_deep(struct jsv_vctx *c, const struct jsv_loc *at);
/* Rewrites c->out as a failure of kw at `at`: "<path>: <fmt...><old text>",
 * the old text being what the inner failure said, without its path. */
void jsv_wrap(struct jsv_vctx *c, const struct jsv_loc *at, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Short renderings for messages, into buf (always terminated). */
const char *jsv_show(char *buf, size_t n, const json_t *v);
const char *jsv_show_str(char *buf, size_t n, const char *s);
const char *jsv_types_str(char *buf, size_t n, unsigned mask);
const char *jsv_type_name(const json_t *v);

#endif
