/*
 * Unit tests for shared/cfg*.c.
 *
 *   gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Ishared \
 *       tests/unit/test_cfg.c shared/cfg*.c -ljansson -o /tmp/test_cfg && /tmp/test_cfg
 *
 * Documents are written with ' for " to keep them readable in C.
 */
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_impl.h"
#include "unit.h"


static char tmpdir[] = "/tmp/test_cfg.XXXXXX";

/* --- helpers ------------------------------------------------------------ */

static char *quotes(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

static json_t *parse(const char *doc)
{
    char *t = quotes(doc);
    json_error_t je;
    json_t *j = json_loads(t, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        printf("test document does not parse: %s: %s\n", je.text, t);
    free(t);
    return j;
}

static struct cfg *load(const char *doc, const char *base, struct cfg_errors *e)
{
    json_t *j = parse(doc);
    struct cfg *c = cfg_load_json(j, base, e);
    json_decref(j);
    return c;
}

static bool has_error(const struct cfg_errors *e, const char *msg)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->msg[i], msg) == 0)
            return true;
    return false;
}

static void dump_errors(const struct cfg_errors *e)
{
    for (size_t i = 0; i < e->n; i++)
        printf("    got: %s\n", e->msg[i]);
}

/* The document must fail with exactly this one error. */
#define EXPECT_ONE(doc, msg) expect_one_((doc), (msg), __FILE__, __LINE__)

static void expect_one_(const char *doc, const char *msg, const char *file, int line)
{
    struct cfg_errors e = { 0 };
    struct cfg *c = load(doc, NULL, &e);
    char what[600];
    snprintf(what, sizeof what, "one error: %s", msg);
    if (!unit_check(c == NULL && e.n == 1 && has_error(&e, msg), file, line, what))
        dump_errors(&e);
    cfg_free(c);
    cfg_errors_clear(&e);
}

#define EXPECT_OK(doc) expect_ok_((doc), __FILE__, __LINE__)

static void expect_ok_(const char *doc, const char *file, int line)
{
    struct cfg_errors e = { 0 };
    struct cfg *c = load(doc, NULL, &e);
    if (!unit_check(c != NULL && e.n == 0, file, line, doc))
        dump_errors(&e);
    cfg_free(c);
    cfg_errors_clear(&e);
}

static char *write_file(const char *name, const char *text)
{
    char *path;
    if (asprintf(&path, "%s/%s", tmpdir, name) < 0)
        abort();
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
    return path;
}

static bool streq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool cfg_equal(const struct cfg *a, const struct cfg *b)
{
    if (!streq(a->listen_host, b->listen_host) || a->listen_port != b->listen_port ||
        a->workers != b->workers || !streq(a->state_dir, b->state_dir) ||
        a->lmdb_map_mb != b->lmdb_map_mb)
        return false;
    if (a->log.level != b->log.level || !streq(a->log.file, b->log.file) ||
        !streq(a->log.access_log, b->log.access_log) || a->log.log_content != b->log.log_content)
        return false;
    if (memcmp(&a->limits, &b->limits, sizeof a->limits) != 0 ||
        memcmp(&a->timeouts, &b->timeouts, sizeof a->timeouts) != 0)
        return false;
    if (a->nproviders != b->nproviders || a->nmodels != b->nmodels)
        return false;
    for (size_t i = 0; i < a->nproviders; i++) {
        const struct cfg_provider *p = &a->providers[i], *q = &b->providers[i];
        if (!streq(p->name, q->name) || p->type != q->type || !streq(p->base_url, q->base_url) ||
            !streq(p->api_key_env, q->api_key_env) || p->optional != q->optional ||
            !streq(p->region, q->region) || p->http_client != q->http_client)
            return false;
    }
    for (size_t i = 0; i < a->nmodels; i++) {
        const struct cfg_model *m = &a->models[i], *n = &b->models[i];
        if (!streq(m->name, n->name) || m->ntargets != n->ntargets)
            return false;
        for (size_t k = 0; k < m->ntargets; k++)
            if (m->targets[k].provider != n->targets[k].provider ||
                !streq(m->targets[k].model, n->targets[k].model))
                return false;
    }
    return json_equal(a->normalized, b->normalized);
}

