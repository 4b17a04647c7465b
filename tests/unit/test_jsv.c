/*
 * Unit tests of the jsv JSON Schema validator: each keyword, the messages
 * and paths a model will be shown, patterns, references and their cycles,
 * the depth limit and schemas that must not compile.  The draft 2020-12
 * keywords are tested here because the Debian package of the official
 * suite stops at draft 7 (test_jsv_suite runs that one).
 *
 * Schemas, instances and expected messages are written with ' for " so
 * they stay readable; q() swaps them back.
 */
#include <stdlib.h>
#include <string.h>

#include "jsv.h"
#include "jsv_regex.h"
#include "unit.h"

/* Outside the sanitizers (which own malloc), the allocator is wrapped so
 * that one allocation can be made to fail and the blocks still held can be
 * counted: every error path of the compiler must give back what it took,
 * and validation must take nothing. */
#ifndef __SANITIZE_ADDRESS__
#define ALLOC_HOOKS 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static bool tracking;
static long live, calls, fail_at;

static bool injected(void)
{
    return tracking && ++calls == fail_at;
}

void *malloc(size_t n)
{
    void *p = injected() ? NULL : __libc_malloc(n);
    live += tracking && p;
    return p;
}

void *calloc(size_t a, size_t b)
{
    void *p = injected() ? NULL : __libc_calloc(a, b);
    live += tracking && p;
    return p;
}

void *realloc(void *old, size_t n)
{
    void *p = injected() ? NULL : __libc_realloc(old, n);
    if (tracking && !old && p)
        live++;
    else if (tracking && old && !n && !p)
        live--;
    return p;
}

void free(void *p)
{
    live -= tracking && p;
    __libc_free(p);
}
#endif

