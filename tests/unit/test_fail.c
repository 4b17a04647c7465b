/*
 * Unit tests of the failure-class table (shared/fail.h): every property of
 * every class against an expected table written here by hand from the
 * behaviour before the table existed, the config's "on" keys and defaults
 * through cfg_load_json, and docs/config.md's list of classes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "fail.h"
#include "unit.h"

#define R FAIL_ACT_RETRY
#define F FAIL_ACT_FAILOVER
#define T FAIL_ACT_RETURN

static const struct expect {
    int wire;               /* the number telemetry carries */
    enum fail_class c;
    const char *name;
    bool conf;
    enum fail_action act;
    bool health, hard, probe, failure;
    const char *otype, *ocode, *atype;
} expected[] = {
    { 0, FAIL_NONE, "ok", 0, F, 0, 0, 0, 0, "server_error", "ok", "api_error" },
    { 1, FAIL_CONNECT, "connect_failed", 1, F, 1, 0, 1, 1, "server_error", "connect_failed", "api_error" },
    { 2, FAIL_DNS, "dns", 1, F, 1, 0, 1, 1, "server_error", "dns", "api_error" },
    { 3, FAIL_TLS, "tls", 1, F, 1, 0, 1, 1, "server_error", "tls", "api_error" },
    { 4, FAIL_CONNECT_TIMEOUT, "connect_timeout", 1, F, 1, 0, 1, 1, "server_error", "connect_timeout",
      "timeout_error" },
    { 5, FAIL_FIRST_TOKEN_TIMEOUT, "first_token_timeout", 1, F, 1, 0, 1, 1, "server_error",
      "first_token_timeout", "timeout_error" },
    { 6, FAIL_IDLE_TIMEOUT, "idle_stream_timeout", 1, F, 1, 0, 0, 1, "server_error", "idle_stream_timeout",
      "timeout_error" },
    { 7, FAIL_RATE_LIMIT, "rate_limited", 1, R, 1, 0, 0, 1, "rate_limit_error", "rate_limit_exceeded",
      "rate_limit_error" },
    { 8, FAIL_QUOTA, "quota_exhausted", 1, F, 1, 1, 0, 1, "insufficient_quota", "insufficient_quota",
      "billing_error" },
    { 9, FAIL_SERVER, "server_error", 1, R, 1, 0, 1, 1, "server_error", "server_error", "api_error" },
    { 10, FAIL_AUTH, "auth_failed", 1, F, 1, 1, 0, 1, "authentication_error", "auth_failed",
      "authentication_error" },
    { 11, FAIL_NOT_FOUND, "not_found", 1, F, 1, 1, 0, 1, "invalid_request_error", "model_not_found",
      "not_found_error" },
    { 12, FAIL_CONTEXT, "context_length", 1, F, 0, 0, 0, 1, "invalid_request_error",
      "context_length_exceeded", "invalid_request_error" },
    { 13, FAIL_CLIENT, "client_error", 1, T, 0, 0, 0, 1, "invalid_request_error", NULL,
      "invalid_request_error" },
    { 14, FAIL_STREAM_ERROR, "stream_error", 1, F, 1, 0, 0, 1, "server_error", "stream_error", "api_error" },
    { 15, FAIL_STREAM_CUT, "stream_cut", 1, F, 1, 0, 0, 1, "server_error", "stream_cut", "api_error" },
    { 16, FAIL_BAD_RESPONSE, "bad_response", 1, F, 1, 0, 0, 1, "server_error", "bad_response", "api_error" },
    { 17, FAIL_CANCELLED, "cancelled", 0, F, 0, 0, 0, 0, "server_error", "cancelled", "api_error" },
    { 18, FAIL_DEADLINE, "deadline", 0, F, 0, 0, 0, 1, "server_error", "deadline", "timeout_error" },
    { 19, FAIL_DISABLED, "disabled", 0, F, 0, 0, 0, 1, "server_error", "disabled", "api_error" },
    { 20, FAIL_INTERNAL, "internal", 0, F, 0, 0, 0, 1, "server_error", "internal", "api_error" },
    { 21, FAIL_PROBE, "probe_failed", 0, F, 1, 0, 1, 1, "server_error", "probe_failed", "api_error" },
    { 22, FAIL_HEDGED, "hedged", 0, F, 0, 0, 0, 1, "server_error", "hedged", "api_error" },
    { 23, FAIL_INVALID_RESPONSE, "invalid_response", 0, F, 0, 0, 0, 0, "server_error", "invalid_response",
      "api_error" },
};
#define NEXPECTED (sizeof expected / sizeof expected[0])

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The status rule as ad_client_status wrote it before the table, kept
 * verbatim as the reference the table must reproduce. */
