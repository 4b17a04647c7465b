/*
 * Checks for the values that have a syntax of their own (addresses, URLs,
 * names), called from the schema rows.  Each one reports its own error at
 * the current path, since only it knows what exactly is wrong.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_impl.h"

/* Names end up in URLs, log lines and metrics labels. */
#define NAME_MAX_LEN 128

static bool is_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* Decimal 0..65535 without sign or spaces; -1 otherwise. */
static int parse_port(const char *s, size_t n)
{
    if (n == 0 || n > 5)
        return -1;
    int port = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        port = port * 10 + (s[i] - '0');
    }
    return port <= 65535 ? port : -1;
}

const char *cfg_parse_listen(const char *s, char host[CFG_HOST_MAX], int *port)
{
    const char *h, *he, *p;
    bool v6 = s[0] == '[';
    if (v6) {
        h = s + 1;
        he = strchr(h, ']');
        if (!he || he[1] != ':')
            return "expected \"[IPV6]:PORT\"";
        p = he + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return "expected \"HOST:PORT\"";
        if (memchr(s, ':', (size_t)(colon - s)))
            return "an IPv6 address goes in brackets, as in \"[::1]:8080\"";
        h = s;
        he = colon;
        p = colon + 1;
    }
    size_t hl = (size_t)(he - h);
    if (hl == 0)
        return "the host is missing (use 0.0.0.0 or [::] for all addresses)";
    if (hl >= CFG_HOST_MAX)
        return "the host must be a numeric address or \"localhost\"";
    memcpy(host, h, hl);
    host[hl] = '\0';
    unsigned char addr[16];
    bool host_ok = v6 ? inet_pton(AF_INET6, host, addr) == 1
                      : inet_pton(AF_INET, host, addr) == 1 || strcmp(host, "localhost") == 0;
    if (!host_ok)
        return v6 ? "the host is not an IPv6 address"
                  : "the host must be a numeric address or \"localhost\"";
    *port = parse_port(p, strlen(p));
    if (*port < 0)
        return "the port must be a number from 0 to 65535";
    return NULL;
}

bool cfg_check_listen(struct cfg_ctx *c, const char *s, char **repl)
{
    (void)repl;
    char host[CFG_HOST_MAX];
    int port;
    const char *why = cfg_parse_listen(s, host, &port);
    if (!why)
        return true;
    char q[CFG_QUOTE_MAX];
    cfg_err(c, "invalid address %s: %s", cfg_quote(q, s), why);
    return false;
}

/* The socket file's mode is the admin plane's first gate; the peer check in
 * ctr_admin.c is the second.  A mode that lets "other" connect would make the
 * second the only one, so it is refused outright rather than trusted. */
bool cfg_check_admin_mode(struct cfg_ctx *c, const char *s, char **repl)
{
    (void)repl;
    if ((strtol(s, NULL, 8) & 07) == 0)
        return true;
    cfg_err(c, "admin.mode \"%s\" gives \"other\" access to the admin socket: the last digit "
            "must be 0 (use \"0600\", or \"0660\" with admin.group)", s);
    return false;
}

static bool url_error(struct cfg_ctx *c, const char *s, const char *why)
{
    char q[CFG_QUOTE_MAX];
    cfg_err(c, "invalid URL %s: %s", cfg_quote(q, s), why);
    return false;
}

/* Upstream URLs get paths such as /chat/completions appended, so they are
 * kept to scheme://host[:port][/path] and stored without a trailing '/'. */
bool cfg_check_url(struct cfg_ctx *c, const char *s, char **repl)
{
    const char *rest;
    if (strncmp(s, "http://", 7) == 0)
        rest = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        rest = s + 8;
    else
        return url_error(c, s, "must start with http:// or https://");
    for (const char *q = s; *q; q++) {
        unsigned char ch = (unsigned char)*q;
        if (ch <= 0x20 || ch >= 0x7f)
            return url_error(c, s, "spaces, control and non-ASCII characters are not allowed");
        if (ch == '?' || ch == '#')
            return url_error(c, s, "a query or fragment is not allowed (paths are appended)");
    }
    size_t alen = strcspn(rest, "/");
    if (memchr(rest, '@', alen))
        return url_error(c, s, "credentials are not allowed in the URL (use api_key_env)");
    const char *host = rest, *port = NULL;
    size_t hlen;
    if (rest[0] == '[') {
        const char *close = memchr(rest, ']', alen);
        if (!close)
            return url_error(c, s, "unterminated '[' in the host");
        hlen = (size_t)(close - rest) + 1;
        if (hlen == 2)
            return url_error(c, s, "the host is missing");
        if (hlen < alen && rest[hlen] != ':')
            return url_error(c, s, "expected ':' after ']'");
    } else {
        hlen = strcspn(rest, ":/");
        if (hlen > alen)
            hlen = alen;
    }
    if (hlen == 0)
        return url_error(c, s, "the host is missing");
    if (hlen < alen) {
        port = host + hlen + 1;
        int n = parse_port(port, alen - hlen - 1);
        if (n <= 0)
            return url_error(c, s, "the port must be a number from 1 to 65535");
    }
    size_t len = strlen(s), min = (size_t)(rest - s) + alen;
    size_t keep = len;
    while (keep > min && s[keep - 1] == '/')
        keep--;
    if (keep != len)
        *repl = strndup(s, keep);
    return true;
}

