/*
 * The jsv validator against the official JSON-Schema-Test-Suite, as the
 * Debian package json-schema-test-suite installs it (`make deps`).
 *
 * Every test file of a draft runs, except those of keywords jsv does not
 * support (UNSUPPORTED below, with the reason).  A test jsv gets wrong on
 * purpose is listed in KNOWN with the reason and counted as skipped; a
 * listed test that passes fails the run, so the list cannot go stale.
 * An entry that matches no test fails the run too.  Everything else must
 * pass.  Prints the pass count per keyword file and
 * every failure; with --markdown, the per-keyword table of
 * docs/jsonschema.md.  JSV_SUITE_DIR overrides where the suite is.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsv.h"
#include "unit.h"

#define SUITE_DIR "/usr/share/json-schema-test-suite/tests"

static const struct {
    const char *dir;
    enum jsv_draft draft;
    bool required; /* the package must have it */
} drafts[] = {
    {"draft2020-12", JSV_DRAFT2020, false}, /* not in Debian 12's 2.0.0 */
    {"draft7", JSV_DRAFT7, true},
    {"draft6", JSV_DRAFT6, true},
    {"draft4", JSV_DRAFT4, true},
};

/* Whole files not run: keywords jsv does not implement. */
static const struct {
    const char *file;
    const char *why;
} UNSUPPORTED[] = {
    {"refRemote.json", "remote $ref: a gateway never fetches schemas"},
    {"propertyNames.json", "propertyNames is not supported (ignored)"},
    {"format.json", "format is an annotation; not asserted"},
    {"unevaluatedItems.json", "unevaluatedItems is not supported (ignored)"},
    {"unevaluatedProperties.json", "unevaluatedProperties is not supported (ignored)"},
    {"dynamicRef.json", "$dynamicRef is not supported"},
    {"recursiveRef.json", "$recursiveRef is not supported"},
    {"vocabulary.json", "$vocabulary needs remote meta-schemas"},
    {"content.json", "contentMediaType/contentEncoding are annotations"},
};

/* Single tests or groups (test NULL) that jsv fails on purpose. */
static const struct {
    const char *draft, *file, *group, *test;
    const char *why;
} KNOWN[] = {
    {"*", "definitions.json", "valid definition", NULL,
     "$ref to the draft meta-schema by URL: remote reference"},
    {"*", "definitions.json", "invalid definition", NULL,
     "$ref to the draft meta-schema by URL: remote reference"},
    {"*", "ref.json", "remote ref, containing refs itself", NULL,
     "$ref to the draft meta-schema by URL: remote reference"},
    {"*", "ref.json", "Recursive references between schemas", NULL,
     "$ref \"node\" resolved against an embedded $id: no base-URI resolution"},
};

#define NKNOWN (sizeof KNOWN / sizeof KNOWN[0])
static int known_hits[NKNOWN];

struct count {
    int passed, failed, skipped;
};

static bool markdown;
static struct count total;

static bool known(const char *draft, const char *file, const char *group, const char *test,
                  const char **why)
{
    for (size_t i = 0; i < NKNOWN; i++) {
        if ((strcmp(KNOWN[i].draft, "*") == 0 || strcmp(KNOWN[i].draft, draft) == 0) &&
            strcmp(KNOWN[i].file, file) == 0 && strcmp(KNOWN[i].group, group) == 0 &&
            (!KNOWN[i].test || strcmp(KNOWN[i].test, test) == 0)) {
            known_hits[i]++;
            *why = KNOWN[i].why;
            return true;
        }
    }
    return false;
}

static const char *unsupported(const char *file)
{
    for (size_t i = 0; i < sizeof UNSUPPORTED / sizeof UNSUPPORTED[0]; i++)
        if (strcmp(UNSUPPORTED[i].file, file) == 0)
            return UNSUPPORTED[i].why;
    return NULL;
}

/* One test: true if jsv agrees with the suite.  An invalid verdict must
 * come with a message that names a path. */
static bool run_test(const struct jsv_schema *s, const char *cerr, const json_t *t, char *why,
                     size_t n)
{
    bool want = json_is_true(json_object_get(t, "valid"));
    if (!s) {
        snprintf(why, n, "schema did not compile: %s", cerr);
        return false;
    }
    struct jsv_result r;
    int v = jsv_validate(s, json_object_get(t, "data"), &r);
    if (v == JSV_TOO_DEEP) {
        snprintf(why, n, "too deep: %s", r.message);
        return false;
    }
    if ((v == JSV_VALID) != want) {
        snprintf(why, n, "expected %s, got %s%s%s", want ? "valid" : "invalid",
                 v == JSV_VALID ? "valid" : "invalid", v == JSV_VALID ? "" : ": ",
                 v == JSV_VALID ? "" : r.message);
        return false;
    }
    if (v == JSV_INVALID && (r.message[0] != '$' || !r.keyword)) {
        snprintf(why, n, "invalid without a proper message: \"%s\"", r.message);
        return false;
    }
    return true;
}

