/*
 * ad_anthropic_msgs: an OpenAI conversation as Anthropic wants it.
 *
 * System and developer messages leave the conversation for the top-level
 * system (in order).  Every other message becomes content blocks; empty
 * ones are dropped and neighbours of one role merged, since Anthropic wants
 * alternating, non-empty turns.  Tool results ride in user turns, ahead of
 * any text there, because they must answer the assistant turn before them.
 */
#include "ad_anthropic.h"
#include "ad_params.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Put in front of a conversation that would otherwise open with an
 * assistant turn (or have no turn at all): minimal and not white space,
 * which Anthropic rejects as text. */
#define FIRST_USER_PLACEHOLDER "."

static const char *const image_types[] = { "image/jpeg", "image/png", "image/gif", "image/webp" };

char *ad_anthropic_tool_id(const char *id)
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

static int text_block(void *blocks, const char *text, struct ad_error *err)
{
    if (!ad_has_text(text))
        return 0; /* Anthropic rejects empty and white-space text blocks */
    return append(blocks, json_pack("{s:s, s:s}", "type", "text", "text", text), err);
}

static int image_block(void *blocks, const char *url, size_t mi, size_t pi, struct ad_error *err)
{
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
        return append(blocks, json_pack("{s:s, s:{s:s, s:s}}", "type", "image", "source", "type", "url", "url", url),
                      err);
    char *mime;
    const char *data;
    if (ad_image_data(url, mi, pi, &mime, &data, err) < 0)
        return -1;
    bool known = false;
    for (size_t i = 0; i < sizeof image_types / sizeof image_types[0]; i++)
        known = known || strcmp(mime, image_types[i]) == 0;
    if (!known) {
        ad_fail(err, FAIL_CLIENT, "messages[%zu].content[%zu]: image type %.40s is not supported by Anthropic",
                mi, pi, mime);
        free(mime);
        return -1;
    }
    int rc = append(blocks,
                json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "image", "source", "type", "base64", "media_type",
                          mime, "data", data),
                err);
    free(mime);
    return rc;
}

static const struct ad_part_ops part_ops = { "Anthropic", text_block, image_block };

/* Content (string, parts or null) into blocks.  images: image parts are
 * allowed (user and tool content); refusal: refusal parts count as text
 * (assistant content). */
static int content_blocks(json_t *blocks, const json_t *content, size_t mi, bool images, bool refusal,
                          struct ad_error *err)
{
    return ad_content_parts(content, mi, images, refusal, &part_ops, blocks, err);
}

static int tool_use_block(json_t *blocks, const json_t *call, size_t mi, size_t ci, struct ad_error *err)
{
    const char *id, *name;
    json_t *input;
    if (ad_tool_call(call, mi, ci, &id, &name, &input, err) < 0)
        return -1;
    char *tid = ad_anthropic_tool_id(id);
    json_t *b = NULL;
    if (tid && input)
        b = json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", tid, "name", name, "input", input);
    else
        json_decref(input);
    free(tid);
    return append(blocks, b, err);
}

static int assistant_blocks(json_t *blocks, const json_t *m, size_t mi, struct ad_error *err)
{
    if (json_object_get(m, "function_call") && !json_is_null(json_object_get(m, "function_call")))
        return ad_fail(err, FAIL_CLIENT, "messages[%zu]: legacy function_call is not supported; use tool_calls", mi);
    if (content_blocks(blocks, json_object_get(m, "content"), mi, false, true, err) < 0)
        return -1;
    const json_t *calls = json_object_get(m, "tool_calls");
    if (!calls || json_is_null(calls))
        return 0;
    if (!json_is_array(calls))
        return ad_fail(err, FAIL_CLIENT, "messages[%zu].tool_calls must be an array", mi);
    size_t ci;
    const json_t *call;
    json_array_foreach(calls, ci, call)
        if (tool_use_block(blocks, call, mi, ci, err) < 0)
            return -1;
    return 0;
}

static int tool_result_blocks(json_t *blocks, const json_t *m, size_t mi, struct ad_error *err)
{
    const char *id = ad_str(m, "tool_call_id");
    if (!id || !*id)
        return ad_fail(err, FAIL_CLIENT, "messages[%zu]: a tool message needs tool_call_id", mi);
    json_t *content = json_array();
    char *tid = ad_anthropic_tool_id(id);
    json_t *b = tid ? json_pack("{s:s, s:s}", "type", "tool_result", "tool_use_id", tid) : NULL;
    free(tid);
    if (!content || !b) {
        json_decref(content);
        json_decref(b);
        return ad_oom(err);
    }
    if (content_blocks(content, json_object_get(m, "content"), mi, true, false, err) < 0) {
        json_decref(content);
        json_decref(b);
        return -1;
    }
    /* An empty result is still an answer to the call: the block stays,
     * without content.  One text block is said as a plain string. */
    const json_t *only = json_array_size(content) == 1 ? json_array_get(content, 0) : NULL;
    const json_t *value = only && strcmp(ad_str(only, "type"), "text") == 0 ? json_object_get(only, "text") : content;
    if (json_array_size(content) && json_object_set(b, "content", (json_t *)value) < 0) {
        json_decref(content);
        json_decref(b);
        return ad_oom(err);
    }
    json_decref(content);
    return append(blocks, b, err);
}

