/*
 * ad_anthropic_msgs: an OpenAI conversation as Anthropic wants it: the
 * rules are ad_msgs.c's, the blocks Anthropic's ({"type":...}); a single
 * text block is said as a plain string, as Anthropic documents it.
 */
#include "ad_anthropic.h"
#include "ad_params.h"

#include <stdlib.h>
#include <string.h>

static const char *const image_types[] = { "image/jpeg", "image/png", "image/gif", "image/webp" };

static json_t *text(const char *t)
{
    return json_pack("{s:s, s:s}", "type", "text", "text", t);
}

static int image(json_t *blocks, const char *url, size_t mi, size_t pi, struct ad_error *err)
{
    json_t *b = NULL;
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        b = json_pack("{s:s, s:{s:s, s:s}}", "type", "image", "source", "type", "url", "url", url);
        return json_array_append_new(blocks, b) < 0 ? ad_oom(err) : 0;
    }
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
    b = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "image", "source", "type", "base64", "media_type", mime,
                  "data", data);
    free(mime);
    return json_array_append_new(blocks, b) < 0 ? ad_oom(err) : 0;
}

static json_t *tool_use(const char *id, const char *name, json_t *input)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", id, "name", name, "input", input);
}

static json_t *tool_result(const char *id, json_t *content)
{
    json_t *b = json_pack("{s:s, s:s}", "type", "tool_result", "tool_use_id", id);
    /* An empty result is still an answer to the call: the block stays,
     * without content.  One text block is said as a plain string. */
    const json_t *only = json_array_size(content) == 1 ? json_array_get(content, 0) : NULL;
    const json_t *value = only && strcmp(ad_str(only, "type"), "text") == 0 ? json_object_get(only, "text") : content;
    if (b && json_array_size(content) && json_object_set(b, "content", (json_t *)value) < 0) {
        json_decref(b);
        b = NULL;
    }
    json_decref(content);
    return b;
}

static bool is_tool_result(const json_t *block)
{
    const char *t = ad_str(block, "type");
    return t && strcmp(t, "tool_result") == 0;
}

static const struct ad_msgs_style style = {
    .provider = "Anthropic",
    .text = text,
    .image = image,
    .tool_use = tool_use,
    .tool_result = tool_result,
    .is_tool_result = is_tool_result,
};

/* One text block says the same as a plain string. */
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
    struct ad_msgs c;
    if (ad_msgs_convert(&style, messages, &c, err) < 0)
        return -1;
    size_t mi;
    json_t *m;
    json_array_foreach(c.messages, mi, m)
        if (collapse(m, "content") < 0)
            goto oom;
    if (json_array_size(c.system)) {
        json_t *holder = json_pack("{s:O}", "system", c.system);
        if (!holder || collapse(holder, "system") < 0) {
            json_decref(holder);
            goto oom;
        }
        *system_out = json_incref(json_object_get(holder, "system"));
        json_decref(holder);
    }
    *out_msgs = json_incref(c.messages);
    ad_msgs_free(&c);
    return 0;
oom:
    ad_msgs_free(&c);
    return ad_oom(err);
}
