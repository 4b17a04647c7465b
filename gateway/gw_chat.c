/*
 * gw_chat: POST /v1/chat/completions.  Parses and bounds the request once,
 * resolves the model to its chain, runs attempts target after target, and
 * answers the client with what served it (x-backstop-* headers), one access
 * log line and one telemetry record per attempt.
 */
#include "gw_chat.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs_time.h"
#include "gw_access.h"
#include "gw_breaker.h"
#include "gw_classify.h"
#include "log.h"
#include "tel.h"

static void chat_on_close(void *arg);
static void chat_on_drain(void *arg);
static void report_attempt(struct gw_chat *chat, struct gw_attempt *att);
static void send_event(struct gw_chat *chat, const char *from, int reason, uint64_t added_us);
static void append(char *buf, size_t cap, const char *sep, const char *fmt, const char *a,
                   const char *b, const char *c, const char *d);

static void chat_free(struct gw_chat *chat)
{
    if (chat->wait_ev)
        event_free(chat->wait_ev);
    if (chat->hedge_ev)
        event_free(chat->hedge_ev);
    gw_attempt_free(chat->hedge);
    gw_attempt_free(chat->loser);
    gw_attempt_free(chat->att);
    json_decref(chat->body);
    gw_cont_free(chat);
    free(chat->order);
    gw_catalog_unref(chat->cat);
    free(chat);
}

static void chat_finish(struct gw_chat *chat, const char *error)
{
    struct gw *gw = chat->gw;
    uint64_t now = bs_now_us();
    struct gw_access a = {
        .request_id = chat->request_id,
        .client = chat->peer,
        .method = "POST",
        .path = "/v1/chat/completions",
        .model = chat->chain ? chat->chain->name : NULL,
        .provider = chat->served_provider,
        .upstream_model = chat->served_model,
        .status = chat->req ? chat->status : 499,
        .attempts = chat->attempts,
        .latency_us = now - chat->start_us,
        .ttfb_us = chat->first_out_us ? chat->first_out_us - chat->start_us : 0,
        .prompt_tokens = chat->prompt_tokens,
        .completion_tokens = chat->completion_tokens,
        .stream = chat->stream,
        .failover = chat->failover[0] ? chat->failover : NULL,
        .error = error,
        .worker = gw->slot,
    };
    gw_access_write(gw->access_fd, &a);
    gw_request_finished(gw);
    chat_free(chat);
}

/* Gateway-raised errors carry the request id and the attempts too. */
static void reply_error(struct gw_chat *chat, int status, const char *code, const char *msg)
{
    char n[16];
    snprintf(n, sizeof n, "%d", chat->attempts);
    http_req_add_header(chat->req, "x-request-id", chat->request_id);
    http_req_add_header(chat->req, "x-backstop-attempts", n);
    if (chat->failover[0])
        http_req_add_header(chat->req, "x-backstop-failover", chat->failover);
    chat->status = status;
    chat->first_out_us = bs_now_us();
    http_req_reply_error(chat->req, status, code, msg);
}

static void add_served_headers(struct gw_chat *chat, struct gw_attempt *att)
{
    char n[16];
    snprintf(n, sizeof n, "%d", chat->attempts);
    chat->served_provider = att->prov->cfg->name;
    chat->served_model = att->tgt->model;
    http_req_add_header(chat->req, "x-request-id", chat->request_id);
    http_req_add_header(chat->req, "x-backstop-provider", att->prov->cfg->name);
    http_req_add_header(chat->req, "x-backstop-model", att->tgt->model);
    http_req_add_header(chat->req, "x-backstop-attempts", n);
    if (chat->failover[0])
        http_req_add_header(chat->req, "x-backstop-failover", chat->failover);
}

/* A hedge race is decided: winner goes on, the other is stopped.  Inside a
 * curl callback the loser may not be removed from the multi handle, so it
 * is only detached and cancelled on the next loop turn. */
static void settle_race(struct gw_chat *chat, struct gw_attempt *winner, bool in_callback)
{
    if (!chat->hedge)
        return;
    struct gw_attempt *loser = winner == chat->hedge ? chat->att : chat->hedge;
    chat->att = winner;
    chat->hedge = NULL;
    chat->cur_target = winner->target_idx;
    if (winner != loser && loser) {
        if (winner->start_us > loser->start_us) {
            /* The hedge won: the first target was the slow one. */
            append(chat->failover, sizeof chat->failover, ",", "%s%s=%s%s%s", loser->brk_key,
                   "hedged", "", "");
            send_event(chat, loser->brk_key, FAIL_HEDGED, bs_now_us() - loser->start_us);
        }
        if (in_callback) {
            chat->loser = loser;
            gw_attempt_lose(loser);
        } else {
            gw_attempt_cancel(loser, FAIL_HEDGED);
            report_attempt(chat, loser);
            gw_attempt_free(loser);
        }
    }
}