bool cfg_check_env_name(struct cfg_ctx *c, const char *s, char **repl)
{
    (void)repl;
    bool ok = *s && !(*s >= '0' && *s <= '9');
    for (const char *p = s; ok && *p; p++)
        ok = is_alnum((unsigned char)*p) || *p == '_';
    if (!ok) {
        char q[CFG_QUOTE_MAX];
        cfg_err(c, "%s is not an environment variable name "
                   "(letters, digits and '_', not starting with a digit)", cfg_quote(q, s));
    }
    return ok;
}

/* It goes into a header or a query parameter as is: visible ASCII only. */
bool cfg_check_api_version(struct cfg_ctx *c, const char *s, char **repl)
{
    (void)repl;
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 64;
    for (const char *p = s; ok && *p; p++)
        ok = *p > ' ' && *p < 127 && *p != '&' && *p != '#';
    if (!ok) {
        char q[CFG_QUOTE_MAX];
        cfg_err(c, "%s is not an API version (1 to 64 visible ASCII characters, no '&' or '#')",
                cfg_quote(q, s));
    }
    return ok;
}

/* It goes into the signature's credential scope: AWS's own form. */
bool cfg_check_aws_region(struct cfg_ctx *c, const char *s, char **repl)
{
    (void)repl;
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
    if (!ok) {
        char q[CFG_QUOTE_MAX];
        cfg_err(c, "%s is not an AWS region (such as \"us-east-1\")", cfg_quote(q, s));
    }
    return ok;
}

bool cfg_check_provider_name(struct cfg_ctx *c, const char *key)
{
    size_t n = strlen(key);
    bool ok = n >= 1 && n <= NAME_MAX_LEN;
    for (const char *p = key; ok && *p; p++)
        ok = is_alnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-';
    if (!ok)
        cfg_err(c, "invalid provider name: use 1 to %d letters, digits, '_', '.' or '-'",
                NAME_MAX_LEN);
    return ok;
}

bool cfg_check_model_name(struct cfg_ctx *c, const char *key)
{
    size_t n = strlen(key);
    bool ok = n >= 1 && n <= NAME_MAX_LEN;
    for (const char *p = key; ok && *p; p++)
        ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f;
    if (!ok)
        cfg_err(c, "invalid model name: use 1 to %d printable ASCII characters, no spaces",
                NAME_MAX_LEN);
    return ok;
}

static bool given(const json_t *p, const char *key)
{
    const json_t *v = json_object_get(p, key);
    return v && !json_is_null(v);
}

/* The aws_* keys belong to bedrock providers, which need a region. */
static bool check_aws(struct cfg_ctx *c, const json_t *p)
{
    static const char *const keys[] = { "aws_region", "aws_secret_key_env", "aws_session_token_env" };
    bool bedrock = strcmp(json_string_value(json_object_get(p, "type")) ?: "", "bedrock") == 0;
    bool ok = true;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (bedrock ? i > 0 || given(p, keys[i]) : !given(p, keys[i]))
            continue;
        size_t mark = cfg_path_key(c, keys[i]);
        if (bedrock)
            cfg_err(c, "is required for a bedrock provider (the region requests are signed for)");
        else
            cfg_err(c, "is for bedrock providers only");
        cfg_path_pop(c, mark);
        ok = false;
    }
    return ok;
}

/* An optional provider is one that may be switched off by leaving its key
 * variable unset; without a variable the flag could never act, which is
 * most likely a mistake in the file. */
