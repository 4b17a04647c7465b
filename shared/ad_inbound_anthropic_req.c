/*
 * ad_inbound_anthropic_req: an Anthropic Messages request as the OpenAI
 * chat request the gateway serves.
 *
 * Tool results leave the user turn that carries them for "tool" messages
 * placed before what is left of that turn, since OpenAI answers tool calls
 * with messages of their own.  Dropped for want of an OpenAI equivalent:
 * thinking blocks, cache_control.  Document blocks are refused: no OpenAI
 * target can read them.  Tools and parameters: ad_inbound_anthropic_params.c.
 */
#include "ad_inbound_anthropic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prefixed to a tool result marked is_error, which OpenAI has no flag for:
 * the model still learns the call failed. */
#define TOOL_ERROR_PREFIX "Error: "

static int append(json_t *arr, json_t *v, struct ad_error *err)
{
    return json_array_append_new(arr, v) < 0 ? ad_oom(err) : 0;
}

static json_t *text_part(const json_t *text)
{
    return json_pack("{s:s, s:O}", "type", "text", "text", text);
}

static int image_part(json_t *parts, const json_t *b, const char *where, struct ad_error *err)
{
    const json_t *src = json_object_get(b, "source");
    const char *type = ad_str(src, "type");
    if (type && strcmp(type, "url") == 0 && ad_str(src, "url"))
        return append(parts, json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url", ad_str(src, "url")),
                      err);
    const char *mime = ad_str(src, "media_type");
    const char *data = ad_str(src, "data");
    if (!type || strcmp(type, "base64") != 0 || !mime || !data)
        return ad_fail(err, FAIL_CLIENT, "%s: image source must be base64 (media_type, data) or url", where);
    char *url = NULL;
    if (asprintf(&url, "data:%s;base64,%s", mime, data) < 0)
        return ad_oom(err);
    int rc = append(parts, json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url", url), err);
    free(url);
    return rc;
}

/* A tool_result's content as a tool message's; images it holds go to
 * extra (the user message that follows), which tool messages cannot carry. */
static json_t *tool_content(const json_t *b, json_t *extra, const char *where, struct ad_error *err)
{
    const json_t *c = json_object_get(b, "content");
    bool is_error = json_is_true(json_object_get(b, "is_error"));
    json_t *parts = json_array();
    if (!parts) {
        ad_oom(err);
        return NULL;
    }
    if (is_error && append(parts, json_pack("{s:s, s:s}", "type", "text", "text", TOOL_ERROR_PREFIX), err) < 0)
        goto fail;
    if (json_is_string(c)) {
        if (append(parts, text_part(c), err) < 0)
            goto fail;
    } else if (json_is_array(c)) {
        size_t i;
        const json_t *p;
        json_array_foreach(c, i, p) {
            const char *t = ad_str(p, "type");
            int rc;
            if (t && strcmp(t, "text") == 0 && json_is_string(json_object_get(p, "text")))
                rc = append(parts, text_part(json_object_get(p, "text")), err);
            else if (t && strcmp(t, "image") == 0)
                rc = image_part(extra, p, where, err);
            else
                rc = ad_fail(err, FAIL_CLIENT, "%s: tool_result content of type %.40s is not supported", where,
                             t ? t : "untyped");
            if (rc < 0)
                goto fail;
        }
    } else if (c && !json_is_null(c)) {
        ad_fail(err, FAIL_CLIENT, "%s: tool_result content must be a string or an array", where);
        goto fail;
    }
    /* All text: one string reads as what the tool said. */
    size_t n = json_array_size(parts);
    if (n == 0) {
        json_decref(parts);
        return json_string("");
    }
    char *joined = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&joined, &len);
    if (!f)
        goto oom;
    size_t i;
    const json_t *p;
    json_array_foreach(parts, i, p) {
        const json_t *t = json_object_get(p, "text");
        fwrite(json_string_value(t), 1, json_string_length(t), f);
    }
    if (fclose(f) != 0)
        goto oom;
    json_decref(parts);
    json_t *s = json_stringn(joined, len);
    free(joined);
    if (!s)
        ad_oom(err);
    return s;
oom:
    free(joined);
    ad_oom(err);
fail:
    json_decref(parts);
    return NULL;
}

