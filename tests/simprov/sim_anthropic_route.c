/*
 * POST /v1/messages: the Anthropic Messages route.  Checks the headers
 * Anthropic requires (a key as x-api-key or a bearer token, and
 * anthropic-version), then decides fault, validation error or answer like
 * the OpenAI route, in Anthropic's shapes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "sim_anthropic.h"
#include "sim_chat.h"

static void plan_error(struct sim_plan *p, const struct sim_ant_error *e)
{
	p->status = e->status ? e->status : 500;
	p->body = e->status ? sim_ant_render_error(e, p->request_id) : NULL;
	if (!p->body)
		p->status = 500;
}

/* Stream faults cut the events short; message_stop is never sent then. */
static int plan_stream_faults(struct sim_plan *p, const struct sim_fault *f, size_t n_data)
{
	if (!f)
		return 0;
	if (sim_fault_has(f, SIM_F_CLOSE_AFTER)) {
		size_t n = (size_t)f->close_after;
		p->n_send = n < n_data ? n : n_data;
		p->end = SIM_END_CLOSE;
		p->success = false;
	} else if (sim_fault_has(f, SIM_F_STREAM_ERROR_AFTER)) {
		size_t n = (size_t)f->stream_error_after;
		sim_strv_truncate(&p->events, n < n_data ? n : n_data);
		char *ev = sim_ant_render_stream_error(
			sim_fault_has(f, SIM_F_CODE) ? f->code : NULL,
			sim_fault_has(f, SIM_F_MESSAGE) ? f->message : NULL);
		if (!ev || sim_strv_push(&p->events, ev, strlen(ev)) < 0)
			return -1;
		p->n_send = p->events.n;
		p->success = false;
	}
	return 0;
}

static int plan_answer(struct sim_server *srv, struct sim_plan *p, struct sim_ant_request *r,
		       const struct sim_fault *f, unsigned long long id)
{
	if (f && sim_fault_has(f, SIM_F_NO_TOOLS)) {
		r->conv.tool_name = NULL;
		r->conv.tool_schema = NULL;
	}
	struct sim_gen_opts o = {
		.name = srv->name,
		.empty_tool_turn = f && sim_fault_has(f, SIM_F_EMPTY_TOOL_TURN),
		.bad_tool_args = f && sim_fault_has(f, SIM_F_BAD_TOOL_ARGS),
		.words = (f && sim_fault_has(f, SIM_F_WORDS)) ? f->words : 0,
	};
	struct sim_answer a;
	if (sim_gen_answer(&r->conv, &o, &a) < 0)
		return -1;
	char mid[128], tid[128];
	snprintf(mid, sizeof(mid), "msg_%s_%llu", srv->name, id);
	snprintf(tid, sizeof(tid), "toolu_%s_%llu", srv->name, id);
	struct sim_ant_meta m = {
		.id = mid,
		.tool_id = tid,
		.model = (f && sim_fault_has(f, SIM_F_MODEL)) ? f->model
			 : srv->model_version ? srv->model_version : r->model,
		.request_id = p->request_id,
	};
	p->prompt_tokens = a.prompt_tokens;
	p->completion_tokens = a.completion_tokens;
	p->status = 200;
	p->success = true;
	int rc;
	if (!r->stream) {
		p->body = sim_ant_render_message(&m, &a);
		rc = p->body ? 0 : -1;
	} else {
		size_t n_data = 0;
		p->stream = true;
		p->content_type = "text/event-stream";
		rc = sim_ant_render_stream(&m, &a, (f && sim_fault_has(f, SIM_F_CHUNKS)) ? f->chunks : 0,
					   &p->events, &n_data);
		p->n_send = p->events.n;
		if (rc == 0)
			rc = plan_stream_faults(p, f, n_data);
	}
	sim_answer_free(&a);
	return rc;
}

