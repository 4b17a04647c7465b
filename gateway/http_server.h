/*
 * http_server: a small HTTP/1.1 server on libevent bufferevents, one per
 * worker, accepting on a listening socket inherited from the controller.
 *
 * Why not evhttp: the gateway must answer every error of its own (413, 431,
 * 400) in the API's JSON error shape, pause an upstream when a client reads
 * slowly (write watermarks), learn at once that a client went away, and keep
 * per-request allocations to one.  evhttp 2.1 hard-codes HTML error pages and
 * hides the connection buffers.
 *
 * Model: one request at a time per connection (pipelined requests wait in
 * the input buffer).  A request is handed to the handler once its headers and
 * whole body have arrived.  The handler answers with http_req_reply(), or
 * with http_req_stream_start() + http_req_stream_write()* +
 * http_req_stream_end() (chunked transfer encoding).
 *
 * Lifetime of struct http_req: owned by the server.  Valid from the handler
 * call until the handler finishes the response (reply or stream_end), or
 * until the on_close callback has returned, whichever comes first.  After
 * that the handler must not touch it.  on_close is called only when the
 * client connection dies (or the server is freed) while the handler still
 * owns the request; it is the handler's signal to cancel its upstream work.
 */
#ifndef BS_HTTP_SERVER_H
#define BS_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/util.h>

struct http_server;
struct http_req;

struct http_limits {
    size_t max_header_bytes;   /* request line + headers, else 431 */
    size_t max_body_bytes;     /* else 413 (before reading it when Content-Length says so) */
    int max_connections;       /* accepting pauses while this many are open */
    int header_timeout_ms;     /* a started request must have its headers and body in this time (408) */
    int keepalive_timeout_ms;  /* idle keep-alive connection is closed after this */
    size_t output_high_water;  /* http_req_output_pending() above this: the handler should pause */
    size_t output_low_water;   /* on_drain fires when pending output falls to this or below */
};

/* Called once per complete request. */
typedef void (*http_handler_fn)(struct http_req *req, void *arg);

/* Formats an error the server itself raises (bad request line, 413, 431,
 * 408, 505, ...) into out (an evbuffer) as a JSON body.  path is the request
 * path when known, else NULL, so that one API's error shape can differ from
 * another's.  code is a short machine code such as "request_too_large". */
struct evbuffer;
typedef void (*http_error_fn)(struct evbuffer *out, const char *path, int status,
                              const char *code, const char *message);

/* Takes ownership of listen_fd (already bound and listening, non-blocking
 * is set here).  Returns NULL on failure with errno set. */
struct http_server *http_server_new(struct event_base *base, evutil_socket_t listen_fd,
                                    const struct http_limits *limits,
                                    http_handler_fn handler, void *handler_arg,
                                    http_error_fn error_fn);

/* Drain: close the listening socket, close idle keep-alive connections now,
 * and let requests in flight finish with "Connection: close". */
void http_server_drain(struct http_server *srv);

/* Requests currently owned by handlers. */
size_t http_server_in_flight(const struct http_server *srv);
/* Open client connections. */
size_t http_server_connections(const struct http_server *srv);

/* Closes every connection (on_close fires for requests in flight) and frees. */
void http_server_free(struct http_server *srv);

/* --- request accessors (valid while the handler owns the request) --- */
const char *http_req_method(const struct http_req *req);  /* "GET", "POST", ... */
const char *http_req_path(const struct http_req *req);    /* path without the query */
const char *http_req_query(const struct http_req *req);   /* after '?', or NULL */
/* Case-insensitive header lookup; first value; NULL when absent. */
const char *http_req_header(const struct http_req *req, const char *name);
/* Iterate headers: returns 0 and sets name/value for index i, -1 past the end. */
int http_req_header_at(const struct http_req *req, size_t i, const char **name, const char **value);
const char *http_req_body(const struct http_req *req, size_t *len);
const char *http_req_peer(const struct http_req *req);   /* "127.0.0.1:51234" */
uint64_t http_req_start_us(const struct http_req *req);  /* when its first byte arrived, monotonic */

/* --- response --- */
/* Adds a response header (copied).  Before reply/stream_start only. */
int http_req_add_header(struct http_req *req, const char *name, const char *value);
/* Sends status, headers (Content-Type, Content-Length, Date, Connection
 * added here) and body, and finishes the request. */
int http_req_reply(struct http_req *req, int status, const char *content_type,
                   const void *body, size_t len);
/* The same with the body taken from an evbuffer (drained, zero-copy). */
int http_req_reply_buffer(struct http_req *req, int status, const char *content_type,
                          struct evbuffer *body);
/* An error the handler raises, formatted with the server's error_fn. */
int http_req_reply_error(struct http_req *req, int status, const char *code,
                         const char *message);

int http_req_stream_start(struct http_req *req, int status, const char *content_type);
int http_req_stream_write(struct http_req *req, const void *data, size_t len);
/* Writes the terminating chunk and finishes the request. */
int http_req_stream_end(struct http_req *req);
/* Ends a started stream without its terminator and closes the connection,
 * so the client sees a truncated transfer, never a clean end. */
void http_req_stream_abort(struct http_req *req);

/* Bytes written by the handler and not yet sent to the client. */
size_t http_req_output_pending(const struct http_req *req);

/* on_drain: pending output fell to output_low_water or below (after having
 * been above output_high_water).  on_close: see the lifetime note above. */
void http_req_set_callbacks(struct http_req *req, void (*on_drain)(void *arg),
                            void (*on_close)(void *arg), void *arg);

#endif