int gw_chat_commit_stream(struct gw_chat *chat, struct gw_attempt *att)
{
    if (!chat->req)
        return -1;
    settle_race(chat, att, true);
    add_served_headers(chat, att);
    http_req_add_header(chat->req, "Cache-Control", "no-cache");
    chat->status = (int)att->status;
    chat->committed = true;
    chat->first_out_us = bs_now_us();
    if (chat->chain->continue_streams && !(chat->cont_text = evbuffer_new()))
        chat->cont_broken = true;
    return http_req_stream_start(chat->req, (int)att->status, "text/event-stream");
}

static void report_attempt(struct gw_chat *chat, struct gw_attempt *att)
{
    struct tel_attempt t;
    memset(&t, 0, sizeof t);
    t.hdr.kind = TEL_ATTEMPT;
    uint64_t now = bs_now_us();
    t.wall_ms = bs_wall_ms();
    t.status = (int32_t)att->status;
    t.fail = (uint16_t)att->fail;
    t.attempt_no = (uint16_t)chat->attempts;
    t.trial = att->trial_epoch != 0;
    t.trial_epoch = att->trial_epoch;
    t.latency_ms = (uint32_t)((now - att->start_us) / 1000);
    t.ttfb_ms = att->head_us ? (uint32_t)((att->head_us - att->start_us) / 1000) : 0;
    if (att->fail == FAIL_NONE) {
        t.prompt_tokens = chat->prompt_tokens;
        t.completion_tokens = chat->completion_tokens;
    }
    tel_copy(t.provider, sizeof t.provider, att->prov->cfg->name);
    tel_copy(t.model, sizeof t.model, att->tgt->model);
    tel_copy(t.chain, sizeof t.chain, chat->chain->name);
    tel_copy(t.request_id, sizeof t.request_id, chat->request_id);
    gw_tel_send(chat->gw, &t, sizeof t);
}

/* One failover event for the controller's history: the request moved from
 * `from` to the target now running. */
static void send_event(struct gw_chat *chat, const char *from, int reason, uint64_t added_us)
{
    struct tel_failover f;
    memset(&f, 0, sizeof f);
    f.hdr.kind = TEL_FAILOVER;
    f.wall_ms = bs_wall_ms();
    f.added_ms = (uint32_t)(added_us / 1000);
    f.fail = (uint16_t)reason;
    tel_copy(f.chain, sizeof f.chain, chat->chain->name);
    tel_copy(f.from, sizeof f.from, from);
    tel_copy(f.to, sizeof f.to, chat->att ? chat->att->brk_key : "");
    tel_copy(f.request_id, sizeof f.request_id, chat->request_id);
    gw_tel_send(chat->gw, &f, sizeof f);
}

/* Appends one formatted item, with sep before it unless it is the first. */
static void append(char *buf, size_t cap, const char *sep, const char *fmt, const char *a,
                   const char *b, const char *c, const char *d)
{
    size_t len = strlen(buf);
    if (len < cap)
        snprintf(buf + len, cap - len, fmt, len ? sep : "", a, b, c, d);
}

static void take_usage_json(struct gw_chat *chat, struct evbuffer *body)
{
    size_t len = evbuffer_get_length(body);
    json_t *j = json_loadb((const char *)evbuffer_pullup(body, -1), len, 0, NULL);
    json_t *u = j ? json_object_get(j, "usage") : NULL;
    if (json_is_object(u)) {
        chat->prompt_tokens = (uint32_t)json_integer_value(json_object_get(u, "prompt_tokens"));
        chat->completion_tokens = (uint32_t)json_integer_value(json_object_get(u, "completion_tokens"));
    }
    json_decref(j);
}

static void answer_success(struct gw_chat *chat, struct gw_attempt *att)
{
    if (chat->committed) {
        http_req_stream_end(chat->req);
        return;
    }
    take_usage_json(chat, att->resp);
    add_served_headers(chat, att);
    chat->status = (int)att->status;
    chat->first_out_us = bs_now_us();
    http_req_reply_buffer(chat->req, (int)att->status,
                          att->content_type[0] ? att->content_type : "application/json", att->resp);
}

