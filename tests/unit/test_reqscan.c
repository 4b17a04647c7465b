/* Unit tests of the request scanner: known good and bad inputs, member
 * spans, and a differential fuzz against jansson (the parser it replaces on
 * the request path) that must agree on every input except the documented
 * differences (numbers jansson cannot hold, top-level duplicate keys). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gw_reqscan.h"
#include "gw_usage.h"
#include "unit.h"

static int scan(const char *s, struct gw_reqscan *out)
{
    char err[160];
    return gw_reqscan(s, strlen(s), out, err, sizeof err);
}

static int valid(const char *s)
{
    struct gw_reqscan r;
    return scan(s, &r) == 0;
}

static int member_is(const char *body, const char *key, const char *raw_value)
{
    struct gw_reqscan r;
    if (scan(body, &r) < 0)
        return 0;
    const struct gw_member *m = gw_reqscan_get(&r, body, key);
    return m && m->val_end - m->val == strlen(raw_value) &&
           memcmp(body + m->val, raw_value, strlen(raw_value)) == 0;
}

static void known_cases(void)
{
    const char *good[] = {
        "{}", "[]", " {\"a\":1} ", "\"x\"", "0", "-0.5e+10", "true", "false", "null",
        "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\\ud83d\\ude00\\n\"}",
        "{\"a\":{\"a\":1,\"a\":2}}",                     /* nested duplicates: upstream's business */
        "{\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
        "{\"n\":123456789012345678901234567890}",        /* passed on, not converted */
        "[1e5,1E-5,0.0,-1]",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(valid(good[i]));
    const char *bad[] = {
        "", " ", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[,1]", "{,}",
        "{\"a\" 1}", "{a:1}", "'x'", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u0000\"",
        "\"\\udc00\"", "\"\\ud800\"", "\"\\ud800\\u0041\"", "\"a\tb\"", "\"\x01\"",
        "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc3\"", "\"\x80\"",
        "01", "1.", ".5", "-", "1e", "1e+", "+1", "tru", "nul", "falsey", "{} {}", "[1] x",
        "{\"model\":\"a\",\"model\":\"b\"}", "{\"model\":\"a\",\"mod\\u0065l\":\"b\"}", "\x00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct gw_reqscan r;
        char err[160] = "";
        int rc = gw_reqscan(bad[i], strlen(bad[i]) + (bad[i][0] == 0), &r, err, sizeof err);
        CHECK(rc < 0);
        CHECK(strstr(err, " at line ") != NULL);
        if (rc == 0)
            fprintf(stderr, "accepted: %s\n", bad[i]);
    }
    char err[160];
    struct gw_reqscan r;
    CHECK(gw_reqscan("{\n  \"a\": x}", 11, &r, err, sizeof err) < 0);
    CHECK(strcmp(err, "unexpected character at line 2 column 8") == 0);

    const char *b = " {\"model\" : \"gpt\\u002d4\", \"messages\":[{\"role\":\"user\"}],"
                    "\"stream\":true , \"x\":{\"model\":1}}";
    CHECK(member_is(b, "model", "\"gpt\\u002d4\""));
    CHECK(member_is(b, "messages", "[{\"role\":\"user\"}]"));
    CHECK(member_is(b, "stream", "true"));
    CHECK(member_is(b, "x", "{\"model\":1}"));
    CHECK(scan(b, &r) == 0 && r.object && r.nmembers == 4);
    char name[64];
    CHECK(gw_reqscan_string(b, gw_reqscan_get(&r, b, "model"), name, sizeof name) == 0);
    CHECK(strcmp(name, "gpt-4") == 0);
    CHECK(gw_reqscan_string(b, gw_reqscan_get(&r, b, "model"), name, 4) < 0);
    CHECK(gw_reqscan_string(b, gw_reqscan_get(&r, b, "stream"), name, sizeof name) < 0);
    CHECK(gw_reqscan_get(&r, b, "role") == NULL);
    const char *esc = "{\"mod\\u0065l\":\"a\\\"b\\u00e9\"}";
    CHECK(scan(esc, &r) == 0 && gw_reqscan_get(&r, esc, "model") != NULL);
    CHECK(gw_reqscan_string(esc, gw_reqscan_get(&r, esc, "model"), name, sizeof name) == 0 &&
          strcmp(name, "a\"b\xc3\xa9") == 0);
    CHECK(scan("[1]", &r) == 0 && !r.object && r.nmembers == 0);

    /* Depth: the limit is refused with its own message, below it is fine. */
    size_t d = GW_REQSCAN_MAX_DEPTH;
    char *deep = malloc(2 * d + 3);
    memset(deep, '[', d);
    memset(deep + d, ']', d);
    deep[2 * d] = '\0';
    CHECK(gw_reqscan(deep, 2 * d, &r, err, sizeof err) == 0);
    memset(deep, '[', d + 1);
    memset(deep + d + 1, ']', d + 1);
    CHECK(gw_reqscan(deep, 2 * d + 2, &r, err, sizeof err) < 0 && strstr(err, "too deep"));
    free(deep);

    /* Members: the bound is refused, not truncated. */
    char many[8192];
    size_t n = 0;
    many[n++] = '{';
    for (int i = 0; i <= GW_REQSCAN_MAX_MEMBERS; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    many[n++] = '}';
    many[n] = '\0';
    CHECK(gw_reqscan(many, n, &r, err, sizeof err) < 0 && strstr(err, "too many"));
}