static bool is_tool_result(const json_t *block)
{
    const char *t = ad_str(block, "type");
    return t && strcmp(t, "tool_result") == 0;
}

/* Adds a turn's blocks (stolen), merged into the previous turn when it has
 * the same role. */
static int push(json_t *out, const char *role, json_t *blocks, struct ad_error *err)
{
    if (json_array_size(blocks) == 0) {
        json_decref(blocks);
        return 0;
    }
    json_t *last = json_array_get(out, json_array_size(out) - 1);
    if (!last || strcmp(ad_str(last, "role"), role) != 0) {
        json_t *m = json_pack("{s:s, s:o}", "role", role, "content", blocks);
        return json_array_append_new(out, m) < 0 ? ad_oom(err) : 0;
    }
    json_t *dst = json_object_get(last, "content");
    size_t lead = 0;
    while (lead < json_array_size(dst) && is_tool_result(json_array_get(dst, lead)))
        lead++;
    size_t i;
    json_t *b;
    int rc = 0;
    json_array_foreach(blocks, i, b) {
        if (is_tool_result(b))
            rc = json_array_insert(dst, lead++, b);
        else
            rc = json_array_append(dst, b);
        if (rc < 0)
            break;
    }
    json_decref(blocks);
    return rc < 0 ? ad_oom(err) : 0;
}

static int system_blocks(json_t *system, const json_t *m, size_t mi, struct ad_error *err)
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
    return content_blocks(system, c, mi, false, false, err);
}

static int convert_one(json_t *system, json_t *out, const json_t *m, size_t mi, struct ad_error *err)
{
    const char *role = ad_str(m, "role");
    if (!json_is_object(m) || !role)
        return ad_fail(err, FAIL_CLIENT, "messages[%zu] needs a role", mi);
    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
        return system_blocks(system, m, mi, err);
    json_t *blocks = json_array();
    if (!blocks)
        return ad_oom(err);
    int rc;
    const char *to = "user";
    if (strcmp(role, "user") == 0) {
        rc = content_blocks(blocks, json_object_get(m, "content"), mi, true, false, err);
    } else if (strcmp(role, "assistant") == 0) {
        rc = assistant_blocks(blocks, m, mi, err);
        to = "assistant";
    } else if (strcmp(role, "tool") == 0) {
        rc = tool_result_blocks(blocks, m, mi, err);
    } else {
        rc = ad_fail(err, FAIL_CLIENT, "messages[%zu]: role %.32s is not supported", mi, role);
    }
    if (rc < 0) {
        json_decref(blocks);
        return rc;
    }
    return push(out, to, blocks, err);
}

/* A prefill (a final assistant turn) may not end in white space. */
static void trim_prefill(json_t *out)
{
    json_t *last = json_array_get(out, json_array_size(out) - 1);
    if (!last || strcmp(ad_str(last, "role"), "assistant") != 0)
        return;
    json_t *blocks = json_object_get(last, "content");
    json_t *b = json_array_get(blocks, json_array_size(blocks) - 1);
    const char *text = ad_str(b, "text");
    if (!text || strcmp(ad_str(b, "type"), "text") != 0)
        return;
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    json_object_set_new(b, "text", json_stringn(text, n)); /* never empty: text_block saw non-space */
}

/* One text block says the same as a plain string, which is what most
 * requests look like and what Anthropic documents. */
static int collapse(json_t *holder, const char *key)
{
    json_t *blocks = json_object_get(holder, key);
    json_t *b = json_array_get(blocks, 0);
    if (json_array_size(blocks) != 1 || strcmp(ad_str(b, "type"), "text") != 0 || json_object_size(b) != 2)
        return 0;
    return json_object_set(holder, key, json_object_get(b, "text"));
}

int ad_anthropic_messages(const json_t *messages, json_t **system_out, json_t **out_msgs, struct ad_error *err)
{
    *system_out = *out_msgs = NULL;
    if (!json_is_array(messages))
        return ad_fail(err, FAIL_CLIENT, "messages must be an array");
    json_t *system = json_array();
    json_t *out = json_array();
    if (!system || !out)
        goto oom;
    size_t mi;
    const json_t *m;
    json_array_foreach(messages, mi, m)
        if (convert_one(system, out, m, mi, err) < 0)
            goto fail;
    trim_prefill(out);
    const char *first = json_array_size(out) ? ad_str(json_array_get(out, 0), "role") : NULL;
    if (!first || strcmp(first, "user") != 0) {
        json_t *m0 = json_pack("{s:s, s:[{s:s, s:s}]}", "role", "user", "content", "type", "text", "text",
                               FIRST_USER_PLACEHOLDER);
        if (json_array_insert_new(out, 0, m0) < 0)
            goto oom;
    }
    json_array_foreach(out, mi, m)
        if (collapse((json_t *)m, "content") < 0)
            goto oom;
    if (json_array_size(system)) {
        json_t *holder = json_pack("{s:O}", "system", system);
        if (!holder || collapse(holder, "system") < 0) {
            json_decref(holder);
            goto oom;
        }
        *system_out = json_incref(json_object_get(holder, "system"));
        json_decref(holder);
    }
    json_decref(system);
    *out_msgs = out;
    return 0;
oom:
    ad_oom(err);
fail:
    json_decref(system);
    json_decref(out);
    return -1;
}
