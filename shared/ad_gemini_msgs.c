/*
 * ad_gemini_msgs: an OpenAI conversation as Gemini contents.
 *
 * System and developer messages become the systemInstruction.  Assistant
 * turns are "model", tool results ride in "user" turns as functionResponse
 * parts, which need the function's name: an OpenAI tool message only has
 * the call's id, so the name comes from the assistant turn that made the
 * call.  Empty parts and turns are dropped and neighbours of one role
 * merged (Gemini wants non-empty, alternating turns, user first), with
 * function responses ahead of any text in their turn.
 */
#include "ad_gemini.h"
#include "ad_params.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int append(json_t *parts, json_t *part, struct ad_error *err)
{
    return json_array_append_new(parts, part) < 0 ? ad_oom(err) : 0;
}

static int text_part(void *parts, const char *text, struct ad_error *err)
{
    if (!ad_has_text(text))
        return 0; /* Gemini rejects empty text parts */
    return append(parts, json_pack("{s:s}", "text", text), err);
}

/* The image type a URL's extension names; NULL when it names none. */
static const char *url_mime(const char *url)
{
    static const char *const map[][2] = { { ".png", "image/png" },   { ".jpg", "image/jpeg" },
                                          { ".jpeg", "image/jpeg" }, { ".gif", "image/gif" },
                                          { ".webp", "image/webp" }, { ".heic", "image/heic" },
                                          { ".heif", "image/heif" } };
    size_t n = strcspn(url, "?#");
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t e = strlen(map[i][0]);
        if (n > e && strncasecmp(url + n - e, map[i][0], e) == 0)
            return map[i][1];
    }
    return NULL;
}

static int image_part(void *parts, const char *url, size_t mi, size_t pi, struct ad_error *err)
{
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        /* fileData needs the type, which only the URL's name can tell. */
        const char *mime = url_mime(url);
        if (!mime)
            return ad_fail(err, FAIL_CLIENT,
                           "messages[%zu].content[%zu]: Gemini needs the image type, and the URL's name does not "
                           "give it (send a data URL)", mi, pi);
        return append(parts, json_pack("{s:{s:s, s:s}}", "fileData", "mimeType", mime, "fileUri", url), err);
    }
    char *mime;
    const char *data;
    if (ad_image_data(url, mi, pi, &mime, &data, err) < 0)
        return -1;
    int rc = append(parts, json_pack("{s:{s:s, s:s}}", "inlineData", "mimeType", mime, "data", data), err);
    free(mime);
    return rc;
}

static const struct ad_part_ops part_ops = { "Gemini", text_part, image_part };

/* Content (string, parts or null) into parts.  images: image parts are
 * allowed (user content); refusal: refusal parts count as text. */
static int content_parts(json_t *parts, const json_t *content, size_t mi, bool images, bool refusal,
                         struct ad_error *err)
{
    return ad_content_parts(content, mi, images, refusal, &part_ops, parts, err);
}

static int call_part(json_t *parts, const json_t *call, size_t mi, size_t ci, struct ad_error *err)
{
    const char *id, *name;
    json_t *args;
    if (ad_tool_call(call, mi, ci, &id, &name, &args, err) < 0)
        return -1;
    json_t *p = json_pack("{s:{s:s, s:o}}", "functionCall", "name", name, "args", args);
    const char *sig = strstr(id, AD_GEMINI_SIG_MARK);
    if (p && sig && sig[strlen(AD_GEMINI_SIG_MARK)] &&
        json_object_set_new(p, "thoughtSignature", json_string(sig + strlen(AD_GEMINI_SIG_MARK))) < 0) {
        json_decref(p);
        p = NULL;
    }
    return append(parts, p, err);
}

static int model_parts(json_t *parts, const json_t *m, size_t mi, struct ad_error *err)
{
    if (json_object_get(m, "function_call") && !json_is_null(json_object_get(m, "function_call")))
        return ad_fail(err, FAIL_CLIENT, "messages[%zu]: legacy function_call is not supported; use tool_calls", mi);
    if (content_parts(parts, json_object_get(m, "content"), mi, false, true, err) < 0)
        return -1;
    const json_t *calls = json_object_get(m, "tool_calls");
    if (!calls || json_is_null(calls))
        return 0;
    if (!json_is_array(calls))
        return ad_fail(err, FAIL_CLIENT, "messages[%zu].tool_calls must be an array", mi);
    size_t ci;
    const json_t *call;
    json_array_foreach(calls, ci, call)
        if (call_part(parts, call, mi, ci, err) < 0)
            return -1;
    return 0;
}

/* The name of the function the call with this id asked for: the nearest
 * assistant turn before message mi that made it. */
static const char *call_name(const json_t *messages, size_t mi, const char *id)
{
    while (mi-- > 0) {
        const json_t *calls = json_object_get(json_array_get(messages, mi), "tool_calls");
        size_t ci;
        const json_t *call;
        json_array_foreach(calls, ci, call) {
            const char *cid = ad_str(call, "id");
            if (cid && strcmp(cid, id) == 0)
                return ad_str(json_object_get(call, "function"), "name");
        }
    }
    return NULL;
}

