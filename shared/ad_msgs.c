/*
 * ad_msgs: an OpenAI conversation as the block-structured providers
 * (Anthropic, Bedrock) want it; each says how its blocks are spelt
 * (struct ad_msgs_style), the rules are the same:
 *
 * System and developer messages leave the conversation for the top-level
 * system (in order).  Every other message becomes content blocks; empty
 * ones are dropped and neighbours of one role merged, since both want
 * alternating, non-empty turns that open with the user.  Tool results ride
 * in user turns, ahead of any text there, because they must answer the
 * assistant turn before them.  A final assistant turn (a prefill) may not
 * end in white space.
 */
#include "ad_params.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Put in front of a conversation that would otherwise open with an
 * assistant turn (or have no turn at all): minimal and not white space,
 * which both reject as text. */
#define FIRST_USER_PLACEHOLDER "."

struct conv {
    const struct ad_msgs_style *st;
    json_t *system, *out, *names;
};

char *ad_tool_id(const char *id)
{
    char *out = strdup(id);
    for (char *p = out; p && *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            *p = '_';
    return out;
}

static int append(json_t *blocks, json_t *block, struct ad_error *err)
{
    return json_array_append_new(blocks, block) < 0 ? ad_oom(err) : 0;
}

static int text_block(const struct ad_msgs_style *st, json_t *blocks, const char *text, struct ad_error *err)
{
    if (!ad_has_text(text))
        return 0; /* empty and white-space text blocks are refused */
    return append(blocks, st->text(text), err);
}

/* What ad_content_parts fills: one list of blocks, in one style. */
struct fill {
    const struct ad_msgs_style *st;
    json_t *blocks;
};

static int fill_text(void *arg, const char *text, struct ad_error *err)
{
    struct fill *f = arg;
    return text_block(f->st, f->blocks, text, err);
}

static int fill_image(void *arg, const char *url, size_t mi, size_t pi, struct ad_error *err)
{
    struct fill *f = arg;
    return f->st->image(f->blocks, url, mi, pi, err);
}

/* Content (string, parts or null) into blocks.  images: image parts are
 * allowed (user and tool content); refusal: refusal parts count as text
 * (assistant content). */
static int content_blocks(const struct ad_msgs_style *st, json_t *blocks, const json_t *content, size_t mi,
                          bool images, bool refusal, struct ad_error *err)
{
    const struct ad_part_ops ops = { st->provider, fill_text, fill_image };
    struct fill f = { st, blocks };
    return ad_content_parts(content, mi, images, refusal, &ops, &f, err);
}

static int note_tool(json_t *names, const char *name, struct ad_error *err)
{
    size_t i;
    const json_t *n;
    json_array_foreach(names, i, n)
        if (strcmp(json_string_value(n), name) == 0)
            return 0;
    return json_array_append_new(names, json_string(name)) < 0 ? ad_oom(err) : 0;
}

static int tool_use_block(struct conv *cv, json_t *blocks, const json_t *call, size_t mi, size_t ci,
                          struct ad_error *err)
{
    const char *id, *name;
    json_t *input;
    if (ad_tool_call(call, mi, ci, &id, &name, &input, err) < 0)
        return -1;
    char *tid = ad_tool_id(id);
    json_t *b = tid ? cv->st->tool_use(tid, name, input) : NULL;
    if (!tid)
        json_decref(input);
    free(tid);
    if (append(blocks, b, err) < 0)
        return -1;
    return note_tool(cv->names, name, err);
}

static int assistant_blocks(struct conv *cv, json_t *blocks, const json_t *m, size_t mi, struct ad_error *err)
{
    if (json_object_get(m, "function_call") && !json_is_null(json_object_get(m, "function_call")))
        return ad_fail(err, FAIL_CLIENT, "messages[%zu]: legacy function_call is not supported; use tool_calls", mi);
    if (content_blocks(cv->st, blocks, json_object_get(m, "content"), mi, false, true, err) < 0)
        return -1;
    const json_t *calls = json_object_get(m, "tool_calls");
    if (!calls || json_is_null(calls))
        return 0;
    if (!json_is_array(calls))
        return ad_fail(err, FAIL_CLIENT, "messages[%zu].tool_calls must be an array", mi);
    size_t ci;
    const json_t *call;
    json_array_foreach(calls, ci, call)
        if (tool_use_block(cv, blocks, call, mi, ci, err) < 0)
            return -1;
    return 0;
}

static int tool_result_blocks(const struct ad_msgs_style *st, json_t *blocks, const json_t *m, size_t mi,
                              struct ad_error *err)
{
    const char *id = ad_str(m, "tool_call_id");
    if (!id || !*id)
        return ad_fail(err, FAIL_CLIENT, "messages[%zu]: a tool message needs tool_call_id", mi);
    json_t *content = json_array();
    if (!content)
        return ad_oom(err);
    if (content_blocks(st, content, json_object_get(m, "content"), mi, true, false, err) < 0) {
        json_decref(content);
        return -1;
    }
    char *tid = ad_tool_id(id);
    json_t *b = tid ? st->tool_result(tid, content) : NULL;
    if (!tid)
        json_decref(content);
    free(tid);
    return append(blocks, b, err);
}

int ad_msgs_push(json_t *out, const char *role, const char *key, json_t *items, bool (*is_result)(const json_t *),
                 struct ad_error *err)
{
    if (json_array_size(items) == 0) {
        json_decref(items);
        return 0;
    }
    json_t *last = json_array_get(out, json_array_size(out) - 1);
    if (!last || strcmp(ad_str(last, "role"), role) != 0) {
        json_t *m = json_pack("{s:s, s:o}", "role", role, key, items);
        return json_array_append_new(out, m) < 0 ? ad_oom(err) : 0;
    }
    json_t *dst = json_object_get(last, key);
    size_t lead = 0;
    while (lead < json_array_size(dst) && is_result(json_array_get(dst, lead)))
        lead++;
    size_t i;
    json_t *b;
    int rc = 0;
    json_array_foreach(items, i, b) {
        rc = is_result(b) ? json_array_insert(dst, lead++, b) : json_array_append(dst, b);
        if (rc < 0)
            break;
    }
    json_decref(items);
    return rc < 0 ? ad_oom(err) : 0;
}

static int system_blocks(const struct ad_msgs_style *st, json_t *system, const json_t *m, size_t mi,
                         struct ad_error *err)
{
    const json_t *c = json_object_get(m, "content");
    if (json_is_array(c)) {
        size_t pi;
        const json_t *part;
        json_array_foreach(c, pi, part) {
            const char *type = ad_str(part, "type");
            if (!type || strcmp(type, "text") != 0 || !json_is_string(json_object_get(part, "text")))
                return ad_fail(err, FAIL_CLIENT, "messages[%zu].content[%zu]: system messages hold text only", mi, pi);
        }
    }
    return content_blocks(st, system, c, mi, false, false, err);
}

static int convert_one(struct conv *cv, const json_t *m, size_t mi, struct ad_error *err)
{
    const char *role = ad_str(m, "role");
    if (!json_is_object(m) || !role)
        return ad_fail(err, FAIL_CLIENT, "messages[%zu] needs a role", mi);
    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
        return system_blocks(cv->st, cv->system, m, mi, err);
    json_t *blocks = json_array();
    if (!blocks)
        return ad_oom(err);
    int rc;
    const char *to = "user";
    if (strcmp(role, "user") == 0) {
        rc = content_blocks(cv->st, blocks, json_object_get(m, "content"), mi, true, false, err);
    } else if (strcmp(role, "assistant") == 0) {
        rc = assistant_blocks(cv, blocks, m, mi, err);
        to = "assistant";
    } else if (strcmp(role, "tool") == 0) {
        rc = tool_result_blocks(cv->st, blocks, m, mi, err);
    } else {
        rc = ad_fail(err, FAIL_CLIENT, "messages[%zu]: role %.32s is not supported", mi, role);
    }
    if (rc < 0) {
        json_decref(blocks);
        return rc;
    }
    return ad_msgs_push(cv->out, to, "content", blocks, cv->st->is_tool_result, err);
}

/* A prefill (a final assistant turn) may not end in white space.  Both
 * styles keep a text block's text under "text", and no other block of an
 * assistant turn has that member. */
static void trim_prefill(json_t *out)
{
    json_t *last = json_array_get(out, json_array_size(out) - 1);
    if (!last || strcmp(ad_str(last, "role"), "assistant") != 0)
        return;
    json_t *blocks = json_object_get(last, "content");
    json_t *b = json_array_get(blocks, json_array_size(blocks) - 1);
    const char *text = ad_str(b, "text");
    if (!text)
        return;
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    json_object_set_new(b, "text", json_stringn(text, n)); /* never empty: text_block saw non-space */
}

int ad_msgs_convert(const struct ad_msgs_style *st, const json_t *messages, struct ad_msgs *out,
                    struct ad_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_array(messages))
        return ad_fail(err, FAIL_CLIENT, "messages must be an array");
    struct conv cv = { st, json_array(), json_array(), json_array() };
    if (!cv.system || !cv.out || !cv.names)
        goto oom;
    size_t mi;
    const json_t *m;
    json_array_foreach(messages, mi, m)
        if (convert_one(&cv, m, mi, err) < 0)
            goto fail;
    trim_prefill(cv.out);
    const char *first = json_array_size(cv.out) ? ad_str(json_array_get(cv.out, 0), "role") : NULL;
    if (!first || strcmp(first, "user") != 0) {
        json_t *m0 = json_pack("{s:s, s:[o]}", "role", "user", "content", st->text(FIRST_USER_PLACEHOLDER));
        if (json_array_insert_new(cv.out, 0, m0) < 0)
            goto oom;
    }
    out->system = cv.system;
    out->messages = cv.out;
    out->tool_names = cv.names;
    return 0;
oom:
    ad_oom(err);
fail:
    json_decref(cv.system);
    json_decref(cv.out);
    json_decref(cv.names);
    return -1;
}

void ad_msgs_free(struct ad_msgs *m)
{
    json_decref(m->system);
    json_decref(m->messages);
    json_decref(m->tool_names);
    memset(m, 0, sizeof *m);
}
