#include "sim_exchange.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>

/* While waiting for the kernel to take the last bytes before a deliberate
 * close, poll this often; it only runs under the close_after fault. */
#define DRAIN_POLL_MS 1
/* Without chunk delays, events are queued until this many bytes wait in the
 * connection's output buffer; the rest follow as the client reads them. A
 * slow reader of a huge stream (words=200000) then holds a bounded amount of
 * libevent buffer here instead of a buffer chain for every event. */
#define WRITE_HIGH_BYTES (64 * 1024)

enum ex_state {
	ST_IDLE,
	ST_LATENCY,      /* waiting to send the status line */
	ST_TTFB,         /* stream headers sent, waiting for the first event */
	ST_STREAMING,    /* waiting between events */
	ST_WRITING,      /* waiting for the client to read queued events */
	ST_DRAIN,        /* all events queued, waiting to close */
	ST_RESET,        /* waiting to reset the connection */
	ST_HANG,         /* never answering */
	ST_ENDED,        /* reply handed to libevent, waiting for the flush */
};

struct sim_exchange {
	struct sim_server *srv;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	struct event *timer;
	struct event *watch;
	struct sim_exchange *prev, *next;
	struct sim_plan plan;
	enum ex_state state;
	size_t next_ev;
	/* evhttp_send_reply{,_end} was called: from then on libevent, not us,
	 * frees the request whatever happens to the connection */
	bool replied;
	bool aborting;
};

static void exchange_free(struct sim_exchange *ex)
{
	struct sim_server *srv = ex->srv;
	if (ex->prev)
		ex->prev->next = ex->next;
	else
		srv->live = ex->next;
	if (ex->next)
		ex->next->prev = ex->prev;
	if (ex->timer)
		event_free(ex->timer);
	if (ex->watch)
		event_free(ex->watch);
	free(ex->plan.body);
	sim_strv_free(&ex->plan.events);
	free(ex);
}

/* The connection is going away before our reply was fully written: the
 * client left, a fault dropped it, or the server is shutting down. */
static void on_close(struct evhttp_connection *conn, void *arg)
{
	struct sim_exchange *ex = arg;
	struct sim_stats *st = &ex->srv->stats;
	(void)conn;

	if (ex->aborting)
		st->aborted++;
	else
		st->cancelled++;
	st->in_flight--;
	if (ex->srv->verbose)
		fprintf(stderr, "simprov %s: %s %s\n", ex->srv->name,
			ex->plan.request_id,
			ex->aborting ? "aborted" : "cancelled by client");

	/* libevent detaches an unanswered request when the client leaves and
	 * then no longer frees it; every other path frees it after this */
	if (!ex->replied && evhttp_request_get_connection(ex->req) == NULL)
		evhttp_request_free(ex->req);
	exchange_free(ex);
}

static void on_complete(struct evhttp_request *req, void *arg)
{
	struct sim_exchange *ex = arg;
	struct sim_stats *st = &ex->srv->stats;
	(void)req;

	st->completed++;
	st->in_flight--;
	if (ex->plan.success) {
		st->prompt_tokens += ex->plan.prompt_tokens;
		st->completion_tokens += ex->plan.completion_tokens;
	}
	/* the connection lives on (keep-alive); its next close is not ours */
	evhttp_connection_set_closecb(ex->conn, NULL, NULL);
	exchange_free(ex);
}

struct sim_exchange *sim_exchange_new(struct sim_server *srv,
				      struct evhttp_request *req)
{
	struct sim_exchange *ex = calloc(1, sizeof(*ex));
	if (!ex)
		return NULL;
	ex->srv = srv;
	ex->req = req;
	ex->conn = evhttp_request_get_connection(req);
	ex->plan.status = 500;
	ex->plan.content_type = "application/json";
	ex->plan.retry_after = -1;
	ex->plan.retry_after_ms = -1;

	ex->next = srv->live;
	if (srv->live)
		srv->live->prev = ex;
	srv->live = ex;

	evhttp_connection_set_closecb(ex->conn, on_close, ex);
	evhttp_request_set_on_complete_cb(req, on_complete, ex);
	return ex;
}

