/* gw_fault: forced failures standing in for the upstream (gw_fault.h). */
#include "gw_fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ad.h"
#include "bs_time.h"
#include "gw_attempt.h"
#include "gw_chat.h"
#include "gw_ovr.h"
#include "log.h"

#define PAUSED_RETRY_MS 50

struct gw_fault_run {
    struct gw_attempt *att;
    struct ovr_mode_spec spec;
    char id[32];
    struct event *ev;
    bool headed;     /* the response head went in */
    int step;        /* items of the body delivered */
};

static const char *const words[] = { "This ", "answer ", "was ", "cut ", "by ", "a ", "forced ",
                                     "failure ", "drill. " };
#define NWORDS (sizeof words / sizeof words[0])

static void schedule(struct gw_fault_run *run, long ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(run->ev, &tv);
}

/* The response head, line by line as curl hands it to the header callback. */
static void send_head(struct gw_fault_run *run, long status, const char *type)
{
    struct gw_attempt *att = run->att;
    char line[3][128];
    int n = 0;
    snprintf(line[n++], sizeof line[0], "HTTP/1.1 %ld\r\n", status);
    snprintf(line[n++], sizeof line[0], "Content-Type: %s\r\n", type);
    if (run->spec.mode == OVR_STATUS && run->spec.retry_after_s >= 0)
        snprintf(line[n++], sizeof line[0], "Retry-After: %d\r\n", run->spec.retry_after_s);
    for (int i = 0; i < n; i++)
        gw_attempt_header(att, line[i], strlen(line[i]));
    att->status = status;
    run->headed = true;
}

/* The OpenAI error object the simulated provider gives for the status. */
static json_t *error_body(const struct gw_fault_run *run)
{
    int st = run->spec.status;
    const char *type = st >= 500 ? "server_error" : "invalid_request_error", *code = NULL;
    const char *param = NULL;
    switch (st) {
    case 401: code = "invalid_api_key"; break;
    case 403: code = "unsupported_country_region_territory"; break;
    case 404: code = "model_not_found"; break;
    case 429: type = "requests"; code = "rate_limit_exceeded"; break;
    default: break;
    }
    if (run->spec.code[0]) {
        code = run->spec.code;
        if (strcmp(code, "insufficient_quota") == 0)
            type = "insufficient_quota";
        else if (strcmp(code, "context_length_exceeded") == 0)
            param = "messages";
    }
    char msg[160];
    snprintf(msg, sizeof msg, "forced failure %s (backstopctl fail): HTTP %d", run->id, st);
    return json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", msg, "type", type,
                     "param", param, "code", code);
}

/* One chat.completion.chunk (delta taken). */
static json_t *chunk(const struct gw_attempt *att, json_t *delta, const char *finish)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:o}]}", "id", "chatcmpl-backstop-fault",
                     "object", "chat.completion.chunk", "created",
                     (json_int_t)(bs_wall_ms() / 1000), "model", att->model, "choices", "index", 0,
                     "delta", delta, "finish_reason", finish ? json_string(finish) : json_null());
}

/* The n-th event of a stream the fault cuts or breaks: the role chunk, then
 * words of a text. */
static json_t *text_event(const struct gw_attempt *att, int n)
{
    if (n == 0)
        return chunk(att, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL);
    return chunk(att, json_pack("{s:s}", "content", words[(size_t)(n - 1) % NWORDS]), NULL);
}

static json_t *empty_tool_turn(const struct gw_attempt *att)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:n}, s:s}], s:{s:i, s:i, s:i}}",
                     "id", "chatcmpl-backstop-fault", "object", "chat.completion", "created",
                     (json_int_t)(bs_wall_ms() / 1000), "model", att->model, "choices", "index", 0,
                     "message", "role", "assistant", "content", "finish_reason", "tool_calls",
                     "usage", "prompt_tokens", 0, "completion_tokens", 0, "total_tokens", 0);
}

/* What comes at `step` of the body: an event or document (returned), or
 * the end of the transfer (NULL, *rc set). */
static json_t *item(struct gw_fault_run *run, int step, CURLcode *rc, bool *raw_done)
{
    struct gw_attempt *att = run->att;
    *rc = CURLE_OK;
    *raw_done = false;
    switch (run->spec.mode) {
    case OVR_STATUS:
        return step == 0 ? error_body(run) : NULL;
    case OVR_STREAM_CUT:
        if (step < run->spec.after)
            return text_event(att, step);
        *rc = CURLE_PARTIAL_FILE;   /* closed without the chunked terminator */
        return NULL;
    case OVR_STREAM_ERROR:
        if (step < run->spec.after)
            return text_event(att, step);
        if (step == run->spec.after)
            return json_pack("{s:{s:s, s:s, s:s}}", "error", "message",
                             "forced stream error (backstopctl fail)", "type", "server_error",
                             "code", "stream_error");
        return NULL;
    case OVR_EMPTY_TOOL_TURN:
        if (!att->chat->stream)
            return step == 0 ? empty_tool_turn(att) : NULL;
        if (step == 0)
            return chunk(att, json_pack("{s:s, s:n}", "role", "assistant", "content"), NULL);
        if (step == 1)
            return chunk(att, json_object(), "tool_calls");
        *raw_done = step == 2;
        return NULL;
    default:
        return NULL;
    }
}

