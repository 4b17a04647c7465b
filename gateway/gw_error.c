/*
 * gw_error: the shape of the errors the gateway raises itself: OpenAI's
 * {"error":{"message","type","code","param"}}, or Anthropic's for its
 * route.  A leaf: the HTTP server's own refusals (413, 431, ...) and the
 * chat's answers both use it.
 */
#include "gw.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ad_inbound.h"

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
