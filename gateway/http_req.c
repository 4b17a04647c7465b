/*
 * http_req: read-only accessors for the request a handler is given.  All of
 * them point into memory owned by the connection (the head copy and body
 * buffer), valid while the handler owns the request.
 */
#include "http_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

const char *http_req_method(const struct http_req *req)
{
    return req->head.method;
}

const char *http_req_path(const struct http_req *req)
{
    return req->head.path;
}

const char *http_req_query(const struct http_req *req)
{
    return req->head.query;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
    return http_head_get(&req->head, name);
}

int http_req_header_at(const struct http_req *req, size_t i, const char **name, const char **value)
{
    if (i >= req->head.nheaders)
        return -1;
    if (name)
        *name = req->head.headers[i].name;
    if (value)
        *value = req->head.headers[i].value;
    return 0;
}

const char *http_req_body(const struct http_req *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body;
}

uint64_t http_req_start_us(const struct http_req *req)
{
    return req->start_us;
}

/* Formatted on first use: most requests never ask. */
const char *http_req_peer(const struct http_req *req)
{
    struct http_conn *c = req->conn;
    if (c->peer_done)
        return c->peer;
    char ip[INET6_ADDRSTRLEN];
    const struct sockaddr *sa = (const struct sockaddr *)&c->peer_sa;
    snprintf(c->peer, sizeof c->peer, "unknown");
    if (sa->sa_family == AF_INET && c->peer_len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        if (inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip))
            snprintf(c->peer, sizeof c->peer, "%s:%u", ip, (unsigned)ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6 && c->peer_len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        unsigned port = ntohs(s6->sin6_port);
        /* a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d */
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            if (inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof ip))
                snprintf(c->peer, sizeof c->peer, "%s:%u", ip, port);
        } else if (inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip)) {
            snprintf(c->peer, sizeof c->peer, "[%s]:%u", ip, port);
        }
    } else if (sa->sa_family == AF_UNIX) {
        snprintf(c->peer, sizeof c->peer, "unix");
    }
    c->peer_done = 1;
    return c->peer;
}
