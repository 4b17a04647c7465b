/*
 * Gemini routes: POST {prefix}/models/{model}:generateContent and
 * :streamGenerateContent?alt=sse, where prefix is /v1beta or /v1 (Google
 * AI Studio) or /v1/projects/{p}/locations/{l}/publishers/google (Vertex
 * AI).  The key comes as x-goog-api-key or ?key= (AI Studio), or as a
 * bearer token (Vertex); then fault, validation error or answer as on the
 * OpenAI route, in Google's shapes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "sim_chat.h"
#include "sim_gemini.h"

static void plan_error(struct sim_plan *p, const struct sim_gem_error *e)
{
	p->status = e->status ? e->status : 500;
	p->body = e->status ? sim_gem_render_error(e) : NULL;
	if (!p->body)
		p->status = 500;
}

static int plan_answer(struct sim_server *srv, struct sim_plan *p, struct sim_gem_request *r,
		       const char *model, bool stream, const struct sim_fault *f, unsigned long long id)
{
	struct sim_gen_opts o = sim_chat_gen_opts(srv, f, &r->conv);
	struct sim_answer a;
	if (sim_gen_answer(&r->conv, &o, &a) < 0)
		return -1;
	char rid[128];
	snprintf(rid, sizeof(rid), "resp_%s_%llu", srv->name, id);
	struct sim_gem_meta m = {
		.response_id = rid,
		.model = sim_chat_model(srv, f, model),
		.filtered = f && sim_fault_has(f, SIM_F_CONTENT_FILTER),
	};
	p->prompt_tokens = a.prompt_tokens;
	p->completion_tokens = a.completion_tokens;
	p->status = 200;
	p->success = true;
	int rc;
	if (!stream) {
		p->body = sim_gem_render_response(&m, &a);
		rc = p->body ? 0 : -1;
	} else {
		p->stream = true;
		p->content_type = "text/event-stream";
		rc = sim_gem_render_stream(&m, &a, (f && sim_fault_has(f, SIM_F_CHUNKS)) ? f->chunks : 0,
					   &p->events);
		p->n_send = p->events.n;
		/* No sentinel to withhold: the missing finishReason is what
		 * tells a client the stream was cut. */
		if (rc == 0)
			rc = sim_chat_plan_stream_faults(p, f, p->events.n, sim_gem_render_stream_error);
	}
	sim_answer_free(&a);
	return rc;
}

/* The key Gemini was given; NULL with *e filled when there is none. */
static const char *check_key(struct evhttp_request *req, struct evkeyvalq *hdr, struct sim_gem_error *e)
{
	static char query_key[256];
	const char *k = evhttp_find_header(hdr, "x-goog-api-key");
	const char *auth = evhttp_find_header(hdr, "authorization");
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	memset(e, 0, sizeof(*e));
	if (k && *k)
		return k;
	if (auth && strncmp(auth, "Bearer ", 7) == 0 && auth[7])
		return auth;
	struct evkeyvalq params;
	if (q && evhttp_parse_query_str(q, &params) == 0) {
		const char *qk = evhttp_find_header(&params, "key");
		snprintf(query_key, sizeof(query_key), "%s", qk ? qk : "");
		evhttp_clear_headers(&params);
		if (query_key[0])
			return query_key;
	}
	e->status = 403;
	e->rpc = "PERMISSION_DENIED";
	snprintf(e->message, sizeof(e->message), "Method doesn't allow unregistered callers (callers without "
		 "established identity). Please use API Key or other form of API consumer identity to call this API.");
	return NULL;
}

static bool alt_sse(struct evhttp_request *req)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	if (!q || evhttp_parse_query_str(q, &params) != 0)
		return false;
	const char *alt = evhttp_find_header(&params, "alt");
	bool sse = alt && strcmp(alt, "sse") == 0;
	evhttp_clear_headers(&params);
	return sse;
}

