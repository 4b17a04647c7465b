/* gw_upstream: the transfer interface and its backends as an owner sees
 * them.  libcurl's codes map to the xfer results with libcurl's own texts;
 * forced failures (gw_fault.c) run behind gw_up_start and drive only the
 * xfer's callbacks: heads, bodies, pauses and results, on a real event
 * base; a latency fault and an unmatched transfer start the real client. */
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "gw_ovr.h"
#include "gw_up_curl.h"
#include "gw_upstream.h"
#include "unit.h"

/* --- libcurl's results */

static void test_curl_codes(void)
{
    /* The code whose text each result carries, then the others it stands for. */
    static const struct {
        CURLcode code;
        enum xfer_rc rc;
        bool canonical;
    } rows[] = {
        { CURLE_OK, XFER_OK, true },
        { CURLE_COULDNT_RESOLVE_HOST, XFER_RESOLVE, true },
        { CURLE_COULDNT_RESOLVE_PROXY, XFER_RESOLVE, false },
        { CURLE_COULDNT_CONNECT, XFER_CONNECT, true },
        { CURLE_OPERATION_TIMEDOUT, XFER_TIMEOUT, true },
        { CURLE_SSL_CONNECT_ERROR, XFER_TLS, true },
        { CURLE_PEER_FAILED_VERIFICATION, XFER_TLS, false },
        { CURLE_SSL_CERTPROBLEM, XFER_TLS, false },
        { CURLE_SSL_CIPHER, XFER_TLS, false },
        { CURLE_SSL_CACERT_BADFILE, XFER_TLS, false },
        { CURLE_SSL_ISSUER_ERROR, XFER_TLS, false },
        { CURLE_SSL_CRL_BADFILE, XFER_TLS, false },
        { CURLE_SSL_SHUTDOWN_FAILED, XFER_TLS, false },
        { CURLE_SEND_ERROR, XFER_SEND, true },
        { CURLE_RECV_ERROR, XFER_RECV, true },
        { CURLE_HTTP2, XFER_RECV, false },
        { CURLE_HTTP2_STREAM, XFER_RECV, false },
        { CURLE_PARTIAL_FILE, XFER_PARTIAL, true },
        { CURLE_GOT_NOTHING, XFER_NOTHING, true },
        { CURLE_WEIRD_SERVER_REPLY, XFER_BAD_REPLY, true },
        { CURLE_WRITE_ERROR, XFER_WRITE, true },
        { CURLE_OUT_OF_MEMORY, XFER_NOMEM, true },
        { CURLE_UNSUPPORTED_PROTOCOL, XFER_OTHER, false },
        { CURLE_URL_MALFORMAT, XFER_OTHER, false },
        { CURLE_TOO_MANY_REDIRECTS, XFER_OTHER, false },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bool ok = gw_up_curl_rc(rows[i].code) == rows[i].rc;
        if (rows[i].canonical)
            ok = ok && strcmp(xfer_rc_text(rows[i].rc), curl_easy_strerror(rows[i].code)) == 0;
        if (!ok)
            fprintf(stderr, "curl code %d: result %d, text \"%s\"\n", rows[i].code,
                    gw_up_curl_rc(rows[i].code), xfer_rc_text(rows[i].rc));
        CHECK(ok);
    }
    /* The texts the access log and the all-down answer have always shown. */
    CHECK(strcmp(xfer_rc_text(XFER_CONNECT), "Couldn't connect to server") == 0);
    CHECK(strcmp(xfer_rc_text(XFER_PARTIAL), "Transferred a partial file") == 0);
    CHECK(strcmp(xfer_rc_text((enum xfer_rc)999), "Unknown error") == 0);
}

/* --- forced failures */

struct tx {
    struct gw_xfer x;
    struct gw_up *up;
    struct event_base *base;
    char head[1024];
    size_t head_len;
    char body[4096];
    size_t body_len;
    int lines, offers, done_calls;
    enum xfer_rc rc;
    bool pause_once;       /* refuse the first body offer with GW_XFER_PAUSE */
    bool paused;
    char refused[64];
    size_t refused_len;
    bool reoffer_same;     /* the offer after the resume began with the refused bytes */
    size_t refuse_after;   /* stop once this many body bytes came (0: never) */
    json_t *request;
};