/* The request's own fault: the client gets the upstream's answer as is. */
static void answer_client_error(struct gw_chat *chat, struct gw_attempt *att)
{
    add_served_headers(chat, att);
    if (att->retry_after[0])
        http_req_add_header(chat->req, "Retry-After", att->retry_after);
    chat->status = (int)att->status;
    chat->first_out_us = bs_now_us();
    http_req_reply_buffer(chat->req, (int)att->status,
                          att->content_type[0] ? att->content_type : "application/json", att->resp);
}

/* Bytes already reached the client: end the stream with an explicit error
 * event so no client mistakes a cut for a complete answer. */
static void answer_stream_broken(struct gw_chat *chat, struct gw_attempt *att)
{
    json_t *ev = json_pack("{s:{s:s, s:s, s:s}}", "error", "message", att->detail, "type",
                           "server_error", "code", fail_class_name(att->fail));
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (text) {
        http_req_stream_write(chat->req, "data: ", 6);
        http_req_stream_write(chat->req, text, strlen(text));
        http_req_stream_write(chat->req, "\n\n", 2);
        free(text);
        http_req_stream_end(chat->req);
    } else {
        http_req_stream_abort(chat->req);
    }
}

static bool target_usable(struct gw_chat *chat, size_t i)
{
    const struct cfg_target *t = &chat->chain->targets[i];
    return chat->cat->providers[t->provider].enabled;
}

/* Starts the next usable target after a failure; false when none is left
 * or the deadline has passed. */
/* Starts the next usable target after a failure; false when none is left
 * or the deadline has passed.  Targets behind an open breaker cost nothing:
 * they are skipped without a connection attempt. */
static bool try_next(struct gw_chat *chat)
{
    char skipped[4][TEL_TARGET_MAX];
    int nskipped = 0;
    while (!chat->deadline_hit && chat->next_target < chat->norder &&
           bs_now_us() < chat->deadline_us) {
        size_t i = chat->order[chat->next_target++];
        const struct cfg_target *t = &chat->chain->targets[i];
        const char *prov = chat->cat->providers[t->provider].cfg->name;
        if (!target_usable(chat, i)) {
            append(chat->reasons, sizeof chat->reasons, "; ", "%s%s/%s: %s%s", prov, t->model,
                   "disabled (no key)", "");
            continue;
        }
        char key[TEL_TARGET_MAX];
        uint64_t epoch;
        snprintf(key, sizeof key, "%s/%s", prov, t->model);
        if (gw_brk_admit(chat->gw, key, &epoch) == GW_DENY) {
            append(chat->reasons, sizeof chat->reasons, "; ", "%s%s/%s: %s%s", prov, t->model,
                   "breaker_open", "");
            append(chat->failover, sizeof chat->failover, ",", "%s%s=%s%s%s", key, "breaker_open",
                   "", "");
            uint64_t at = gw_brk_retry_at(chat->gw, key);
            if (at && (!chat->breaker_retry_at || at < chat->breaker_retry_at))
                chat->breaker_retry_at = at;
            if (nskipped < 4)
                memcpy(skipped[nskipped++], key, sizeof key);
            continue;
        }
        if (gw_attempt_start(chat, i, epoch) == 0) {
            chat->target_start_us = bs_now_us();
            for (int k = 0; k < nskipped; k++)
                send_event(chat, skipped[k], TEL_REASON_BREAKER, 0);
            return true;
        }
        log_err("request %s: cannot start an attempt on target %zu", chat->request_id, i);
    }
    return false;
}

