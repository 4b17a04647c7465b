/*
 * ad_gemini_resp: a GenerateContentResponse as an OpenAI chat.completion,
 * and the mappings the stream decoder shares (finish reasons, usage, tool
 * calls).  Thought parts are left out: an OpenAI client has no place for
 * them.  Each candidate is one choice.
 */
#include "ad_gemini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ad_gemini_finish(const char *reason, bool tool_calls)
{
    /* Gemini says STOP when it made calls, and names none at all on the
     * chunks before the last. */
    if (!reason || strcmp(reason, "STOP") == 0 || strcmp(reason, "FINISH_REASON_UNSPECIFIED") == 0)
        return tool_calls ? "tool_calls" : "stop";
    if (strcmp(reason, "MAX_TOKENS") == 0)
        return "length";
    static const char *const filtered[] = { "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII" };
    for (size_t i = 0; i < sizeof filtered / sizeof filtered[0]; i++)
        if (strcmp(reason, filtered[i]) == 0)
            return "content_filter";
    if (strncmp(reason, "IMAGE_", 6) == 0)
        return "content_filter";
    /* MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS,
     * LANGUAGE, OTHER and what comes later: the model stopped, and what it
     * gave is all there is. */
    return tool_calls ? "tool_calls" : "stop";
}

json_t *ad_gemini_usage(const json_t *m)
{
    /* promptTokenCount includes the cached tokens; thoughts are output
     * the client pays for but candidatesTokenCount leaves out. */
    json_int_t prompt = ad_uint(m, "promptTokenCount", 0) + ad_uint(m, "toolUsePromptTokenCount", 0);
    json_int_t cached = ad_uint(m, "cachedContentTokenCount", 0);
    json_int_t thoughts = ad_uint(m, "thoughtsTokenCount", 0);
    if (cached > prompt)
        cached = prompt;
    json_t *u = ad_openai_usage(prompt - cached, cached, 0, ad_uint(m, "candidatesTokenCount", 0) + thoughts);
    if (u && thoughts &&
        json_object_set_new(u, "completion_tokens_details", json_pack("{s:I}", "reasoning_tokens", thoughts)) < 0) {
        json_decref(u);
        return NULL;
    }
    return u;
}

json_t *ad_gemini_tool_call(const json_t *part, const char *idbase, size_t n)
{
    const json_t *fc = json_object_get(part, "functionCall");
    const char *name = ad_str(fc, "name");
    const json_t *args = json_object_get(fc, "args");
    if (!name || (args && !json_is_object(args)))
        return NULL;
    const char *sig = ad_str(part, "thoughtSignature");
    const char *given = ad_str(fc, "id");
    char *id = NULL;
    int rc = given && *given ? asprintf(&id, "%s%s%s", given, sig ? AD_GEMINI_SIG_MARK : "", sig ? sig : "")
                             : asprintf(&id, "call_%s_%zu%s%s", idbase, n, sig ? AD_GEMINI_SIG_MARK : "", sig ? sig : "");
    if (rc < 0)
        id = NULL; /* asprintf leaves it undefined */
    char *text = args ? json_dumps(args, AD_JSON_FLAGS) : strdup("{}");
    json_t *call = rc >= 0 && text ? json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function", "function",
                                              "name", name, "arguments", text)
                                   : NULL;
    free(id);
    free(text);
    return call;
}

