/* fail: the FAIL_CLASSES table (fail.h) as data, and its accessors. */
#include "fail.h"

#include <stddef.h>
#include <string.h>

struct fail_row {
    const char *name;
    bool configurable;
    enum fail_action action;
    bool health, hard, probe, failure;
    const char *openai_type, *openai_code;
    enum fail_http_rule rule;
    int status;
    const char *anthropic_type;
};

#define FAIL_CONF_CONF true
#define FAIL_CONF_FIXED false
#define FAIL_ROW(id, nm, conf, act, hl, hd, pr, fl, otype, ocode, rl, st, atype) \
    [id] = { .name = nm, .configurable = FAIL_CONF_##conf, .action = FAIL_ACT_##act, \
             .health = hl, .hard = hd, .probe = pr, .failure = fl, .openai_type = otype, \
             .openai_code = ocode, .rule = FAIL_HTTP_##rl, .status = st, .anthropic_type = atype },
static const struct fail_row fail_rows[FAIL__COUNT] = { FAIL_CLASSES(FAIL_ROW) };
#undef FAIL_ROW

/* What a value outside the enum (a newer peer's class) reads as: a failure
 * in the statistics but nothing held against the target's breaker, never
 * configurable, answered as a server error. */
static const struct fail_row fail_unknown = {
    .name = "unknown", .action = FAIL_ACT_FAILOVER, .failure = true, .openai_type = "server_error",
    .openai_code = "unknown", .anthropic_type = "api_error",
};

static const struct fail_row *row(enum fail_class c)
{
    return (unsigned)c < FAIL__COUNT ? &fail_rows[c] : &fail_unknown;
}

const char *fail_class_name(enum fail_class c)
{
    return row(c)->name;
}

int fail_by_name(const char *name)
{
    for (int i = 0; name && i < FAIL__COUNT; i++)
        if (strcmp(fail_rows[i].name, name) == 0)
            return i;
    return -1;
}

int fail_counts_against_health(enum fail_class c)
{
    return row(c)->health;
}

int fail_is_hard(enum fail_class c)
{
    return row(c)->hard;
}

bool fail_configurable(enum fail_class c)
{
    return row(c)->configurable;
}

enum fail_action fail_default_action(enum fail_class c)
{
    return row(c)->action;
}

bool fail_probe_can_see(enum fail_class c)
{
    return row(c)->probe;
}

bool fail_counts_as_failure(enum fail_class c)
{
    return row(c)->failure;
}

const char *fail_openai_type(enum fail_class c)
{
    return row(c)->openai_type;
}

const char *fail_openai_code(enum fail_class c)
{
    return row(c)->openai_code;
}

const char *fail_anthropic_type(enum fail_class c)
{
    return row(c)->anthropic_type;
}

int fail_http_status(enum fail_class c, long upstream_status)
{
    const struct fail_row *r = row(c);
    long up = upstream_status;
    switch (r->rule) {
    case FAIL_HTTP_ALWAYS:
        return r->status;
    case FAIL_HTTP_UNLESS_AUTH:
        if (up != 401 && up != 403)
            return r->status;
        break;
    case FAIL_HTTP_UNLESS_5XX:
        if (up >= 400 && up < 500 && up != 408 && up != 409)
            return r->status;
        break;
    case FAIL_HTTP_UPSTREAM:
        break;
    }
    /* 529 is Anthropic's own; OpenAI clients know 503 as "overloaded". */
    if (up == 529)
        return 503;
    if (up < 400 || up > 599)
        return 502;
    return (int)up;
}

const char *fail_action_name(enum fail_action a)
{
    switch (a) {
    case FAIL_ACT_RETRY:
        return FAIL_ACT_NAME_RETRY;
    case FAIL_ACT_FAILOVER:
        return FAIL_ACT_NAME_FAILOVER;
    case FAIL_ACT_RETURN:
        return FAIL_ACT_NAME_RETURN;
    }
    return "unknown";
}