static int old_client_status(enum fail_class c, long upstream_status)
{
    if (c == FAIL_CONTEXT)
        return 400;
    if (c == FAIL_QUOTA)
        return 429;
    if (c == FAIL_NOT_FOUND)
        return 404;
    if (c == FAIL_SERVER && upstream_status >= 400 && upstream_status < 500 && upstream_status != 408 &&
        upstream_status != 409)
        return 503;
    if (c == FAIL_AUTH && upstream_status != 401 && upstream_status != 403)
        return 401;
    if (upstream_status == 529)
        return 503;
    if (upstream_status < 400 || upstream_status > 599)
        return 502;
    return (int)upstream_status;
}

static void test_rows(void)
{
    CHECK(NEXPECTED == FAIL__COUNT);
    for (size_t i = 0; i < NEXPECTED; i++) {
        const struct expect *e = &expected[i];
        int ok = (int)e->c == e->wire && same_str(fail_class_name(e->c), e->name) &&
                 fail_configurable(e->c) == e->conf && fail_default_action(e->c) == e->act &&
                 (fail_counts_against_health(e->c) != 0) == e->health &&
                 (fail_is_hard(e->c) != 0) == e->hard && fail_probe_can_see(e->c) == e->probe &&
                 fail_counts_as_failure(e->c) == e->failure &&
                 same_str(fail_openai_type(e->c), e->otype) && same_str(fail_openai_code(e->c), e->ocode) &&
                 same_str(fail_anthropic_type(e->c), e->atype);
        if (!ok)
            fprintf(stderr, "class %d (%s) differs from the expected row\n", e->wire, e->name);
        CHECK(ok);
    }
}

static void test_names(void)
{
    for (int a = 0; a < FAIL__COUNT; a++) {
        const char *n = fail_class_name(a);
        CHECK(n && *n && strcmp(n, "unknown") != 0);
        CHECK(fail_by_name(n) == a);
        for (int b = a + 1; b < FAIL__COUNT; b++)
            CHECK(strcmp(n, fail_class_name(b)) != 0);
    }
    CHECK(fail_by_name("unknown") == -1);
    CHECK(fail_by_name("") == -1);
    CHECK(fail_by_name(NULL) == -1);
    CHECK(fail_by_name("Server_Error") == -1);
    CHECK(strcmp(fail_action_name(FAIL_ACT_RETRY), "retry") == 0);
    CHECK(strcmp(fail_action_name(FAIL_ACT_FAILOVER), "failover") == 0);
    CHECK(strcmp(fail_action_name(FAIL_ACT_RETURN), "return") == 0);
    CHECK(CFG_ACT_RETRY == (int)FAIL_ACT_RETRY && CFG_ACT_FAILOVER == (int)FAIL_ACT_FAILOVER &&
          CFG_ACT_RETURN == (int)FAIL_ACT_RETURN);
}

/* A class number from a newer peer: a failure in the statistics (as the
 * controller counted it before the table), nothing held against the
 * breaker, the chain cannot configure it, it answers as a server error. */
static void test_out_of_range(void)
{
    int bad[] = { FAIL__COUNT, FAIL__COUNT + 7, -1 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum fail_class c = (enum fail_class)bad[i];
        CHECK(strcmp(fail_class_name(c), "unknown") == 0);
        CHECK(!fail_counts_against_health(c) && !fail_is_hard(c) && !fail_probe_can_see(c));
        CHECK(fail_counts_as_failure(c));
        CHECK(!fail_configurable(c) && fail_default_action(c) == FAIL_ACT_FAILOVER);
        CHECK(strcmp(fail_openai_type(c), "server_error") == 0 && strcmp(fail_openai_code(c), "unknown") == 0);
        CHECK(strcmp(fail_anthropic_type(c), "api_error") == 0);
        CHECK(fail_http_status(c, 503) == 503 && fail_http_status(c, 200) == 502);
    }
}