/* One candidate as a choice; NULL with err set when it is unusable. */
static json_t *choice(const json_t *cand, size_t ci, const char *idbase, size_t *ncalls, struct ad_error *err)
{
    const json_t *parts = json_object_get(json_object_get(cand, "content"), "parts");
    if (parts && !json_is_array(parts)) {
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream candidates[%zu].content.parts is not an array", ci);
        return NULL;
    }
    json_t *calls = json_array();
    char *text = strdup("");
    size_t i;
    const json_t *p;
    json_array_foreach(parts, i, p) {
        const json_t *t = json_object_get(p, "text");
        if (json_object_get(p, "functionCall")) {
            json_t *call = ad_gemini_tool_call(p, idbase, (*ncalls)++);
            if (!call) {
                ad_fail(err, FAIL_BAD_RESPONSE, "upstream candidates[%zu] part %zu is not a valid functionCall", ci, i);
                goto fail;
            }
            if (json_array_append_new(calls, call) < 0)
                goto oom;
        } else if (json_is_string(t) && !json_is_true(json_object_get(p, "thought"))) {
            char *next = NULL;
            if (!text || asprintf(&next, "%s%s", text, json_string_value(t)) < 0)
                goto oom;
            free(text);
            text = next;
        }
    }
    if (!calls || !text)
        goto oom;
    size_t nc = json_array_size(calls);
    json_t *m = json_pack("{s:s, s:o, s:n}", "role", "assistant", "content",
                          *text || !nc ? json_string(text) : json_null(), "refusal");
    if (m && nc && json_object_set(m, "tool_calls", calls) < 0) {
        json_decref(m);
        m = NULL;
    }
    const json_t *idx = json_object_get(cand, "index");
    json_t *c = m ? json_pack("{s:I, s:o, s:n, s:s}", "index", json_is_integer(idx) ? json_integer_value(idx) : (json_int_t)ci,
                              "message", m, "logprobs", "finish_reason",
                              ad_gemini_finish(ad_str(cand, "finishReason"), nc > 0))
                  : NULL;
    free(text);
    json_decref(calls);
    if (!c)
        ad_oom(err);
    return c;
oom:
    ad_oom(err);
fail:
    free(text);
    json_decref(calls);
    return NULL;
}

/* The choices of an answer; a blocked prompt is one filtered, empty choice. */
static json_t *choices(const json_t *doc, const char *idbase, struct ad_error *err)
{
    const json_t *cands = json_object_get(doc, "candidates");
    if (!json_is_array(cands) || json_array_size(cands) == 0) {
        if (!ad_str(json_object_get(doc, "promptFeedback"), "blockReason")) {
            ad_fail(err, FAIL_BAD_RESPONSE, "upstream answer has no candidates");
            return NULL;
        }
        json_t *c = json_pack("[{s:i, s:{s:s, s:s, s:n}, s:n, s:s}]", "index", 0, "message", "role", "assistant",
                              "content", "", "refusal", "logprobs", "finish_reason", "content_filter");
        if (!c)
            ad_oom(err);
        return c;
    }
    json_t *out = json_array();
    if (!out) {
        ad_oom(err);
        return NULL;
    }
    size_t ncalls = 0;
    size_t i;
    const json_t *cand;
    json_array_foreach(cands, i, cand) {
        json_t *c = choice(cand, i, idbase, &ncalls, err);
        if (!c || json_array_append_new(out, c) < 0) {
            if (c)
                ad_oom(err);
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

json_t *ad_gemini_parse(const char *body, size_t len, const char *model, struct ad_error *err)
{
    json_t *doc = ad_answer_load(body, len, err);
    if (!doc)
        return NULL;
    json_t *out = NULL;
    const json_t *e = json_object_get(doc, "error");
    if (e) {
        const char *m = ad_str(e, "message");
        ad_fail(err, FAIL_BAD_RESPONSE, "upstream answered 2xx with an error: %s", m ? m : "?");
    } else {
        json_int_t created = (json_int_t)ad_clock();
        const char *rid = ad_str(doc, "responseId");
        char base[32];
        snprintf(base, sizeof base, "%lld", (long long)created);
        json_t *ch = choices(doc, rid ? rid : base, err);
        if (!model)
            model = ad_str(doc, "modelVersion");
        char id[64];
        snprintf(id, sizeof id, "gemini-%lld", (long long)created);
        if (ch && !(out = json_pack("{s:s, s:s, s:I, s:s, s:o, s:o}", "id", rid ? rid : id, "object", "chat.completion",
                                    "created", created, "model", model ? model : "unknown", "choices", ch, "usage",
                                    ad_gemini_usage(json_object_get(doc, "usageMetadata")))))
            ad_oom(err);
    }
    json_decref(doc);
    return out;
}