static size_t on_header(void *arg, const char *line, size_t len)
{
    struct tx *t = arg;
    t->lines++;
    if (t->head_len + len < sizeof t->head) {
        memcpy(t->head + t->head_len, line, len);
        t->head_len += len;
        t->head[t->head_len] = '\0';
    }
    return len;
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct tx *t = arg;
    gw_up_resume(t->up, &t->x);
}

static size_t on_body(void *arg, const char *p, size_t len)
{
    struct tx *t = arg;
    t->offers++;
    if (t->pause_once && !t->paused) {
        t->paused = true;
        t->refused_len = len < sizeof t->refused ? len : sizeof t->refused;
        memcpy(t->refused, p, t->refused_len);
        struct timeval tv = { 0, 2000 };
        event_base_once(t->base, -1, EV_TIMEOUT, resume_cb, t, &tv);
        return GW_XFER_PAUSE;
    }
    if (t->paused && t->offers == 2)
        t->reoffer_same = len >= t->refused_len && !memcmp(p, t->refused, t->refused_len);
    if (t->refuse_after && t->body_len >= t->refuse_after)
        return 0;
    if (t->body_len + len < sizeof t->body) {
        memcpy(t->body + t->body_len, p, len);
        t->body_len += len;
        t->body[t->body_len] = '\0';
    }
    return len;
}

static void on_done(struct gw_xfer *x, enum xfer_rc rc)
{
    struct tx *t = x->arg;
    t->done_calls++;
    t->rc = rc;
    event_base_loopbreak(t->base);
}

static json_t *openai_body(void *arg)
{
    return ((struct tx *)arg)->request;
}

static void tx_init(struct tx *t, struct gw_up *up, struct event_base *base, struct gw_ovr *o,
                    const char *target_key, bool stream)
{
    memset(t, 0, sizeof *t);
    t->up = up;
    t->base = base;
    /* Nothing listens on port 1: a real transfer fails to connect. */
    t->x.url = "http://127.0.0.1:1/v1/chat/completions";
    t->x.body = "{}";
    t->x.body_len = 2;
    t->x.connect_timeout_ms = 60;
    t->x.match = (struct gw_xfer_match){
        .ovr = o, .provider = "p", .target_key = target_key, .chain = "chat", .key_fpr = "k",
        .model = "m-1", .request_id = "test", .stream = stream, .openai_body = openai_body,
    };
    t->x.on_header = on_header;
    t->x.on_body = on_body;
    t->x.arg = t;
    t->x.done = on_done;
}

/* Runs the loop until done() or ms pass; whether done() came. */
static bool run(struct tx *t, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(t->base, &tv);
    event_base_dispatch(t->base);
    return t->done_calls > 0;
}