/* What the controller stores and a worker reads back. */
static bool round_trips(const struct cfg *c)
{
    char *text = json_dumps(c->normalized, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *j = json_loads(text, 0, NULL);
    struct cfg_errors e = { 0 };
    struct cfg *d = cfg_load_json(j, NULL, &e);
    bool ok = d && e.n == 0 && cfg_equal(c, d);
    if (!ok)
        dump_errors(&e);
    cfg_free(d);
    cfg_errors_clear(&e);
    json_decref(j);
    free(text);
    return ok;
}

/* The repository root, from where this file was compiled. */
static char *repo_path(const char *rel)
{
    const char *me = __FILE__;
    const char *tail = strstr(me, "tests/unit/test_cfg.c");
    char *p;
    if (asprintf(&p, "%.*s%s", tail ? (int)(tail - me) : 0, me, rel) < 0)
        abort();
    return p;
}

/* A small valid document the error tests mutate by substitution. */
#define MIN_HEAD "{'listen':'127.0.0.1:0','state_dir':'st',"
#define MIN_PROVS "'providers':{'p':{'type':'openai','base_url':'http://h'}},"
#define MIN_MODELS "'models':{'m':{'targets':[{'provider':'p','model':'x'}]}}"
#define MIN_DOC MIN_HEAD MIN_PROVS MIN_MODELS "}"
#define WITH(extra) MIN_HEAD extra "," MIN_PROVS MIN_MODELS "}"
#define WITH_PROV(fields) MIN_HEAD "'providers':{'p':{" fields "}}," MIN_MODELS "}"
#define WITH_TARGETS(t) MIN_HEAD MIN_PROVS "'models':{'m':{'targets':" t "}}}"

/* --- tests -------------------------------------------------------------- */

static void test_shipped_config(void)
{
    char *path = repo_path("etc/backstop.json");
    struct cfg_errors e = { 0 };
    struct cfg *c = cfg_load_file(path, &e);
    if (!CHECK(c != NULL && e.n == 0)) {
        printf("    loading %s\n", path);
        dump_errors(&e);
        cfg_errors_clear(&e);
        free(path);
        return;
    }
    CHECK(streq(c->listen_host, "127.0.0.1"));
    CHECK(c->listen_port == 8080);
    CHECK(c->workers == 2);
    CHECK(c->state_dir[0] == '/');
    CHECK(strstr(c->state_dir, "/var/state") != NULL);
    CHECK(strstr(c->state_dir, "..") == NULL);
    CHECK(c->lmdb_map_mb == 64);
    CHECK(c->nproviders == 4);
    CHECK(c->nmodels == 3);
    const struct cfg_provider *an = cfg_find_provider(c, "anthropic");
    CHECK(an && an->type == CFG_PROV_ANTHROPIC && an->optional && !an->api_version);

    const struct cfg_provider *oa = cfg_find_provider(c, "openai");
    CHECK(oa && oa->type == CFG_PROV_OPENAI && oa->optional);
    CHECK(oa && streq(oa->base_url, "https://api.openai.com/v1"));
    CHECK(oa && streq(oa->api_key_env, "OPENAI_API_KEY"));
    const struct cfg_provider *sp = cfg_find_provider(c, "sim-primary");
    CHECK(sp && sp->type == CFG_PROV_OPENAI_COMPAT && sp->api_key_env == NULL && !sp->optional);
    CHECK(sp && streq(sp->base_url, "http://127.0.0.1:9101/v1"));
    const struct cfg_provider *sb = cfg_find_provider(c, "sim-backup");
    CHECK(sb && streq(sb->base_url, "http://127.0.0.1:9102/v1"));

    const struct cfg_model *m = cfg_find_model(c, "gpt-4o-mini");
    if (CHECK(m && m->ntargets == 3)) {
        CHECK(streq(c->providers[m->targets[0].provider].name, "openai"));
        CHECK(streq(m->targets[0].model, "gpt-4o-mini-2024-07-18"));
        CHECK(streq(c->providers[m->targets[1].provider].name, "sim-primary"));
        CHECK(streq(m->targets[1].model, "sim-small-v1"));
        CHECK(streq(c->providers[m->targets[2].provider].name, "sim-backup"));
        CHECK(streq(m->targets[2].model, "sim-small-v2"));
    }
    m = cfg_find_model(c, "sim-chat");
    if (CHECK(m && m->ntargets == 2)) {
        CHECK(streq(c->providers[m->targets[0].provider].name, "sim-primary"));
        CHECK(streq(c->providers[m->targets[1].provider].name, "sim-backup"));
    }
    CHECK(round_trips(c));
    cfg_free(c);
    free(path);
}

static void test_defaults(void)
{
    struct cfg_errors e = { 0 };
    struct cfg *c = load(MIN_DOC, NULL, &e);
    if (!CHECK(c && e.n == 0)) {
        dump_errors(&e);
        cfg_errors_clear(&e);
        return;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    if (ncpu > 64)
        ncpu = 64;
    CHECK(c->workers == ncpu);
    CHECK(c->listen_port == 0);
    CHECK(streq(c->state_dir, "st"));       /* no base_dir: kept as written */
    CHECK(c->lmdb_map_mb == 64);
    CHECK(c->log.level == CFG_LOG_INFO);
    CHECK(c->log.file == NULL && c->log.access_log == NULL && !c->log.log_content);
    CHECK(c->limits.max_body_bytes == 1048576);
    CHECK(c->limits.max_header_bytes == 16384);
    CHECK(c->limits.max_response_bytes == 16777216);
    CHECK(c->limits.max_connections == 4096);
    CHECK(c->timeouts.connect_ms == 2000);
    CHECK(c->timeouts.first_token_ms == 30000);
    CHECK(c->timeouts.idle_stream_ms == 30000);
    CHECK(c->timeouts.request_ms == 600000);
    CHECK(c->timeouts.drain_grace_ms == 30000);
    CHECK(c->nproviders == 1 && c->providers[0].api_key_env == NULL);
    CHECK(c->nproviders == 1 && !c->providers[0].optional && c->providers[0].region == NULL);

    /* The defaults are written into the normalised document. */
    json_t *n = c->normalized;
    CHECK(json_integer_value(json_object_get(n, "workers")) == ncpu);
    CHECK(json_integer_value(json_object_get(n, "lmdb_map_mb")) == 64);
    CHECK(streq(json_string_value(json_object_get(json_object_get(n, "log"), "level")), "info"));
    CHECK(json_is_null(json_object_get(json_object_get(n, "log"), "file")));
    CHECK(json_integer_value(json_object_get(json_object_get(n, "timeouts"), "request_ms"))
          == 600000);
    CHECK(json_integer_value(json_object_get(json_object_get(n, "limits"), "max_connections"))
          == 4096);
    json_t *p = json_object_get(json_object_get(n, "providers"), "p");
    CHECK(json_is_false(json_object_get(p, "optional")));
    CHECK(json_is_null(json_object_get(p, "api_key_env")));
    CHECK(json_is_null(json_object_get(p, "region")));
    CHECK(round_trips(c));
    cfg_free(c);
}

static void test_paths(void)
{
    struct cfg_errors e = { 0 };
    struct cfg *c = load(WITH("'log':{'file':'log/d.log','access_log':'/abs/a.log'}"),
                         "/srv/bs/etc", &e);
    if (CHECK(c != NULL)) {
        CHECK(streq(c->state_dir, "/srv/bs/etc/st"));
        CHECK(streq(c->log.file, "/srv/bs/etc/log/d.log"));
        CHECK(streq(c->log.access_log, "/abs/a.log"));
        CHECK(streq(json_string_value(json_object_get(c->normalized, "state_dir")),
                    "/srv/bs/etc/st"));
        CHECK(round_trips(c));
    }
    cfg_free(c);

    static const struct { const char *base, *rel, *want; } cases[] = {
        { "/srv/bs/etc", "../var/state", "/srv/bs/var/state" },
        { "/srv/bs/etc/", "./../../x", "/srv/x" },
        { "/srv", "../../../x", "/x" },
        { "/", "../x", "/x" },
        { "/srv/etc", "..", "/srv" },
        { "/srv/etc", "a/../b", "/srv/etc/a/../b" },
        { "rel/dir", "../x", "rel/dir/../x" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = parse(MIN_DOC);
        json_object_set_new(j, "state_dir", json_string(cases[i].rel));
        c = cfg_load_json(j, cases[i].base, &e);
        if (!CHECK(c && streq(c->state_dir, cases[i].want)))
            printf("    %s + %s -> %s, want %s\n", cases[i].base, cases[i].rel,
                   c ? c->state_dir : "(error)", cases[i].want);
        cfg_free(c);
        json_decref(j);
    }
    cfg_errors_clear(&e);

    /* cfg_load_file resolves against the file's own directory. */
    char *sub;
    if (asprintf(&sub, "%s/etc", tmpdir) < 0 || mkdir(sub, 0700) != 0)
        abort();
    char *text = quotes(MIN_DOC);
    char *path = write_file("etc/b.json", text);
    c = cfg_load_file(path, &e);
    char *want;
    if (asprintf(&want, "%s/st", sub) < 0)
        abort();
    if (CHECK(c != NULL))
        CHECK(streq(c->state_dir, want));
    cfg_free(c);
    cfg_errors_clear(&e);
    unlink(path);
    rmdir(sub);
    free(want);
    free(path);
    free(text);
    free(sub);
}

static void test_unknown_and_types(void)
{
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','basse_url':'x'"),
               "$.providers.p.basse_url: unknown key");
    EXPECT_ONE(WITH("'extra':1"), "$.extra: unknown key");
    EXPECT_ONE(WITH("'log':{'colour':true}"), "$.log.colour: unknown key");
    EXPECT_ONE(WITH_TARGETS("[{'provider':'p','model':'x','wieght':2}]"),
               "$.models.m.targets[0].wieght: unknown key");
    /* A cross-model fallback must be approved; equivalent targets need not. */
    EXPECT_ONE(WITH_TARGETS("[{'provider':'p','model':'x','group':'g'},{'provider':'p','model':'y'}]"),
               "$.models.m.targets[1]: a cross-model fallback (group none, the chain's primary "
               "group is g) must be marked \"approved\": true");
    EXPECT_ONE(WITH_TARGETS("[{'provider':'p','model':'x','group':'g'},"
                            "{'provider':'p','model':'y','group':'h','approved':false}]"),
               "$.models.m.targets[1]: a cross-model fallback (group h, the chain's primary "
               "group is g) must be marked \"approved\": true");
    EXPECT_ONE(WITH("'workers':'4'"), "$.workers: expected an integer, got string");
    EXPECT_ONE(WITH("'workers':4.0"), "$.workers: expected an integer, got real");
    EXPECT_ONE(WITH("'workers':null"), "$.workers: expected an integer, got null");
    EXPECT_ONE(WITH("'log':[]"), "$.log: expected an object, got array");
    EXPECT_ONE(WITH("'timeouts':null"), "$.timeouts: expected an object, got null");
    EXPECT_ONE(WITH("'log':{'log_content':1}"), "$.log.log_content: expected a boolean, got integer");
    EXPECT_ONE(WITH("'log':{'file':3}"), "$.log.file: expected a string or null, got integer");
    EXPECT_ONE(WITH("'log':{'file':''}"), "$.log.file: must not be empty");
    EXPECT_ONE(WITH("'log':{'level':'verbose'}"),
               "$.log.level: expected one of \"err\", \"warning\", \"notice\", \"info\", "
               "\"debug\", got \"verbose\"");
    EXPECT_ONE(WITH_PROV("'type':'anthropic','base_url':'http://h','api_version':'a b'"),
               "$.providers.p.api_version: \"a b\" is not an API version (1 to 64 visible ASCII "
               "characters, no '&' or '#')");
    EXPECT_ONE(WITH_PROV("'type':'anthropic','base_url':'http://h','api_version':''"),
               "$.providers.p.api_version: must not be empty");
    EXPECT_ONE(WITH_PROV("'type':'bedrock-x','base_url':'http://h'"),
               "$.providers.p.type: expected one of \"openai\", \"openai-compatible\", "
               "\"anthropic\", \"bedrock\", \"azure\", \"gemini\", \"vertex-gemini\", \"vertex-anthropic\", "
               "got \"bedrock-x\"");
    EXPECT_ONE(WITH_PROV("'type':'vertex-anthropic','base_url':'https://us-east5-aiplatform.googleapis.com/v1'"),
               "$.providers.p.base_url: a Vertex base_url names the project and location: "
               "https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}");
    EXPECT_ONE(WITH_PROV("'type':'vertex-gemini','base_url':'https://l-aiplatform.googleapis.com/v1/projects/p/locations/l','token_command':'x','api_key_env':'K'"),
               "$.providers.p.token_command: token_command, token_file and api_key_env exclude each other: "
               "the key has one source");
    EXPECT_ONE(WITH_PROV("'type':'vertex-gemini','base_url':'https://l-aiplatform.googleapis.com/v1/projects/p/locations/l','token_command':'x','token_file':'f'"),
               "$.providers.p.token_command: token_command, token_file and api_key_env exclude each other: "
               "the key has one source");
    EXPECT_ONE(WITH_PROV("'type':'vertex-gemini','base_url':'https://l-aiplatform.googleapis.com/v1/projects/p/locations/l','token_file':''"),
               "$.providers.p.token_file: must not be empty");
    EXPECT_ONE("{'listen':8080,'state_dir':'s'," MIN_PROVS MIN_MODELS "}",
               "$.listen: expected a string, got integer");
    EXPECT_ONE(WITH_TARGETS("{}"), "$.models.m.targets: expected an array, got object");
    EXPECT_ONE(WITH_TARGETS("['p']"), "$.models.m.targets[0]: expected an object, got string");
    EXPECT_ONE(WITH_TARGETS("[{'provider':'p','model':''}]"),
               "$.models.m.targets[0].model: must not be empty");
    EXPECT_ONE(WITH_TARGETS("[{'provider':'p'}]"),
               "$.models.m.targets[0].model: required key is missing");
    EXPECT_ONE("{'state_dir':'s'," MIN_PROVS MIN_MODELS "}", "$.listen: required key is missing");
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','region':''"),
               "$.providers.p.region: must not be empty");
    EXPECT_OK(WITH_PROV("'type':'openai','base_url':'http://h','region':'eu','api_key_env':null"));
    EXPECT_OK(WITH_PROV("'type':'bedrock','base_url':'https://bedrock-runtime.us-east-1.amazonaws.com',"
                        "'aws_region':'us-east-1','api_key_env':'AWS_ACCESS_KEY_ID',"
                        "'aws_secret_key_env':'AWS_SECRET_ACCESS_KEY','aws_session_token_env':'AWS_SESSION_TOKEN'"));
    EXPECT_ONE(WITH_PROV("'type':'bedrock','base_url':'http://h'"),
               "$.providers.p.aws_region: is required for a bedrock provider (the region requests are signed for)");
    EXPECT_ONE(WITH_PROV("'type':'bedrock','base_url':'http://h','aws_region':'US East'"),
               "$.providers.p.aws_region: \"US East\" is not an AWS region (such as \"us-east-1\")");
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','aws_secret_key_env':'S'"),
               "$.providers.p.aws_secret_key_env: is for bedrock providers only");

    struct cfg_errors e = { 0 };
    json_t *arr = json_array();
    CHECK(cfg_load_json(arr, NULL, &e) == NULL && e.n == 1 &&
          has_error(&e, "$: expected an object, got array"));
    json_decref(arr);
    cfg_errors_clear(&e);
    CHECK(cfg_load_json(NULL, NULL, &e) == NULL && e.n == 1 && has_error(&e, "$: no document"));
    cfg_errors_clear(&e);
    /* A caller-built string with a NUL inside. */
    json_t *j = parse(MIN_DOC);
    json_object_set_new(j, "state_dir", json_stringn("a\0b", 3));
    CHECK(cfg_load_json(j, NULL, &e) == NULL &&
          has_error(&e, "$.state_dir: must not contain a NUL character"));
    json_decref(j);
    cfg_errors_clear(&e);
}