static void chat(struct sim_server *srv, struct evhttp_request *req, const char *model, bool stream)
{
	struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	struct sim_gem_error ke;
	const char *key = check_key(req, hdr, &ke);
	struct sim_chat_req c;
	if (sim_chat_begin(srv, req, key, &c) < 0)
		return;
	struct sim_plan *p = c.p;
	const struct sim_fault *fp = c.fp;
	/* The stream is chosen by the URL, not the body. */
	if (stream && !json_is_true(json_object_get(c.body, "stream")))
		srv->stats.stream_requests++;
	struct sim_gem_request r;
	struct sim_gem_error e;
	int prc = sim_gem_parse_request(c.body, &r, &e);

	if (c.pk == PICK_BAD_HEADER) {
		struct sim_gem_error be = { .status = 400, .rpc = "INVALID_ARGUMENT" };
		snprintf(be.message, sizeof(be.message), "x-sim-fault: %s", c.ferr.message);
		plan_error(p, &be);
	} else if (fp && sim_fault_has(fp, SIM_F_RESET)) {
		p->reset = true;
	} else if (fp && sim_fault_has(fp, SIM_F_HANG)) {
		p->hang = true;
	} else if (fp && sim_fault_has(fp, SIM_F_STATUS)) {
		struct sim_gem_error fe;
		sim_gem_fault_error(fp->status, sim_fault_has(fp, SIM_F_CODE) ? fp->code : NULL,
				    sim_fault_has(fp, SIM_F_MESSAGE) ? fp->message : NULL,
				    prc == 0 ? sim_gen_prompt_tokens(r.conv.prompt_bytes) : 1, &fe);
		plan_error(p, &fe);
	} else if (!key) {
		plan_error(p, &ke);
	} else if (stream && !alt_sse(req)) {
		struct sim_gem_error se = { .status = 400, .rpc = "INVALID_ARGUMENT" };
		snprintf(se.message, sizeof(se.message), "simprov streams only as alt=sse");
		plan_error(p, &se);
	} else if (prc < 0) {
		plan_error(p, &e);
	} else if (plan_answer(srv, p, &r, model, stream, fp, c.id) < 0) {
		sim_chat_plan_failed(p);
	}
	if (srv->verbose)
		fprintf(stderr, "simprov %s: %s gemini model=%s stream=%d -> %d\n", srv->name, p->request_id,
			model, p->stream, p->status);
	if (prc == 0)
		sim_gem_request_free(&r);
	json_decref(c.body);
	sim_exchange_start(c.ex);
}

/* GET .../models/{model} (models.get): what health probes ask, with the
 * same key check as generation. */
static void get_model(struct evhttp_request *req, const char *model)
{
	struct sim_gem_error e;
	if (!check_key(req, evhttp_request_get_input_headers(req), &e)) {
		sim_http_send_json(req, e.status, sim_gem_render_error(&e));
		return;
	}
	json_t *o = json_pack("{s:s+, s:s, s:i, s:i, s:[s, s]}", "name", "models/", model, "displayName", model,
			      "inputTokenLimit", 1048576, "outputTokenLimit", 65536, "supportedGenerationMethods",
			      "generateContent", "streamGenerateContent");
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	sim_http_send_json(req, 200, text);
}

bool sim_route_gemini(struct sim_server *srv, struct evhttp_request *req, const char *path)
{
	static const char gen[] = ":generateContent";
	static const char sgen[] = ":streamGenerateContent";
	const char *m = strstr(path, "/models/");
	for (const char *next = m; next; next = strstr(m + 1, "/models/"))
		m = next;
	const char *colon = m ? strchr(m + 8, ':') : NULL;
	if (m && !colon && m[8] && !strchr(m + 8, '/') && evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		get_model(req, m + 8);
		return true;
	}
	if (!colon || colon == m + 8 || memchr(m + 8, '/', (size_t)(colon - m - 8)))
		return false;
	bool stream = strcmp(colon, sgen) == 0;
	if (!stream && strcmp(colon, gen) != 0)
		return false;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		sim_http_send_error(req, 405, "invalid_request_error", "method_not_allowed", NULL,
				    "Method not allowed for this URL.");
		return true;
	}
	char model[256];
	snprintf(model, sizeof(model), "%.*s", (int)(colon - m - 8), m + 8);
	chat(srv, req, model, stream);
	return true;
}
