/*
 * gw_reqscan: checks a request body is well-formed JSON and finds its
 * top-level members in one pass, without building a document.
 *
 * Routing a chat request needs three values (model, messages, stream) and an
 * OpenAI-format target needs the client's bytes with only "model" changed
 * (gw_body.c).  Building a jansson document of the whole prompt for that was
 * the largest cost of a request; the document is now built only when
 * something needs it (a translating adapter, a continuation, a contract
 * check), through gw_chat_body().
 *
 * What it accepts is RFC 8259 JSON, as jansson does with the gateway's flags:
 * UTF-8 checked, control characters in strings refused, \u0000 refused,
 * surrogate escapes paired, nesting bounded.  Differences from jansson,
 * deliberate: numbers are not converted, so an integer too big for 64 bits is
 * passed on rather than refused; duplicate keys are refused at the top level
 * only (where they could make the gateway route on one "model" and the
 * upstream read another); nested duplicates are the upstream's business.
 */
#ifndef BS_GW_REQSCAN_H
#define BS_GW_REQSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define GW_REQSCAN_MAX_DEPTH 512
#define GW_REQSCAN_MAX_MEMBERS 128

struct gw_member {
    size_t key, key_len;       /* the key's bytes between its quotes, escapes as sent */
    size_t val, val_end;       /* the value's bytes, [val, val_end) */
};

/* The result of a scan; plain data pointing into the scanned buffer by
 * offset, owned by the caller (usually on its stack). */
struct gw_reqscan {
    bool object;               /* the root is an object */
    size_t nmembers;
    struct gw_member members[GW_REQSCAN_MAX_MEMBERS];
};

/* 0 when buf is one well-formed JSON value (surrounding white space
 * allowed); -1 otherwise, with err saying what and where ("invalid escape
 * at line 1 column 17").  A root object with more than
 * GW_REQSCAN_MAX_MEMBERS members, or a duplicate top-level key, is refused
 * too, with its own message. */
int gw_reqscan(const char *buf, size_t len, struct gw_reqscan *out, char *err, size_t errcap);

/* The top-level member named key (plain ASCII), or NULL. */
const struct gw_member *gw_reqscan_get(const struct gw_reqscan *s, const char *buf,
                                       const char *key);

/* A string value's contents unescaped into dst (NUL-terminated).  -1 when the
 * value is not a string or does not fit in cap. */
int gw_reqscan_string(const char *buf, const struct gw_member *m, char *dst, size_t cap);

#endif