static struct gw_ovr *faults(const char *mode)
{
    char doc[512];
    snprintf(doc, sizeof doc,
             "{\"pins\": [], \"drains\": [], \"faults\": [{\"id\": \"f7\", \"target\": \"p/m\","
             " \"mode\": \"%s\", \"rate\": 100, \"until_ms\": 99999999999999}]}", mode);
    struct gw_ovr *o = gw_ovr_parse(doc, strlen(doc));
    CHECK(o != NULL);
    return o;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_fault_status(struct event_base *base, struct gw_up *up)
{
    struct gw_ovr *o = faults("status:429,retry-after=7");
    struct tx t;
    tx_init(&t, up, base, o, "p/m", true);
    CHECK(gw_up_start(up, &t.x) == 0 && t.x.fault != NULL);
    CHECK(t.lines == 0 && t.done_calls == 0);   /* nothing from inside gw_up_start */
    CHECK(run(&t, 2000) && t.done_calls == 1 && t.rc == XFER_OK);
    CHECK(gw_up_status(&t.x) == 429 && t.x.status == 429 && t.x.openai_wire && t.x.connected);
    CHECK(strstr(t.head, "HTTP/1.1 429\r\n") == t.head);
    CHECK(strstr(t.head, "Content-Type: application/json\r\n") != NULL);
    CHECK(strstr(t.head, "Retry-After: 7\r\n") != NULL);
    CHECK(t.head_len >= 2 && strcmp(t.head + t.head_len - 4, "\n\r\n") != 0 &&
          strcmp(t.head + t.head_len - 2, "\r\n") == 0);
    /* an error answer is a document, not a stream, even for a stream request */
    json_t *err = json_loads(t.body, 0, NULL);
    CHECK(err && strcmp(json_string_value(json_object_get(json_object_get(err, "error"), "code")),
                        "rate_limit_exceeded") == 0);
    CHECK(err && strstr(json_string_value(json_object_get(json_object_get(err, "error"), "message")),
                        "f7") != NULL);
    json_decref(err);
    gw_up_finish(up, &t.x);
    CHECK(t.x.fault == NULL);

    /* another target of the same provider: no fault, the real client runs */
    tx_init(&t, up, base, o, "p/other", true);
    CHECK(gw_up_start(up, &t.x) == 0 && t.x.fault == NULL);
    CHECK(run(&t, 3000) && t.rc == XFER_CONNECT && !t.x.openai_wire);
    CHECK(strcmp(t.x.why, "Couldn't connect to server") == 0);
    gw_up_finish(up, &t.x);
    gw_ovr_free(o);
}

static void test_fault_stream_cut(struct event_base *base, struct gw_up *up)
{
    struct gw_ovr *o = faults("stream-cut:3");
    struct tx t;
    tx_init(&t, up, base, o, "p/m", true);
    t.pause_once = true;
    CHECK(gw_up_start(up, &t.x) == 0);
    CHECK(run(&t, 2000) && t.done_calls == 1 && t.rc == XFER_PARTIAL);
    CHECK(strcmp(t.x.why, "Transferred a partial file") == 0 && t.x.connected);
    CHECK(strstr(t.head, "Content-Type: text/event-stream\r\n") != NULL);
    /* three events (the role chunk, two words), no [DONE]; the paused first
     * one came again after the resume */
    CHECK(count(t.body, "data: ") == 3 && strstr(t.body, "[DONE]") == NULL);
    CHECK(strstr(t.body, "\"role\":\"assistant\"") != NULL && strstr(t.body, "\"m-1\"") != NULL);
    CHECK(t.paused && t.reoffer_same && t.offers == 4);
    gw_up_finish(up, &t.x);

    /* a plain request is left alone by a stream-only mode: the real client */
    tx_init(&t, up, base, o, "p/m", false);
    CHECK(gw_up_start(up, &t.x) == 0 && t.x.fault == NULL);
    CHECK(run(&t, 3000) && t.rc == XFER_CONNECT);
    gw_up_finish(up, &t.x);
    gw_ovr_free(o);
}

static void test_fault_refused(struct event_base *base, struct gw_up *up)
{
    /* the owner stops the body: the transfer ends as a refused write */
    struct gw_ovr *o = faults("stream-error");
    struct tx t;
    tx_init(&t, up, base, o, "p/m", true);
    t.refuse_after = 1;
    CHECK(gw_up_start(up, &t.x) == 0);
    CHECK(run(&t, 2000) && t.done_calls == 1 && t.rc == XFER_WRITE);
    CHECK(count(t.body, "data: ") == 1);
    gw_up_finish(up, &t.x);
    /* read to its end: the error event ends it, without [DONE] */
    tx_init(&t, up, base, o, "p/m", true);
    CHECK(gw_up_start(up, &t.x) == 0);
    CHECK(run(&t, 2000) && t.rc == XFER_OK);
    CHECK(strstr(t.body, "stream_error") != NULL && strstr(t.body, "data: [DONE]") == NULL);
    gw_up_finish(up, &t.x);
    gw_ovr_free(o);
}

static void test_fault_transport(struct event_base *base, struct gw_up *up)
{
    struct tx t;
    struct gw_ovr *o = faults("reset");
    tx_init(&t, up, base, o, "p/m", false);
    CHECK(gw_up_start(up, &t.x) == 0);
    CHECK(run(&t, 2000) && t.rc == XFER_RECV && t.x.connected && t.lines == 0);
    gw_up_finish(up, &t.x);
    gw_ovr_free(o);

    o = faults("timeout");
    tx_init(&t, up, base, o, "p/m", false);
    struct timeval a, b;
    gettimeofday(&a, NULL);
    CHECK(gw_up_start(up, &t.x) == 0);
    CHECK(run(&t, 2000) && t.rc == XFER_TIMEOUT && !t.x.connected);
    gettimeofday(&b, NULL);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_usec - a.tv_usec) / 1000;
    CHECK(ms >= 55);   /* the connect timeout, 60 ms */
    CHECK(strcmp(t.x.why, "Timeout was reached") == 0);
    gw_up_finish(up, &t.x);
    gw_ovr_free(o);