static void answer_all_failed(struct gw_chat *chat)
{
    char msg[1024];
    bool late = chat->deadline_hit || bs_now_us() >= chat->deadline_us;
    snprintf(msg, sizeof msg, "%s for model %s: %s",
             late ? "request deadline exceeded" : "every target failed", chat->chain->name,
             chat->reasons[0] ? chat->reasons : "no usable target");
    if (!late) {
        /* When breakers blocked targets, the earliest end of their
         * cool-downs is when trying again can help. */
        uint64_t now = bs_wall_ms(), secs = 1;
        if (chat->breaker_retry_at > now)
            secs = (chat->breaker_retry_at - now + 999) / 1000;
        char ra[24];
        snprintf(ra, sizeof ra, "%llu", (unsigned long long)secs);
        http_req_add_header(chat->req, "Retry-After", ra);
    }
    reply_error(chat, late ? 504 : 503, late ? "deadline_exceeded" : "all_targets_failed", msg);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_chat *chat = arg;
    chat->target_retries++;
    const struct cfg_target *t = &chat->chain->targets[chat->cur_target];
    char key[TEL_TARGET_MAX];
    uint64_t epoch;
    snprintf(key, sizeof key, "%s/%s", chat->cat->providers[t->provider].cfg->name, t->model);
    /* The failures so far may have opened the breaker meanwhile. */
    if (gw_brk_admit(chat->gw, key, &epoch) == GW_DENY) {
        append(chat->failover, sizeof chat->failover, ",", "%s%s=%s%s%s", key, "breaker_open", "", "");
    } else if (gw_attempt_start(chat, chat->cur_target, epoch) == 0) {
        return;
    } else {
        log_err("request %s: cannot start a retry", chat->request_id);
    }
    chat->target_retries = 0;
    if (!try_next(chat)) {
        answer_all_failed(chat);
        chat_finish(chat, "internal");
    }
}

/* Waits delay_ms, then tries the same target again; false if it cannot. */
static bool schedule_retry(struct gw_chat *chat, long delay_ms)
{
    if (!chat->wait_ev)
        chat->wait_ev = evtimer_new(chat->gw->base, retry_cb, chat);
    struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
    return chat->wait_ev && evtimer_add(chat->wait_ev, &tv) == 0;
}

/* A stream broke after the client got bytes: go on at the next target
 * when the answer can be continued.  Takes att on success. */
static bool continue_stream(struct gw_chat *chat, struct gw_attempt *att)
{
    if (!gw_cont_possible(chat) || att->fail == FAIL_DEADLINE || chat->deadline_hit)
        return false;
    char from[TEL_TARGET_MAX];
    snprintf(from, sizeof from, "%s", att->brk_key);
    uint64_t cost = bs_now_us() - chat->target_start_us;
    chat->continuing = true;
    chat->target_retries = 0;
    if (!try_next(chat))
        return false;
    append(chat->failover, sizeof chat->failover, ",", "%s%s=%s%s%s", from,
           fail_class_name(att->fail), "", "");
    send_event(chat, from, att->fail, cost);
    log_info("request %s: continuing the stream on %s", chat->request_id, chat->att->brk_key);
    gw_attempt_free(att);
    return true;
}

/* What the chain says to do about this failure. */
static enum cfg_action action_for(const struct gw_chat *chat, enum fail_class fail)
{
    switch (fail) {
    case FAIL_DEADLINE:
    case FAIL_CANCELLED:
    case FAIL_DISABLED:
    case FAIL_INTERNAL:
        return CFG_ACT_FAILOVER;
    default:
        return (unsigned)fail < FAIL__COUNT ? chat->chain->on[fail] : CFG_ACT_FAILOVER;
    }
}