static void test_http_status(void)
{
    static const long ups[] = { 0, 100, 200, 204, 302, 399, 400, 401, 402, 403, 404, 408, 409, 413,
                                422, 424, 429, 499, 500, 502, 503, 504, 529, 599, 600, 999, -1 };
    for (int c = 0; c <= FAIL__COUNT; c++)
        for (size_t i = 0; i < sizeof ups / sizeof ups[0]; i++) {
            int got = fail_http_status(c, ups[i]), want = old_client_status(c, ups[i]);
            if (got != want)
                fprintf(stderr, "class %s, upstream %ld: %d, expected %d\n", fail_class_name(c), ups[i],
                        got, want);
            CHECK(got == want);
        }
}

static struct cfg *load_on(const char *on, struct cfg_errors *e)
{
    char doc[512];
    snprintf(doc, sizeof doc,
             "{\"listen\":\"127.0.0.1:1\",\"state_dir\":\"/tmp/x\","
             "\"providers\":{\"p\":{\"type\":\"openai\",\"base_url\":\"http://h\"}},"
             "\"models\":{\"m\":{\"targets\":[{\"provider\":\"p\",\"model\":\"x\"}]%s%s}}}",
             on ? ",\"on\":" : "", on ? on : "");
    json_error_t je;
    json_t *j = json_loads(doc, 0, &je);
    CHECK(j != NULL);
    struct cfg *c = j ? cfg_load_json(j, NULL, e) : NULL;
    json_decref(j);
    return c;
}

static bool error_has(const struct cfg_errors *e, const char *part)
{
    for (size_t i = 0; i < e->n; i++)
        if (strstr(e->msg[i], part))
            return true;
    return false;
}

static void test_config(void)
{
    struct cfg_errors e = { 0 };
    struct cfg *c = load_on(NULL, &e);
    CHECK(c != NULL);
    for (size_t i = 0; c && i < NEXPECTED; i++)
        if (expected[i].conf)
            CHECK((int)c->models[0].on[expected[i].c] == (int)expected[i].act);
    cfg_free(c);
    cfg_errors_clear(&e);

    /* Each class alone, set to the action it does not default to. */
    for (size_t i = 0; i < NEXPECTED; i++) {
        const struct expect *x = &expected[i];
        enum fail_action other = x->act == FAIL_ACT_RETURN ? FAIL_ACT_RETRY : FAIL_ACT_RETURN;
        char on[128];
        snprintf(on, sizeof on, "{\"%s\":\"%s\"}", x->name, fail_action_name(other));
        c = load_on(on, &e);
        if (x->conf) {
            CHECK(c != NULL && e.n == 0);
            CHECK(c && (int)c->models[0].on[x->c] == (int)other);
        } else {
            char want[160];
            snprintf(want, sizeof want, "$.models.m.on.%s: not a configurable failure class \"%s\", "
                     "expected one of \"connect_failed\", ", x->name, x->name);
            CHECK(c == NULL && e.n == 1 && error_has(&e, want));
            if (e.n != 1 || !error_has(&e, want))
                fprintf(stderr, "%s: %s\n", x->name, e.n ? e.msg[0] : "accepted");
        }
        cfg_free(c);
        cfg_errors_clear(&e);
    }

    /* A name of no class: the error lists exactly the configurable ones, in
     * wire order. */
    c = load_on("{\"server_eror\":\"failover\"}", &e);
    CHECK(c == NULL && e.n == 1);
    char want[1024] = "$.models.m.on.server_eror: unknown failure class \"server_eror\", expected one of ";
    const char *sep = "";
    for (size_t i = 0; i < NEXPECTED; i++)
        if (expected[i].conf) {
            strcat(want, sep);
            strcat(want, "\"");
            strcat(want, expected[i].name);
            strcat(want, "\"");
            sep = ", ";
        }
    CHECK(e.n == 1 && strcmp(e.msg[0], want) == 0);
    if (e.n && strcmp(e.msg[0], want) != 0)
        fprintf(stderr, "got  %s\nwant %s\n", e.msg[0], want);
    cfg_errors_clear(&e);

    c = load_on("{\"rate_limited\":\"sometimes\"}", &e);
    CHECK(c == NULL && e.n == 1 &&
          error_has(&e, "expected one of \"retry\", \"failover\", \"return\", got \"sometimes\""));
    cfg_errors_clear(&e);
}