/* Feeds bytes to the body handler; false when the attempt stopped them. */
static bool feed(struct gw_fault_run *run, const char *p, size_t len, bool *paused)
{
    run->att->paused = false;   /* a retried item: the client made room, or pauses it again */
    size_t got = gw_attempt_body(run->att, p, len);
    *paused = got == CURL_WRITEFUNC_PAUSE;
    return got == len;
}

static void step_body(struct gw_fault_run *run)
{
    struct gw_attempt *att = run->att;
    bool sse = att->chat->stream && run->spec.mode != OVR_STATUS;
    if (!run->headed) {
        if (run->spec.mode == OVR_STATUS)
            send_head(run, run->spec.status, "application/json");
        else
            send_head(run, 200, sse ? "text/event-stream" : "application/json");
    }
    CURLcode rc;
    bool raw_done, paused = false;
    json_t *doc = item(run, run->step, &rc, &raw_done);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (doc && !text) {
        gw_attempt_ended(att, CURLE_OUT_OF_MEMORY, true);
        return;
    }
    if (!text && !raw_done) {
        gw_attempt_ended(att, rc, true);
        return;
    }
    char *event = NULL;
    int n = sse ? asprintf(&event, "data: %s\n\n", text ? text : "[DONE]") : -1;
    bool ok = sse ? n >= 0 && feed(run, event, (size_t)n, &paused)
                  : feed(run, text, strlen(text), &paused);
    free(event);
    free(text);
    if (paused) {
        /* A slow client: the same item again later, as curl would. */
        schedule(run, PAUSED_RETRY_MS);
        return;
    }
    if (!ok) {
        if (!att->lost)   /* a lost racer is cancelled from its own timer */
            gw_attempt_ended(att, CURLE_WRITE_ERROR, true);
        return;
    }
    run->step++;
    schedule(run, 0);
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_fault_run *run = arg;
    struct gw_attempt *att = run->att;
    if (att->lost)
        return;
    switch (run->spec.mode) {
    case OVR_LATENCY:
        /* The delay is over: the real upstream now. */
        att->synthetic = false;
        if (gw_up_start(att->chat->gw->up, &att->xfer) < 0)
            gw_attempt_ended(att, CURLE_OUT_OF_MEMORY, false);
        else
            att->running = true;
        return;
    case OVR_TIMEOUT:
        gw_attempt_ended(att, CURLE_OPERATION_TIMEDOUT, false);
        return;
    case OVR_RESET:
        /* Reset before any byte of an answer, after the connection was made. */
        gw_attempt_ended(att, CURLE_RECV_ERROR, true);
        return;
    default:
        step_body(run);
        return;
    }
}

static bool offers_tools(const json_t *body)
{
    const json_t *choice = json_object_get(body, "tool_choice");
    return json_array_size(json_object_get(body, "tools")) > 0 &&
           !(json_is_string(choice) && strcmp(json_string_value(choice), "none") == 0);
}

/* The request path only scans the body: the document is parsed here only
 * when a fault that needs to know about tools is in force. */
static bool tools_matter(const struct gw_ovr *o)
{
    for (size_t i = 0; i < o->nfaults; i++)
        if (o->faults[i].spec.mode == OVR_EMPTY_TOOL_TURN)
            return true;
    return false;
}

int gw_fault_begin(struct gw_attempt *att)
{
    struct gw_chat *chat = att->chat;
    struct gw_ovr *o = chat->cat->ovr;
    if (!o || o->nfaults == 0)
        return 0;
    struct gw_fault_query q = {
        .provider = att->prov->cfg->name, .target_key = att->key, .chain = chat->chain->name,
        .key_fpr = att->prov->key_fpr, .stream = chat->stream,
        .tools = tools_matter(o) && offers_tools(gw_chat_body(chat)), .now_ms = bs_wall_ms(),
    };
    const struct gw_fault_rule *rule = gw_ovr_fault(o, &q);
    if (!rule)
        return 0;
    struct gw_fault_run *run = calloc(1, sizeof *run);
    if (!run || !(run->ev = evtimer_new(chat->gw->base, on_step, run))) {
        free(run);
        return -1;
    }
    run->att = att;
    run->spec = rule->spec;
    snprintf(run->id, sizeof run->id, "%s", rule->id);
    att->fault = run;
    att->synthetic = true;
    /* The made-up answer is in OpenAI's wire format whatever the target's
     * is: a translated attempt reads it with the OpenAI adapter, so a drill
     * on an Anthropic or Bedrock target fails the same way as on an OpenAI
     * one.  Latency calls the real upstream, in its own format. */
    if (att->ad && run->spec.mode != OVR_LATENCY)
        att->ad = &ad_openai_ops;
    log_info("request %s: forced failure %s (%s) on %s", chat->request_id, rule->id,
             ovr_mode_name(rule->spec.mode), att->key);
    switch (run->spec.mode) {
    case OVR_HANG:
        break;   /* the attempt's first-token timer ends it, as for a silent upstream */
    case OVR_LATENCY:
        schedule(run, run->spec.latency_ms);
        break;
    case OVR_TIMEOUT:
        schedule(run, chat->cat->cfg->timeouts.connect_ms);
        break;
    default:
        schedule(run, 0);
        break;
    }
    return 1;
}

void gw_fault_stop(struct gw_fault_run *run)
{
    if (run)
        evtimer_del(run->ev);
}

void gw_fault_free(struct gw_fault_run *run)
{
    if (!run)
        return;
    event_free(run->ev);
    free(run);
}
