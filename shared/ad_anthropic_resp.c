/*
 * ad_anthropic_resp: an Anthropic message as an OpenAI chat.completion.
 * Text blocks join into the content, tool_use blocks become tool calls
 * with their input serialised as the arguments string, thinking and
 * server-tool blocks are left out (an OpenAI client has no place for
 * them).  The forced JSON tool's input is the answer's text.
 */
#include "ad_anthropic.h"

#include <stdlib.h>
#include <string.h>

static int add_block(struct ad_answer *a, const json_t *b, size_t i, struct ad_error *err)
{
    const char *type = ad_str(b, "type");
    if (!type)
        return ad_fail(err, FAIL_BAD_RESPONSE, "upstream content[%zu] has no type", i);
    if (strcmp(type, "text") == 0) {
        const json_t *t = json_object_get(b, "text");
        if (!json_is_string(t))
            return ad_fail(err, FAIL_BAD_RESPONSE, "upstream content[%zu] text is not a string", i);
        return ad_answer_text(a, json_string_value(t), json_string_length(t)) < 0 ? ad_oom(err) : 0;
    }
    if (strcmp(type, "tool_use") != 0)
        return 0;
    const char *id = ad_str(b, "id");
    const char *name = ad_str(b, "name");
    const json_t *input = json_object_get(b, "input");
    if (!id || !name || (input && !json_is_object(input)))
        return ad_fail(err, FAIL_BAD_RESPONSE, "upstream content[%zu] is not a valid tool_use block", i);
    if (strcmp(name, AD_ANTHROPIC_JSON_TOOL) != 0)
        return ad_answer_call(a, id, name, input) < 0 ? ad_oom(err) : 0;
    char *args = input ? json_dumps(input, AD_JSON_FLAGS) : strdup("{}");
    int rc = args ? ad_answer_text(a, args, strlen(args)) : -1;
    free(args);
    return rc < 0 ? ad_oom(err) : 0;
}

static json_t *completion(const json_t *msg, const struct ad_answer *a, const char *model)
{
    const char *id = ad_str(msg, "id");
    const char *finish = ad_anthropic_finish(ad_str(msg, "stop_reason"), json_array_size(a->calls) > 0);
    if (!model)
        model = ad_str(msg, "model");
    return ad_answer_completion(a, id ? id : "msg_unknown", model, finish,
                                ad_anthropic_usage(json_object_get(msg, "usage")));
}

json_t *ad_anthropic_parse(const char *body, size_t len, const char *model, struct ad_error *err)
{
    json_t *msg = ad_answer_load(body, len, err);
    if (!msg)
        return NULL;
    struct ad_answer a;
    int arc = ad_answer_init(&a);
    json_t *out = NULL;
    const char *type = ad_str(msg, "type");
    const json_t *content = json_object_get(msg, "content");
    if (type && strcmp(type, "error") == 0) {
        const char *m = ad_str(json_object_get(msg, "error"), "message");
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answered 2xx with an error: %s", m ? m : "?");
    } else if (!json_is_array(content)) {
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answer has no content array");
    } else if (arc < 0) {
        ad_oom(err);
    } else {
        size_t i;
        const json_t *b;
        int rc = 0;
        json_array_foreach(content, i, b)
            if ((rc = add_block(&a, b, i, err)) < 0)
                break;
        if (rc == 0 && !(out = completion(msg, &a, model)))
            ad_oom(err);
    }
    ad_answer_free(&a);
    json_decref(msg);
    return out;
}
