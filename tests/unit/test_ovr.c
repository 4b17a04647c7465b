/* Unit tests of the operator overrides' parsing and matching: forced-failure
 * modes, durations, what an override covers, and the worker's view (pins'
 * precedence, drains, fault matching and its rate rule). */
#include <string.h>

#include "gw_ovr.h"
#include "ovr.h"
#include "unit.h"

static int mode_ok(const char *s, struct ovr_mode_spec *m)
{
    char err[256];
    return ovr_parse_mode(s, m, err, sizeof err) == 0;
}

/* The parse fails and the message names what is wrong. */
static int mode_bad(const char *s, const char *needle)
{
    struct ovr_mode_spec m;
    char err[256] = "";
    return ovr_parse_mode(s, &m, err, sizeof err) < 0 && strstr(err, needle) != NULL;
}

static void test_modes(void)
{
    struct ovr_mode_spec m;
    CHECK(mode_ok("status:429", &m) && m.mode == OVR_STATUS && m.status == 429 &&
          m.retry_after_s == -1 && m.code[0] == '\0');
    CHECK(mode_ok("status:429,retry-after=2", &m) && m.retry_after_s == 2);
    CHECK(mode_ok("status:429,code=insufficient_quota,retry-after=0", &m) &&
          strcmp(m.code, "insufficient_quota") == 0 && m.retry_after_s == 0);
    CHECK(mode_ok("status:599", &m) && m.status == 599);
    CHECK(mode_ok("timeout", &m) && m.mode == OVR_TIMEOUT);
    CHECK(mode_ok("hang", &m) && m.mode == OVR_HANG);
    CHECK(mode_ok("reset", &m) && m.mode == OVR_RESET);
    CHECK(mode_ok("stream-cut", &m) && m.mode == OVR_STREAM_CUT && m.after == 2);
    CHECK(mode_ok("stream-cut:0", &m) && m.after == 0);
    CHECK(mode_ok("stream-cut:10000", &m) && m.after == 10000);
    CHECK(mode_ok("stream-error:3", &m) && m.mode == OVR_STREAM_ERROR && m.after == 3);
    CHECK(mode_ok("empty-tool-turn", &m) && m.mode == OVR_EMPTY_TOOL_TURN);
    CHECK(mode_ok("latency:1500", &m) && m.mode == OVR_LATENCY && m.latency_ms == 1500);
    CHECK(strcmp(ovr_mode_name(OVR_STREAM_CUT), "stream-cut") == 0);

    CHECK(mode_bad("", "empty"));
    CHECK(mode_bad("explode", "unknown mode"));
    CHECK(mode_bad("Status:500", "unknown mode"));
    CHECK(mode_bad("status", "needs a code"));
    CHECK(mode_bad("status:", "400..599"));
    CHECK(mode_bad("status:200", "400..599"));
    CHECK(mode_bad("status:600", "400..599"));
    CHECK(mode_bad("status:50x", "400..599"));
    CHECK(mode_bad("status:-500", "400..599"));
    CHECK(mode_bad("status:429,", "trailing comma"));
    CHECK(mode_bad("status:429,retry-after", "retry-after"));
    CHECK(mode_bad("status:429,retry-after=x", "retry-after"));
    CHECK(mode_bad("status:429,retry-after=1,retry-after=2", "once"));
    CHECK(mode_bad("status:429,retry-after=86401", "retry-after"));
    CHECK(mode_bad("status:429,code=Bad", "code"));
    CHECK(mode_bad("status:429,code=", "code"));
    CHECK(mode_bad("status:429,colour=red", "unknown option"));
    CHECK(mode_bad("hang:5", "takes no argument"));
    CHECK(mode_bad("reset:", "takes no argument"));
    CHECK(mode_bad("stream-cut:", "number of events"));
    CHECK(mode_bad("stream-cut:10001", "number of events"));
    CHECK(mode_bad("stream-error:-1", "number of events"));
    CHECK(mode_bad("latency", "milliseconds"));
    CHECK(mode_bad("latency:0", "milliseconds"));
    CHECK(mode_bad("latency:600001", "milliseconds"));
    CHECK(mode_bad("latency:99999999999999999999", "milliseconds"));
}

static void test_durations(void)
{
    long long ms = -1;
    CHECK(ovr_parse_duration("500ms", &ms) && ms == 500);
    CHECK(ovr_parse_duration("90s", &ms) && ms == 90000);
    CHECK(ovr_parse_duration("5m", &ms) && ms == 300000);
    CHECK(ovr_parse_duration("1h30m", &ms) && ms == 5400000);
    CHECK(ovr_parse_duration("2d", &ms) && ms == 172800000);
    CHECK(ovr_parse_duration("0s", &ms) && ms == 0);
    CHECK(!ovr_parse_duration("", &ms));
    CHECK(!ovr_parse_duration(NULL, &ms));
    CHECK(!ovr_parse_duration("5", &ms));       /* a unit is required */
    CHECK(!ovr_parse_duration("5x", &ms));
    CHECK(!ovr_parse_duration("m5", &ms));
    CHECK(!ovr_parse_duration("-5s", &ms));
    CHECK(!ovr_parse_duration("5 s", &ms));
    CHECK(!ovr_parse_duration("36501d", &ms));  /* over 100 years */
    CHECK(!ovr_parse_duration("99999999999999999999s", &ms));
}