static char *q(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

static json_t *parse(const char *text)
{
    char *t = q(text);
    json_error_t e;
    json_t *j = json_loads(t, JSON_DECODE_ANY, &e);
    if (!j)
        fprintf(stderr, "test JSON does not parse: %s: %s\n", t, e.text);
    free(t);
    return j;
}

/* The verdict of inst against schema, or -1 if the schema does not
 * compile (its error in err). */
static int run(const char *schema, const char *inst, struct jsv_result *r, char *err, size_t errlen)
{
    json_t *s = parse(schema), *i = parse(inst);
    struct jsv_schema *c = s ? jsv_compile(s, err, errlen) : NULL;
    int v = c && i ? jsv_validate(c, i, r) : -1;
    jsv_free(c);
    json_decref(s);
    json_decref(i);
    return v;
}

static bool expect(int line, const char *schema, const char *inst, int want, const char *msg)
{
    struct jsv_result r = {0};
    char err[256] = "";
    int v = run(schema, inst, &r, err, sizeof err);
    char *m = msg ? q(msg) : NULL;
    bool ok = v == want && (!m || strcmp(r.message, m) == 0);
    if (!ok)
        fprintf(stderr, "line %d: %s against %s: got %d %s%s, want %d %s\n", line, inst, schema, v,
                v < 0 ? err : r.message, "", want, m ? m : "");
    free(m);
    return ok;
}

static bool expect_bad(int line, const char *schema, const char *want_err)
{
    json_t *s = parse(schema);
    char err[256] = "";
    struct jsv_schema *c = s ? jsv_compile(s, err, sizeof err) : NULL;
    char *w = q(want_err);
    bool ok = s && !c && strcmp(err, w) == 0;
    if (!ok)
        fprintf(stderr, "line %d: %s: got %s \"%s\", want error \"%s\"\n", line, schema,
                c ? "compiled" : "error", err, w);
    free(w);
    jsv_free(c);
    json_decref(s);
    return ok;
}

#define VALID(s, i) CHECK(expect(__LINE__, s, i, JSV_VALID, NULL))
#define INVALID(s, i) CHECK(expect(__LINE__, s, i, JSV_INVALID, NULL))
#define FAILS(s, i, msg) CHECK(expect(__LINE__, s, i, JSV_INVALID, msg))
#define BAD(s, err) CHECK(expect_bad(__LINE__, s, err))

static void test_type(void)
{
    VALID("{'type':'string'}", "'x'");
    FAILS("{'type':'object','properties':{'city':{'type':'string'}}}", "{'city':5}",
          "$.city: expected type string, got integer");
    VALID("{'type':'integer'}", "1.0"); /* draft 2020-12: a whole number is an integer */
    VALID("{'type':'integer'}", "-7");
    FAILS("{'type':'integer'}", "1.5", "$: expected type integer, got number");
    VALID("{'type':'number'}", "1");
    FAILS("{'type':'boolean'}", "0", "$: expected type boolean, got integer");
    VALID("{'type':'null'}", "null");
    VALID("{'type':'array'}", "[]");
    FAILS("{'type':'object'}", "[]", "$: expected type object, got array");
    VALID("{'type':['string','null']}", "null");
    FAILS("{'type':['string','null']}", "true", "$: expected type string or null, got boolean");
    FAILS("{'type':['object','array','integer']}", "'s'",
          "$: expected type object, array or integer, got string");
    FAILS("{'type':[]}", "1", "$: expected type (none), got integer");
    /* OpenAPI nullable */
    VALID("{'type':'string','nullable':true}", "null");
    FAILS("{'type':'string','nullable':false}", "null", "$: expected type string, got null");
    VALID("{'nullable':true}", "5");
}

static void test_enum_const(void)
{
    FAILS("{'properties':{'unit':{'enum':['c','f']}}}", "{'unit':'kelvin'}",
          "$.unit: 'kelvin' is not one of ['c', 'f']");
    VALID("{'enum':[1,'a',null]}", "1.0");
    VALID("{'enum':[{'a':[1,2]}]}", "{'a':[1.0,2]}");
    INVALID("{'enum':[false]}", "0");
    INVALID("{'enum':[]}", "1");
    FAILS("{'const':'x'}", "'y'", "$: got 'y', expected the constant 'x'");
    VALID("{'const':{'b':1,'a':2}}", "{'a':2,'b':1}");
    INVALID("{'const':null}", "false");
    VALID("{'const':null}", "null");
    INVALID("{'const':[1]}", "[true]");
}

static void test_numbers(void)
{
    FAILS("{'minimum':3}", "2", "$: 2 is less than the minimum 3");
    VALID("{'minimum':3}", "3");
    FAILS("{'maximum':3.5}", "4", "$: 4 is greater than the maximum 3.5");
    FAILS("{'exclusiveMinimum':3}", "3", "$: 3 is not greater than 3");
    VALID("{'exclusiveMinimum':3}", "3.0001");
    FAILS("{'exclusiveMaximum':3}", "3.0", "$: 3.0 is not less than 3");
    /* the draft-4 boolean form */
    FAILS("{'maximum':3,'exclusiveMaximum':true}", "3",
          "$: 3 is equal to the exclusive maximum 3");
    FAILS("{'minimum':3,'exclusiveMinimum':true}", "3", "$: 3 is equal to the exclusive minimum 3");
    VALID("{'minimum':3,'exclusiveMinimum':false}", "3");
    /* integers past 2^53 compare exactly */
    INVALID("{'maximum':9007199254740992}", "9007199254740993");
    VALID("{'maximum':9007199254740993}", "9007199254740993");
    INVALID("{'minimum':9.3e18}", "9223372036854775807");
    VALID("{'maximum':9.3e18}", "9223372036854775807");
    VALID("{'multipleOf':0.01}", "19.99");
    VALID("{'multipleOf':0.0001}", "0.0075");
    FAILS("{'multipleOf':2}", "7", "$: 7 is not a multiple of 2");
    INVALID("{'multipleOf':0.123456789}", "1e308");
    /* number keywords ignore other types */
    VALID("{'minimum':3}", "'a'");
}

static void test_strings(void)
{
    FAILS("{'minLength':3}", "'ab'", "$: string is 2 characters long, shorter than minLength 3");
    FAILS("{'minLength':2}", "'a'", "$: string is 1 character long, shorter than minLength 2");
    FAILS("{'maxLength':2}", "'abc'", "$: string is 3 characters long, longer than maxLength 2");
    /* code points, not bytes: 'h\u00e9' is 3 bytes, 2 characters */
    VALID("{'maxLength':2}", "'h\\u00e9'");
    VALID("{'maxLength':1}", "'\\ud83d\\ude00'");
    INVALID("{'minLength':2}", "'\\ud83d\\ude00'");
    VALID("{'minLength':2.0}", "'ab'");
    VALID("{'maxLength':0}", "''");
    VALID("{'minLength':3}", "12");
}

static void test_patterns(void)
{
    FAILS("{'pattern':'^\\\\d{3}$'}", "'12a'", "$: '12a' does not match the pattern '^\\\\d{3}$'");
    VALID("{'pattern':'^\\\\d{3}$'}", "'123'");
    VALID("{'pattern':'\\\\d'}", "'ab1'"); /* search, not full match */
    INVALID("{'pattern':'^\\\\w+$'}", "'ab-c'");
    VALID("{'pattern':'^\\\\w+$'}", "'ab_9'");
    INVALID("{'pattern':'^\\\\w$'}", "'\\u00e9'"); /* ECMA \\w is ASCII */
    VALID("{'pattern':'^\\\\s$'}", "'\\t'");
    VALID("{'pattern':'^\\\\S+$'}", "'abc'");
    VALID("{'pattern':'^\\\\D\\\\W$'}", "'a-'");
    /* ECMA's dot does not match a newline */
    INVALID("{'pattern':'^a.b$'}", "'a\\nb'");
    VALID("{'pattern':'^a.b$'}", "'a\\u00e9b'"); /* one code point */
    VALID("{'pattern':'^.{3}$'}", "'\\u65e5\\u672c\\u8a9e'");
    /* lazy quantifiers, non-capturing and named groups */
    VALID("{'pattern':'^a+?b*?c??$'}", "'aab'");
    VALID("{'pattern':'^(?:ab)+$'}", "'abab'");
    VALID("{'pattern':'^(?<year>[0-9]{4})-'}", "'2024-05'");
    /* literal braces and brackets */
    VALID("{'pattern':'^a{$'}", "'a{'");
    VALID("{'pattern':'^{x}$'}", "'{x}'");
    VALID("{'pattern':'^[\\\\]\\\\-^]+$'}", "']-^'");
    VALID("{'pattern':'^[^\\\\]]$'}", "'a'");
    INVALID("{'pattern':'^[^\\\\]]$'}", "']'");
    VALID("{'pattern':'^[\\\\d.]+$'}", "'1.5'");
    INVALID("{'pattern':'^[\\\\d.]+$'}", "'1,5'");
    VALID("{'pattern':'^[\\\\s,]+$'}", "' ,\\t'");
    VALID("{'pattern':'^[a-c\\\\u00e9]+$'}", "'ab\\u00e9'");
    VALID("{'pattern':'^\\\\u0041\\\\x42$'}", "'AB'");
    VALID("{'pattern':'^\\\\.\\\\*\\\\/$'}", "'.*/'");
    VALID("{'pattern':'^[\\\\^]$'}", "'^'");
    VALID("{'pattern':'^[-^]+$'}", "'-^'");
    VALID("{'pattern':'[^]'}", "'x'");
    VALID("{'pattern':'^[A-Z][a-z]+ [A-Z][a-z]+$'}", "'Ada Lovelace'");
    VALID("{'pattern':'^\\\\+?[0-9 ()-]{7,}$'}", "'+1 (555) 010-2030'");
    VALID("{'pattern':'^[^@\\\\s]+@[^@\\\\s]+\\\\.[a-z]{2,}$'}", "'a.b@example.org'");
    INVALID("{'pattern':'^[^@\\\\s]+@[^@\\\\s]+\\\\.[a-z]{2,}$'}", "'a b@example.org'");
    /* patterns apply to strings only */
    VALID("{'pattern':'^x$'}", "5");
    /* refused rather than validated wrongly */
    BAD("{'pattern':'(?=a)'}", "#/pattern: cannot use pattern '(?=a)': lookahead (?=...) is not supported");
    BAD("{'pattern':'(?<!a)b'}",
        "#/pattern: cannot use pattern '(?<!a)b': lookbehind (?<!...) is not supported");
    BAD("{'pattern':'(a)\\\\1'}",
        "#/pattern: cannot use pattern '(a)\\1': backreferences (\\1) are not supported");
    BAD("{'pattern':'\\\\p{L}'}",
        "#/pattern: cannot use pattern '\\p{L}': Unicode property classes (\\p{...}) are not supported");
    BAD("{'pattern':'[\\\\S]'}", "#/pattern: cannot use pattern '[\\S]': \\S inside [...] is not supported");
    BAD("{'pattern':'[\\\\u00e0-\\\\u00ff]'}",
        "#/pattern: cannot use pattern '[\\u00e0-\\u00ff]': ranges of non-ASCII characters inside [...] are not supported");
    BAD("{'pattern':'('}", "#/pattern: cannot use pattern '(': Unmatched ( or \\(");
    BAD("{'pattern':'[a'}", "#/pattern: cannot use pattern '[a': unterminated [...]");
    BAD("{'pattern':'a\\\\'}", "#/pattern: cannot use pattern 'a\\': pattern ends with a backslash");
    BAD("{'pattern':'\\\\q'}", "#/pattern: cannot use pattern '\\q': unknown escape \\q");
    BAD("{'pattern':3}", "#/pattern: expected a string");
}

static void test_translation(void)
{
    char err[128];
    struct {
        const char *ecma, *ere;
    } cases[] = {
        {"\\d+", "[0-9]+"},
        {"a.b", "a[^\n\r]b"},
        {"a*?", "a*"},
        {"(?:x)", "(x)"},
        {"[\\w-]", "[0-9A-Z_a-z-]"},
        {"[\\]a^-]", "[]a^-]"},
        {"[]", NULL}, /* ECMA's empty class never matches: refused */
        {"[^^]", "[^^]"},
        {"{x}", "\\{x\\}"},
        {"x{2,3}?", "x{2,3}"},
        {"\\u00e9", "\xc3\xa9"},
        {"\\ud83d\\ude00", "\xf0\x9f\x98\x80"},
        {"\\$", "\\$"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *ere = jsv_regex_translate(cases[i].ecma, true, err, sizeof err);
        bool ok = cases[i].ere ? ere && strcmp(ere, cases[i].ere) == 0 : !ere;
        if (!ok)
            fprintf(stderr, "translate %s: got %s, want %s\n", cases[i].ecma, ere ? ere : err,
                    cases[i].ere ? cases[i].ere : "an error");
        CHECK(ok);
        free(ere);
    }
    /* without a UTF-8 locale a non-ASCII class member is refused */
    CHECK(jsv_regex_translate("[\\u00e9]", false, err, sizeof err) == NULL);
    CHECK(strcmp(err, "non-ASCII characters inside [...] need the C.UTF-8 locale") == 0);
    /* strings holding U+0000 are searched whole */
    struct jsv_regex *re = jsv_regex_new("b$", err, sizeof err);
    CHECK(re && jsv_regex_match(re, "a\0b", 3));
    CHECK(re && !jsv_regex_match(re, "a\0c", 3));
    jsv_regex_free(re);
}

static void test_arrays(void)
{
    FAILS("{'items':{'type':'integer'}}", "[1,2,'x']", "$[2]: expected type integer, got string");
    FAILS("{'minItems':2}", "[1]", "$: array has 1 item, fewer than minItems 2");
    FAILS("{'maxItems':1}", "[1,2]", "$: array has 2 items, more than maxItems 1");
    FAILS("{'uniqueItems':true}", "[1,2,1.0]", "$: items [0] and [2] are equal; items must be unique");
    VALID("{'uniqueItems':true}", "[1,true,'1',[1],{'a':1},{'a':2}]");
    INVALID("{'uniqueItems':true}", "[{'a':1,'b':2},{'b':2,'a':1}]");
    VALID("{'uniqueItems':false}", "[1,1]");
    /* 2020-12: prefixItems, then items for the rest */
    VALID("{'prefixItems':[{'type':'string'}],'items':{'type':'integer'}}", "['x',2,3]");
    FAILS("{'prefixItems':[{'type':'string'}],'items':{'type':'integer'}}", "['x','y']",
          "$[1]: expected type integer, got string");
    FAILS("{'prefixItems':[{},{}],'items':false}", "[1,2,3]", "$: array has 3 items, at most 2 allowed");
    FAILS("{'items':false}", "[1]", "$: array must be empty, has 1 item");
    VALID("{'prefixItems':[{'type':'integer'}]}", "[1,'free']");
    /* prefixItems inside allOf does not move where the outer items start */
    INVALID("{'allOf':[{'prefixItems':[{'minimum':3}]}],'items':{'minimum':5}}", "[3,5]");
    VALID("{'allOf':[{'prefixItems':[{'minimum':3}]}],'items':{'minimum':5}}", "[5,5]");
    const char *sub = "{'$defs':{'item':{'type':'array','items':false,'prefixItems':[{'$ref':'#/$defs/sub'}]},"
                      "'sub':{'type':'object','required':['foo']}},"
                      "'type':'array','items':false,'prefixItems':[{'$ref':'#/$defs/item'},{'$ref':'#/$defs/item'}]}";
    VALID(sub, "[[{'foo':null}],[{'foo':1}]]");
    FAILS(sub, "[[{'foo':null}],[{'foo':1},{'foo':2}]]", "$[1]: array has 2 items, at most 1 allowed");
    FAILS(sub, "[[{}]]", "$[0][0]: missing required property 'foo'");
    /* the tuple form of items, with additionalItems */
    VALID("{'items':[{'type':'integer'}],'additionalItems':{'type':'string'}}", "[1,'a','b']");
    FAILS("{'items':[{'type':'integer'}],'additionalItems':{'type':'string'}}", "[1,'a',2]",
          "$[2]: expected type string, got integer");
    VALID("{'items':{},'additionalItems':false}", "[1,2]");
    BAD("{'prefixItems':[{}],'items':[{}]}",
        "#/items: an array of schemas cannot be combined with prefixItems");
    /* draft 7 does not know prefixItems */
    VALID("{'$schema':'http://json-schema.org/draft-07/schema#','prefixItems':[false]}", "[1]");
    /* contains */
    FAILS("{'contains':{'const':1}}", "[2,3]", "$: no item matches the contains schema");
    VALID("{'contains':{'const':1}}", "[2,1]");
    FAILS("{'contains':{'const':1},'minContains':2}", "[1,2]",
          "$: 1 items match the contains schema, fewer than minContains 2");
    FAILS("{'contains':{'const':1},'maxContains':1}", "[1,1]",
          "$: 2 items match the contains schema, more than maxContains 1");
    VALID("{'contains':{'const':1},'minContains':0}", "[]");
    VALID("{'maxContains':1}", "[1,1]");
}

static void test_objects(void)
{
    const char *weather = "{'type':'object','properties':{'city':{'type':'string'},"
                          "'unit':{'enum':['c','f']}},'required':['city'],"
                          "'additionalProperties':false}";
    VALID(weather, "{'city':'Oslo','unit':'c'}");
    FAILS(weather, "{'unit':'c'}", "$: missing required property 'city'");
    FAILS(weather, "{'city':'Oslo','zip':1}",
          "$: property 'zip' is not allowed (allowed: 'city', 'unit')");
    FAILS("{'additionalProperties':false}", "{'a':1}", "$: property 'a' is not allowed");
    {
        /* many allowed names: the list ends in "..." and the line stays short */
        char sch[2048] = "{'additionalProperties':false,'properties':{";
        for (int i = 0; i < 60; i++)
            snprintf(sch + strlen(sch), sizeof sch - strlen(sch), "%s'property_%02d':{}", i ? "," : "", i);
        strcat(sch, "}}");
        struct jsv_result r;
        char err[64];
        CHECK(run(sch, "{'zzz':1}", &r, err, sizeof err) == JSV_INVALID);
        CHECK(strlen(r.message) < 300);
        size_t len = strlen(r.message);
        CHECK(len > 6 && strcmp(r.message + len - 6, ", ...)") == 0);
    }
    FAILS("{'additionalProperties':{'type':'integer'}}", "{'a':1,'b':'x'}",
          "$.b: expected type integer, got string");
    FAILS("{'minProperties':2}", "{'a':1}", "$: object has 1 property, fewer than minProperties 2");
    FAILS("{'maxProperties':1}", "{'a':1,'b':2}", "$: object has 2 properties, more than maxProperties 1");
    /* patternProperties, and how it shields names from additionalProperties */
    const char *pp = "{'properties':{'id':{'type':'integer'}},"
                     "'patternProperties':{'^x-':{'type':'string'}},'additionalProperties':false}";
    VALID(pp, "{'id':1,'x-trace':'abc'}");
    FAILS(pp, "{'id':1,'x-trace':2}", "$.x-trace: expected type string, got integer");
    FAILS(pp, "{'id':1,'y':2}", "$: property 'y' is not allowed (allowed: 'id')");
    /* paths: plain keys after a dot, others quoted, indexes in brackets */
    FAILS("{'properties':{'a':{'items':{'properties':{'b':{'type':'string'}}}}}}",
          "{'a':[{},{},{'b':1}]}", "$.a[2].b: expected type string, got integer");
    FAILS("{'properties':{'odd key':{'type':'string'}}}", "{'odd key':1}",
          "$['odd key']: expected type string, got integer");
    FAILS("{'properties':{'a.b':{'type':'string'}}}", "{'a.b':1}",
          "$['a.b']: expected type string, got integer");
    FAILS("{'properties':{'say \\'hi\\'':{'type':'string'}}}", "{'say \\'hi\\'':1}",
          "$['say \\'hi\\'']: expected type string, got integer");
    /* dependencies in their three spellings */
    FAILS("{'dependentRequired':{'card':['cvv']}}", "{'card':1}", "$: property 'card' requires property 'cvv'");
    VALID("{'dependentRequired':{'card':['cvv']}}", "{'cvv':1}");
    FAILS("{'dependentSchemas':{'card':{'required':['cvv']}}}", "{'card':1}",
          "$: missing required property 'cvv'");
    INVALID("{'dependencies':{'a':['b'],'c':{'maxProperties':1}}}", "{'c':1,'d':2}");
    VALID("{'dependencies':{'a':['b'],'c':{'maxProperties':1}}}", "{'a':1,'b':2}");
    /* object keywords ignore other types */
    VALID("{'required':['a'],'additionalProperties':false}", "5");
}

static void test_combinators(void)
{
    VALID("{'allOf':[{'type':'integer'},{'minimum':2}]}", "3");
    FAILS("{'allOf':[{'type':'integer'},{'minimum':2}]}", "1", "$: 1 is less than the minimum 2");
    /* a nullable union written as anyOf reads as one type check */
    FAILS("{'anyOf':[{'type':'string'},{'type':'null'}]}", "5",
          "$: expected type string or null, got integer");
    FAILS("{'properties':{'a':{'anyOf':[{'type':'string','minLength':3},{'type':'null'}]}}}",
          "{'a':'x'}",
          "$.a: matches none of the 2 schemas in anyOf; schema 0 says: string is 1 character long, "
          "shorter than minLength 3");
    /* a tagged union: the variant whose tag matched explains */
    const char *tagged = "{'oneOf':["
                         "{'type':'object','properties':{'kind':{'const':'a'},'x':{'type':'integer'}},'required':['kind']},"
                         "{'type':'object','properties':{'kind':{'const':'b'},'y':{'type':'string'}},'required':['kind']}]}";
    VALID(tagged, "{'kind':'a','x':1}");
    FAILS(tagged, "{'kind':'b','y':3}", "$.y: expected type string, got integer");
    FAILS(tagged, "{'kind':'a','x':'1'}", "$.x: expected type integer, got string");
    FAILS("{'oneOf':[{'type':'integer'},{'minimum':2}]}", "3",
          "$: matches both schema 0 and schema 1 of oneOf; exactly one must match");
    VALID("{'oneOf':[{'type':'integer'},{'minimum':2}]}", "1");
    FAILS("{'not':{'type':'string'}}", "'s'", "$: must not match the schema in 'not'");
    VALID("{'not':{'type':'string'}}", "1");
    /* nested unions pass their merged type up */
    FAILS("{'anyOf':[{'anyOf':[{'type':'string'},{'type':'integer'}]},{'type':'null'}]}", "true",
          "$: expected type string, integer or null, got boolean");
    /* if/then/else */
    const char *cond = "{'if':{'properties':{'kind':{'const':'card'}}},'then':{'required':['number']},"
                       "'else':{'required':['iban']}}";
    FAILS(cond, "{'kind':'card'}", "$: missing required property 'number'");
    FAILS(cond, "{'kind':'bank'}", "$: missing required property 'iban'");
    VALID(cond, "{'kind':'card','number':'4111'}");
    VALID("{'then':false}", "1"); /* then without if is ignored */
}

static void test_boolean_schemas(void)
{
    VALID("true", "{'anything':[1]}");
    FAILS("false", "1", "$: no value is allowed here (the schema is false)");
    FAILS("{'properties':{'a':false}}", "{'a':1}", "$.a: no value is allowed here (the schema is false)");
    VALID("{'properties':{'a':false}}", "{'b':1}");
}

static void test_refs(void)
{
    /* $defs, definitions, pointers into anything, escapes */
    VALID("{'$defs':{'pos':{'type':'integer','minimum':1}},'properties':{'n':{'$ref':'#/$defs/pos'}}}",
          "{'n':3}");
    FAILS("{'$defs':{'pos':{'type':'integer','minimum':1}},'properties':{'n':{'$ref':'#/$defs/pos'}}}",
          "{'n':0}", "$.n: 0 is less than the minimum 1");
    INVALID("{'definitions':{'s':{'type':'string'}},'items':{'$ref':'#/definitions/s'}}", "[1]");
    INVALID("{'properties':{'a':{'type':'integer'},'b':{'$ref':'#/properties/a'}}}", "{'b':'x'}");
    INVALID("{'$defs':{'a/b':{'type':'integer'},'c~d':{'type':'integer'},'e%f':{'type':'integer'}},"
            "'properties':{'x':{'$ref':'#/$defs/a~1b'},'y':{'$ref':'#/$defs/c~0d'},"
            "'z':{'$ref':'#/$defs/e%25f'}}}",
            "{'z':'s'}");
    INVALID("{'items':[{'type':'integer'},{'$ref':'#/items/0'}]}", "[1,'x']");
    /* anchors */
    INVALID("{'$ref':'#num','$defs':{'n':{'$anchor':'num','type':'integer'}}}", "'x'");
    INVALID("{'$schema':'http://json-schema.org/draft-07/schema#','$ref':'#num',"
            "'definitions':{'n':{'$id':'#num','type':'integer'}}}",
            "'x'");
    /* a reference through the root's own $id */
    INVALID("{'$id':'https://example.com/s.json','$defs':{'i':{'type':'integer'}},"
            "'$ref':'https://example.com/s.json#/$defs/i'}",
            "'x'");
    /* recursion through the instance is fine, and paths follow it */
    const char *tree = "{'$defs':{'node':{'type':'object','required':['name'],"
                       "'properties':{'name':{'type':'string'},'children':{'type':'array','items':{'$ref':'#/$defs/node'}}}}},"
                       "'$ref':'#/$defs/node'}";
    VALID(tree, "{'name':'a','children':[{'name':'b','children':[]}]}");
    FAILS(tree, "{'name':'a','children':[{'name':'b'},{'name':'c','children':[{'name':2}]}]}",
          "$.children[1].children[0].name: expected type string, got integer");
    FAILS("{'properties':{'next':{'$ref':'#'}},'additionalProperties':false}", "{'next':{'x':1}}",
          "$.next: property 'x' is not allowed (allowed: 'next')");
    /* 2020-12 keeps the siblings of $ref; draft 7 drops them */
    INVALID("{'$defs':{'a':{'type':'array'}},'$ref':'#/$defs/a','maxItems':1}", "[1,2]");
    VALID("{'$schema':'http://json-schema.org/draft-07/schema#','definitions':{'a':{'type':'array'}},"
          "'$ref':'#/definitions/a','maxItems':1}",
          "[1,2]");
    /* a ref to a boolean schema */
    INVALID("{'$defs':{'no':false},'$ref':'#/$defs/no'}", "1");
    /* what does not compile */
    BAD("{'$ref':'#/$defs/missing'}", "#/$ref: '#/$defs/missing' does not resolve in this schema");
    BAD("{'$ref':'#nowhere'}", "#/$ref: '#nowhere' does not resolve in this schema");
    BAD("{'$ref':'https://example.com/other.json'}",
        "#/$ref: 'https://example.com/other.json' points outside this schema; only local references ('#...') are supported");
    BAD("{'$ref':'other.json#/a'}",
        "#/$ref: 'other.json#/a' points outside this schema; only local references ('#...') are supported");
    BAD("{'$ref':5}", "#/$ref: expected a string");
    /* cycles that never move into the instance */
#define LOOP " that never moves into the instance (validation would recurse forever)"
    BAD("{'$ref':'#'}", "#: circular reference back to #" LOOP);
    BAD("{'$defs':{'a':{'$ref':'#/$defs/b'},'b':{'$ref':'#/$defs/a'}},'$ref':'#/$defs/a'}",
        "#/$defs/b: circular reference back to #/$defs/a" LOOP);
    BAD("{'$defs':{'alice':{'$anchor':'alice','allOf':[{'$ref':'#bob'}]},"
        "'bob':{'$anchor':'bob','allOf':[{'$ref':'#alice'}]}},'$ref':'#alice'}",
        "#bob/allOf/0: circular reference back to #/$defs/alice" LOOP);
    BAD("{'anyOf':[{'type':'string'},{'$ref':'#'}]}", "#/anyOf/1: circular reference back to #" LOOP);
    BAD("{'not':{'allOf':[{'$ref':'#'}]}}", "#/not/allOf/0: circular reference back to #" LOOP);
    /* a draft-7 $ref hides a malformed sibling */
    VALID("{'$schema':'http://json-schema.org/draft-07/schema#','definitions':{'a':{}},"
          "'$ref':'#/definitions/a','minLength':-1}",
          "1");
}

static void test_depth(void)
{
    const char *nest = "{'$defs':{'n':{'type':'array','items':{'$ref':'#/$defs/n'}}},'$ref':'#/$defs/n'}";
    json_t *s = parse(nest);
    char err[256];
    struct jsv_schema *c = jsv_compile(s, err, sizeof err);
    CHECK(c != NULL);
    /* each array level costs two levels: the items schema and its $ref */
    json_t *shallow = json_array(), *deep = json_array();
    for (int i = 0; i < 50; i++) {
        json_t *w = json_array();
        json_array_append_new(w, shallow);
        shallow = w;
    }
    for (int i = 0; i < 200; i++) {
        json_t *w = json_array();
        json_array_append_new(w, deep);
        deep = w;
    }
    struct jsv_result r;
    CHECK(c && jsv_validate(c, shallow, &r) == JSV_VALID);
    CHECK(c && jsv_validate(c, deep, &r) == JSV_TOO_DEEP);
    CHECK(r.keyword && strcmp(r.keyword, "depth") == 0);
    CHECK(strstr(r.message, "nested deeper than 128 levels; not validated") != NULL);
    CHECK(strncmp(r.message, "$[0][0][0]", 10) == 0);
    /* a too-deep branch inside a probe is not a failed branch */
    json_t *s2 = parse("{'anyOf':[{'$ref':'#/$defs/n'},{'type':'string'}],"
                       "'$defs':{'n':{'type':'array','items':{'$ref':'#/$defs/n'}}}}");
    struct jsv_schema *c2 = jsv_compile(s2, err, sizeof err);
    CHECK(c2 && jsv_validate(c2, deep, &r) == JSV_TOO_DEEP);
    CHECK(c2 && jsv_validate(c2, shallow, NULL) == JSV_VALID);
    jsv_free(c2);
    json_decref(s2);
    json_decref(shallow);
    json_decref(deep);
    jsv_free(c);
    json_decref(s);
}

static void test_bad_schemas(void)
{
    BAD("{'properties':{'unit':{'type':'strin'}}}", "#/properties/unit/type: unknown type 'strin'");
    BAD("{'type':['string','string']}", "#/type: type 'string' is listed twice");
    BAD("{'type':['string',1]}", "#/type: element 1 is not a known type name");
    BAD("{'type':5}", "#/type: expected a type name or an array of type names");
    BAD("{'minLength':-1}", "#/minLength: expected a non-negative integer");
    BAD("{'maxItems':'3'}", "#/maxItems: expected a non-negative integer");
    BAD("{'minProperties':1.5}", "#/minProperties: expected a non-negative integer");
    BAD("{'minimum':'1'}", "#/minimum: expected a number");
    BAD("{'exclusiveMaximum':'1'}", "#/exclusiveMaximum: expected a number");
    BAD("{'multipleOf':0}", "#/multipleOf: expected a number greater than 0");
    BAD("{'enum':'a'}", "#/enum: expected an array");
    BAD("{'required':'a'}", "#/required: expected an array of property names");
    BAD("{'required':['a',1]}", "#/required: expected an array of property names");
    BAD("{'required':['a','a']}", "#/required: a property name is listed twice");
    BAD("{'properties':[]}", "#/properties: expected an object of schemas");
    BAD("{'properties':{'a':5}}", "#/properties/a: a schema must be an object or a boolean, got a number");
    BAD("{'properties':{'a/b':{'items':'x'}}}",
        "#/properties/a~1b/items: a schema must be an object or a boolean, got a string");
    BAD("{'allOf':[]}", "#/allOf: expected a non-empty array of schemas");
    BAD("{'anyOf':{}}", "#/anyOf: expected a non-empty array of schemas");
    BAD("{'oneOf':[{},null]}", "#/oneOf/1: a schema must be an object or a boolean, got null");
    BAD("{'not':[]}", "#/not: a schema must be an object or a boolean, got an array");
    BAD("{'additionalProperties':1}", "#/additionalProperties: a schema must be an object or a boolean, got a number");
    BAD("{'uniqueItems':1}", "#/uniqueItems: expected a boolean");
    BAD("{'nullable':'yes'}", "#/nullable: expected a boolean");
    BAD("{'patternProperties':{'(':{}}}",
        "#/patternProperties/(: cannot use pattern '(': Unmatched ( or \\(");
    BAD("{'$defs':{'broken':{'minimum':'x'}}}", "#/$defs/broken/minimum: expected a number");
    BAD("{'dependentRequired':{'a':'b'}}", "#/dependentRequired: expected arrays of property names");
    BAD("5", "#: a schema must be an object or a boolean, got a number");
    /* NULL in, error out */
    char err[64];
    CHECK(jsv_compile(NULL, err, sizeof err) == NULL && strcmp(err, "#: no schema") == 0);
    CHECK(jsv_compile(NULL, NULL, 0) == NULL);
}

static void test_unknown_keywords(void)
{
    VALID("{'type':'string','format':'email','title':'t','description':'d','default':'x',"
          "'examples':['a'],'x-vendor':{'minLength':100},'$comment':'c','unevaluatedProperties':false}",
          "'not an email'");
    /* an unknown keyword holding a non-schema is fine */
    VALID("{'foo':[1,2,{'type':5}]}", "1");
}

static void test_messages_stay_short(void)
{
    char big[2048];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_t *s = parse("{'enum':['x']}");
    json_t *i = json_string(big);
    struct jsv_schema *c = jsv_compile(s, NULL, 0);
    struct jsv_result r;
    CHECK(c && jsv_validate(c, i, &r) == JSV_INVALID);
    CHECK(strlen(r.message) < 200);
    CHECK(strstr(r.message, "aaa\"... is not one of [\"x\"]") != NULL);
    jsv_free(c);
    json_decref(s);
    json_decref(i);
    /* a path longer than the buffer is cut with "..." */
    json_t *deep = json_object(), *sch = json_object();
    json_t *cur = deep, *cs = sch;
    char key[40];
    memset(key, 'k', 39);
    key[39] = '\0';
    for (int d = 0; d < 20; d++) {
        json_t *o = json_object(), *props = json_object(), *sub = json_object();
        json_object_set_new(cur, key, o);
        json_object_set_new(cs, "properties", props);
        json_object_set_new(props, key, sub);
        cur = o;
        cs = sub;
    }
    json_object_set_new(cs, "type", json_string("string"));
    c = jsv_compile(sch, NULL, 0);
    CHECK(c && jsv_validate(c, deep, &r) == JSV_INVALID);
    CHECK(strlen(r.path) == JSV_PATH_MAX - 1 && strcmp(r.path + JSV_PATH_MAX - 4, "...") == 0);
    jsv_free(c);
    json_decref(deep);
    json_decref(sch);
}

/* The schema is copied: the caller may change or free its own. */
static void test_schema_is_copied(void)
{
    json_t *s = parse("{'properties':{'a':{'type':'string'}}}");
    struct jsv_schema *c = jsv_compile(s, NULL, 0);
    json_object_set_new(json_object_get(json_object_get(s, "properties"), "a"), "type",
                        json_string("integer"));
    json_decref(s);
    json_t *i = parse("{'a':'x'}");
    CHECK(c && jsv_validate(c, i, NULL) == JSV_VALID);
    CHECK(jsv_validate(c, NULL, NULL) == JSV_INVALID);
    json_decref(i);
    jsv_free(c);
    jsv_free(NULL);
}

/* Every allocation of a compile made to fail in turn: the compile fails
 * cleanly or succeeds with the same schema, and nothing is left behind.
 * The schema has no pattern: glibc 2.36's own regcomp leaks, and in a
 * UTF-8 locale frees twice, when an allocation inside it fails, so the
 * pattern translation is swept on its own instead. */
static void test_alloc_failures(void)
{
#ifdef ALLOC_HOOKS
    json_t *s = parse("{'$defs':{'pos':{'type':'integer','minimum':1},'tag':{'$anchor':'t','enum':['a','b']}},"
                      "'type':'object','required':['n','tags'],"
                      "'properties':{'n':{'$ref':'#/$defs/pos'},'tags':{'type':'array','items':{'$ref':'#t'},"
                      "'uniqueItems':true,'prefixItems':[{'const':'a'}]},"
                      "'code':{'type':'string','minLength':2,'maxLength':8},"
                      "'alt':{'anyOf':[{'type':'null'},{'oneOf':[{'type':'string'},{'type':'number'}]}]},"
                      "'if':{'if':{'minProperties':3},'then':{'not':{'required':['zz']}},'else':true}},"
                      "'additionalProperties':{'type':'string'},"
                      "'dependentRequired':{'code':['n']},'dependentSchemas':{'alt':{'minProperties':2}}}");
    json_t *bad = parse("{'n':1,'tags':['a','b'],'code':'AB12','x-y':'z','alt':{}}");
    struct jsv_result want;
    struct jsv_schema *ref = jsv_compile(s, NULL, 0);
    CHECK(ref && jsv_validate(ref, bad, &want) == JSV_INVALID);
    jsv_free(ref);
    bool reached_end = false;
    int leaks = 0, wrong = 0;
    long k;
    for (k = 1; k < 100000 && !reached_end; k++) {
        char err[256] = "";
        calls = live = 0;
        fail_at = k;
        tracking = true;
        struct jsv_schema *c = jsv_compile(s, err, sizeof err);
        fail_at = 0;
        struct jsv_result r;
        if (c && (jsv_validate(c, bad, &r) != JSV_INVALID || strcmp(r.message, want.message) != 0))
            wrong++;
        jsv_free(c);
        tracking = false;
        reached_end = calls < k;
        if (live) {
            fprintf(stderr, "allocation %ld failed: %ld blocks left (%s)\n", k, live,
                    c ? "compiled" : err);
            leaks++;
        }
        if (!c && !err[0])
            wrong++;
    }
    CHECK(reached_end);
    CHECK(k > 100); /* the compile of that schema makes well over 100 allocations */
    CHECK(leaks == 0);
    CHECK(wrong == 0);

    reached_end = false;
    leaks = 0;
    for (k = 1; k < 10000 && !reached_end; k++) {
        char err[64];
        calls = live = 0;
        fail_at = k;
        tracking = true;
        char *ere = jsv_regex_translate("^(?:[\\w.\\u00e9-]+|\\d{2,}?)[^\\]]\\s*$", true, err, sizeof err);
        free(ere);
        tracking = false;
        fail_at = 0;
        reached_end = calls < k;
        leaks += live != 0;
    }
    CHECK(reached_end);
    CHECK(leaks == 0);

    /* validation allocates nothing (patterns aside: regexec does) */
    json_t *s2 = parse("{'type':'object','properties':{'a':{'anyOf':[{'type':'string','minLength':2},"
                       "{'type':'null'}]},'b':{'items':{'enum':[1,2,3]}}},'required':['a'],"
                       "'additionalProperties':false}");
    json_t *good2 = parse("{'a':'xy','b':[1,2]}"), *bad2 = parse("{'a':'x','b':[1,9]}");
    struct jsv_schema *c2 = jsv_compile(s2, NULL, 0);
    struct jsv_result r2;
    calls = live = 0;
    tracking = true;
    int v1 = jsv_validate(c2, good2, &r2), v2 = jsv_validate(c2, bad2, &r2);
    tracking = false;
    CHECK(v1 == JSV_VALID && v2 == JSV_INVALID);
    CHECK(calls == 0);
    jsv_free(c2);
    json_decref(s2);
    json_decref(good2);
    json_decref(bad2);
    json_decref(s);
    json_decref(bad);
#else
    SKIP("allocation failures", "the sanitizer owns malloc, so no allocation can be made to fail");
#endif
}

/* The shapes that tool definitions actually carry. */
static void test_tool_schemas(void)
{
    /* OpenAI strict mode: every property required, optional ones nullable */
    const char *strict = "{'type':'object','properties':{'location':{'type':'string'},"
                         "'unit':{'type':['string','null'],'enum':['celsius','fahrenheit',null]}},"
                         "'required':['location','unit'],'additionalProperties':false}";
    VALID(strict, "{'location':'Paris','unit':null}");
    FAILS(strict, "{'location':'Paris','unit':'kelvin'}",
          "$.unit: 'kelvin' is not one of ['celsius', 'fahrenheit', null]");
    FAILS(strict, "{'location':'Paris'}", "$: missing required property 'unit'");
    /* Pydantic v2: $defs, $ref with a description beside it, anyOf-null */
    const char *pyd = "{'$defs':{'Item':{'type':'object','properties':{'sku':{'type':'string'},"
                      "'qty':{'type':'integer','minimum':1}},'required':['sku','qty'],'title':'Item'}},"
                      "'type':'object','properties':{'items':{'type':'array','items':{'$ref':'#/$defs/Item'}},"
                      "'note':{'anyOf':[{'type':'string'},{'type':'null'}],'default':null},"
                      "'main':{'$ref':'#/$defs/Item','description':'the main item'}},"
                      "'required':['items']}";
    VALID(pyd, "{'items':[{'sku':'a','qty':2}],'note':null}");
    FAILS(pyd, "{'items':[{'sku':'a','qty':0}]}", "$.items[0].qty: 0 is less than the minimum 1");
    FAILS(pyd, "{'items':[],'note':3}", "$.note: expected type string or null, got integer");
    FAILS(pyd, "{'items':[],'main':{'sku':'a'}}", "$.main: missing required property 'qty'");
}

int main(void)
{
    test_type();
    test_enum_const();
    test_numbers();
    test_strings();
    test_patterns();
    test_translation();
    test_arrays();
    test_objects();
    test_combinators();
    test_boolean_schemas();
    test_refs();
    test_depth();
    test_bad_schemas();
    test_unknown_keywords();
    test_messages_stay_short();
    test_schema_is_copied();
    test_alloc_failures();
    test_tool_schemas();
    UNIT_END("jsv");
}
