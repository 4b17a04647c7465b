/*
 * ad_answer: a provider's whole answer gathered into an OpenAI
 * chat.completion: text pieces joined, tool calls with their input
 * serialised as the arguments string.
 */
#include "ad_common.h"

#include <stdlib.h>
#include <string.h>

json_t *ad_answer_load(const char *body, size_t len, struct ad_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    if (!doc) {
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answer is not JSON: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answer is not a JSON object");
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int ad_answer_init(struct ad_answer *a)
{
    memset(a, 0, sizeof *a);
    a->calls = json_array();
    return a->calls ? 0 : -1;
}

void ad_answer_free(struct ad_answer *a)
{
    free(a->text);
    json_decref(a->calls);
    memset(a, 0, sizeof *a);
}

int ad_answer_text(struct ad_answer *a, const char *s, size_t n)
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

int ad_answer_call(struct ad_answer *a, const char *id, const char *name, const json_t *input)
{
    char *args = input ? json_dumps(input, AD_JSON_FLAGS) : strdup("{}");
    if (!args)
        return -1;
    int rc = json_array_append_new(a->calls, json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function",
                                                       "function", "name", name, "arguments", args));
    free(args);
    return rc;
}

json_t *ad_answer_completion(const struct ad_answer *a, const char *id, const char *model, const char *finish,
                             json_t *usage)
{
    size_t ncalls = json_array_size(a->calls);
    json_t *content = a->len ? json_stringn(a->text, a->len) : ncalls ? json_null() : json_string("");
    json_t *m = json_pack("{s:s, s:o, s:n}", "role", "assistant", "content", content, "refusal");
    if (m && ncalls && json_object_set(m, "tool_calls", a->calls) < 0) {
        json_decref(m);
        m = NULL;
    }
    if (!m) {
        json_decref(usage);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}], s:o}", "id", id, "object", "chat.completion",
                     "created", (json_int_t)ad_clock(), "model", model ? model : "unknown", "choices", "index", 0,
                     "message", m, "logprobs", "finish_reason", finish, "usage", usage);
}