/* xorshift: reproducible mutations. */
static unsigned long long rng = 88172645463325252ull;
static unsigned long long next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void differential(void)
{
    const char *seeds[] = {
        "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi \\\"there\\\" \\u00e9\"}],"
        "\"stream\":false,\"temperature\":0.7,\"max_tokens\":100}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}]}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\","
        "\"properties\":{\"a\":{\"type\":\"number\",\"minimum\":-1.5e3}},\"required\":[\"a\"]}}}],"
        "\"tool_choice\":\"required\",\"stop\":null,\"n\":1,\"logit_bias\":{}}",
        "[true,false,null,-0,1.25E+2,\"\\ud83d\\ude00\",\"caf\xc3\xa9\",{\"a\":[[],{}]}]",
    };
    const char alphabet[] = "{}[]:,\"\\ u0aeE.-+1ntfl\xc3\xa9\x80\xed\xf0\t\n";
    int agree = 0, disagree = 0;
    char buf[1024];
    for (int iter = 0; iter < 300000; iter++) {
        const char *seed = seeds[next() % (sizeof seeds / sizeof *seeds)];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        int edits = 1 + (int)(next() % 3);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = next() % len;
            char ch = alphabet[next() % (sizeof alphabet - 1)];
            switch (next() % 4) {
            case 0: buf[at] = ch; break;
            case 1: memmove(buf + at, buf + at + 1, len - at - 1); len--; break;
            case 2:
                if (len + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = ch;
                    len++;
                }
                break;
            default: len = at; break;
            }
        }
        struct gw_reqscan r;
        char err[160];
        int ours = gw_reqscan(buf, len, &r, err, sizeof err) == 0;
        json_error_t jerr;
        json_t *j = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);
        int theirs = j != NULL;
        json_decref(j);
        if (ours == theirs) {
            agree++;
            continue;
        }
        /* The documented differences. */
        if (!ours && strstr(err, "duplicate top-level key"))
            continue;
        if (ours && (strstr(jerr.text, "too big") || strstr(jerr.text, "overflow")))
            continue;
        disagree++;
        if (disagree <= 5)
            fprintf(stderr, "disagree (ours %d, jansson %d: %s / %s): %.*s\n", ours, theirs,
                    ours ? "" : err, jerr.text, (int)len, buf);
    }
    printf("differential: %d inputs agree with jansson, %d disagree\n", agree, disagree);
    CHECK(disagree == 0);
    CHECK(agree > 250000);
}

static void usage(void)
{
    uint32_t p = 7, c = 7;
    const char *a = "{\"id\":\"x\",\"choices\":[{\"usage\":{\"prompt_tokens\":1}}],"
                    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3456,\"total_tokens\":3468}}";
    CHECK(gw_usage_read(a, strlen(a), &p, &c) == 0 && p == 12 && c == 3456);
    const char *b = "{\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":99999999999}}";
    CHECK(gw_usage_read(b, strlen(b), &p, &c) == 0 && p == 0 && c == UINT32_MAX);
    p = c = 7;
    const char *none[] = { "{\"usage\":null}", "{\"x\":1}", "[1]", "{\"usage\":{\"prompt_tokens\":1}",
                           "{\"usage\":[1]}" };
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        CHECK(gw_usage_read(none[i], strlen(none[i]), &p, &c) < 0 && p == 7 && c == 7);
}

int main(void)
{
    known_cases();
    usage();
    differential();
    UNIT_END("reqscan");
}