struct sim_plan *sim_exchange_plan(struct sim_exchange *ex)
{
	return &ex->plan;
}

/* Freeing the connection runs on_close, which frees ex: callers must return
 * straight after. Never called from inside the request callback itself,
 * where libevent still uses the connection after we return. */
static void drop_connection(struct sim_exchange *ex, bool rst)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(ex->conn);
	evutil_socket_t fd = bufferevent_getfd(bev);

	ex->aborting = true;
	if (rst && fd >= 0) {
		/* linger {on, 0} makes close() send RST instead of FIN. But
		 * evhttp_connection_free() shuts the socket down for writing
		 * (a FIN) before closing it, so the real socket is closed
		 * here first: dup2() swaps an unconnected placeholder into
		 * the descriptor, releasing the connection with an RST, and
		 * libevent's shutdown/close then land on the placeholder. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		int ph = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ph >= 0) {
			dup2(ph, fd);
			close(ph);
		}
	}
	evhttp_connection_free(ex->conn);
}

/* Libevent only notices a vanished client when a write fails, which never
 * happens while we are silent (latency, hang, slow stream). Watching the
 * socket ourselves lets a test see the cancellation as it happens. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct sim_exchange *ex = arg;
	char c;
	(void)what;

	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0) {
		/* a pipelined request: cannot tell anything, stop watching
		 * rather than spin on a readable socket */
		event_del(ex->watch);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	evhttp_connection_free(ex->conn);   /* on_close frees ex */
}