static int user_turn(json_t *out, const json_t *m, size_t mi, struct ad_error *err)
{
    const json_t *c = json_object_get(m, "content");
    if (json_is_string(c))
        return append(out, json_pack("{s:s, s:O}", "role", "user", "content", c), err);
    if (!json_is_array(c))
        return ad_fail(err, FAIL_CLIENT, "messages[%zu].content must be a string or an array", mi);
    json_t *parts = json_array();
    if (!parts)
        return ad_oom(err);
    size_t i;
    const json_t *b;
    json_array_foreach(c, i, b) {
        char where[64];
        snprintf(where, sizeof where, "messages[%zu].content[%zu]", mi, i);
        const char *t = ad_str(b, "type");
        int rc;
        if (t && strcmp(t, "text") == 0 && json_is_string(json_object_get(b, "text"))) {
            rc = append(parts, text_part(json_object_get(b, "text")), err);
        } else if (t && strcmp(t, "image") == 0) {
            rc = image_part(parts, b, where, err);
        } else if (t && strcmp(t, "tool_result") == 0 && !ad_str(b, "tool_use_id")) {
            rc = ad_fail(err, FAIL_CLIENT, "%s: tool_result needs tool_use_id", where);
        } else if (t && strcmp(t, "tool_result") == 0) {
            json_t *tc = tool_content(b, parts, where, err);
            rc = tc ? append(out, json_pack("{s:s, s:s, s:o}", "role", "tool", "tool_call_id",
                                            ad_str(b, "tool_use_id"), "content", tc), err)
                    : -1;
        } else {
            rc = ad_fail(err, FAIL_CLIENT, "%s: a %.40s block cannot be served through OpenAI-format targets", where,
                         t ? t : "untyped");
        }
        if (rc < 0) {
            json_decref(parts);
            return -1;
        }
    }
    if (json_array_size(parts) == 0) {
        json_decref(parts);
        return 0; /* the turn held tool results only */
    }
    return append(out, json_pack("{s:s, s:o}", "role", "user", "content", parts), err);
}

static int assistant_turn(json_t *out, const json_t *m, size_t mi, struct ad_error *err)
{
    const json_t *c = json_object_get(m, "content");
    if (json_is_string(c))
        return append(out, json_pack("{s:s, s:O}", "role", "assistant", "content", c), err);
    if (!json_is_array(c))
        return ad_fail(err, FAIL_CLIENT, "messages[%zu].content must be a string or an array", mi);
    json_t *parts = json_array();
    json_t *calls = json_array();
    json_t *msg = json_pack("{s:s}", "role", "assistant");
    if (!parts || !calls || !msg)
        goto oom;
    size_t i;
    const json_t *b;
    json_array_foreach(c, i, b) {
        const char *t = ad_str(b, "type");
        if (t && strcmp(t, "text") == 0 && json_is_string(json_object_get(b, "text"))) {
            if (json_array_append_new(parts, text_part(json_object_get(b, "text"))) < 0)
                goto oom;
        } else if (t && strcmp(t, "tool_use") == 0) {
            const char *id = ad_str(b, "id");
            const char *name = ad_str(b, "name");
            const json_t *input = json_object_get(b, "input");
            if (!id || !name || (input && !json_is_object(input))) {
                ad_fail(err, FAIL_CLIENT, "messages[%zu].content[%zu]: tool_use needs id, name and an object input",
                        mi, i);
                goto fail;
            }
            char *args = input ? json_dumps(input, AD_JSON_FLAGS) : strdup("{}");
            json_t *call = args ? json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function", "function",
                                            "name", name, "arguments", args)
                                : NULL;
            free(args);
            if (json_array_append_new(calls, call) < 0)
                goto oom;
        }
        /* thinking and redacted_thinking: no OpenAI target takes them back */
    }
    size_t np = json_array_size(parts);
    int rc = 0;
    if (np == 1)
        rc = json_object_set(msg, "content", json_object_get(json_array_get(parts, 0), "text"));
    else if (np > 1)
        rc = json_object_set(msg, "content", parts);
    else
        rc = json_object_set_new(msg, "content", json_null());
    if (rc == 0 && json_array_size(calls))
        rc = json_object_set(msg, "tool_calls", calls);
    if (rc < 0)
        goto oom;
    json_decref(parts);
    json_decref(calls);
    return append(out, msg, err);