/* Which client carries a provider: an enum, default auto, carried through
 * what the controller publishes to the workers. */
static void test_http_client(void)
{
    static const struct { const char *doc; enum cfg_http_client want; } ok[] = {
        { WITH_PROV("'type':'openai','base_url':'http://h'"), CFG_HTTP_AUTO },
        { WITH_PROV("'type':'openai','base_url':'http://h','http_client':'auto'"), CFG_HTTP_AUTO },
        { WITH_PROV("'type':'openai','base_url':'http://h','http_client':'curl'"), CFG_HTTP_CURL },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct cfg_errors e = { 0 };
        struct cfg *c = load(ok[i].doc, NULL, &e);
        if (CHECK(c != NULL && e.n == 0)) {
            CHECK(c->providers[0].http_client == ok[i].want);
            CHECK(round_trips(c));
        } else {
            dump_errors(&e);
        }
        cfg_free(c);
        cfg_errors_clear(&e);
    }
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','http_client':'bogus'"),
               "$.providers.p.http_client: expected one of \"auto\", \"curl\", got \"bogus\"");
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','http_client':'CURL'"),
               "$.providers.p.http_client: expected one of \"auto\", \"curl\", got \"CURL\"");
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','http_client':1"),
               "$.providers.p.http_client: expected a string, got integer");
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','http_client':null"),
               "$.providers.p.http_client: expected a string, got null");
}

static void test_chat_probe(void)
{
    static const struct { const char *doc; bool want; } ok[] = {
        { WITH_PROV("'type':'openai','base_url':'http://h'"), false },
        { WITH_PROV("'type':'openai','base_url':'http://h','chat_probe':true"), true },
        { WITH_PROV("'type':'openai-compatible','base_url':'http://h','chat_probe':true"), true },
        { WITH_PROV("'type':'openai-compatible','base_url':'http://h','chat_probe':false"), false },
        { WITH_PROV("'type':'anthropic','base_url':'http://h','chat_probe':false"), false },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct cfg_errors e = { 0 };
        struct cfg *c = load(ok[i].doc, NULL, &e);
        if (CHECK(c != NULL && e.n == 0)) {
            CHECK(c->providers[0].chat_probe == ok[i].want);
            CHECK(round_trips(c));
        } else {
            dump_errors(&e);
        }
        cfg_free(c);
        cfg_errors_clear(&e);
    }
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','chat_probe':1"),
               "$.providers.p.chat_probe: expected a boolean, got integer");
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','chat_probe':'yes'"),
               "$.providers.p.chat_probe: expected a boolean, got string");
    EXPECT_ONE(WITH_PROV("'type':'anthropic','base_url':'http://h','chat_probe':true"),
               "$.providers.p.chat_probe: is for openai and openai-compatible providers only, not anthropic");
}