/* docs/config.md, next to this file's tree: the table under "#### `on`"
 * names every configurable class once with its default (first word of the
 * last cell), and the "Hard failures (...)" sentence the hard ones. */
static char *read_doc(void)
{
    char path[512];
    const char *here = __FILE__, *tail = strstr(here, "tests/unit/test_fail.c");
    snprintf(path, sizeof path, "%.*sdocs/config.md", tail ? (int)(tail - here) : 0, here);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s (run from the repository's top directory)\n", path);
        return NULL;
    }
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static const struct expect *find_expected(const char *name, size_t len)
{
    for (size_t i = 0; i < NEXPECTED; i++)
        if (strlen(expected[i].name) == len && strncmp(expected[i].name, name, len) == 0)
            return &expected[i];
    return NULL;
}

static void test_doc(void)
{
    char *doc = read_doc();
    CHECK(doc != NULL);
    if (!doc)
        return;
    const char *sec = strstr(doc, "\n#### `on` (per chain)");
    CHECK(sec != NULL);
    if (!sec)
        return;
    const char *end = strstr(sec + 1, "\n#");
    if (!end)
        end = sec + strlen(sec);
    int seen[FAIL__COUNT] = { 0 };
    int rows = 0;
    for (const char *line = strstr(sec, "\n| `"); line && line < end; line = strstr(line + 1, "\n| `")) {
        const char *eol = strchr(line + 1, '\n');
        if (!eol || eol > end)
            eol = end;
        const char *cell_end = strchr(line + 2, '|');
        const char *last = eol;
        while (last > line && *--last != '|')
            ;
        const char *def_cell = last;
        while (def_cell > line && *--def_cell != '|')
            ;
        def_cell++;
        while (*def_cell == ' ')
            def_cell++;
        rows++;
        for (const char *p = line + 2; p && p < cell_end; ) {
            const char *open = memchr(p, '`', (size_t)(cell_end - p));
            if (!open)
                break;
            const char *close = memchr(open + 1, '`', (size_t)(cell_end - open - 1));
            if (!close)
                break;
            const struct expect *x = find_expected(open + 1, (size_t)(close - open - 1));
            if (!x || !x->conf)
                fprintf(stderr, "docs/config.md lists `%.*s`, which the config does not accept\n",
                        (int)(close - open - 1), open + 1);
            CHECK(x && x->conf);
            if (x) {
                const char *act = fail_action_name(x->act);
                bool same = strncmp(def_cell, act, strlen(act)) == 0;
                if (!same)
                    fprintf(stderr, "docs/config.md: `%s` defaults to %.12s..., the table says %s\n",
                            x->name, def_cell, act);
                CHECK(same);
                seen[x->c]++;
            }
            p = close + 1;
        }
    }
    CHECK(rows > 0);
    for (size_t i = 0; i < NEXPECTED; i++) {
        int want = expected[i].conf ? 1 : 0;
        if (seen[expected[i].c] != want)
            fprintf(stderr, "docs/config.md lists `%s` %d times under `on`, expected %d\n",
                    expected[i].name, seen[expected[i].c], want);
        CHECK(seen[expected[i].c] == want);
    }

    const char *hard = strstr(doc, "Hard failures (");
    CHECK(hard != NULL);
    if (!hard)
        return;
    const char *close_paren = strchr(hard, ')');
    int hard_seen[FAIL__COUNT] = { 0 };
    for (const char *p = hard; close_paren && p < close_paren; ) {
        const char *open = memchr(p, '`', (size_t)(close_paren - p));
        if (!open)
            break;
        const char *close = memchr(open + 1, '`', (size_t)(close_paren - open - 1));
        if (!close)
            break;
        const struct expect *x = find_expected(open + 1, (size_t)(close - open - 1));
        CHECK(x != NULL);
        if (x)
            hard_seen[x->c]++;
        p = close + 1;
    }
    for (size_t i = 0; i < NEXPECTED; i++)
        CHECK(hard_seen[expected[i].c] == (expected[i].hard ? 1 : 0));
}

int main(void)
{
    test_rows();
    test_names();
    test_out_of_range();
    test_http_status();
    test_config();
    test_doc();
    UNIT_END("fail");
}