static void watch_start(struct sim_exchange *ex)
{
	if (ex->watch)
		return;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(ex->conn);
	evutil_socket_t fd = bufferevent_getfd(bev);
	if (fd < 0)
		return;
	ex->watch = event_new(ex->srv->base, fd, EV_READ | EV_PERSIST,
			      on_readable, ex);
	if (ex->watch)
		event_add(ex->watch, NULL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* Arms the exchange's one timer. Failing to can only mean memory ran out;
 * the exchange then degrades to a hang, which the client's own timeout and
 * our close watch still bring to a clean end. */
static void arm(struct sim_exchange *ex, enum ex_state st, long ms)
{
	ex->state = st;
	if (!ex->timer)
		ex->timer = evtimer_new(ex->srv->base, on_timer, ex);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	if (!ex->timer || evtimer_add(ex->timer, &tv) < 0) {
		fprintf(stderr, "simprov %s: cannot arm a timer, hanging %s\n",
			ex->srv->name, ex->plan.request_id);
		ex->state = ST_HANG;
	}
	watch_start(ex);
}

static void add_headers(struct sim_exchange *ex)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(ex->req);
	char num[32];

	evhttp_add_header(h, "Content-Type", ex->plan.content_type);
	if (ex->plan.stream)
		evhttp_add_header(h, "Cache-Control", "no-cache");
	if (ex->plan.request_id[0])
		evhttp_add_header(h, "x-request-id", ex->plan.request_id);
	if (ex->plan.error_type[0])
		evhttp_add_header(h, "x-amzn-ErrorType", ex->plan.error_type);
	if (ex->plan.retry_after >= 0) {
		snprintf(num, sizeof(num), "%ld", ex->plan.retry_after);
		evhttp_add_header(h, "Retry-After", num);
	}
	if (ex->plan.retry_after_ms >= 0) {
		snprintf(num, sizeof(num), "%ld", ex->plan.retry_after_ms);
		evhttp_add_header(h, "retry-after-ms", num);
	}
}

static void send_plain(struct sim_exchange *ex)
{
	struct evbuffer *buf = ex->srv->scratch;
	add_headers(ex);
	if (ex->plan.body)
		evbuffer_add(buf, ex->plan.body, strlen(ex->plan.body));
	ex->state = ST_ENDED;
	ex->replied = true;
	evhttp_send_reply(ex->req, ex->plan.status,
			  sim_http_reason(ex->plan.status), buf);
	/* evhttp_send_reply moved the bytes out; keep scratch empty anyway
	 * in case the connection was already gone */
	evbuffer_drain(buf, evbuffer_get_length(buf));
}

static void finish_stream(struct sim_exchange *ex)
{
	if (ex->plan.end == SIM_END_CLOSE) {
		/* closing now would discard bytes still queued in userspace */
		arm(ex, ST_DRAIN, 0);
		return;
	}
	ex->state = ST_ENDED;
	ex->replied = true;
	evhttp_send_reply_end(ex->req);
}

static void emit(struct sim_exchange *ex);

/* The connection's output buffer ran dry. libevent keeps this callback
 * until the next chunk is sent, so it can also fire in other states (a
 * chunk_delay wait, the close_after drain); only a paused stream cares. */
static void on_drained(struct evhttp_connection *conn, void *arg)
{
	struct sim_exchange *ex = arg;
	(void)conn;
	if (ex->state == ST_WRITING)
		emit(ex);
}

/* Sends events until a delay is due or enough are queued; each event is its
 * own HTTP chunk so a delayed event is a separate write and a separate
 * arrival at the client. */
static void emit(struct sim_exchange *ex)
{
	struct evbuffer *buf = ex->srv->scratch;
	struct sim_plan *p = &ex->plan;
	struct evbuffer *queued = bufferevent_get_output(
		evhttp_connection_get_bufferevent(ex->conn));

	while (ex->next_ev < p->n_send) {
		size_t i = ex->next_ev++, len;
		const char *ev = sim_strv_at(&p->events, i, &len);
		bool more = ex->next_ev < p->n_send;
		bool delay = p->chunk_delay_ms > 0 && (long)ex->next_ev >= p->delay_after;
		evbuffer_add(buf, ev, len);
		if (more && !delay &&
		    evbuffer_get_length(queued) + len >= WRITE_HIGH_BYTES) {
			/* resume from on_drained once the client has read it */
			ex->state = ST_WRITING;
			evhttp_send_reply_chunk_with_cb(ex->req, buf,
							on_drained, ex);
			evbuffer_drain(buf, evbuffer_get_length(buf));
			watch_start(ex);
			return;
		}
		evhttp_send_reply_chunk(ex->req, buf);
		evbuffer_drain(buf, evbuffer_get_length(buf));
		if (delay && more) {
			arm(ex, ST_STREAMING, p->chunk_delay_ms);
			return;
		}
	}
	finish_stream(ex);
}

/* Status line and headers go out now; events follow (after ttfb_ms). */
static void begin(struct sim_exchange *ex)
{
	if (!ex->plan.stream) {
		send_plain(ex);
		return;
	}
	add_headers(ex);
	evhttp_send_reply_start(ex->req, 200, "OK");
	if (ex->plan.ttfb_ms > 0) {
		arm(ex, ST_TTFB, ex->plan.ttfb_ms);
		return;
	}
	emit(ex);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sim_exchange *ex = arg;
	(void)fd;
	(void)what;

	switch (ex->state) {
	case ST_LATENCY:
		begin(ex);
		break;
	case ST_TTFB:
	case ST_STREAMING:
		emit(ex);
		break;
	case ST_DRAIN: {
		struct bufferevent *bev =
			evhttp_connection_get_bufferevent(ex->conn);
		if (evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
			arm(ex, ST_DRAIN, DRAIN_POLL_MS);
			break;
		}
		drop_connection(ex, false);
		break;
	}
	case ST_RESET:
		drop_connection(ex, true);
		break;
	default:
		break;
	}
}

void sim_exchange_start(struct sim_exchange *ex)
{
	struct sim_plan *p = &ex->plan;

	if (p->reset) {
		/* even without latency the drop waits for a loop turn: the
		 * request callback we are in still owns the connection */
		arm(ex, ST_RESET, p->latency_ms);
		return;
	}
	if (p->hang) {
		ex->state = ST_HANG;
		watch_start(ex);
		return;
	}
	long delay = p->latency_ms + (p->stream ? 0 : p->ttfb_ms);
	if (delay > 0) {
		arm(ex, ST_LATENCY, delay);
		return;
	}
	begin(ex);
}

void sim_exchange_free_all(struct sim_server *srv)
{
	while (srv->live) {
		struct sim_exchange *ex = srv->live;
		if (!ex->replied && ex->req &&
		    evhttp_request_get_connection(ex->req) == NULL)
			evhttp_request_free(ex->req);
		exchange_free(ex);
	}
}
