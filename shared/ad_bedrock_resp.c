/*
 * ad_bedrock_resp: a Converse answer as an OpenAI chat.completion.  Text
 * blocks join into the content, toolUse blocks become tool calls;
 * reasoning and other blocks are left out (an OpenAI client has no place
 * for them).  Converse gives no id and no time: both are the gateway's.
 */
#include "ad_bedrock.h"

#include <string.h>

static int add_block(struct ad_answer *a, const json_t *b, size_t i, struct ad_error *err)
{
    if (!json_is_object(b))
        return ad_fail(err, FAIL_BAD_RESPONSE, "upstream content[%zu] is not an object", i);
    const json_t *t = json_object_get(b, "text");
    if (t) {
        if (!json_is_string(t))
            return ad_fail(err, FAIL_BAD_RESPONSE, "upstream content[%zu] text is not a string", i);
        return ad_answer_text(a, json_string_value(t), json_string_length(t)) < 0 ? ad_oom(err) : 0;
    }
    const json_t *tu = json_object_get(b, "toolUse");
    if (!tu)
        return 0; /* reasoningContent, citations, guard content */
    const char *id = ad_str(tu, "toolUseId");
    const char *name = ad_str(tu, "name");
    const json_t *input = json_object_get(tu, "input");
    if (!id || !name || (input && !json_is_object(input)))
        return ad_fail(err, FAIL_BAD_RESPONSE, "upstream content[%zu] is not a valid toolUse block", i);
    return ad_answer_call(a, id, name, input) < 0 ? ad_oom(err) : 0;
}

json_t *ad_bedrock_parse(const char *body, size_t len, const char *model, struct ad_error *err)
{
    json_t *doc = ad_answer_load(body, len, err);
    if (!doc)
        return NULL;
    struct ad_answer a;
    int arc = ad_answer_init(&a);
    json_t *out = NULL;
    const json_t *content = json_object_get(json_object_get(json_object_get(doc, "output"), "message"), "content");
    if (!json_is_array(content)) {
        const char *m = ad_str(doc, "message");
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answer has no output.message.content%s%.200s", m ? ": " : "",
                m ? m : "");
    } else if (arc < 0) {
        ad_oom(err);
    } else {
        size_t i;
        const json_t *b;
        int rc = 0;
        json_array_foreach(content, i, b)
            if ((rc = add_block(&a, b, i, err)) < 0)
                break;
        char id[40];
        ad_bedrock_id(id);
        const char *finish = ad_bedrock_finish(ad_str(doc, "stopReason"), json_array_size(a.calls) > 0);
        if (rc == 0 &&
            !(out = ad_answer_completion(&a, id, model, finish, ad_bedrock_usage(json_object_get(doc, "usage")))))
            ad_oom(err);
    }
    ad_answer_free(&a);
    json_decref(doc);
    return out;
}
