/*
 * anyOf, oneOf, not and if/then/else: subschemas tried as probes, whose
 * failures are verdicts rather than the answer.
 *
 * When no branch of anyOf/oneOf matches, the message must still help the
 * one who has to fix the value.  The branch that got furthest before
 * failing (most subvalues accepted, then deepest failure) is most likely
 * the one that was meant: in a tagged union, the variant whose tag
 * matched.  Its own failure is reported; when every branch failed on the type at this very place
 * (nullable unions written as anyOf), the types are merged into one
 * "expected type string or null".  Explaining costs one more run of the
 * chosen branch, only on the failure path.
 */
#include <string.h>

#include "jsv_impl.h"

struct probe {
    int best;                /* branch to explain */
    unsigned long best_gain; /* subvalues it accepted before failing */
    int best_depth;          /* how deep its failure was */
    bool all_type;     /* every branch failed on "type" right here */
    unsigned types;    /* their union */
};

/* Runs branch i quietly; folds its failure into p. */
static int probe(const struct jsv_node *b, int i, const json_t *v, struct jsv_vctx *c,
                 const struct jsv_loc *at, int level, struct probe *p)
{
    unsigned long start = c->progress;
    c->quiet++;
    c->fail_depth = -1;
    c->fail_kw = NULL;
    int rc = jsv_check(b, v, c, at, level + 1);
    c->quiet--;
    if (rc != JSV_INVALID)
        return rc;
    unsigned long gain = c->progress - start;
    if (p->best < 0 || gain > p->best_gain ||
        (gain == p->best_gain && c->fail_depth > p->best_depth)) {
        p->best = i;
        p->best_gain = gain;
        p->best_depth = c->fail_depth;
    }
    if (c->fail_kw && strcmp(c->fail_kw, "type") == 0 && c->fail_depth == at->depth)
        p->types |= c->fail_types;
    else
        p->all_type = false;
    return rc;
}

static int explain(const struct jsv_list *l, const char *kw, const json_t *v,
                   struct jsv_vctx *c, const struct jsv_loc *at, int level, const struct probe *p)
{
    if (c->quiet) {
        /* an outer combinator is choosing: pass up what it needs */
        c->fail_depth = p->best_depth < at->depth ? at->depth : p->best_depth;
        c->fail_kw = p->all_type ? "type" : kw;
        c->fail_types = p->all_type ? p->types : 0;
        return JSV_INVALID;
    }
    if (p->all_type)
        return jsv_fail_type(c, at, p->types, v);
    int rc = jsv_check(l->v[p->best], v, c, at, level + 1);
    if (rc != JSV_INVALID) /* deterministic, so only TOO_DEEP can differ */
        return rc;
    if (p->best_depth <= at->depth)
        jsv_wrap(c, at, kw, "matches none of the %zu schemas in %s; schema %d says: ", l->n, kw,
                 p->best);
    return JSV_INVALID;
}

int jsv_check_any_of(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                     const struct jsv_loc *at, int level)
{
    struct probe p = {.best = -1, .all_type = true};
    for (size_t i = 0; i < n->any_of.n; i++) {
        int rc = probe(n->any_of.v[i], (int)i, v, c, at, level, &p);
        if (rc != JSV_INVALID)
            return rc;
    }
    return explain(&n->any_of, "anyOf", v, c, at, level, &p);
}

int jsv_check_one_of(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                     const struct jsv_loc *at, int level)
{
    struct probe p = {.best = -1, .all_type = true};
    int matched[2], nmatched = 0;
    for (size_t i = 0; i < n->one_of.n && nmatched < 2; i++) {
        int rc = probe(n->one_of.v[i], (int)i, v, c, at, level, &p);
        if (rc == JSV_TOO_DEEP)
            return rc;
        if (rc == JSV_VALID)
            matched[nmatched++] = (int)i;
    }
    if (nmatched == 1)
        return JSV_VALID;
    if (nmatched == 2)
        return jsv_fail(c, at, "oneOf",
                        "matches both schema %d and schema %d of oneOf; exactly one must match",
                        matched[0], matched[1]);
    return explain(&n->one_of, "oneOf", v, c, at, level, &p);
}

int jsv_check_not(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                  const struct jsv_loc *at, int level)
{
    c->quiet++;
    int rc = jsv_check(n->not_, v, c, at, level + 1);
    c->quiet--;
    if (rc == JSV_TOO_DEEP)
        return rc;
    if (rc == JSV_VALID)
        return jsv_fail(c, at, "not", "must not match the schema in \"not\"");
    return JSV_VALID;
}

int jsv_check_if(const struct jsv_node *n, const json_t *v, struct jsv_vctx *c,
                 const struct jsv_loc *at, int level)
{
    c->quiet++;
    int rc = jsv_check(n->if_, v, c, at, level + 1);
    c->quiet--;
    if (rc == JSV_TOO_DEEP)
        return rc;
    const struct jsv_node *next = rc == JSV_VALID ? n->then_ : n->else_;
    return next ? jsv_check(next, v, c, at, level + 1) : JSV_VALID;
}
