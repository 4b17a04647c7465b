/*
 * simprov: a simulated LLM provider for tests, demos and benchmarks.
 *
 *   simprov --listen HOST:PORT [--name NAME] [--model-version V]
 *           [--port-file FILE] [--fault SPEC] [--verbose]
 *
 * This file: arguments, listener setup, routing, the admin (/_sim/...)
 * endpoints and shutdown. Wire formats live in sim_openai.c, delivery and
 * timing in sim_exchange.c, fault parsing in sim_fault.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "sim_exchange.h"
#include "sim_openai.h"
#include "sim_server.h"

#define EXIT_USAGE 2
/* Chat bodies with images can be large; anything beyond this is a bug in
 * the sender, and evhttp answers it with 413 itself. */
#define MAX_BODY_BYTES (64L * 1024 * 1024)
#define NAME_MAX_LEN 64
#define MODEL_MAX_LEN 200

struct options {
	const char *listen;
	const char *name;
	const char *model_version;
	const char *port_file;
	const char *fault;
	const char *aws_key;
	bool verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: simprov --listen HOST:PORT [--name NAME] "
		"[--model-version V]\n"
		"               [--port-file FILE] [--fault SPEC] [--aws-key AKID:SECRET]\n"
		"               [--verbose]\n"
		"  HOST:PORT      address to bind (PORT 0 = ephemeral; IPv6 as "
		"[::1]:0)\n"
		"  --name         instance name, [A-Za-z0-9._-]{1,%d} "
		"(default sim)\n"
		"  --model-version  model reported in every response\n"
		"  --port-file    write the bound port here (atomically)\n"
		"  --fault        standing fault spec, e.g. "
		"'status=503;retry_after=2'\n"
		"  --aws-key      Bedrock requests must carry a SigV4 signature made\n"
		"                 with this access key id and secret\n"
		"  --verbose      log every chat request to stderr\n",
		NAME_MAX_LEN);
}

__attribute__((format(printf, 1, 2))) static int die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "simprov: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(run 'simprov --help' for usage)\n");
	return -1;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

static bool model_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MODEL_MAX_LEN)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* Returns 0, 1 for --help, -1 on a usage error (already reported). */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const char *const valued[] = {
		"--listen", "--name", "--model-version", "--port-file",
		"--fault", "--aws-key",
	};
	const char **slots[] = {
		&o->listen, &o->name, &o->model_version, &o->port_file,
		&o->fault, &o->aws_key,
	};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return 1;
		if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
			o->verbose = true;
			continue;
		}
		size_t k;
		const char *val = NULL;
		for (k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
			size_t n = strlen(valued[k]);
			if (strncmp(a, valued[k], n) != 0)
				continue;
			if (a[n] == '=') {
				val = a + n + 1;
				break;
			}
			if (a[n] == '\0') {
				if (i + 1 >= argc)
					return die_usage("%s needs a value", a);
				val = argv[++i];
				break;
			}
		}
		if (k == sizeof(valued) / sizeof(valued[0]))
			return die_usage("unknown argument '%s'", a);
		if (*slots[k])
			return die_usage("%s given twice", valued[k]);
		*slots[k] = val;
	}
	if (!o->listen)
		return die_usage("%s is required", "--listen HOST:PORT");
	if (!o->name)
		o->name = "sim";
	if (!name_ok(o->name))
		return die_usage("bad --name '%s' (want [A-Za-z0-9._-], 1-64 "
				 "chars)", o->name);
	if (o->model_version && !model_ok(o->model_version))
		return die_usage("bad --model-version '%s' (printable ASCII, "
				 "1-200 chars)", o->model_version);
	if (o->aws_key && (!strchr(o->aws_key, ':') || o->aws_key[0] == ':' ||
			   !strchr(o->aws_key, ':')[1]))
		return die_usage("bad --aws-key '%s' (want ACCESS_KEY_ID:SECRET)", o->aws_key);
	if (o->port_file && !*o->port_file)
		return die_usage("%s needs a file name", "--port-file");
	return 0;
}