oom:
    ad_oom(err);
fail:
    json_decref(parts);
    json_decref(calls);
    json_decref(msg);
    return -1;
}

static int system_message(json_t *out, const json_t *sys, struct ad_error *err)
{
    if (!sys || json_is_null(sys))
        return 0;
    if (json_is_string(sys))
        return json_string_length(sys) ? append(out, json_pack("{s:s, s:O}", "role", "system", "content", sys), err)
                                       : 0;
    if (!json_is_array(sys))
        return ad_fail(err, FAIL_CLIENT, "system must be a string or an array of text blocks");
    json_t *parts = json_array();
    if (!parts)
        return ad_oom(err);
    size_t i;
    const json_t *b;
    json_array_foreach(sys, i, b) {
        const json_t *text = json_object_get(b, "text");
        if (!json_is_string(text)) {
            json_decref(parts);
            return ad_fail(err, FAIL_CLIENT, "system[%zu] must be a text block", i);
        }
        if (json_array_append_new(parts, text_part(text)) < 0) {
            json_decref(parts);
            return ad_oom(err);
        }
    }
    if (json_array_size(parts) == 0) {
        json_decref(parts);
        return 0;
    }
    return append(out, json_pack("{s:s, s:o}", "role", "system", "content", parts), err);
}

static int messages(const json_t *req, json_t *oreq, struct ad_error *err)
{
    const json_t *msgs = json_object_get(req, "messages");
    if (!json_is_array(msgs))
        return ad_fail(err, FAIL_CLIENT, "messages must be an array");
    json_t *out = json_array();
    if (!out)
        return ad_oom(err);
    int rc = system_message(out, json_object_get(req, "system"), err);
    size_t mi;
    const json_t *m;
    json_array_foreach(msgs, mi, m) {
        if (rc < 0)
            break;
        const char *role = ad_str(m, "role");
        if (role && strcmp(role, "user") == 0)
            rc = user_turn(out, m, mi, err);
        else if (role && strcmp(role, "assistant") == 0)
            rc = assistant_turn(out, m, mi, err);
        else
            rc = ad_fail(err, FAIL_CLIENT, "messages[%zu]: role must be user or assistant", mi);
    }
    if (rc < 0) {
        json_decref(out);
        return -1;
    }
    return json_object_set_new(oreq, "messages", out) < 0 ? ad_oom(err) : 0;
}

json_t *ad_in_request(const json_t *req, struct ad_error *err)
{
    if (!json_is_object(req)) {
        ad_fail(err, FAIL_CLIENT, "request body is not a JSON object");
        return NULL;
    }
    const char *model = ad_str(req, "model");
    if (!model || !*model) {
        ad_fail(err, FAIL_CLIENT, "model is required");
        return NULL;
    }
    json_t *oreq = json_pack("{s:s}", "model", model);
    if (!oreq) {
        ad_oom(err);
        return NULL;
    }
    if (messages(req, oreq, err) < 0 || ad_in_params(req, oreq, err) < 0) {
        json_decref(oreq);
        return NULL;
    }
    return oreq;
}
