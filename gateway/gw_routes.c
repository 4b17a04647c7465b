/*
 * gw_routes: dispatches a request by path, and answers the small endpoints
 * (/v1/models, /healthz).  Errors the gateway raises itself use the OpenAI
 * error shape {"error":{"message","type","code","param"}}.
 */
#include "gw.h"

#include "ad_inbound.h"
#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *gw_error_type(int status)
{
    if (status == 401)
        return "authentication_error";
    if (status == 403)
        return "permission_error";
    if (status == 429)
        return "rate_limit_error";
    if (status >= 500)
        return "server_error";
    return "invalid_request_error";
}

void gw_error_body(struct evbuffer *out, const char *path, int status, const char *code,
                   const char *message)
{
    json_t *body;
    if (path && strcmp(path, "/v1/messages") == 0)
        /* Anthropic's clients read Anthropic's shape. */
        body = json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type",
                         ad_in_error_type_status(status), "message", message);
    else
        body = json_pack("{s:{s:s, s:s, s:s?, s:n}}", "error", "message", message, "type",
                         gw_error_type(status), "code", code, "param");
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (text)
        evbuffer_add(out, text, strlen(text));
    else
        evbuffer_add_printf(out, "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\","
                                 "\"code\":\"internal\",\"param\":null}}");
    free(text);
    json_decref(body);
}

static void reply_models(struct gw *gw, struct http_req *req)
{
    const struct gw_catalog *cat = gw->cat;
    http_req_reply(req, 200, "application/json", cat->models_json, cat->models_json_len);
    gw_request_finished(gw);
}

static void reply_health(struct gw *gw, struct http_req *req)
{
    char body[160];
    int n = snprintf(body, sizeof body,
                     "{\"status\":\"%s\",\"worker\":%d,\"generation\":%llu}",
                     gw->draining ? "draining" : "ok", gw->slot,
                     (unsigned long long)(gw->cat ? gw->cat->generation : 0));
    http_req_reply(req, gw->draining ? 503 : 200, "application/json", body, (size_t)n);
    gw_request_finished(gw);
}

static void reply_error(struct gw *gw, struct http_req *req, int status, const char *code,
                        const char *msg)
{
    http_req_reply_error(req, status, code, msg);
    gw_request_finished(gw);
}

void gw_route(struct http_req *req, void *arg)
{
    struct gw *gw = arg;
    const char *path = http_req_path(req);
    const char *method = http_req_method(req);
    if (gw_catalog_refresh(gw) < 0 && !gw->cat) {
        reply_error(gw, req, 503, "no_catalog", "the gateway has no usable catalog yet");
        return;
    }
    if (strcmp(path, "/v1/chat/completions") == 0 || strcmp(path, "/chat/completions") == 0) {
        if (strcmp(method, "POST") != 0) {
            http_req_add_header(req, "Allow", "POST");
            reply_error(gw, req, 405, "method_not_allowed", "use POST for /v1/chat/completions");
            return;
        }
        gw_chat_handle(gw, req, GW_API_OPENAI);
        return;
    }
    if (strcmp(path, "/v1/messages") == 0) {
        if (strcmp(method, "POST") != 0) {
            http_req_add_header(req, "Allow", "POST");
            reply_error(gw, req, 405, "method_not_allowed", "use POST for /v1/messages");
            return;
        }
        gw_chat_handle(gw, req, GW_API_ANTHROPIC);
        return;
    }
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(path, "/v1/models") == 0 || strcmp(path, "/models") == 0) {
        if (!get) {
            http_req_add_header(req, "Allow", "GET");
            reply_error(gw, req, 405, "method_not_allowed", "use GET for /v1/models");
            return;
        }
        reply_models(gw, req);
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        if (!get) {
            http_req_add_header(req, "Allow", "GET");
            reply_error(gw, req, 405, "method_not_allowed", "use GET for /healthz");
            return;
        }
        reply_health(gw, req);
        return;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "no route for %.64s %.128s", method, path);
    reply_error(gw, req, 404, "not_found", msg);
}