void gw_chat_attempt_done(struct gw_chat *chat, struct gw_attempt *att)
{
    report_attempt(chat, att);
    if (att == chat->loser) {
        chat->loser = NULL;
        gw_attempt_free(att);
        return;
    }
    gw_brk_report(chat->gw, att->brk_key, att->fail,
                  (att->head_us && att->fail == FAIL_NONE ? att->head_us : bs_now_us()) - att->start_us);
    if (chat->hedge && chat->req) {
        if (att->fail == FAIL_NONE) {
            settle_race(chat, att, false);
        } else {
            /* One racer failed: the other goes on alone, and decides. */
            char status[16] = "";
            if (att->status)
                snprintf(status, sizeof status, " (HTTP %ld)", att->status);
            append(chat->reasons, sizeof chat->reasons, "; ", "%s%s: %s%s%s", att->brk_key,
                   fail_class_name(att->fail), status, "");
            if (att == chat->att)
                chat->att = chat->hedge;
            chat->hedge = NULL;
            chat->cur_target = chat->att->target_idx;
            gw_attempt_free(att);
            return;
        }
    }
    chat->att = NULL;
    if (!chat->req) {
        gw_attempt_free(att);
        chat_finish(chat, fail_class_name(FAIL_CANCELLED));
        return;
    }
    if (att->fail == FAIL_NONE) {
        answer_success(chat, att);
        gw_attempt_free(att);
        chat_finish(chat, NULL);
        return;
    }
    const char *why = fail_class_name(att->fail);
    if (att->fail == FAIL_DEADLINE)
        chat->deadline_hit = true;
    if (chat->committed) {
        log_warn("request %s: %s/%s broke after the stream started: %s", chat->request_id,
                 att->prov->cfg->name, att->tgt->model, att->detail);
        if (continue_stream(chat, att))
            return;
        answer_stream_broken(chat, att);
        gw_attempt_free(att);
        chat_finish(chat, why);
        return;
    }
    enum cfg_action act = action_for(chat, att->fail);
    /* "return" needs an upstream answer to return; without one (a transport
     * failure configured so) the chain moves on. */
    if (act == CFG_ACT_RETURN && att->status > 0) {
        answer_client_error(chat, att);
        gw_attempt_free(att);
        chat_finish(chat, why);
        return;
    }
    char status[16] = "";
    if (att->status)
        snprintf(status, sizeof status, " (HTTP %ld)", att->status);
    append(chat->reasons, sizeof chat->reasons, "; ", "%s%s/%s: %s%s", att->prov->cfg->name,
           att->tgt->model, why, status);
    log_info("request %s: %s/%s failed: %s (%s)", chat->request_id, att->prov->cfg->name,
             att->tgt->model, why, att->detail);
    long delay = act == CFG_ACT_RETRY && !chat->deadline_hit ? gw_retry_delay(chat->gw, chat, att) : -1;
    if (delay >= 0 && schedule_retry(chat, delay)) {
        gw_attempt_free(att);
        return;
    }
    char from[TEL_TARGET_MAX];
    snprintf(from, sizeof from, "%s/%s", att->prov->cfg->name, att->tgt->model);
    uint64_t cost = bs_now_us() - chat->target_start_us;
    chat->target_retries = 0;
    if (try_next(chat)) {
        append(chat->failover, sizeof chat->failover, ",", "%s%s=%s%s%s", from, why, "", "");
        send_event(chat, from, att->fail, cost);
        gw_attempt_free(att);
        return;
    }
    /* Nothing left to try.  A context-length refusal is the request's to
     * fix when no larger target exists: the client gets it as is. */
    if (att->fail == FAIL_CONTEXT && att->status > 0)
        answer_client_error(chat, att);
    else
        answer_all_failed(chat);
    gw_attempt_free(att);
    chat_finish(chat, why);
}


static void drop_attempt(struct gw_chat *chat, struct gw_attempt **slot, enum fail_class why)
{
    if (!*slot)
        return;
    gw_attempt_cancel(*slot, why);
    report_attempt(chat, *slot);
    gw_attempt_free(*slot);
    *slot = NULL;
}

static void chat_on_close(void *arg)
{
    struct gw_chat *chat = arg;
    chat->req = NULL;
    drop_attempt(chat, &chat->hedge, FAIL_CANCELLED);
    drop_attempt(chat, &chat->loser, FAIL_HEDGED);
    if (chat->att) {
        /* The client is gone: stop the upstream now, it bills per token. */
        gw_attempt_cancel(chat->att, FAIL_CANCELLED);
        gw_chat_attempt_done(chat, chat->att);
    } else {
        chat_finish(chat, fail_class_name(FAIL_CANCELLED));
    }
}

static void chat_on_drain(void *arg)
{
    struct gw_chat *chat = arg;
    struct gw_attempt *att = chat->att;
    if (att && att->paused && att->running)
        gw_attempt_resume(att);
}

/* The first target has produced nothing for hedge.after_ms: race the next
 * one, within the worker's hedge budget. */
static void hedge_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw_chat *chat = arg;
    struct gw *gw = chat->gw;
    struct gw_attempt *primary = chat->att;
    if (!chat->req || chat->committed || !primary || chat->hedge || chat->continuing ||
        (primary->mode != ATT_HEAD && primary->mode != ATT_PRECOMMIT))
        return;
    if (gw->hedges * 100 >= (uint64_t)chat->chain->hedge.budget_pct * gw->hedge_eligible)
        return;
    size_t cur = chat->cur_target;
    uint64_t started = chat->target_start_us;
    if (!try_next(chat) || chat->att == primary) {
        chat->att = primary;
        return;
    }
    chat->hedge = chat->att;
    chat->att = primary;
    chat->cur_target = cur;
    chat->target_start_us = started;
    gw->hedges++;
    log_info("request %s: hedging %s with %s", chat->request_id, primary->brk_key, chat->hedge->brk_key);
}

