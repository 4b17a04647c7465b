/* ad_test: what the adapter unit tests share: comparing a JSON value with
 * the JSON text it should equal, printing both when it does not. */
#ifndef BS_AD_TEST_H
#define BS_AD_TEST_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

static inline int same_json(const json_t *got, const char *want, int line)
{
    json_error_t e;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &e);
    if (!w) {
        fprintf(stderr, "line %d: bad expected JSON: %s\n", line, e.text);
        return 0;
    }
    int ok = got && json_equal(got, w);
    if (!ok) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
        char *x = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fprintf(stderr, "line %d:\n  got  %s\n  want %s\n", line, g ? g : "(null)", x);
        free(g);
        free(x);
    }
    json_decref(w);
    return ok;
}
#define SAME_JSON(got, want) CHECK(same_json(got, want, __LINE__))

#endif
