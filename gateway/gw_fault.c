/* gw_fault: forced failures as an upstream backend (gw_fault.h). */
#include "gw_fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "gw_ovr.h"
#include "gw_upstream.h"
#include "log.h"

struct gw_fault_run {
    struct gw_up *up;
    struct gw_xfer *x;
    struct ovr_mode_spec spec;
    char id[32];
    struct event *ev;
    bool headed;     /* the response head went in */
    bool real;       /* a latency fault started the real transfer: it steps aside */
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

/* Ends the transfer.  x may be freed by done(): nothing touches run after. */
static void end(struct gw_fault_run *run, enum xfer_rc rc, bool connected)
{
    struct gw_xfer *x = run->x;
    x->connected = connected;
    x->why = xfer_rc_text(rc);
    x->done(x, rc);
}

/* The response head, line by line as a client hands it to the header
 * callback; false when the owner refused it. */
static bool send_head(struct gw_fault_run *run, long status, const char *type)
{
    struct gw_xfer *x = run->x;
    char line[4][128];
    int n = 0;
    snprintf(line[n++], sizeof line[0], "HTTP/1.1 %ld\r\n", status);
    snprintf(line[n++], sizeof line[0], "Content-Type: %s\r\n", type);
    if (run->spec.mode == OVR_STATUS && run->spec.retry_after_s >= 0)
        snprintf(line[n++], sizeof line[0], "Retry-After: %d\r\n", run->spec.retry_after_s);
    snprintf(line[n++], sizeof line[0], "\r\n");
    x->status = status;
    x->openai_wire = true;
    run->headed = true;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(line[i]);
        if (x->on_header(x->arg, line[i], len) != len)
            return false;
    }
    return true;
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
static json_t *chunk(const char *model, json_t *delta, const char *finish)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:o}]}", "id", "chatcmpl-backstop-fault",
                     "object", "chat.completion.chunk", "created",
                     (json_int_t)(bs_wall_ms() / 1000), "model", model, "choices", "index", 0,
                     "delta", delta, "finish_reason", finish ? json_string(finish) : json_null());
}

/* The n-th event of a stream the fault cuts or breaks: the role chunk, then
 * words of a text. */
static json_t *text_event(const char *model, int n)
{
    if (n == 0)
        return chunk(model, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL);
    return chunk(model, json_pack("{s:s}", "content", words[(size_t)(n - 1) % NWORDS]), NULL);
}

static json_t *empty_tool_turn(const char *model)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:n}, s:s}], s:{s:i, s:i, s:i}}",
                     "id", "chatcmpl-backstop-fault", "object", "chat.completion", "created",
                     (json_int_t)(bs_wall_ms() / 1000), "model", model, "choices", "index", 0,
                     "message", "role", "assistant", "content", "finish_reason", "tool_calls",
                     "usage", "prompt_tokens", 0, "completion_tokens", 0, "total_tokens", 0);
}

/* What comes at `step` of the body: an event or document (returned), or
 * the end of the transfer (NULL, *rc set). */
static json_t *item(struct gw_fault_run *run, int step, enum xfer_rc *rc, bool *raw_done)
{
    const char *model = run->x->match.model;
    *rc = XFER_OK;
    *raw_done = false;
    switch (run->spec.mode) {
    case OVR_STATUS:
        return step == 0 ? error_body(run) : NULL;
    case OVR_STREAM_CUT:
        if (step < run->spec.after)
            return text_event(model, step);
        *rc = XFER_PARTIAL;   /* closed without the chunked terminator */
        return NULL;
    case OVR_STREAM_ERROR:
        if (step < run->spec.after)
            return text_event(model, step);
        if (step == run->spec.after)
            return json_pack("{s:{s:s, s:s, s:s}}", "error", "message",
                             "forced stream error (backstopctl fail)", "type", "server_error",
                             "code", "stream_error");
        return NULL;
    case OVR_EMPTY_TOOL_TURN:
        if (!run->x->match.stream)
            return step == 0 ? empty_tool_turn(model) : NULL;
        if (step == 0)
            return chunk(model, json_pack("{s:s, s:n}", "role", "assistant", "content"), NULL);
        if (step == 1)
            return chunk(model, json_object(), "tool_calls");
        *raw_done = step == 2;
        return NULL;
    default:
        return NULL;
    }
}