/* The headers Anthropic insists on; 0 or -1 with *e filled. */
static int check_headers(struct evkeyvalq *hdr, const char **key, struct sim_ant_error *e)
{
	const char *k = evhttp_find_header(hdr, "x-api-key");
	const char *auth = evhttp_find_header(hdr, "authorization");
	*key = k ? k : auth;
	memset(e, 0, sizeof(*e));
	if ((!k || !*k) && (!auth || strncmp(auth, "Bearer ", 7) != 0 || !auth[7])) {
		e->status = 401;
		e->type = "authentication_error";
		snprintf(e->message, sizeof(e->message), "x-api-key header is required");
		return -1;
	}
	const char *v = evhttp_find_header(hdr, "anthropic-version");
	if (!v || !*v) {
		e->status = 400;
		e->type = "invalid_request_error";
		snprintf(e->message, sizeof(e->message), "anthropic-version: header is required");
		return -1;
	}
	return 0;
}

void sim_chat_anthropic(struct sim_server *srv, struct evhttp_request *req)
{
	struct sim_exchange *ex = sim_exchange_new(srv, req);
	if (!ex) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	struct sim_plan *p = sim_exchange_plan(ex);
	unsigned long long id = ++srv->next_id;
	snprintf(p->request_id, sizeof(p->request_id), "req_%s_%llu", srv->name, id);

	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_t *body = len ? json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL) : NULL;
	struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	const char *key;
	struct sim_ant_error he;
	int hrc = check_headers(hdr, &key, &he);
	sim_stats_arrival(&srv->stats, body, key, evhttp_find_header(hdr, "x-request-id"),
			  evhttp_find_header(hdr, "content-type"));
	if (json_is_true(json_object_get(body, "stream")))
		srv->stats.stream_requests++;

	struct sim_fault f;
	struct sim_fault_error ferr;
	struct sim_ant_request r;
	struct sim_ant_error e;
	enum pick pk = sim_chat_pick_fault(srv, req, &f, &ferr);
	const struct sim_fault *fp = pk == PICK_FAULT ? &f : NULL;
	int prc = sim_ant_parse_request(body, &r, &e);
	if (fp) {
		srv->stats.faulted++;
		sim_chat_plan_timing(p, fp);
	}

	if (pk == PICK_BAD_HEADER) {
		struct sim_ant_error be = { .status = 400, .type = "invalid_request_error" };
		snprintf(be.message, sizeof(be.message), "x-sim-fault: %s", ferr.message);
		plan_error(p, &be);
	} else if (fp && sim_fault_has(fp, SIM_F_RESET)) {
		p->reset = true;
	} else if (fp && sim_fault_has(fp, SIM_F_HANG)) {
		p->hang = true;
	} else if (fp && sim_fault_has(fp, SIM_F_STATUS)) {
		struct sim_ant_error fe;
		sim_ant_fault_error(fp->status, sim_fault_has(fp, SIM_F_CODE) ? fp->code : NULL,
				    sim_fault_has(fp, SIM_F_MESSAGE) ? fp->message : NULL,
				    prc == 0 ? sim_gen_prompt_tokens(r.conv.prompt_bytes) : 1, &fe);
		plan_error(p, &fe);
	} else if (hrc < 0) {
		plan_error(p, &he);
	} else if (prc < 0) {
		plan_error(p, &e);
	} else if (plan_answer(srv, p, &r, fp, id) < 0) {
		free(p->body);
		p->body = NULL;
		sim_strv_free(&p->events);
		p->stream = false;
		p->content_type = "application/json";
		p->success = false;
		p->status = 500;
	}
	if (srv->verbose)
		fprintf(stderr, "simprov %s: %s anthropic model=%s stream=%d -> %d\n", srv->name,
			p->request_id, prc == 0 ? r.model : "-", p->stream, p->status);
	if (prc == 0)
		sim_ant_request_free(&r);
	json_decref(body);
	sim_exchange_start(ex);
}
