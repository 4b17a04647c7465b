/*
 * ad_bedrock_resp: a Converse answer as an OpenAI chat.completion.  Text
 * blocks join into the content, toolUse blocks become tool calls with their
 * input serialised as the arguments string; reasoning and other blocks are
 * left out (an OpenAI client has no place for them).  Converse gives no id
 * and no time: both are the gateway's.
 */
#include "ad_bedrock.h"

#include <stdlib.h>
#include <string.h>

struct answer {
    char *text;
    size_t len;
    json_t *calls;
};

static int add_text(struct answer *a, const char *s, size_t n)
{
    char *t = realloc(a->text, a->len + n + 1);
    if (!t)
        return -1;
    memcpy(t + a->len, s, n);
    a->len += n;
    t[a->len] = '\0';
    a->text = t;
    return 0;
}

static int add_block(struct answer *a, const json_t *b, size_t i, struct ad_error *err)
{
    if (!json_is_object(b))
        return ad_fail(err, FAIL_BAD_RESPONSE, "upstream content[%zu] is not an object", i);
    const json_t *t = json_object_get(b, "text");
    if (t) {
        if (!json_is_string(t))
            return ad_fail(err, FAIL_BAD_RESPONSE, "upstream content[%zu] text is not a string", i);
        return add_text(a, json_string_value(t), json_string_length(t)) < 0 ? ad_oom(err) : 0;
    }
    const json_t *tu = json_object_get(b, "toolUse");
    if (!tu)
        return 0; /* reasoningContent, citations, guard content */
    const char *id = ad_str(tu, "toolUseId");
    const char *name = ad_str(tu, "name");
    const json_t *input = json_object_get(tu, "input");
    if (!id || !name || (input && !json_is_object(input)))
        return ad_fail(err, FAIL_BAD_RESPONSE, "upstream content[%zu] is not a valid toolUse block", i);
    char *args = input ? json_dumps(input, AD_JSON_FLAGS) : strdup("{}");
    if (!args)
        return ad_oom(err);
    int rc = json_array_append_new(a->calls, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function",
                                                       "function", "name", name, "arguments", args));
    free(args);
    return rc < 0 ? ad_oom(err) : 0;
}

static json_t *completion(const json_t *doc, struct answer *a, const char *model)
{
    size_t ncalls = json_array_size(a->calls);
    json_t *content = a->len ? json_stringn(a->text, a->len) : ncalls ? json_null() : json_string("");
    json_t *m = json_pack("{s:s, s:o, s:n}", "role", "assistant", "content", content, "refusal");
    if (m && ncalls && json_object_set(m, "tool_calls", a->calls) < 0) {
        json_decref(m);
        return NULL;
    }
    char id[40];
    ad_bedrock_id(id);
    const char *finish = ad_bedrock_finish(ad_str(doc, "stopReason"), ncalls > 0);
    json_t *usage = ad_bedrock_usage(json_object_get(doc, "usage"));
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}], s:o}", "id", id, "object", "chat.completion",
                     "created", (json_int_t)ad_clock(), "model", model ? model : "unknown", "choices", "index", 0,
                     "message", m, "logprobs", "finish_reason", finish, "usage", usage);
}

json_t *ad_bedrock_parse(const char *body, size_t len, const char *model, struct ad_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    if (!doc) {
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answer is not JSON: %s", jerr.text);
        return NULL;
    }
    struct answer a = { NULL, 0, json_array() };
    json_t *out = NULL;
    const json_t *msg = json_object_get(json_object_get(doc, "output"), "message");
    const json_t *content = json_object_get(msg, "content");
    if (!json_is_object(doc)) {
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answer is not a JSON object");
    } else if (!json_is_array(content)) {
        const char *m = ad_str(doc, "message");
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answer has no output.message.content%s%.200s", m ? ": " : "",
                m ? m : "");
    } else if (!a.calls) {
        ad_oom(err);
    } else {
        size_t i;
        const json_t *b;
        int rc = 0;
        json_array_foreach(content, i, b)
            if ((rc = add_block(&a, b, i, err)) < 0)
                break;
        if (rc == 0 && !(out = completion(doc, &a, model)))
            ad_oom(err);
    }
    free(a.text);
    json_decref(a.calls);
    json_decref(doc);
    return out;
}