static void test_covers(void)
{
    CHECK(ovr_covers("openai", "openai", "openai/gpt-4o"));
    CHECK(ovr_covers("openai/gpt-4o", "openai", "openai/gpt-4o"));
    CHECK(!ovr_covers("openai/gpt-4o-mini", "openai", "openai/gpt-4o"));
    CHECK(!ovr_covers("open", "openai", "openai/gpt-4o"));
    CHECK(!ovr_covers("azure", "openai", "openai/gpt-4o"));
}

static const char DOC[] =
    "{\"pins\": [{\"model\": \"chat\", \"target\": null, \"version\": \"v-chain\"},"
    "            {\"model\": \"chat\", \"target\": \"b/m\", \"version\": \"v-b\"}],"
    " \"faults\": [{\"id\": \"f1\", \"target\": \"a\", \"mode\": \"status:503\", \"rate\": 50,"
    "              \"until_ms\": 2000, \"model\": null, \"key\": null},"
    "             {\"id\": \"f2\", \"target\": \"b/m\", \"mode\": \"stream-cut:1\", \"rate\": 100,"
    "              \"until_ms\": 2000, \"model\": \"chat\", \"key\": \"abcd\"}],"
    " \"drains\": [{\"target\": \"c\"}, {\"target\": \"b/other\"}], \"next_id\": 3}";

static void test_worker_view(void)
{
    struct gw_ovr *o = gw_ovr_parse(DOC, strlen(DOC));
    CHECK(o && o->npins == 2 && o->nfaults == 2 && o->ndrains == 2);
    if (!o)
        return;
    CHECK(strcmp(gw_ovr_model(o, "chat", "a/m", "cfg"), "v-chain") == 0);
    CHECK(strcmp(gw_ovr_model(o, "chat", "b/m", "cfg"), "v-b") == 0);   /* the target's wins */
    CHECK(strcmp(gw_ovr_model(o, "other", "a/m", "cfg"), "cfg") == 0);
    CHECK(strcmp(gw_ovr_model(NULL, "chat", "a/m", "cfg"), "cfg") == 0);
    CHECK(gw_ovr_drained(o, "c", "c/x"));
    CHECK(gw_ovr_drained(o, "b", "b/other"));
    CHECK(!gw_ovr_drained(o, "b", "b/m"));
    CHECK(!gw_ovr_drained(NULL, "c", "c/x"));

    struct gw_fault_query q = { .provider = "a", .target_key = "a/m", .chain = "chat",
                                .key_fpr = "", .stream = false, .tools = false, .now_ms = 1000 };
    int hits = 0;
    for (int i = 0; i < 10; i++)
        hits += gw_ovr_fault(o, &q) != NULL;
    CHECK(hits == 5);                          /* rate 50: every other attempt */
    q.now_ms = 2000;
    CHECK(gw_ovr_fault(o, &q) == NULL);        /* expired */
    q = (struct gw_fault_query){ .provider = "b", .target_key = "b/m", .chain = "chat",
                                 .key_fpr = "abcd", .stream = true, .now_ms = 1000 };
    const struct gw_fault_rule *f = gw_ovr_fault(o, &q);
    CHECK(f && strcmp(f->id, "f2") == 0 && f->spec.after == 1);
    q.stream = false;                          /* a stream mode leaves a plain answer alone */
    CHECK(gw_ovr_fault(o, &q) == NULL);
    q.stream = true;
    q.key_fpr = "ffff";                        /* another key */
    CHECK(gw_ovr_fault(o, &q) == NULL);
    q.key_fpr = "abcd";
    q.chain = "other";                         /* another chain */
    CHECK(gw_ovr_fault(o, &q) == NULL);
    gw_ovr_free(o);

    static const char *const bad[] = {
        "", "[]", "{}", "{\"pins\": [], \"faults\": [], \"drains\": 5}",
        "{\"pins\": [{\"model\": 1, \"version\": \"v\"}], \"faults\": [], \"drains\": []}",
        "{\"pins\": [], \"faults\": [{\"id\": \"f\", \"target\": \"a\", \"mode\": \"boom\", "
        "\"rate\": 100, \"until_ms\": 1}], \"drains\": []}",
        "{\"pins\": [], \"faults\": [{\"id\": \"f\", \"target\": \"a\", \"mode\": \"hang\", "
        "\"rate\": 0, \"until_ms\": 1}], \"drains\": []}",
        "{\"pins\": [], \"faults\": [], \"drains\": [{\"target\": null}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(gw_ovr_parse(bad[i], strlen(bad[i])) == NULL);
}

int main(void)
{
    test_modes();
    test_durations();
    test_covers();
    test_worker_view();
    UNIT_END("ovr");
}