    /* a hang does nothing until its owner cancels it */
    o = faults("hang");
    tx_init(&t, up, base, o, "p/m", false);
    CHECK(gw_up_start(up, &t.x) == 0);
    CHECK(!run(&t, 100) && t.lines == 0 && t.offers == 0);
    gw_up_cancel(up, &t.x);
    CHECK(!run(&t, 50));
    gw_up_finish(up, &t.x);
    gw_ovr_free(o);

    /* latency: after the delay, the real transfer (which fails to connect) */
    o = faults("latency:80");
    tx_init(&t, up, base, o, "p/m", false);
    gettimeofday(&a, NULL);
    CHECK(gw_up_start(up, &t.x) == 0);
    CHECK(run(&t, 3000) && t.rc == XFER_CONNECT && !t.x.openai_wire);
    gettimeofday(&b, NULL);
    ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_usec - a.tv_usec) / 1000;
    CHECK(ms >= 75);
    gw_up_finish(up, &t.x);
    /* cancelled during the delay: nothing starts */
    tx_init(&t, up, base, o, "p/m", false);
    CHECK(gw_up_start(up, &t.x) == 0);
    gw_up_cancel(up, &t.x);
    CHECK(!run(&t, 150));
    gw_up_finish(up, &t.x);
    gw_ovr_free(o);
}

static void test_fault_tools(struct event_base *base, struct gw_up *up)
{
    struct gw_ovr *o = faults("empty-tool-turn");
    struct tx t;
    /* no tools offered: the real client */
    tx_init(&t, up, base, o, "p/m", false);
    t.request = json_pack("{s:[]}", "messages");
    CHECK(gw_up_start(up, &t.x) == 0 && t.x.fault == NULL);
    CHECK(run(&t, 3000) && t.rc == XFER_CONNECT);
    gw_up_finish(up, &t.x);
    json_decref(t.request);
    /* tools offered: an empty tool turn, as a document */
    tx_init(&t, up, base, o, "p/m", false);
    t.request = json_pack("{s:[{s:s}]}", "tools", "type", "function");
    CHECK(gw_up_start(up, &t.x) == 0 && t.x.fault != NULL);
    CHECK(run(&t, 2000) && t.rc == XFER_OK);
    json_t *doc = json_loads(t.body, 0, NULL);
    json_t *choice = json_array_get(json_object_get(doc, "choices"), 0);
    CHECK(doc && strcmp(json_string_value(json_object_get(choice, "finish_reason")), "tool_calls") == 0);
    json_decref(doc);
    gw_up_finish(up, &t.x);
    json_decref(t.request);
    /* and as a stream, ended by [DONE] */
    tx_init(&t, up, base, o, "p/m", true);
    t.request = json_pack("{s:[{s:s}]}", "tools", "type", "function");
    CHECK(gw_up_start(up, &t.x) == 0);
    CHECK(run(&t, 2000) && t.rc == XFER_OK && strstr(t.body, "data: [DONE]\n\n") != NULL);
    gw_up_finish(up, &t.x);
    json_decref(t.request);
    gw_ovr_free(o);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_curl_codes();
    struct event_base *base = event_base_new();
    struct gw_up *up = gw_up_new(base, 0);
    CHECK(up != NULL);
    test_fault_status(base, up);
    test_fault_stream_cut(base, up);
    test_fault_refused(base, up);
    test_fault_transport(base, up);
    test_fault_tools(base, up);
    gw_up_free(up);
    event_base_free(base);
    curl_global_cleanup();
    UNIT_END("upstream");
}