bool cfg_check_provider(struct cfg_ctx *c, const json_t *p)
{
    if (!check_aws(c, p))
        return false;
    /* One source for the key: a token source replaces the variable. */
    const char *tok = given(p, "token_command") ? "token_command" : given(p, "token_file") ? "token_file" : NULL;
    if (tok && (given(p, "api_key_env") || (given(p, "token_command") && given(p, "token_file")))) {
        size_t mark = cfg_path_key(c, tok);
        cfg_err(c, "token_command, token_file and api_key_env exclude each other: the key has one source");
        cfg_path_pop(c, mark);
        return false;
    }
    /* Vertex URLs name the project and location; the adapter appends the
     * publisher and model, so a bare host would only ever 404. */
    const char *type = json_string_value(json_object_get(p, "type"));
    const char *base = json_string_value(json_object_get(p, "base_url"));
    if (type && base && strncmp(type, "vertex-", 7) == 0 &&
        (!strstr(base, "/projects/") || !strstr(base, "/locations/"))) {
        size_t mark = cfg_path_key(c, "base_url");
        cfg_err(c, "a Vertex base_url names the project and location: "
                   "https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}");
        cfg_path_pop(c, mark);
        return false;
    }
    /* The chat probe speaks OpenAI's chat route; other types have none. */
    if (json_is_true(json_object_get(p, "chat_probe")) && type && strcmp(type, "openai") != 0 &&
        strcmp(type, "openai-compatible") != 0) {
        size_t mark = cfg_path_key(c, "chat_probe");
        cfg_err(c, "is for openai and openai-compatible providers only, not %s", type);
        cfg_path_pop(c, mark);
        return false;
    }
    if (!json_is_true(json_object_get(p, "optional")) || given(p, "api_key_env"))
        return true;
    size_t mark = cfg_path_key(c, "optional");
    cfg_err(c, "true needs api_key_env: a provider without a key variable is never disabled");
    cfg_path_pop(c, mark);
    return false;
}

/* A default longer than the maximum would make every `fail` without --for
 * a refused one. */
bool cfg_check_overrides(struct cfg_ctx *c, const json_t *o)
{
    json_int_t def = json_integer_value(json_object_get(o, "fault_default_ms"));
    json_int_t max = json_integer_value(json_object_get(o, "fault_max_ms"));
    if (def <= max)
        return true;
    size_t mark = cfg_path_key(c, "fault_default_ms");
    cfg_err(c, "%lld is more than fault_max_ms (%lld)", (long long)def, (long long)max);
    cfg_path_pop(c, mark);
    return false;
}

static bool same_group(const json_t *a, const json_t *b)
{
    if (json_is_null(a) || json_is_null(b))
        return json_is_null(a) && json_is_null(b);
    return strcmp(json_string_value(a), json_string_value(b)) == 0;
}

/* A target outside the chain's primary group serves another model: it is
 * taken only when the operator said so, never by accident of the order. */
bool cfg_check_chain(struct cfg_ctx *c, const json_t *m)
{
    const json_t *targets = json_object_get(m, "targets");
    const json_t *first = json_array_get(targets, 0);
    if (!first)
        return true;
    const json_t *primary = json_object_get(first, "group");
    bool ok = true;
    for (size_t i = 1; i < json_array_size(targets); i++) {
        const json_t *t = json_array_get(targets, i);
        if (same_group(primary, json_object_get(t, "group")) || json_is_true(json_object_get(t, "approved")))
            continue;
        size_t m1 = cfg_path_key(c, "targets");
        size_t m2 = cfg_path_index(c, i);
        cfg_err(c, "a cross-model fallback (group %s, the chain's primary group is %s) must be "
                   "marked \"approved\": true",
                json_is_null(json_object_get(t, "group")) ? "none" : json_string_value(json_object_get(t, "group")),
                json_is_null(primary) ? "none" : json_string_value(primary));
        cfg_path_pop(c, m2);
        cfg_path_pop(c, m1);
        (void)m1;
        ok = false;
    }
    return ok;
}

/* A key of a chain's "on" that names no configurable class: either a class
 * whose sequel the gateway decides itself, or no class at all. */
void cfg_check_on_key(struct cfg_ctx *c, const char *key)
{
    char list[512];
    size_t n = 0;
    for (const struct cfg_field *f = cfg_on_fields; f->kind != CK_END && n < sizeof list; f++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s\"%s\"", f == cfg_on_fields ? "" : ", ",
                              f->key);
    char q[CFG_QUOTE_MAX];
    cfg_err(c, "%s failure class %s, expected one of %s",
            fail_by_name(key) >= 0 ? "not a configurable" : "unknown", cfg_quote(q, key), list);
}
