/*
 * ad_common: what the adapters share and the gateway does not need to see:
 * error and request helpers, OpenAI-shaped builders, and the stream core
 * every decoder runs on.  Only shared/ad_*.c and their tests include it.
 */
#ifndef BS_AD_COMMON_H
#define BS_AD_COMMON_H

#include <stdarg.h>
#include <time.h>

#include "ad.h"
#include "sse.h"

/* How adapters serialise JSON.  16 significant digits print a client's
 * 0.2 as 0.2 (17 would give 0.20000000000000001) and differ from the exact
 * double by at most an ulp or so, which no sampling parameter or tool
 * argument can notice. */
#define AD_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(16))

/* ---- errors ---- */

/* Fills err (which may be NULL) and returns -1, so error paths read
 * `return ad_fail(err, FAIL_CLIENT, "...")`. */
int ad_fail(struct ad_error *err, enum fail_class fail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ad_oom(struct ad_error *err);

/* The upstream's error message, or when it gave none one that names its
 * HTTP status, written into fallback (so the client always reads why). */
#define AD_FALLBACK_MSG_LEN 64
const char *ad_error_message(const char *msg, long status, char fallback[AD_FALLBACK_MSG_LEN]);

/* ---- requests ---- */

/* Appends "name: value" to a NULL-terminated header array.  -1 when memory
 * ran out or the value holds a CR/LF (a header injection, not a header). */
int ad_header_add(char ***headers, const char *name, const char *value);
/* base_url (trailing slashes ignored) + path; malloc'd. */
char *ad_url_join(const char *base, const char *path);
/* out->body from doc (compact); -1 with err set when memory ran out. */
int ad_request_body(struct ad_request *out, const json_t *doc, struct ad_error *err);

/* ---- JSON ---- */

/* The integer value of key when it is a JSON integer >= 0, else dflt. */
json_int_t ad_uint(const json_t *obj, const char *key, json_int_t dflt);
/* The string value of key, or NULL when absent or not a string. */
const char *ad_str(const json_t *obj, const char *key);
/* Sets key to a new value only when value is non-NULL; 0 or -1. */
int ad_set_new(json_t *obj, const char *key, json_t *value);
/* Whether s holds something besides white space. */
bool ad_has_text(const char *s);
/* "data:<mime>;base64,<payload>": *mime (malloc'd) and *payload (inside
 * url).  -1 when url is not a base64 data URL, -2 when memory ran out. */
int ad_data_url(const char *url, char **mime, const char **payload);

/* ---- conversations (ad_msgs.c) ---- */

/* How a block-structured provider spells the parts of a conversation.
 * Builders return a new block (NULL when memory ran out) and take over
 * what they are given. */
struct ad_msgs_style {
    const char *provider;                    /* for messages: "Anthropic" */
    json_t *(*text)(const char *text);
    /* An image_url part's URL (messages[mi].content[pi]) appended to
     * blocks; -1 with err when the provider cannot take it. */
    int (*image)(json_t *blocks, const char *url, size_t mi, size_t pi, struct ad_error *err);
    json_t *(*tool_use)(const char *id, const char *name, json_t *input);
    /* content: the result's blocks (text and images), possibly none. */
    json_t *(*tool_result)(const char *id, json_t *content);
    bool (*is_tool_result)(const json_t *block);
};

/* A converted conversation; all members new. */
struct ad_msgs {
    json_t *system;          /* text blocks (maybe none) */
    json_t *messages;        /* [{"role","content":[blocks]}], user first, alternating */
    json_t *tool_names;      /* names of the tools the history calls */
};

int ad_msgs_convert(const struct ad_msgs_style *st, const json_t *messages, struct ad_msgs *out,
                    struct ad_error *err);
void ad_msgs_free(struct ad_msgs *m);
/* Adds a turn's items (stolen: content blocks under key "content", or
 * Gemini's parts under "parts") to out, merged into the previous turn when
 * it has the same role; the items is_result picks (tool results) go ahead
 * of the merged turn's other items, since they answer the turn before. */
int ad_msgs_push(json_t *out, const char *role, const char *key, json_t *items, bool (*is_result)(const json_t *),
                 struct ad_error *err);
/* A tool id both providers accept ([A-Za-z0-9_-]+): the id itself when it
 * already is one, else with the other characters replaced.  malloc'd. */
char *ad_tool_id(const char *id);

/* ---- OpenAI shapes ---- */

/* The gateway's clock for "created"; tests pin it. */
extern time_t (*ad_clock)(void);

/* {"error":{"message","type","param":null,"code"}}; code may be NULL. */
json_t *ad_openai_error(const char *message, const char *type, const char *code);
/* An OpenAI error body for a failure class, for answers that carry none. */
json_t *ad_openai_error_for(enum fail_class c, const char *message);
/* OpenAI usage from token counts.  Prompt tokens include cached ones. */
json_t *ad_openai_usage(json_int_t input, json_int_t cache_read, json_int_t cache_write,
                        json_int_t output);
/* A chat.completion.chunk with one choice (delta stolen; NULL = {}), or
 * with no choice when delta is NULL and usage is set (usage stolen).
 * usage_null: include_usage is on, so ordinary chunks carry "usage":null. */
json_t *ad_openai_chunk(const char *id, json_int_t created, const char *model, json_t *delta,
                        const char *finish_reason, bool usage_null, json_t *usage);

/* ---- whole answers (ad_answer.c) ---- */

struct ad_answer {
    char *text;              /* the text pieces joined (malloc'd), or NULL */
    size_t len;
    json_t *calls;           /* OpenAI tool calls */
};
/* 0, or -1 when memory ran out (each of them). */
/* An upstream's answer body as a JSON object (new), or NULL with a
 * bad_response that says what it is instead. */
json_t *ad_answer_load(const char *body, size_t len, struct ad_error *err);
int ad_answer_init(struct ad_answer *a);
void ad_answer_free(struct ad_answer *a);
int ad_answer_text(struct ad_answer *a, const char *s, size_t n);
/* A tool call; input NULL counts as {}. */
int ad_answer_call(struct ad_answer *a, const char *id, const char *name, const json_t *input);
/* The chat.completion (usage stolen); content null when there is only
 * tool calls, "" when there is nothing.  NULL when memory ran out. */
json_t *ad_answer_completion(const struct ad_answer *a, const char *id, const char *model, const char *finish,
                             json_t *usage);

/* ---- stream core ---- */

/* The state every decoder shares; the adapter keeps its own in impl. */
struct ad_stream {
    struct sse_parser sse;
    char *model;                  /* the client's name for the model, or NULL */
    bool include_usage;
    bool content;                 /* ad_stream_has_content */
    bool over;                    /* ended: `result` is returned from now on */
    int result;
    ad_emit_fn emit;              /* valid during stream_feed only */
    void *arg;
    void *impl;
    void (*impl_free)(void *impl);
};

/* A stream with impl attached (impl is freed by impl_free on any path). */
struct ad_stream *ad_stream_new(const char *model, bool include_usage, void *impl,
                                void (*impl_free)(void *impl));
void ad_stream_free(struct ad_stream *s);
/* Runs buf through the SSE parser, calling on_event (arg = s) per event;
 * turns parser failures into an emitted error.  Returns what stream_feed
 * returns (see ad.h). */
int ad_stream_run(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit, void *arg,
                  sse_event_fn on_event);
/* Emits chunk (stolen).  content: it carries content or a tool call.
 * Returns 0 or non-zero to stop (the stream is then over). */
int ad_stream_chunk(struct ad_stream *s, json_t *chunk, bool content);
/* Emits raw chunk text as is. */
int ad_stream_chunk_text(struct ad_stream *s, const char *text, size_t len, bool content);
int ad_stream_done(struct ad_stream *s);
/* Emits the error (body stolen, NULL = built from class and message) and
 * ends the stream with -1 (or the callback's own value). */
int ad_stream_fail(struct ad_stream *s, enum fail_class c, json_t *body, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