static void run_file(const char *draft, enum jsv_draft d, const char *path, const char *file,
                     struct count *fc)
{
    json_error_t jerr;
    json_t *groups = json_load_file(path, 0, &jerr);
    if (!json_is_array(groups)) {
        printf("FAIL %s/%s: cannot read: %s\n", draft, file, jerr.text);
        fc->failed++;
        json_decref(groups);
        return;
    }
    size_t gi;
    json_t *g;
    json_array_foreach(groups, gi, g) {
        const char *gdesc = json_string_value(json_object_get(g, "description"));
        char cerr[256];
        struct jsv_schema *s = jsv_compile_draft(json_object_get(g, "schema"), d, cerr, sizeof cerr);
        size_t ti;
        json_t *t;
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            const char *tdesc = json_string_value(json_object_get(t, "description"));
            char why[700];
            bool ok = run_test(s, cerr, t, why, sizeof why);
            const char *kwhy;
            if (known(draft, file, gdesc, tdesc, &kwhy)) {
                if (ok) {
                    printf("FAIL %s/%s: \"%s\" / \"%s\": listed as a known limitation but "
                           "passes; remove it from KNOWN\n",
                           draft, file, gdesc, tdesc);
                    fc->failed++;
                } else {
                    fc->skipped++;
                    if (!markdown)
                        printf("SKIP %s/%s \"%s\" / \"%s\": %s\n", draft, file, gdesc, tdesc, kwhy);
                }
            } else if (ok) {
                fc->passed++;
            } else {
                printf("FAIL %s/%s: \"%s\" / \"%s\": %s\n", draft, file, gdesc, tdesc, why);
                fc->failed++;
            }
        }
        jsv_free(s);
    }
    json_decref(groups);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns false if the draft's directory is missing. */
static bool run_draft(const char *root, const char *draft, enum jsv_draft d)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", root, draft);
    DIR *dh = opendir(dir);
    if (!dh)
        return false;
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && n < sizeof names / sizeof names[0]) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0)
            names[n++] = strdup(de->d_name);
    }
    closedir(dh);
    qsort(names, n, sizeof names[0], cmp_str);
    struct count dc = {0};
    if (markdown)
        printf("\n### %s\n\n| keyword file | passed | failed | skipped |\n|---|---:|---:|---:|\n",
               draft);
    else
        printf("== %s\n", draft);
    for (size_t i = 0; i < n; i++) {
        const char *why = unsupported(names[i]);
        if (why) {
            if (!markdown)
                printf("  %-28s not run: %s\n", names[i], why);
            free(names[i]);
            continue;
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct count fc = {0};
        run_file(draft, d, path, names[i], &fc);
        if (markdown)
            printf("| %s | %d | %d | %d |\n", names[i], fc.passed, fc.failed, fc.skipped);
        else
            printf("  %-28s %3d passed, %d failed, %d skipped\n", names[i], fc.passed, fc.failed,
                   fc.skipped);
        dc.passed += fc.passed;
        dc.failed += fc.failed;
        dc.skipped += fc.skipped;
        free(names[i]);
    }
    if (markdown)
        printf("| **total** | **%d** | **%d** | **%d** |\n", dc.passed, dc.failed, dc.skipped);
    else
        printf("  %-28s %3d passed, %d failed, %d skipped\n", "(all)", dc.passed, dc.failed,
               dc.skipped);
    total.passed += dc.passed;
    total.failed += dc.failed;
    total.skipped += dc.skipped;
    return true;
}

int main(int argc, char **argv)
{
    markdown = argc > 1 && strcmp(argv[1], "--markdown") == 0;
    const char *root = getenv("JSV_SUITE_DIR");
    if (!root)
        root = SUITE_DIR;
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("test_jsv_suite: %s is missing: install the Debian package json-schema-test-suite "
               "(make deps does)\n",
               root);
        CHECKF(false, "no suite at %s", root);
        UNIT_END("jsv_suite");
    }
    for (size_t i = 0; i < sizeof drafts / sizeof drafts[0]; i++) {
        if (run_draft(root, drafts[i].dir, drafts[i].draft))
            continue;
        if (drafts[i].required) {
            printf("FAIL %s/%s is missing from the suite\n", root, drafts[i].dir);
            total.failed++;
        } else if (!markdown) {
            printf("== %s: not in this version of the suite, not run\n", drafts[i].dir);
        }
    }
    for (size_t i = 0; i < NKNOWN; i++) {
        if (!known_hits[i]) {
            printf("FAIL known limitation \"%s\" / \"%s\" matches no test; remove it\n",
                   KNOWN[i].file, KNOWN[i].group);
            total.failed++;
        }
    }
    if (!markdown) {
        printf("known limitations (counted as skipped):\n");
        for (size_t i = 0; i < NKNOWN; i++)
            printf("  %s / \"%s\"%s%s: %s\n", KNOWN[i].file, KNOWN[i].group,
                   KNOWN[i].test ? " / " : "", KNOWN[i].test ? KNOWN[i].test : "", KNOWN[i].why);
    }
    unit_add(total.passed, total.failed, total.skipped);
    UNIT_END("jsv_suite");
}
