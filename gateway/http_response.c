/*
 * http_response: everything that writes a response: status line and common
 * headers, whole replies, chunked streams, and the JSON error bodies the
 * server raises itself.
 */
#include "http_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <string.h>
#include <strings.h>

#include "fmt.h"

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 529: return "Site is overloaded";
    default: return "Status";
    }
}

/* The Date header changes once a second; formatting it per response would
 * cost a gmtime + strftime on the hot path.  Formatted by hand so the locale
 * cannot change it. */
static void refresh_date(struct http_server *srv)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct timeval tv;
    if (event_base_gettimeofday_cached(srv->base, &tv) != 0)
        gettimeofday(&tv, NULL);
    if (srv->date_len && tv.tv_sec == srv->date_sec)
        return;
    time_t t = tv.tv_sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(srv->date, sizeof srv->date, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
                     days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
    srv->date_len = n > 0 && (size_t)n < sizeof srv->date ? (size_t)n : 0;
    srv->date_sec = tv.tv_sec;
}

int http_must_close(const struct http_conn *c)
{
    return c->srv->draining || !c->req.head.keep_alive || c->req.force_close ||
           c->req.stream_raw || c->eof;
}

static int value_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return 0; /* CR/LF would let a value inject headers */
    }
    return 1;
}

void http_write_head(struct http_conn *c, int status, const char *content_type,
                     long long body_len, int closing)
{
    struct http_server *srv = c->srv;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    /* Built by hand in one buffer and added once: every evbuffer_add runs
     * the bufferevent's callbacks. */
    char buf[1024];
    size_t n = 0;
#define PUT(s, l) (memcpy(buf + n, (s), (l)), n += (l))
#define PUTS(lit) PUT(lit, sizeof lit - 1)

    refresh_date(srv);
    const char *reason = http_reason(status);
    PUTS("HTTP/1.1 ");
    n += fmt_u64(buf + n, status >= 100 && status <= 999 ? (uint64_t)status : 500);
    buf[n++] = ' ';
    PUT(reason, strlen(reason));   /* at most 31 bytes */
    PUTS("\r\n");
    PUT(srv->date, srv->date_len); /* under 40 bytes */
    /* the handler may pass an upstream's value through: never let it add lines */
    size_t ctl = content_type ? strlen(content_type) : 0;
    if (ctl && value_ok(content_type)) {
        PUTS("Content-Type: ");
        if (ctl > 256) {   /* longer than any real one: not worth a bigger buffer */
            evbuffer_add(out, buf, n);
            evbuffer_add(out, content_type, ctl);
            n = 0;
        } else {
            PUT(content_type, ctl);
        }
        PUTS("\r\n");
    }
    if (body_len >= 0) {
        /* 1xx, 204 and 304 carry no body and no length */
        if (status >= 200 && status != 204 && status != 304) {
            PUTS("Content-Length: ");
            n += fmt_u64(buf + n, (uint64_t)body_len);
            PUTS("\r\n");
        }
    } else if (!c->req.stream_raw) {
        PUTS("Transfer-Encoding: chunked\r\n");
    }
    if (closing)
        PUTS("Connection: close\r\n");
    else if (c->req.head.version_minor == 0)
        PUTS("Connection: keep-alive\r\n");
    if (n + c->req.rh_len + 2 > sizeof buf) {
        evbuffer_add(out, buf, n);
        evbuffer_add(out, c->req.rh, c->req.rh_len);
        evbuffer_add(out, "\r\n", 2);
        return;
    }
    if (c->req.rh_len)
        PUT(c->req.rh, c->req.rh_len);
    PUTS("\r\n");
#undef PUTS
#undef PUT
    evbuffer_add(out, buf, n);
}

static void json_string(struct evbuffer *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;

    evbuffer_add(out, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        evbuffer_add(out, run, (size_t)(s - run));
        run = s + 1;
        switch (ch) {
        case '"': evbuffer_add(out, "\\\"", 2); break;
        case '\\': evbuffer_add(out, "\\\\", 2); break;
        case '\n': evbuffer_add(out, "\\n", 2); break;
        case '\r': evbuffer_add(out, "\\r", 2); break;
        case '\t': evbuffer_add(out, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            evbuffer_add(out, u, 6);
        }
        }
    }
    evbuffer_add(out, run, (size_t)(s - run));
    evbuffer_add(out, "\"", 1);
}

void http_format_error(struct http_server *srv, struct evbuffer *out, const char *path,
                       int status, const char *code, const char *message)
{
    if (!message)
        message = http_reason(status);
    if (!code)
        code = "error";
    if (srv->error_fn) {
        srv->error_fn(out, path, status, code, message);
        return;
    }
    evbuffer_add(out, "{\"error\":{\"message\":", 20);
    json_string(out, message);
    evbuffer_add(out, ",\"type\":\"invalid_request_error\",\"code\":", 39);
    json_string(out, code);
    evbuffer_add(out, ",\"param\":null}}", 15);
}

void http_check_high_water(struct http_conn *c)
{
    if (!c->req.drain_armed &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) > c->srv->lim.output_high_water)
        c->req.drain_armed = 1;
}

/* ---- public response API ---- */

static int owned(const struct http_req *req)
{
    return req && req->conn->state == HC_HANDLER;
}

static int token_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", ch))
            return 0;
    }
    return 1;
}

