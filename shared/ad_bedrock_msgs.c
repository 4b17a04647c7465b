/*
 * ad_bedrock_msgs: an OpenAI conversation as Converse wants it: the rules
 * are ad_msgs.c's, the blocks Converse's (one-member unions).  Images must
 * be data URLs: Converse takes bytes or S3, not web URLs, and the gateway
 * does not fetch on a client's behalf.  A tool result must hold content,
 * so an empty one says so in words.
 */
#include "ad_bedrock.h"
#include "ad_params.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY_RESULT "(empty result)"

static const char *const formats[] = { "jpeg", "png", "gif", "webp" };

static json_t *text(const char *t)
{
    return json_pack("{s:s}", "text", t);
}

static int image(json_t *blocks, const char *url, size_t mi, size_t pi, struct ad_error *err)
{
    if (strncmp(url, "data:", 5) != 0)
        return ad_fail(err, FAIL_CLIENT, "messages[%zu].content[%zu]: Bedrock takes images as base64 data URLs only",
                       mi, pi);
    char *mime;
    const char *data;
    if (ad_image_data(url, mi, pi, &mime, &data, err) < 0)
        return -1;
    const char *format = NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strncmp(mime, "image/", 6) == 0 && strcmp(mime + 6, formats[i]) == 0)
            format = formats[i];
    if (!format) {
        ad_fail(err, FAIL_CLIENT, "messages[%zu].content[%zu]: image type %.40s is not supported by Bedrock", mi, pi,
                mime);
        free(mime);
        return -1;
    }
    free(mime);
    json_t *b = json_pack("{s:{s:s, s:{s:s}}}", "image", "format", format, "source", "bytes", data);
    return json_array_append_new(blocks, b) < 0 ? ad_oom(err) : 0;
}

static json_t *tool_use(const char *id, const char *name, json_t *input)
{
    return json_pack("{s:{s:s, s:s, s:o}}", "toolUse", "toolUseId", id, "name", name, "input", input);
}

static json_t *tool_result(const char *id, json_t *content)
{
    if (json_array_size(content) == 0 && json_array_append_new(content, text(EMPTY_RESULT)) < 0) {
        json_decref(content);
        return NULL;
    }
    return json_pack("{s:{s:s, s:o, s:s}}", "toolResult", "toolUseId", id, "content", content, "status", "success");
}

static bool is_tool_result(const json_t *block)
{
    return json_object_get(block, "toolResult") != NULL;
}

static const struct ad_msgs_style style = {
    .provider = "Bedrock",
    .text = text,
    .image = image,
    .tool_use = tool_use,
    .tool_result = tool_result,
    .is_tool_result = is_tool_result,
};

int ad_bedrock_messages(const json_t *messages, struct ad_msgs *out, struct ad_error *err)
{
    return ad_msgs_convert(&style, messages, out, err);
}
