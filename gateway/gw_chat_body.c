/*
 * gw_chat_body: the client's request as a document, built only when a step
 * needs one (a translation, a contract, a continuation, a corrective
 * retry): the common path sends the client's bytes with the model spliced
 * in and never parses them.
 */
#include "gw_chat.h"

#include "log.h"

json_t *gw_chat_body(struct gw_chat *chat)
{
    if (chat->body || !chat->req)
        return chat->body;
    size_t len;
    const char *raw = http_req_body(chat->req, &len);
    json_error_t jerr;
    /* Checked by gw_reqscan already; a failure here is memory, or a number
     * jansson cannot hold (see gw_reqscan.h). */
    chat->body = json_loadb(raw ? raw : "", len, 0, &jerr);
    if (!chat->body)
        log_warn("request %s: cannot build the body document: %s", chat->request_id, jerr.text);
    return chat->body;
}