int http_req_add_header(struct http_req *req, const char *name, const char *value)
{
    if (!owned(req) || req->streaming || !name || !value || !token_ok(name) || !value_ok(value))
        return -1;
    size_t nl = strlen(name), vl = strlen(value);
    /* Framing headers are the server's: a second Content-Length or
     * Transfer-Encoding would corrupt the response.  (The lengths first:
     * most names are none of these.) */
    if ((nl == 14 && strcasecmp(name, "Content-Length") == 0) ||
        (nl == 17 && strcasecmp(name, "Transfer-Encoding") == 0) ||
        (nl == 4 && strcasecmp(name, "Date") == 0) || (nl == 10 && strcasecmp(name, "Keep-Alive") == 0))
        return -1;
    if (nl == 10 && strcasecmp(name, "Connection") == 0) {
        if (strcasestr(value, "close"))
            req->force_close = 1;
        return 0;
    }
    size_t need = req->rh_len + nl + vl + 4;
    if (need > req->rh_cap) {
        size_t cap = req->rh_cap ? req->rh_cap * 2 : 256;
        while (cap < need)
            cap *= 2;
        char *n = realloc(req->rh, cap);
        if (!n)
            return -1;
        req->rh = n;
        req->rh_cap = cap;
    }
    char *p = req->rh + req->rh_len;
    memcpy(p, name, nl);
    p += nl;
    *p++ = ':';
    *p++ = ' ';
    memcpy(p, value, vl);
    p += vl;
    *p++ = '\r';
    *p++ = '\n';
    req->rh_len = need;
    return 0;
}

static int bodiless(const struct http_req *req, int status)
{
    return req->no_body || status < 200 || status == 204 || status == 304;
}

int http_req_reply(struct http_req *req, int status, const char *content_type,
                   const void *body, size_t len)
{
    if (!owned(req) || req->streaming)
        return -1;
    struct http_conn *c = req->conn;
    if (c->gone) {
        http_conn_finish(c);
        return -1;
    }
    http_write_head(c, status, content_type, (long long)len, http_must_close(c));
    if (len && !bodiless(req, status))
        evbuffer_add(bufferevent_get_output(c->bev), body, len);
    http_check_high_water(c);
    http_conn_push(c);
    http_conn_finish(c);
    return 0;
}

int http_req_reply_buffer(struct http_req *req, int status, const char *content_type,
                          struct evbuffer *body)
{
    if (!owned(req) || req->streaming)
        return -1;
    struct http_conn *c = req->conn;
    size_t len = body ? evbuffer_get_length(body) : 0;
    if (c->gone) {
        if (body)
            evbuffer_drain(body, len);
        http_conn_finish(c);
        return -1;
    }
    http_write_head(c, status, content_type, (long long)len, http_must_close(c));
    if (len) {
        if (bodiless(req, status))
            evbuffer_drain(body, len);
        else
            evbuffer_add_buffer(bufferevent_get_output(c->bev), body);
    }
    http_check_high_water(c);
    http_conn_push(c);
    http_conn_finish(c);
    return 0;
}

int http_req_reply_error(struct http_req *req, int status, const char *code, const char *message)
{
    if (!owned(req) || req->streaming)
        return -1;
    struct http_server *srv = req->conn->srv;
    struct evbuffer *b = srv->scratch;
    evbuffer_drain(b, evbuffer_get_length(b));
    http_format_error(srv, b, req->head.path, status, code, message);
    return http_req_reply_buffer(req, status, "application/json", b);
}

int http_req_stream_start(struct http_req *req, int status, const char *content_type)
{
    if (!owned(req) || req->streaming || req->conn->gone)
        return -1;
    struct http_conn *c = req->conn;
    /* HTTP/1.0 has no chunked encoding: the end of the body is the close. */
    req->stream_raw = req->head.version_minor == 0;
    req->streaming = 1;
    http_write_head(c, status, content_type, -1, http_must_close(c));
    http_check_high_water(c);
    http_conn_push(c);
    return 0;
}

int http_req_stream_write(struct http_req *req, const void *data, size_t len)
{
    if (!owned(req) || !req->streaming || req->conn->gone)
        return -1;
    if (len == 0 || req->no_body)
        return 0; /* a zero-size chunk would end the stream */
    struct http_conn *c = req->conn;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int rc;
    if (req->stream_raw) {
        rc = evbuffer_add(out, data, len);
    } else {
        char line[24];
        int n = snprintf(line, sizeof line, "%zx\r\n", len);
        rc = evbuffer_add(out, line, (size_t)n) | evbuffer_add(out, data, len) |
             evbuffer_add(out, "\r\n", 2);
    }
    http_check_high_water(c);
    http_conn_push(c);
    return rc ? -1 : 0;
}

int http_req_stream_end(struct http_req *req)
{
    if (!owned(req) || !req->streaming)
        return -1;
    struct http_conn *c = req->conn;
    if (c->gone) {
        http_conn_finish(c);
        return -1;
    }
    if (!req->stream_raw && !req->no_body)
        evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
    http_conn_push(c);
    http_conn_finish(c);
    return 0;
}

void http_req_stream_abort(struct http_req *req)
{
    if (!owned(req))
        return;
    http_conn_abort(req->conn);
}

size_t http_req_output_pending(const struct http_req *req)
{
    if (!owned(req) || req->conn->gone)
        return 0;
    return evbuffer_get_length(bufferevent_get_output(req->conn->bev));
}

void http_req_set_callbacks(struct http_req *req, void (*on_drain)(void *arg),
                            void (*on_close)(void *arg), void *arg)
{
    if (!owned(req))
        return;
    req->on_drain = on_drain;
    req->on_close = on_close;
    req->cb_arg = arg;
}