static void arm_hedge(struct gw_chat *chat)
{
    int ms = chat->chain->hedge.after_ms;
    if (ms <= 0 || chat->norder < 2)
        return;
    chat->gw->hedge_eligible++;
    chat->hedge_ev = evtimer_new(chat->gw->base, hedge_cb, chat);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    if (chat->hedge_ev)
        evtimer_add(chat->hedge_ev, &tv);
}

static void set_request_id(struct gw_chat *chat, const char *given)
{
    size_t n = given ? strlen(given) : 0;
    bool ok = n > 0 && n < 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)given[i]) || strchr("-_.:", given[i]);
    if (ok) {
        memcpy(chat->request_id, given, n + 1);
        return;
    }
    struct gw *gw = chat->gw;
    uint64_t x = (++gw->req_seq) * 0x9E3779B97F4A7C15ULL ^ gw->req_salt;
    snprintf(chat->request_id, sizeof chat->request_id, "req_%08x%016llx", gw->req_salt,
             (unsigned long long)x);
}

/* 0, or an HTTP status with msg filled: the client's request is unusable. */
static int parse_request(struct gw_chat *chat, struct http_req *req, char *msg, size_t cap,
                         const char **code)
{
    size_t len;
    const char *body = http_req_body(req, &len);
    json_error_t jerr;
    *code = "invalid_request";
    chat->body = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!chat->body) {
        *code = "invalid_json";
        snprintf(msg, cap, "request body is not valid JSON: %s at line %d column %d", jerr.text,
                 jerr.line, jerr.column);
        return 400;
    }
    if (!json_is_object(chat->body)) {
        snprintf(msg, cap, "request body must be a JSON object");
        return 400;
    }
    json_t *model = json_object_get(chat->body, "model");
    if (!json_is_string(model) || json_string_length(model) == 0) {
        snprintf(msg, cap, "'model' is required and must be a non-empty string");
        return 400;
    }
    json_t *messages = json_object_get(chat->body, "messages");
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        snprintf(msg, cap, "'messages' is required and must be a non-empty array");
        return 400;
    }
    json_t *stream = json_object_get(chat->body, "stream");
    if (stream && !json_is_boolean(stream) && !json_is_null(stream)) {
        snprintf(msg, cap, "'stream' must be a boolean");
        return 400;
    }
    chat->stream = json_is_true(stream);
    chat->chain = gw_catalog_find(chat->cat, json_string_value(model));
    if (!chat->chain) {
        *code = "model_not_found";
        snprintf(msg, cap, "the model '%.128s' does not exist on this gateway; GET /v1/models lists "
                           "the models it serves", json_string_value(model));
        return 404;
    }
    int timeout = chat->cat->cfg->timeouts.request_ms;
    const char *t = http_req_header(req, "x-backstop-timeout-ms");
    if (t) {
        char *end;
        long v = strtol(t, &end, 10);
        if (*t == '\0' || *end || v < 1 || v > timeout) {
            *code = "invalid_timeout";
            snprintf(msg, cap, "x-backstop-timeout-ms must be an integer from 1 to %d", timeout);
            return 400;
        }
        timeout = (int)v;
    }
    chat->deadline_us = chat->start_us + (uint64_t)timeout * 1000;
    return 0;
}

void gw_chat_handle(struct gw *gw, struct http_req *req)
{
    struct gw_chat *chat = calloc(1, sizeof *chat);
    if (!chat) {
        http_req_reply_error(req, 503, "out_of_memory", "the gateway is out of memory");
        gw_request_finished(gw);
        return;
    }
    chat->gw = gw;
    chat->req = req;
    chat->cat = gw_catalog_ref(gw->cat);
    chat->start_us = http_req_start_us(req);
    snprintf(chat->peer, sizeof chat->peer, "%s", http_req_peer(req));
    set_request_id(chat, http_req_header(req, "x-request-id"));
    http_req_set_callbacks(req, chat_on_drain, chat_on_close, chat);
    char msg[512];
    const char *code;
    int status = parse_request(chat, req, msg, sizeof msg, &code);
    if (status) {
        reply_error(chat, status, code, msg);
        chat_finish(chat, code);
        return;
    }
    if (gw_chat_order(chat) < 0) {
        reply_error(chat, 503, "out_of_memory", "the gateway is out of memory");
        chat_finish(chat, "internal");
        return;
    }
    if (!try_next(chat)) {
        answer_all_failed(chat);
        chat_finish(chat, "no_target");
        return;
    }
    arm_hedge(chat);
}