static void test_ranges(void)
{
    EXPECT_ONE(WITH("'workers':0"), "$.workers: 0 is out of range 1..64");
    EXPECT_ONE(WITH("'workers':65"), "$.workers: 65 is out of range 1..64");
    EXPECT_OK(WITH("'workers':64"));
    EXPECT_ONE(WITH("'lmdb_map_mb':65537"), "$.lmdb_map_mb: 65537 is out of range 1..65536");
    EXPECT_ONE(WITH("'limits':{'max_body_bytes':1023}"),
               "$.limits.max_body_bytes: 1023 is out of range 1024..268435456");
    EXPECT_ONE(WITH("'limits':{'max_header_bytes':1048577}"),
               "$.limits.max_header_bytes: 1048577 is out of range 1024..1048576");
    EXPECT_ONE(WITH("'limits':{'max_response_bytes':1073741825}"),
               "$.limits.max_response_bytes: 1073741825 is out of range 1024..1073741824");
    EXPECT_ONE(WITH("'limits':{'max_connections':-1}"),
               "$.limits.max_connections: -1 is out of range 1..1000000");
    EXPECT_ONE(WITH("'timeouts':{'connect_ms':0}"),
               "$.timeouts.connect_ms: 0 is out of range 1..86400000");
    EXPECT_ONE(WITH("'timeouts':{'drain_grace_ms':86400001}"),
               "$.timeouts.drain_grace_ms: 86400001 is out of range 1..86400000");
    EXPECT_ONE(WITH("'timeouts':{'request_ms':9223372036854775807}"),
               "$.timeouts.request_ms: 9223372036854775807 is out of range 1..86400000");
    EXPECT_ONE(WITH("'timeouts':{'request_ms':-9223372036854775808}"),
               "$.timeouts.request_ms: -9223372036854775808 is out of range 1..86400000");

    struct cfg_errors e = { 0 };
    struct cfg *c = load(WITH("'limits':{'max_response_bytes':1073741824},"
                              "'timeouts':{'request_ms':86400000},'lmdb_map_mb':65536,"
                              "'log':{'level':'debug','log_content':true}"), NULL, &e);
    if (CHECK(c != NULL)) {
        CHECK(c->limits.max_response_bytes == 1073741824u);
        CHECK(c->timeouts.request_ms == 86400000);
        CHECK(c->lmdb_map_mb == 65536);
        CHECK(c->log.level == CFG_LOG_DEBUG && c->log.log_content);
        CHECK(c->limits.max_body_bytes == 1048576);   /* siblings keep their defaults */
        CHECK(round_trips(c));
    }
    cfg_free(c);
    cfg_errors_clear(&e);
}

static void test_collections(void)
{
    struct cfg_errors e = { 0 };
    CHECK(load(MIN_HEAD "'providers':{}," MIN_MODELS "}", NULL, &e) == NULL && e.n == 2);
    CHECK(has_error(&e, "$.providers: must not be empty"));
    CHECK(has_error(&e, "$.models.m.targets[0].provider: no provider named \"p\""));
    cfg_errors_clear(&e);
    EXPECT_ONE(MIN_HEAD MIN_PROVS "'models':{}}", "$.models: must not be empty");
    EXPECT_ONE(WITH_TARGETS("[]"), "$.models.m.targets: must not be empty");
    EXPECT_ONE(MIN_HEAD MIN_PROVS "'models':[]}", "$.models: expected an object, got array");
    EXPECT_ONE(WITH_TARGETS("[{'provider':'p','model':'x'},{'provider':'opnai','model':'y'}]"),
               "$.models.m.targets[1].provider: no provider named \"opnai\"");
    /* The providers map is broken: one error there, none per reference. */
    EXPECT_ONE(MIN_HEAD "'providers':7," MIN_MODELS "}",
               "$.providers: expected an object, got integer");
    EXPECT_ONE(MIN_HEAD MIN_PROVS "'models':{'a b':{'targets':[{'provider':'p','model':'x'}]}}}",
               "$.models[\"a b\"]: invalid model name: use 1 to 128 printable ASCII "
               "characters, no spaces");
    EXPECT_OK(MIN_HEAD MIN_PROVS
              "'models':{'meta-llama/Llama-3:8b@x':{'targets':[{'provider':'p','model':'x'}]}}}");
    EXPECT_ONE(MIN_HEAD "'providers':{'p/q':{'type':'openai','base_url':'http://h'}},"
               "'models':{'m':{'targets':[{'provider':'p/q','model':'x'}]}}}",
               "$.providers[\"p/q\"]: invalid provider name: use 1 to 128 letters, digits, "
               "'_', '.' or '-'");
    EXPECT_ONE(MIN_HEAD "'providers':{'':{'type':'openai','base_url':'http://h'}},"
               "'models':{'m':{'targets':[{'provider':'','model':'x'}]}}}",
               "$.providers[\"\"]: invalid provider name: use 1 to 128 letters, digits, "
               "'_', '.' or '-'");
    EXPECT_OK(MIN_HEAD "'providers':{'a.b_c-9':{'type':'openai','base_url':'http://h'}},"
              "'models':{'m':{'targets':[{'provider':'a.b_c-9','model':'x'}]}}}");

    char name[200];
    memset(name, 'n', 129);
    name[129] = '\0';
    char doc[1024];
    snprintf(doc, sizeof doc, MIN_HEAD MIN_PROVS
             "'models':{'%s':{'targets':[{'provider':'p','model':'x'}]}}}", name);
    CHECK(load(doc, NULL, &e) == NULL && e.n == 1 &&
          strstr(e.msg[0], "invalid model name") != NULL);
    cfg_errors_clear(&e);
    name[128] = '\0';
    snprintf(doc, sizeof doc, MIN_HEAD MIN_PROVS
             "'models':{'%s':{'targets':[{'provider':'p','model':'x'}]}}}", name);
    EXPECT_OK(doc);

    /* Maps are built sorted by name; indices follow. */
    struct cfg *c = load(MIN_HEAD "'providers':{'zz':{'type':'openai','base_url':'http://z'},"
                         "'aa':{'type':'openai-compatible','base_url':'http://a'}},"
                         "'models':{'y':{'targets':[{'provider':'zz','model':'1'},"
                         "{'provider':'aa','model':'2'}]},"
                         "'b':{'targets':[{'provider':'aa','model':'3'}]}}}", NULL, &e);
    if (CHECK(c != NULL)) {
        CHECK(streq(c->providers[0].name, "aa") && streq(c->providers[1].name, "zz"));
        CHECK(streq(c->models[0].name, "b") && streq(c->models[1].name, "y"));
        CHECK(c->models[1].targets[0].provider == 1 && c->models[1].targets[1].provider == 0);
        CHECK(streq(c->models[1].targets[0].model, "1"));
        CHECK(round_trips(c));
    }
    cfg_free(c);
    cfg_errors_clear(&e);
}