static void step_body(struct gw_fault_run *run)
{
    struct gw_xfer *x = run->x;
    bool sse = x->match.stream && run->spec.mode != OVR_STATUS;
    if (!run->headed) {
        bool ok = run->spec.mode == OVR_STATUS
                      ? send_head(run, run->spec.status, "application/json")
                      : send_head(run, 200, sse ? "text/event-stream" : "application/json");
        if (!ok) {
            end(run, XFER_WRITE, true);
            return;
        }
    }
    enum xfer_rc rc;
    bool raw_done;
    json_t *doc = item(run, run->step, &rc, &raw_done);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (doc && !text) {
        end(run, XFER_NOMEM, true);
        return;
    }
    if (!text && !raw_done) {
        end(run, rc, true);
        return;
    }
    char *event = NULL;
    int n = sse ? asprintf(&event, "data: %s\n\n", text ? text : "[DONE]") : -1;
    if (sse && n < 0) {
        free(text);
        end(run, XFER_NOMEM, true);
        return;
    }
    const char *bytes = sse ? event : text;
    size_t len = sse ? (size_t)n : strlen(text);
    size_t got = x->on_body(x->arg, bytes, len);
    free(event);
    free(text);
    if (got == GW_XFER_PAUSE)
        return;   /* a slow client: the same item again on gw_fault_resume, as a client would */
    if (got != len) {
        end(run, XFER_WRITE, true);
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
    struct gw_xfer *x = run->x;
    switch (run->spec.mode) {
    case OVR_LATENCY:
        /* The delay is over: the real upstream now. */
        run->real = true;
        if (gw_up_start_real(run->up, x) < 0)
            end(run, XFER_NOMEM, false);
        return;
    case OVR_TIMEOUT:
        end(run, XFER_TIMEOUT, false);
        return;
    case OVR_RESET:
        /* Reset before any byte of an answer, after the connection was made. */
        end(run, XFER_RECV, true);
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

static bool offers_tools_of(struct gw_xfer *x)
{
    json_t *body = x->match.openai_body ? x->match.openai_body(x->arg) : NULL;
    return body && offers_tools(body);
}

int gw_fault_start(struct gw_up *up, struct gw_xfer *x)
{
    struct gw_ovr *o = x->match.ovr;
    if (!o || o->nfaults == 0)
        return 0;
    const struct gw_xfer_match *m = &x->match;
    struct gw_fault_query q = {
        .provider = m->provider, .target_key = m->target_key, .chain = m->chain,
        .key_fpr = m->key_fpr, .stream = m->stream,
        .tools = tools_matter(o) && offers_tools_of(x), .now_ms = bs_wall_ms(),
    };
    const struct gw_fault_rule *rule = gw_ovr_fault(o, &q);
    if (!rule)
        return 0;
    struct gw_fault_run *run = calloc(1, sizeof *run);
    if (!run || !(run->ev = evtimer_new(gw_up_base(up), on_step, run))) {
        free(run);
        return -1;
    }
    run->up = up;
    run->x = x;
    run->spec = rule->spec;
    snprintf(run->id, sizeof run->id, "%s", rule->id);
    x->fault = run;
    log_info("request %s: forced failure %s (%s) on %s", m->request_id ? m->request_id : "-",
             rule->id, ovr_mode_name(rule->spec.mode), m->target_key);
    switch (run->spec.mode) {
    case OVR_HANG:
        break;   /* the owner's first-token timer ends it, as for a silent upstream */
    case OVR_LATENCY:
        schedule(run, run->spec.latency_ms);
        break;
    case OVR_TIMEOUT:
        schedule(run, x->connect_timeout_ms);
        break;
    default:
        schedule(run, 0);
        break;
    }
    return 1;
}

void gw_fault_cancel(struct gw_xfer *x)
{
    if (x->fault)
        evtimer_del(x->fault->ev);
}

void gw_fault_resume(struct gw_xfer *x)
{
    struct gw_fault_run *run = x->fault;
    if (run && !run->real && run->headed)
        schedule(run, 0);
}

void gw_fault_free(struct gw_xfer *x)
{
    struct gw_fault_run *run = x->fault;
    if (!run)
        return;
    event_free(run->ev);
    free(run);
    x->fault = NULL;
}
