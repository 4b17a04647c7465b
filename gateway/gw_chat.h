/*
 * gw_chat: one client chat request (POST /v1/chat/completions, or
 * /v1/messages translated into it) and everything it owns.
 *
 * Ownership: a struct gw_chat is created by gw_chat_handle() and freed by
 * gw_chat_finish(), which only the engine calls (gw_engine.c), once the
 * client has its answer or is gone.  The request's own fields (below, up to
 * the sub-structs) are written by gw_chat.c while it parses the request and
 * by gw_chat_body.c, which builds the body document on first need; after
 * that they are read only.  Each sub-struct has one writer, the module of
 * its type: route (gw_engine.c), hedge (gw_hedge.c), cont (gw_cont.c), rp (gw_repair*.c), trace (gw_trace.c), out
 * (gw_out.c).
 */
#ifndef BS_GW_CHAT_H
#define BS_GW_CHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw.h"
#include "gw_cont.h"
#include "gw_engine.h"
#include "gw_hedge.h"
#include "gw_out.h"
#include "gw_repair.h"
#include "gw_trace.h"

struct gw_attempt;

struct gw_chat {
    struct gw *gw;
    struct http_req *req;         /* NULL once the client went away */
    struct gw_catalog *cat;
    const struct cfg_model *chain;
    json_t *body;                 /* the request in OpenAI form, as a document: for an OpenAI
                                     client built on first need, use gw_chat_body(); for an
                                     Anthropic client its translation */
    size_t model_vs, model_ve;    /* an OpenAI client's raw body: its "model" value, quotes
                                     included */
    bool contract_fields;         /* an OpenAI client's body has "tools" or "response_format":
                                     an answer contract may apply (gw_repair_init) */
    bool stream;
    bool include_usage;           /* stream_options.include_usage */
    enum gw_api api;
    char request_id[72];
    char peer[64];
    uint64_t start_us, deadline_us;
    /* Answer contracts (gw_repair.c): NULL when the request sets none. */
    struct gw_contract *contract;
    struct gw_route route;
    struct gw_hedge hedge;
    struct gw_cont cont;
    struct gw_repair rp;
    struct gw_trace trace;
    struct gw_out_state out;
};

/* gw_chat.c: the request's life. */
/* Access log line (error: the final class, or NULL; att: the attempt whose
 * answer or failure the client got, or NULL), then frees the chat. */
void gw_chat_finish(struct gw_chat *chat, const struct gw_attempt *att, const char *error);

/* gw_chat_body.c */
/* The client's body as a jansson document, parsed on the first call (the
 * request path itself only scans it, gw_reqscan.h); NULL when the client is
 * gone or memory ran out.  Owned by the chat. */
json_t *gw_chat_body(struct gw_chat *chat);

/* gw_order.c: the order in which the request tries its chain's targets
 * (a new array of norder indexes into chain->targets), or NULL. */
size_t *gw_order(struct gw_chat *chat, size_t *norder);

#endif