/* Splits HOST:PORT (or [V6]:PORT) into host (written to buf) and port. */
static int parse_listen(const char *s, char *host, size_t hostsz, int *port)
{
	const char *colon = strrchr(s, ':');
	const char *hs = s, *he = colon;
	if (!colon || colon == s)
		return -1;
	if (*s == '[') {
		if (colon[-1] != ']' || colon - s < 3)
			return -1;
		hs = s + 1;
		he = colon - 1;
	} else if (memchr(s, ':', (size_t)(colon - s))) {
		return -1;   /* bare IPv6 is ambiguous; require brackets */
	}
	if ((size_t)(he - hs) >= hostsz)
		return -1;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';

	const char *ps = colon + 1;
	if (!*ps || strlen(ps) > 5)
		return -1;
	long p = 0;
	for (const char *c = ps; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		p = p * 10 + (*c - '0');
	}
	if (p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static int write_port_file(const char *path, int port)
{
	size_t n = strlen(path) + sizeof(".tmp");
	char *tmp = malloc(n);
	if (!tmp)
		return -1;
	snprintf(tmp, n, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "simprov: cannot write %s: %s\n", tmp,
			strerror(errno));
		free(tmp);
		return -1;
	}
	int ok = fprintf(f, "%d\n", port) > 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		fprintf(stderr, "simprov: cannot write %s: %s\n", path,
			strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static void send_fault_state(struct sim_server *srv, struct evhttp_request *req)
{
	json_t *o;
	if (!srv->fault_active)
		o = json_pack("{s:n, s:n}", "fault", "remaining");
	else if (srv->fault_remaining >= 0)
		o = json_pack("{s:s, s:I}", "fault", srv->fault_spec,
			      "remaining", (json_int_t)srv->fault_remaining);
	else
		o = json_pack("{s:s, s:n}", "fault", srv->fault_spec,
			      "remaining");
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	sim_http_send_json(req, 200, s);
}

static void admin_fault(struct sim_server *srv, struct evhttp_request *req,
			enum evhttp_cmd_type m)
{
	if (m == EVHTTP_REQ_GET) {
		send_fault_state(srv, req);
		return;
	}
	if (m == EVHTTP_REQ_DELETE) {
		sim_server_clear_fault(srv);
		sim_http_send_json(req, 200, strdup("{\"ok\":true}"));
		return;
	}
	/* POST: the body is the spec */
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len > SIM_FAULT_SPEC_MAX) {
		sim_http_send_error(req, 400, "invalid_request_error",
				    "bad_sim_fault", NULL,
				    "fault spec too long");
		return;
	}
	char spec[SIM_FAULT_SPEC_MAX + 1];
	evbuffer_copyout(in, spec, len);
	spec[len] = '\0';
	if (strlen(spec) != len) {
		sim_http_send_error(req, 400, "invalid_request_error",
				    "bad_sim_fault", NULL,
				    "fault spec contains a NUL byte");
		return;
	}
	struct sim_fault_error err;
	if (sim_server_set_fault(srv, spec, &err) < 0) {
		sim_http_send_error(req, 400, "invalid_request_error",
				    "bad_sim_fault",
				    err.key[0] ? err.key : NULL, err.message);
		return;
	}
	if (srv->verbose)
		fprintf(stderr, "simprov %s: fault set: %s\n", srv->name,
			srv->fault_spec);
	sim_http_send_json(req, 200, strdup("{\"ok\":true}"));
}

static void send_models(struct sim_server *srv, struct evhttp_request *req)
{
	sim_http_send_json(req, 200, sim_oai_render_models(
		srv->model_version ? srv->model_version : "sim-model",
		srv->name));
}

static void send_health(struct sim_server *srv, struct evhttp_request *req)
{
	json_t *o = json_pack("{s:s, s:s}", "status", "ok", "name", srv->name);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	sim_http_send_json(req, 200, s);
}

enum route_id {
	R_CHAT, R_MESSAGES, R_MODELS, R_HEALTH, R_FAULT, R_STATS, R_RESET,
};

struct route {
	const char *path;
	enum route_id id;
	unsigned methods;   /* EVHTTP_REQ_* accepted */
	const char *allow;  /* for the Allow header of a 405 */
};

/* Base URLs may or may not include /v1, so both spellings route the same. */
static const struct route routes[] = {
	{ "/v1/chat/completions", R_CHAT, EVHTTP_REQ_POST, "POST" },
	{ "/chat/completions", R_CHAT, EVHTTP_REQ_POST, "POST" },
	{ "/v1/messages", R_MESSAGES, EVHTTP_REQ_POST, "POST" },
	{ "/messages", R_MESSAGES, EVHTTP_REQ_POST, "POST" },
	{ "/v1/models", R_MODELS, EVHTTP_REQ_GET, "GET" },
	{ "/models", R_MODELS, EVHTTP_REQ_GET, "GET" },
	{ "/healthz", R_HEALTH, EVHTTP_REQ_GET, "GET" },
	{ "/_sim/fault", R_FAULT,
	  EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE,
	  "GET, POST, DELETE" },
	{ "/_sim/stats", R_STATS, EVHTTP_REQ_GET, "GET" },
	{ "/_sim/reset", R_RESET, EVHTTP_REQ_POST, "POST" },
};

static void on_request(struct evhttp_request *req, void *arg)
{
	struct sim_server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const struct route *r = NULL;
	char model[512];
	bool stream;

	/* Bedrock names the model in the path: matched apart from the table. */
	if (sim_bedrock_match(path, model, sizeof(model), &stream)) {
		if (m != EVHTTP_REQ_POST) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
			sim_http_send_error(req, 405, "invalid_request_error", "method_not_allowed", NULL,
					    "Method not allowed for this URL.");
			return;
		}
		sim_chat_bedrock(srv, req, model, stream);
		return;
	}
	if (path) {
		/* tolerate one trailing slash, as hosted APIs do */
		size_t n = strlen(path);
		if (n > 1 && path[n - 1] == '/')
			n--;
		for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
			if (strlen(routes[i].path) == n &&
			    strncmp(routes[i].path, path, n) == 0) {
				r = &routes[i];
				break;
			}
	}
	/* Paths that carry a model or deployment name route by pattern. */
	if (!r && path && (sim_route_gemini(srv, req, path) || sim_route_azure(srv, req, path) ||
			      sim_route_vertex(srv, req, path)))
		return;
	if (!r) {
		char msg[300];
		snprintf(msg, sizeof(msg), "Invalid URL (%s %.200s)",
			 m == EVHTTP_REQ_GET ? "GET" : m == EVHTTP_REQ_POST
				? "POST" : "request", path ? path : "?");
		sim_http_send_error(req, 404, "invalid_request_error", NULL,
				    NULL, msg);
		return;
	}
	if (!(m & r->methods)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow", r->allow);
		sim_http_send_error(req, 405, "invalid_request_error",
				    "method_not_allowed", NULL,
				    "Method not allowed for this URL.");
		return;
	}

	switch (r->id) {
	case R_CHAT:
		sim_chat_openai(srv, req);
		break;
	case R_MESSAGES:
		sim_chat_anthropic(srv, req);
		break;
	case R_MODELS:
		send_models(srv, req);
		break;
	case R_HEALTH:
		send_health(srv, req);
		break;
	case R_FAULT:
		admin_fault(srv, req, m);
		break;
	case R_STATS:
		sim_http_send_json(req, 200,
				   sim_stats_render(&srv->stats, srv->name));
		break;
	case R_RESET:
		sim_stats_reset(&srv->stats);
		sim_http_send_json(req, 200, strdup("{\"ok\":true}"));
		break;
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sim_server *srv = arg;
	(void)what;
	if (srv->verbose)
		fprintf(stderr, "simprov %s: signal %d, shutting down\n",
			srv->name, (int)sig);
	event_base_loopbreak(srv->base);
}

/* evhttp asks for a bufferevent once per accepted connection: the one place
 * a test can see whether its client reuses connections.  The bufferevent is
 * the one evhttp would make itself. */
static struct bufferevent *on_new_connection(struct event_base *base, void *arg)
{
	struct sim_server *srv = arg;
	srv->stats.connections++;
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static int bound_port(struct evhttp_bound_socket *bs)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd = evhttp_bound_socket_get_fd(bs);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int rc = parse_args(argc, argv, &o);
	if (rc == 1) {
		usage(stdout);
		return 0;
	}
	if (rc < 0)
		return EXIT_USAGE;

	char host[256];
	int port;
	if (parse_listen(o.listen, host, sizeof(host), &port) < 0) {
		die_usage("bad --listen '%s' (want HOST:PORT)", o.listen);
		return EXIT_USAGE;
	}

	struct sim_server srv = {
		.name = o.name,
		.model_version = o.model_version,
		.verbose = o.verbose,
		.fault_remaining = -1,
	};
	char aws[1024];
	if (o.aws_key) {
		snprintf(aws, sizeof(aws), "%s", o.aws_key);
		char *colon = strchr(aws, ':');
		*colon = '\0';
		srv.aws_access_key = aws;
		srv.aws_secret_key = colon + 1;
	}
	if (sim_stats_init(&srv.stats) < 0) {
		fprintf(stderr, "simprov: out of memory\n");
		return 1;
	}
	if (o.fault) {
		struct sim_fault_error err;
		if (sim_server_set_fault(&srv, o.fault, &err) < 0) {
			fprintf(stderr, "simprov: bad --fault: %s\n",
				err.message);
			sim_stats_free(&srv.stats);
			return EXIT_USAGE;
		}
	}

	/* a vanished client must surface as a failed write, not kill us */
	signal(SIGPIPE, SIG_IGN);

	int exit_code = 1;
	struct event *sigterm = NULL, *sigint = NULL;
	srv.base = event_base_new();
	srv.scratch = evbuffer_new();
	if (!srv.base || !srv.scratch) {
		fprintf(stderr, "simprov: cannot initialise libevent\n");
		goto out;
	}
	sigterm = evsignal_new(srv.base, SIGTERM, on_signal, &srv);
	sigint = evsignal_new(srv.base, SIGINT, on_signal, &srv);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 ||
	    evsignal_add(sigint, NULL) < 0) {
		fprintf(stderr, "simprov: cannot install signal handlers\n");
		goto out;
	}

	srv.http = evhttp_new(srv.base);
	if (!srv.http) {
		fprintf(stderr, "simprov: cannot create the HTTP server\n");
		goto out;
	}
	/* every method reaches the router, which answers 405 itself in the
	 * OpenAI error shape instead of libevent's HTML page */
	evhttp_set_allowed_methods(srv.http,
		EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
		EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
		EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(srv.http, MAX_BODY_BYTES);
	evhttp_set_gencb(srv.http, on_request, &srv);
	evhttp_set_bevcb(srv.http, on_new_connection, &srv);

	/* libevent's evhttp_bind_socket listens with a backlog of 128: a
	 * gateway that opens many upstream connections at once (the idle
	 * streams benchmark) would overflow it into SYN retransmits, which a
	 * real provider's front end does not do.  The kernel caps this at
	 * net.core.somaxconn. */
	struct evhttp_bound_socket *bs = NULL;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	int sslen = 0;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (evutil_inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sslen = (int)sizeof(*s4);
	} else if (evutil_inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sslen = (int)sizeof(*s6);
	} else {
		/* a name: its first address, as evhttp_bind_socket would */
		struct evutil_addrinfo hints, *ai = NULL;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = EVUTIL_AI_PASSIVE;
		char ps[8];
		snprintf(ps, sizeof(ps), "%d", port);
		if (evutil_getaddrinfo(host, ps, &hints, &ai) == 0 && ai &&
		    ai->ai_addrlen <= sizeof(ss)) {
			memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
			sslen = (int)ai->ai_addrlen;
		}
		if (ai)
			evutil_freeaddrinfo(ai);
	}
	if (sslen) {
		struct evconnlistener *lis = evconnlistener_new_bind(
			srv.base, NULL, NULL,
			LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
			4096, (struct sockaddr *)&ss, sslen);
		bs = lis ? evhttp_bind_listener(srv.http, lis) : NULL;
		if (lis && !bs)
			evconnlistener_free(lis);
	}
	if (!bs) {
		fprintf(stderr, "simprov: cannot listen on %s: %s\n", o.listen,
			strerror(errno));
		goto out;
	}
	int actual = bound_port(bs);
	if (actual < 0) {
		fprintf(stderr, "simprov: cannot read the bound port\n");
		goto out;
	}
	if (strchr(host, ':'))
		printf("simprov %s listening on [%s]:%d\n", srv.name, host,
		       actual);
	else
		printf("simprov %s listening on %s:%d\n", srv.name, host,
		       actual);
	fflush(stdout);
	if (o.port_file && write_port_file(o.port_file, actual) < 0)
		goto out;

	if (event_base_dispatch(srv.base) < 0) {
		fprintf(stderr, "simprov: event loop failed\n");
		goto out;
	}
	exit_code = 0;

out:
	/* evhttp_free closes every connection; each live exchange is freed by
	 * its close callback as that happens */
	if (srv.http)
		evhttp_free(srv.http);
	sim_exchange_free_all(&srv);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (srv.scratch)
		evbuffer_free(srv.scratch);
	if (srv.base)
		event_base_free(srv.base);
	sim_stats_free(&srv.stats);
	libevent_global_shutdown();
	return exit_code;
}