static void test_listen(void)
{
    static const struct { const char *in, *host; int port; } good[] = {
        { "127.0.0.1:8080", "127.0.0.1", 8080 },
        { "0.0.0.0:0", "0.0.0.0", 0 },
        { "localhost:65535", "localhost", 65535 },
        { "[::1]:80", "::1", 80 },
        { "[::]:443", "::", 443 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        json_t *j = parse(MIN_DOC);
        json_object_set_new(j, "listen", json_string(good[i].in));
        struct cfg_errors e = { 0 };
        struct cfg *c = cfg_load_json(j, NULL, &e);
        if (!CHECK(c && streq(c->listen_host, good[i].host) && c->listen_port == good[i].port))
            printf("    listen %s\n", good[i].in);
        else
            CHECK(round_trips(c));
        cfg_free(c);
        cfg_errors_clear(&e);
        json_decref(j);
    }
    static const struct { const char *in, *msg; } bad[] = {
        { "127.0.0.1", "$.listen: invalid address \"127.0.0.1\": expected \"HOST:PORT\"" },
        { "::1:80", "$.listen: invalid address \"::1:80\": an IPv6 address goes in brackets, "
                    "as in \"[::1]:8080\"" },
        { "[::1]80", "$.listen: invalid address \"[::1]80\": expected \"[IPV6]:PORT\"" },
        { "[::1]", "$.listen: invalid address \"[::1]\": expected \"[IPV6]:PORT\"" },
        { "[1.2.3.4]:80", "$.listen: invalid address \"[1.2.3.4]:80\": "
                          "the host is not an IPv6 address" },
        { "1.2.3.4:65536", "$.listen: invalid address \"1.2.3.4:65536\": "
                           "the port must be a number from 0 to 65535" },
        { "1.2.3.4:", "$.listen: invalid address \"1.2.3.4:\": "
                      "the port must be a number from 0 to 65535" },
        { "1.2.3.4:+80", "$.listen: invalid address \"1.2.3.4:+80\": "
                         "the port must be a number from 0 to 65535" },
        { "example.com:80", "$.listen: invalid address \"example.com:80\": "
                            "the host must be a numeric address or \"localhost\"" },
        { ":80", "$.listen: invalid address \":80\": "
                 "the host is missing (use 0.0.0.0 or [::] for all addresses)" },
        { "", "$.listen: invalid address \"\": expected \"HOST:PORT\"" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = parse(MIN_DOC);
        json_object_set_new(j, "listen", json_string(bad[i].in));
        struct cfg_errors e = { 0 };
        struct cfg *c = cfg_load_json(j, NULL, &e);
        if (!CHECK(!c && e.n == 1 && has_error(&e, bad[i].msg))) {
            printf("    want: %s\n", bad[i].msg);
            dump_errors(&e);
        }
        cfg_free(c);
        cfg_errors_clear(&e);
        json_decref(j);
    }
}

static void test_urls(void)
{
    static const struct { const char *in, *stored; } good[] = {
        { "https://api.openai.com/v1", "https://api.openai.com/v1" },
        { "https://api.openai.com/v1/", "https://api.openai.com/v1" },
        { "http://h/v1///", "http://h/v1" },
        { "http://h/", "http://h" },
        { "http://h", "http://h" },
        { "http://127.0.0.1:9101/v1", "http://127.0.0.1:9101/v1" },
        { "http://[::1]:9101/", "http://[::1]:9101" },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        json_t *j = parse(MIN_DOC);
        json_object_set_new(json_object_get(json_object_get(j, "providers"), "p"), "base_url",
                            json_string(good[i].in));
        struct cfg_errors e = { 0 };
        struct cfg *c = cfg_load_json(j, NULL, &e);
        if (!CHECK(c && streq(c->providers[0].base_url, good[i].stored))) {
            printf("    url %s\n", good[i].in);
            dump_errors(&e);
        } else {
            CHECK(round_trips(c));
        }
        cfg_free(c);
        cfg_errors_clear(&e);
        json_decref(j);
    }
    static const struct { const char *in, *why; } bad[] = {
        { "ftp://h", "must start with http:// or https://" },
        { "api.openai.com/v1", "must start with http:// or https://" },
        { "http://", "the host is missing" },
        { "http:///v1", "the host is missing" },
        { "http://:80/v1", "the host is missing" },
        { "http://[]:80", "the host is missing" },
        { "http://[::1/v1", "unterminated '[' in the host" },
        { "http://[::1]x/v1", "expected ':' after ']'" },
        { "http://h:0", "the port must be a number from 1 to 65535" },
        { "http://h:99999/", "the port must be a number from 1 to 65535" },
        { "http://h:/v1", "the port must be a number from 1 to 65535" },
        { "http://h:x", "the port must be a number from 1 to 65535" },
        { "http://a b", "spaces, control and non-ASCII characters are not allowed" },
        { "http://h/v1?x=1", "a query or fragment is not allowed (paths are appended)" },
        { "http://h/v1#f", "a query or fragment is not allowed (paths are appended)" },
        { "http://u:pw@h/v1", "credentials are not allowed in the URL (use api_key_env)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = parse(MIN_DOC);
        json_object_set_new(json_object_get(json_object_get(j, "providers"), "p"), "base_url",
                            json_string(bad[i].in));
        struct cfg_errors e = { 0 };
        struct cfg *c = cfg_load_json(j, NULL, &e);
        char want[512];
        snprintf(want, sizeof want, "$.providers.p.base_url: invalid URL \"%s\": %s",
                 bad[i].in, bad[i].why);
        if (!CHECK(!c && e.n == 1 && has_error(&e, want))) {
            printf("    want: %s\n", want);
            dump_errors(&e);
        }
        cfg_free(c);
        cfg_errors_clear(&e);
        json_decref(j);
    }
}

static void test_env_names(void)
{
    EXPECT_OK(WITH_PROV("'type':'openai','base_url':'http://h','api_key_env':'_K1'"));
    EXPECT_OK(WITH_PROV("'type':'openai','base_url':'http://h','api_key_env':'OPENAI_API_KEY',"
                        "'optional':true"));
    static const char *const bad[] = { "OPENAI-KEY", "1KEY", "", "A B", "$KEY", "K\\u00e9" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[512], want[256];
        snprintf(doc, sizeof doc,
                 WITH_PROV("'type':'openai','base_url':'http://h','api_key_env':'%s'"), bad[i]);
        json_t *j = parse(doc);
        const char *got = json_string_value(json_object_get(json_object_get(
            json_object_get(j, "providers"), "p"), "api_key_env"));
        snprintf(want, sizeof want, "$.providers.p.api_key_env: \"%s\" is not an environment "
                 "variable name (letters, digits and '_', not starting with a digit)", got);
        struct cfg_errors e = { 0 };
        struct cfg *c = cfg_load_json(j, NULL, &e);
        if (!CHECK(!c && e.n == 1 && has_error(&e, want))) {
            printf("    want: %s\n", want);
            dump_errors(&e);
        }
        cfg_free(c);
        cfg_errors_clear(&e);
        json_decref(j);
    }
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','api_key_env':7"),
               "$.providers.p.api_key_env: expected a string or null, got integer");
    EXPECT_ONE(WITH_PROV("'type':'openai','base_url':'http://h','optional':true"),
               "$.providers.p.optional: true needs api_key_env: a provider without a key "
               "variable is never disabled");

    /* Shape only: an unset variable is not the checker's business. */
    unsetenv("BACKSTOP_TEST_SURELY_UNSET");
    EXPECT_OK(WITH_PROV("'type':'openai','base_url':'http://h',"
                        "'api_key_env':'BACKSTOP_TEST_SURELY_UNSET'"));
}

static void test_many_errors(void)
{
    struct cfg_errors e = { 0 };
    struct cfg *c = load(
        "{'listen':'nowhere','workers':'2','state_dir':'s','lmdb_map_mb':0,"
        "'log':{'level':'loud'},"
        "'providers':{'openai':{'type':'openai','basse_url':'https://x'},"
        "'ok':{'type':'openai','base_url':'http://h'}},"
        "'models':{'gpt-4o':{'targets':[{'provider':'ok','model':'a'},"
        "{'provider':'opnai','model':'b'}]},"
        "'meta-llama/Llama-3':{'targets':[]}},"
        "'colour':'blue'}", NULL, &e);
    static const char *const want[] = {
        "$.listen: invalid address \"nowhere\": expected \"HOST:PORT\"",
        "$.workers: expected an integer, got string",
        "$.lmdb_map_mb: 0 is out of range 1..65536",
        "$.log.level: expected one of \"err\", \"warning\", \"notice\", \"info\", \"debug\", "
        "got \"loud\"",
        "$.providers.openai.basse_url: unknown key",
        "$.providers.openai.base_url: required key is missing",
        "$.models.gpt-4o.targets[1].provider: no provider named \"opnai\"",
        "$.models[\"meta-llama/Llama-3\"].targets: must not be empty",
        "$.colour: unknown key",
    };
    size_t nwant = sizeof want / sizeof want[0];
    CHECK(c == NULL);
    if (!CHECK(e.n == nwant))
        dump_errors(&e);
    /* In document order. */
    for (size_t i = 0; i < nwant && i < e.n; i++)
        if (!CHECK(strcmp(e.msg[i], want[i]) == 0))
            printf("    [%zu] got %s\n    want %s\n", i, e.msg[i], want[i]);
    cfg_free(c);

    /* Errors accumulate across calls until cleared; NULL errs is allowed. */
    size_t before = e.n;
    CHECK(load("{}", NULL, &e) == NULL && e.n == before + 4);
    CHECK(has_error(&e, "$.listen: required key is missing"));
    CHECK(has_error(&e, "$.state_dir: required key is missing"));
    CHECK(has_error(&e, "$.providers: required key is missing"));
    CHECK(has_error(&e, "$.models: required key is missing"));
    cfg_errors_clear(&e);
    CHECK(e.n == 0 && e.msg == NULL);
    cfg_errors_clear(&e);
    CHECK(load("{'x':1}", NULL, NULL) == NULL);
    struct cfg *ok = load(MIN_DOC, NULL, NULL);
    CHECK(ok != NULL);
    cfg_free(ok);
    cfg_free(NULL);
    cfg_errors_clear(NULL);
}

static void test_quoting(void)
{
    /* Long keys are cut so a message stays one line. */
    char key[1001];
    memset(key, 'k', 1000);
    key[1000] = '\0';
    json_t *j = parse(MIN_DOC);
    json_object_set_new(j, key, json_true());
    json_object_set_new(j, "tab\there \"q\" \xc3\xa9", json_true());
    struct cfg_errors e = { 0 };
    CHECK(cfg_load_json(j, NULL, &e) == NULL && e.n == 2);
    char want[200];
    snprintf(want, sizeof want, "$[\"%.64s\"...]: unknown key", key);
    if (!CHECK(has_error(&e, want)))
        dump_errors(&e);
    CHECK(has_error(&e, "$[\"tab\\u0009here \\\"q\\\" \xc3\xa9\"]: unknown key"));
    cfg_errors_clear(&e);
    json_decref(j);

    /* A cut never splits a UTF-8 sequence. */
    char utf[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(utf, "\xc3\xa9");
    j = parse(MIN_DOC);
    json_object_set_new(j, utf, json_true());
    CHECK(cfg_load_json(j, NULL, &e) == NULL && e.n == 1);
    if (e.n == 1) {
        snprintf(want, sizeof want, "$[\"%.64s\"...]: unknown key", utf);
        CHECK(strcmp(e.msg[0], want) == 0);
    }
    cfg_errors_clear(&e);
    json_decref(j);
}

static void test_files(void)
{
    struct cfg_errors e = { 0 };
    char *missing;
    if (asprintf(&missing, "%s/missing.json", tmpdir) < 0)
        abort();
    char want[600];
    CHECK(cfg_load_file(missing, &e) == NULL && e.n == 1);
    snprintf(want, sizeof want, "%s: cannot open: %s", missing, strerror(ENOENT));
    if (!CHECK(has_error(&e, want)))
        dump_errors(&e);
    cfg_errors_clear(&e);
    free(missing);

    CHECK(cfg_load_file(tmpdir, &e) == NULL && e.n == 1);
    snprintf(want, sizeof want, "%s: cannot read: %s", tmpdir, strerror(EISDIR));
    CHECK(has_error(&e, want));
    cfg_errors_clear(&e);

    char *path = write_file("dup.json", "{\n  \"listen\": \"127.0.0.1:0\",\n"
                                        "  \"listen\": \"127.0.0.1:1\"\n}\n");
    CHECK(cfg_load_file(path, &e) == NULL && e.n == 1);
    snprintf(want, sizeof want, "%s:3:10: duplicate object key near '\"listen\"'", path);
    if (!CHECK(has_error(&e, want)))
        dump_errors(&e);
    cfg_errors_clear(&e);
    unlink(path);
    free(path);

    path = write_file("syntax.json", "{\n  \"listen\": \"127.0.0.1:0\",\n  \"workers\": ,\n}\n");
    CHECK(cfg_load_file(path, &e) == NULL && e.n == 1);
    snprintf(want, sizeof want, "%s:3:14: unexpected token near ','", path);
    if (!CHECK(has_error(&e, want)))
        dump_errors(&e);
    cfg_errors_clear(&e);
    unlink(path);
    free(path);

    path = write_file("empty.json", "");
    CHECK(cfg_load_file(path, &e) == NULL && e.n == 1);
    snprintf(want, sizeof want, "%s:1:1: '[' or '{' expected near end of file", path);
    CHECK(has_error(&e, want));
    cfg_errors_clear(&e);
    unlink(path);
    free(path);

    path = write_file("huge.json", "{\"workers\": 99999999999999999999}");
    CHECK(cfg_load_file(path, &e) == NULL && e.n == 1 && strstr(e.msg[0], "too big integer"));
    cfg_errors_clear(&e);
    unlink(path);
    free(path);

    path = write_file("array.json", "[1, 2]");
    CHECK(cfg_load_file(path, &e) == NULL && e.n == 1 &&
          has_error(&e, "$: expected an object, got array"));
    cfg_errors_clear(&e);
    unlink(path);
    free(path);

    /* Deep nesting, inside and outside known keys. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 64);
    strcpy(deep, "{\"log\": {\"file\": ");
    size_t n = strlen(deep);
    memset(deep + n, '[', depth);
    memset(deep + n + depth, ']', depth);
    strcpy(deep + n + 2 * depth, "}}");
    path = write_file("deep.json", deep);
    CHECK(cfg_load_file(path, &e) == NULL && e.n == 1 &&
          strstr(e.msg[0], ":1:2064: maximum parsing depth reached"));
    cfg_errors_clear(&e);
    unlink(path);
    free(path);
    free(deep);

    /* Nesting jansson accepts, under a key the schema knows. */
    char nested[4096] = "{\"log\": {\"file\": ";
    for (int i = 0; i < 1000; i++)
        strcat(nested, "[");
    for (int i = 0; i < 1000; i++)
        strcat(nested, "]");
    strcat(nested, "}}");
    path = write_file("nested.json", nested);
    CHECK(cfg_load_file(path, &e) == NULL &&
          has_error(&e, "$.log.file: expected a string or null, got array"));
    cfg_errors_clear(&e);
    unlink(path);
    free(path);
}

static void test_lookups(void)
{
    struct cfg_errors e = { 0 };
    struct cfg *c = load(MIN_HEAD "'providers':{'a':{'type':'openai','base_url':'http://a'},"
                         "'b':{'type':'openai-compatible','base_url':'http://b'}},"
                         "'models':{'m1':{'targets':[{'provider':'b','model':'x'}]},"
                         "'m/2':{'targets':[{'provider':'a','model':'y'}]}}}", NULL, &e);
    if (!CHECK(c != NULL)) {
        dump_errors(&e);
        cfg_errors_clear(&e);
        return;
    }
    const struct cfg_provider *b = cfg_find_provider(c, "b");
    CHECK(b && streq(b->name, "b") && b->type == CFG_PROV_OPENAI_COMPAT);
    CHECK(cfg_find_provider(c, "B") == NULL);
    CHECK(cfg_find_provider(c, "") == NULL);
    CHECK(cfg_find_provider(c, NULL) == NULL);
    CHECK(cfg_find_provider(NULL, "a") == NULL);
    const struct cfg_model *m = cfg_find_model(c, "m/2");
    CHECK(m && m->ntargets == 1 && c->providers[m->targets[0].provider].name[0] == 'a');
    CHECK(cfg_find_model(c, "m1") && cfg_find_model(c, "m1")->targets[0].provider == 1);
    CHECK(cfg_find_model(c, "m3") == NULL);
    CHECK(cfg_find_model(c, NULL) == NULL);
    CHECK(streq(cfg_provider_type_name(CFG_PROV_OPENAI), "openai"));
    CHECK(streq(cfg_provider_type_name(CFG_PROV_OPENAI_COMPAT), "openai-compatible"));
    CHECK(streq(cfg_provider_type_name((enum cfg_provider_type)99), "unknown"));
    cfg_free(c);
}

/* Every distinct provider/model pair is one target id, shared by the chains
 * that name it, numbered in the order of first appearance. */
static void test_target_ids(void)
{
    struct cfg_errors e = { 0 };
    struct cfg *c = load(MIN_HEAD "'providers':{'a':{'type':'openai','base_url':'http://a'},"
                         "'b':{'type':'openai-compatible','base_url':'http://b'}},"
                         "'models':{'m1':{'targets':[{'provider':'b','model':'x'},"
                         "{'provider':'a','model':'x'}]},"
                         "'m2':{'targets':[{'provider':'a','model':'x'},{'provider':'b','model':'y'},"
                         "{'provider':'b','model':'x'}]}}}", NULL, &e);
    if (!CHECK(c != NULL)) {
        dump_errors(&e);
        cfg_errors_clear(&e);
        return;
    }
    const struct cfg_model *m1 = cfg_find_model(c, "m1"), *m2 = cfg_find_model(c, "m2");
    CHECK(c->ntarget_ids == 3);
    CHECK(m1 && m1->targets[0].id == 0 && m1->targets[1].id == 1);
    CHECK(m2 && m2->targets[0].id == 1 && m2->targets[1].id == 2 && m2->targets[2].id == 0);
    CHECK(streq(c->target_ids[0].key, "b/x") && c->target_ids[0].provider == 1);
    CHECK(streq(c->target_ids[1].key, "a/x") && c->target_ids[1].provider == 0);
    CHECK(streq(c->target_ids[2].key, "b/y") && streq(c->target_ids[2].model, "y"));
    CHECK(cfg_target_lookup(c, "a/x") == 1);
    CHECK(cfg_target_lookup(c, "b/y") == 2);
    CHECK(cfg_target_lookup(c, "a/y") == -1);
    CHECK(cfg_target_lookup(c, NULL) == -1);
    CHECK(cfg_target_lookup(NULL, "a/x") == -1);
    cfg_free(c);
}

/* --- fuzzing ------------------------------------------------------------ */

static unsigned long long rng = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static json_t *random_value(int depth)
{
    switch (rnd(depth > 2 ? 9 : 11)) {
    case 0: return json_null();
    case 1: return json_true();
    case 2: return json_integer((json_int_t)rnd(200000) - 100000);
    case 3: return json_integer(rnd(2) ? INT64_MAX : INT64_MIN);
    case 4: return json_real(1e300);
    case 5: return json_string("");
    case 6: return json_string("http://x:1/");
    case 7: return json_string(rnd(2) ? "p" : "127.0.0.1:0");
    case 8: return json_string("\xc3\xa9 /[\"]");
    case 9: {
        json_t *o = json_object();
        for (unsigned i = rnd(3); i > 0; i--)
            json_object_set_new(o, rnd(2) ? "type" : "zz", random_value(depth + 1));
        return o;
    }
    default: {
        json_t *a = json_array();
        for (unsigned i = rnd(3); i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    }
}

/* Replace, delete or add one member somewhere in the tree. */
static void mutate(json_t *v, int depth)
{
    if (json_is_object(v) && json_object_size(v) > 0) {
        size_t pick = rnd((unsigned)json_object_size(v)), i = 0;
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child) {
            if (i++ != pick)
                continue;
            unsigned what = rnd(10);
            if (what < 5 && depth < 8)
                mutate(child, depth + 1);
            else if (what < 7)
                json_object_set_new(v, key, random_value(0));
            else if (what < 8)
                json_object_del(v, key);
            else
                json_object_set_new(v, rnd(2) ? "extra" : "", random_value(0));
            return;
        }
    } else if (json_is_array(v) && json_array_size(v) > 0) {
        size_t i = rnd((unsigned)json_array_size(v));
        unsigned what = rnd(10);
        if (what < 5 && depth < 8)
            mutate(json_array_get(v, i), depth + 1);
        else if (what < 8)
            json_array_set_new(v, i, random_value(0));
        else
            json_array_remove(v, i);
    }
}

static void test_fuzz(void)
{
    char *path = repo_path("etc/backstop.json");
    json_t *base = json_load_file(path, 0, NULL);
    free(path);
    if (!CHECK(base != NULL))
        return;
    int consistent = 1, loaded = 0, rejected = 0, trips = 1;
    for (int iter = 0; iter < 3000; iter++) {
        json_t *j = json_deep_copy(base);
        for (unsigned k = 1 + rnd(4); k > 0; k--)
            mutate(j, 0);
        struct cfg_errors e = { 0 };
        struct cfg *c = cfg_load_json(j, rnd(2) ? "/base" : NULL, &e);
        if ((c != NULL) != (e.n == 0))
            consistent = 0;
        if (c) {
            loaded++;
            if (rnd(8) == 0 && !round_trips(c))
                trips = 0;
        } else {
            rejected++;
        }
        for (size_t i = 0; i < e.n; i++)
            if (e.msg[i][0] != '$' || strlen(e.msg[i]) > 2000)
                consistent = 0;
        cfg_free(c);
        cfg_errors_clear(&e);
        json_decref(j);
    }
    CHECK(consistent);
    CHECK(trips);
    CHECK(loaded > 0 && rejected > 0);
    json_decref(base);

    /* Random bytes and random cuts of a valid file through the file loader. */
    char *text = quotes(MIN_DOC);
    size_t tlen = strlen(text);
    int ok = 1;
    for (int iter = 0; iter < 500; iter++) {
        char buf[300];
        size_t n;
        if (iter % 2) {
            n = rnd(sizeof buf - 1);
            for (size_t i = 0; i < n; i++)
                buf[i] = rnd(4) ? "{}[]\":,0a \n\\"[rnd(12)] : (char)rnd(256);
        } else {
            n = rnd((unsigned)tlen);
            memcpy(buf, text, n);
            if (n && rnd(2))
                buf[rnd((unsigned)n)] = (char)rnd(256);
        }
        buf[n] = '\0';
        char *p;
        if (asprintf(&p, "%s/fuzz.json", tmpdir) < 0)
            abort();
        FILE *f = fopen(p, "wb");
        fwrite(buf, 1, n, f);
        fclose(f);
        struct cfg_errors e = { 0 };
        struct cfg *c = cfg_load_file(p, &e);
        if ((c != NULL) != (e.n == 0))
            ok = 0;
        cfg_free(c);
        cfg_errors_clear(&e);
        unlink(p);
        free(p);
    }
    CHECK(ok);
    free(text);

    /* Nulls everywhere, and empty objects everywhere. */
    struct cfg_errors e = { 0 };
    CHECK(load("{'listen':null,'workers':null,'state_dir':null,'lmdb_map_mb':null,'log':null,"
               "'limits':null,'timeouts':null,'providers':null,'models':null}", NULL, &e) == NULL);
    CHECK(e.n == 9);
    cfg_errors_clear(&e);
    CHECK(load("{'listen':{},'workers':{},'state_dir':{},'lmdb_map_mb':{},'log':{},"
               "'limits':{},'timeouts':{},'providers':{'p':{}},'models':{'m':{}}}",
               NULL, &e) == NULL);
    /* listen, workers, state_dir, lmdb_map_mb, type, base_url, targets */
    CHECK(e.n == 7);
    if (e.n != 7)
        dump_errors(&e);
    cfg_errors_clear(&e);
}

/* The per-chain failure actions: keys spelled as the classes are named in
 * logs and headers, defaults as in the architecture brief, overridable. */
static void test_failure_actions(void)
{
    for (const struct cfg_field *f = cfg_on_fields; f->kind != CK_END; f++)
        CHECK(strcmp(f->key, fail_class_name((int)(f->off / sizeof(enum cfg_action)))) == 0);
    struct cfg_errors e = { 0 };
    struct cfg *c = load("{'listen':'127.0.0.1:1','state_dir':'/tmp/x',"
                         "'providers':{'p':{'type':'openai','base_url':'http://h'}},"
                         "'models':{'m':{'targets':[{'provider':'p','model':'x'}],"
                         "'on':{'server_error':'failover','client_error':'return'},"
                         "'retry':{'max_retries':5}}}}", NULL, &e);
    CHECK(c != NULL);
    if (c) {
        const struct cfg_model *m = &c->models[0];
        CHECK(m->on[FAIL_SERVER] == CFG_ACT_FAILOVER);
        CHECK(m->on[FAIL_RATE_LIMIT] == CFG_ACT_RETRY);
        CHECK(m->on[FAIL_CLIENT] == CFG_ACT_RETURN);
        CHECK(m->on[FAIL_CONNECT] == CFG_ACT_FAILOVER);
        CHECK(m->retry.max_retries == 5 && m->retry.base_ms == 200);
    }
    cfg_free(c);
    cfg_errors_clear(&e);
    CHECK(load("{'listen':'127.0.0.1:1','state_dir':'/tmp/x',"
               "'providers':{'p':{'type':'openai','base_url':'http://h'}},"
               "'models':{'m':{'targets':[{'provider':'p','model':'x'}],"
               "'on':{'server_eror':'failover','auth_failed':'sometimes'}}}}", NULL, &e) == NULL);
    CHECK(e.n == 2);
    cfg_errors_clear(&e);
}

/* The forced-failure durations: defaults, bounds, and a default over the
 * maximum refused (every `fail` without --for would be). */
static void test_overrides(void)
{
    struct cfg_errors e = { 0 };
    struct cfg *c = load(MIN_DOC, NULL, &e);
    CHECK(c && c->overrides.fault_default_ms == 300000 && c->overrides.fault_max_ms == 3600000);
    cfg_free(c);
    cfg_errors_clear(&e);
    EXPECT_OK(WITH("'overrides':{'fault_default_ms':60000,'fault_max_ms':60000}"));
    EXPECT_ONE(WITH("'overrides':{'fault_default_ms':7200000}"),
               "$.overrides.fault_default_ms: 7200000 is more than fault_max_ms (3600000)");
    EXPECT_ONE(WITH("'overrides':{'fault_max_ms':999}"),
               "$.overrides.fault_max_ms: 999 is out of range 1000..604800000");
    EXPECT_ONE(WITH("'overrides':{'fault_for':1}"), "$.overrides.fault_for: unknown key");
}

/* The admin socket's mode may not give "other" any permission. */
static void test_admin_mode(void)
{
    EXPECT_OK(WITH("'admin':{'mode':'0600'}"));
    EXPECT_OK(WITH("'admin':{'mode':'0660','group':'backstop'}"));
    EXPECT_OK(WITH("'admin':{'mode':'0770'}"));
    EXPECT_ONE(WITH("'admin':{'mode':'0666'}"),
               "$.admin.mode: admin.mode \"0666\" gives \"other\" access to the admin socket: "
               "the last digit must be 0 (use \"0600\", or \"0660\" with admin.group)");
    EXPECT_ONE(WITH("'admin':{'mode':'0664'}"),
               "$.admin.mode: admin.mode \"0664\" gives \"other\" access to the admin socket: "
               "the last digit must be 0 (use \"0600\", or \"0660\" with admin.group)");
    /* an integer is normalised first: 438 is 0666 */
    EXPECT_ONE(WITH("'admin':{'mode':438}"),
               "$.admin.mode: admin.mode \"0666\" gives \"other\" access to the admin socket: "
               "the last digit must be 0 (use \"0600\", or \"0660\" with admin.group)");
    EXPECT_ONE(WITH("'admin':{'mode':'0601'}"),
               "$.admin.mode: admin.mode \"0601\" gives \"other\" access to the admin socket: "
               "the last digit must be 0 (use \"0600\", or \"0660\" with admin.group)");
}

/* Cores are off unless asked for. */
static void test_debug(void)
{
    struct cfg_errors e = { 0 };
    struct cfg *c = load(MIN_DOC, NULL, &e);
    CHECK(c && !c->debug.core_dumps);
    cfg_free(c);
    c = load(WITH("'debug':{'core_dumps':true}"), NULL, &e);
    CHECK(c && c->debug.core_dumps);
    cfg_free(c);
    cfg_errors_clear(&e);
    EXPECT_ONE(WITH("'debug':{'core_dumps':'yes'}"),
               "$.debug.core_dumps: expected a boolean, got string");
    EXPECT_ONE(WITH("'debug':{'cores':true}"), "$.debug.cores: unknown key");
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_shipped_config();
    test_defaults();
    test_paths();
    test_unknown_and_types();
    test_http_client();
    test_chat_probe();
    test_ranges();
    test_collections();
    test_listen();
    test_urls();
    test_env_names();
    test_many_errors();
    test_quoting();
    test_files();
    test_lookups();
    test_target_ids();
    test_fuzz();
    test_failure_actions();
    test_overrides();
    test_admin_mode();
    test_debug();
    rmdir(tmpdir);
    UNIT_END("cfg");
}
