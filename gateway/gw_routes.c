/*
 * gw_routes: dispatches a request by path, and answers the small endpoints
 * (/v1/models, /healthz).  Errors the gateway raises itself are shaped by
 * gw_error.c.
 */
#include "gw.h"

#include "ad_inbound.h"
#include <event2/buffer.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