/* A tool result as the object Gemini wants: a JSON object as itself,
 * anything else as {"result": text}. */
static json_t *tool_response(const json_t *content, size_t mi, struct ad_error *err)
{
    json_t *texts = json_array();
    if (!texts) {
        ad_oom(err);
        return NULL;
    }
    if (content_parts(texts, content, mi, false, false, err) < 0) {
        json_decref(texts);
        return NULL;
    }
    char *joined = strdup("");
    size_t i;
    const json_t *p;
    json_array_foreach(texts, i, p) {
        char *next = NULL;
        if (!joined || asprintf(&next, "%s%s%s", joined, i ? "\n" : "", ad_str(p, "text")) < 0)
            next = NULL;
        free(joined);
        joined = next;
    }
    json_decref(texts);
    if (!joined) {
        ad_oom(err);
        return NULL;
    }
    json_t *obj = json_loads(joined, 0, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        obj = json_pack("{s:s}", "result", joined);
    }
    free(joined);
    if (!obj)
        ad_oom(err);
    return obj;
}

static int response_part(json_t *parts, const json_t *messages, const json_t *m, size_t mi, struct ad_error *err)
{
    const char *id = ad_str(m, "tool_call_id");
    if (!id || !*id)
        return ad_fail(err, FAIL_CLIENT, "messages[%zu]: a tool message needs tool_call_id", mi);
    const char *name = call_name(messages, mi, id);
    if (!name || !*name)
        return ad_fail(err, FAIL_CLIENT, "messages[%zu]: tool_call_id %.64s answers no earlier tool call", mi, id);
    json_t *resp = tool_response(json_object_get(m, "content"), mi, err);
    if (!resp)
        return -1;
    return append(parts, json_pack("{s:{s:s, s:o}}", "functionResponse", "name", name, "response", resp), err);
}

static bool is_response(const json_t *part)
{
    return json_object_get(part, "functionResponse") != NULL;
}

static int system_parts(json_t *system, const json_t *m, size_t mi, struct ad_error *err)
{
    const json_t *c = json_object_get(m, "content");
    size_t pi;
    const json_t *part;
    json_array_foreach(c, pi, part) {
        const char *type = ad_str(part, "type");
        if (!type || strcmp(type, "text") != 0 || !json_is_string(json_object_get(part, "text")))
            return ad_fail(err, FAIL_CLIENT, "messages[%zu].content[%zu]: system messages hold text only", mi, pi);
    }
    return content_parts(system, c, mi, false, false, err);
}

static int convert_one(json_t *system, json_t *out, const json_t *messages, size_t mi, struct ad_error *err)
{
    const json_t *m = json_array_get(messages, mi);
    const char *role = ad_str(m, "role");
    if (!json_is_object(m) || !role)
        return ad_fail(err, FAIL_CLIENT, "messages[%zu] needs a role", mi);
    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
        return system_parts(system, m, mi, err);
    json_t *parts = json_array();
    if (!parts)
        return ad_oom(err);
    int rc;
    const char *to = "user";
    if (strcmp(role, "user") == 0) {
        rc = content_parts(parts, json_object_get(m, "content"), mi, true, false, err);
    } else if (strcmp(role, "assistant") == 0) {
        rc = model_parts(parts, m, mi, err);
        to = "model";
    } else if (strcmp(role, "tool") == 0) {
        rc = response_part(parts, messages, m, mi, err);
    } else {
        rc = ad_fail(err, FAIL_CLIENT, "messages[%zu]: role %.32s is not supported", mi, role);
    }
    if (rc < 0) {
        json_decref(parts);
        return rc;
    }
    return ad_msgs_push(out, to, "parts", parts, is_response, err);
}

int ad_gemini_contents(const json_t *messages, json_t **system_out, json_t **contents, struct ad_error *err)
{
    *system_out = *contents = NULL;
    if (!json_is_array(messages))
        return ad_fail(err, FAIL_CLIENT, "messages must be an array");
    json_t *system = json_array();
    json_t *out = json_array();
    if (!system || !out)
        goto oom;
    for (size_t mi = 0; mi < json_array_size(messages); mi++)
        if (convert_one(system, out, messages, mi, err) < 0)
            goto fail;
    const char *first = json_array_size(out) ? ad_str(json_array_get(out, 0), "role") : NULL;
    if (!first || strcmp(first, "user") != 0) {
        json_t *c0 = json_pack("{s:s, s:[{s:s}]}", "role", "user", "parts", "text", AD_GEMINI_FIRST_USER);
        if (json_array_insert_new(out, 0, c0) < 0)
            goto oom;
    }
    if (json_array_size(system) && !(*system_out = json_pack("{s:O}", "parts", system)))
        goto oom;
    json_decref(system);
    *contents = out;
    return 0;
oom:
    ad_oom(err);
fail:
    json_decref(system);
    json_decref(out);
    return -1;
}
