/*
 * POST /v1/chat/completions: decides what this request gets (a fault, a
 * validation error or an answer), has the OpenAI layer render it, and hands
 * the result to an exchange for delivery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "sim_chat.h"
#include "sim_exchange.h"
#include "sim_openai.h"
#include "sim_server.h"

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t')
			return false;
	return true;
}

/* A request's own x-sim-fault header replaces the standing fault for that
 * request only; the standing fault's count and rate sequence are consumed
 * only by requests it was actually considered for. */
enum pick sim_chat_pick_fault(struct sim_server *srv, struct evhttp_request *req,
			      struct sim_fault *f, struct sim_fault_error *err)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
					   "x-sim-fault");
	if (h && !blank(h)) {
		if (sim_fault_parse(h, SIM_FAULT_FROM_HEADER, f, err) < 0)
			return PICK_BAD_HEADER;
		if (sim_fault_has(f, SIM_F_NONE))
			return PICK_NONE;
		if (sim_fault_has(f, SIM_F_RATE) &&
		    !sim_fault_rate_hit(f->rate, srv->header_seq++))
			return PICK_NONE;
		return PICK_FAULT;
	}
	if (!srv->fault_active || sim_fault_has(&srv->fault, SIM_F_NONE))
		return PICK_NONE;
	if (sim_fault_has(&srv->fault, SIM_F_RATE) &&
	    !sim_fault_rate_hit(srv->fault.rate, srv->fault_seq++))
		return PICK_NONE;
	*f = srv->fault;
	if (srv->fault_remaining > 0 && --srv->fault_remaining == 0)
		sim_server_clear_fault(srv);
	return PICK_FAULT;
}

void sim_chat_plan_timing(struct sim_plan *p, const struct sim_fault *f)
{
	if (sim_fault_has(f, SIM_F_LATENCY_MS))
		p->latency_ms = f->latency_ms;
	if (sim_fault_has(f, SIM_F_TTFB_MS))
		p->ttfb_ms = f->ttfb_ms;
	if (sim_fault_has(f, SIM_F_CHUNK_DELAY_MS))
		p->chunk_delay_ms = f->chunk_delay_ms;
	if (sim_fault_has(f, SIM_F_DELAY_AFTER))
		p->delay_after = f->delay_after;
	if (sim_fault_has(f, SIM_F_RETRY_AFTER))
		p->retry_after = f->retry_after;
	if (sim_fault_has(f, SIM_F_RETRY_AFTER_MS))
		p->retry_after_ms = f->retry_after_ms;
}

static void plan_error(struct sim_plan *p, const struct sim_oai_error *e)
{
	if (e->status == 0) {
		p->status = 500;
		p->body = NULL;
		return;
	}
	p->status = e->status;
	p->body = sim_oai_render_error(e);
	if (!p->body)
		p->status = 500;
}

int sim_chat_plan_stream_faults(struct sim_plan *p, const struct sim_fault *f, size_t n_data,
				sim_error_event_fn render_error)
{
	if (!f)
		return 0;
	if (sim_fault_has(f, SIM_F_CLOSE_AFTER)) {
		size_t n = (size_t)f->close_after;
		p->n_send = n < n_data ? n : n_data;
		p->end = SIM_END_CLOSE;
		p->success = false;
	} else if (sim_fault_has(f, SIM_F_CUT_MID_EVENT)) {
		/* N whole events, then the first half of the next, then a close:
		 * an upstream that dies in the middle of a line. */
		size_t n = (size_t)f->cut_mid_event;
		if (n >= n_data)
			n = n_data ? n_data - 1 : 0;
		size_t len;
		sim_strv_at(&p->events, n, &len);
		sim_strv_truncate(&p->events, n + 1);
		sim_strv_shorten_last(&p->events, len / 2);
		p->n_send = p->events.n;
		p->end = SIM_END_CLOSE;
		p->success = false;
	} else if (sim_fault_has(f, SIM_F_CUT_AFTER_DONE)) {
		/* The whole answer, terminator event included, then a close
		 * before the chunked terminator: nothing of the answer lost. */
		p->n_send = p->events.n;
		p->end = SIM_END_CLOSE;
	} else if (sim_fault_has(f, SIM_F_NO_DONE)) {
		/* Everything but the format's terminator event, then a clean
		 * chunked end (servers that never send data: [DONE]). */
		sim_strv_truncate(&p->events, n_data);
		p->n_send = p->events.n;
	} else if (sim_fault_has(f, SIM_F_STREAM_ERROR_AFTER)) {
		size_t n = (size_t)f->stream_error_after;
		sim_strv_truncate(&p->events, n < n_data ? n : n_data);
		char *ev = render_error(
			sim_fault_has(f, SIM_F_CODE) ? f->code : NULL,
			sim_fault_has(f, SIM_F_MESSAGE) ? f->message : NULL);
		if (!ev || sim_strv_push(&p->events, ev, strlen(ev)) < 0)
			return -1;
		p->n_send = p->events.n;
		p->success = false;
	}
	return 0;
}

const char *sim_chat_model(const struct sim_server *srv, const struct sim_fault *f,
			   const char *requested)
{
	if (f && sim_fault_has(f, SIM_F_MODEL))
		return f->model;
	return srv->model_version ? srv->model_version : requested;
}

struct sim_gen_opts sim_chat_gen_opts(const struct sim_server *srv, const struct sim_fault *f,
				      struct sim_conv *conv)
{
	if (f && sim_fault_has(f, SIM_F_NO_TOOLS)) {
		conv->tool_name = NULL;
		conv->tool_schema = NULL;
	}
	struct sim_gen_opts o = {
		.name = srv->name,
		.empty_tool_turn = f && sim_fault_has(f, SIM_F_EMPTY_TOOL_TURN),
		.bad_tool_args = f && sim_fault_has(f, SIM_F_BAD_TOOL_ARGS),
		.unknown_tool = f && sim_fault_has(f, SIM_F_UNKNOWN_TOOL),
		.schema_violation = f && sim_fault_has(f, SIM_F_SCHEMA_VIOLATION),
		.not_json = f && sim_fault_has(f, SIM_F_NOT_JSON),
		.words = (f && sim_fault_has(f, SIM_F_WORDS)) ? f->words : 0,
	};
	return o;
}

void sim_chat_plan_failed(struct sim_plan *p)
{
	free(p->body);
	p->body = NULL;
	sim_strv_free(&p->events);
	p->stream = false;
	p->content_type = "application/json";
	p->success = false;
	p->status = 500;
}

static int plan_answer(struct sim_server *srv, struct sim_plan *p,
		       struct sim_oai_request *r, const struct sim_fault *f,
		       unsigned long long id, const struct sim_oai_flavor *fl)
{
	struct sim_gen_opts o = sim_chat_gen_opts(srv, f, &r->conv);
	struct sim_answer a;
	if (sim_gen_answer(&r->conv, &o, &a) < 0)
		return -1;

	char cid[128], callid[128];
	snprintf(cid, sizeof(cid), "chatcmpl-%s-%llu", srv->name, id);
	snprintf(callid, sizeof(callid), "call_%s_%llu", srv->name, id);
	struct sim_oai_meta m = {
		.id = cid,
		.call_id = callid,
		.model = sim_chat_model(srv, f, fl && fl->model ? fl->model : r->model),
		.created = (long long)time(NULL),
	};
	p->prompt_tokens = a.prompt_tokens;
	p->completion_tokens = a.completion_tokens;
	p->status = 200;
	p->success = true;

	int rc = 0;
	if (!r->stream) {
		p->body = sim_oai_render_completion(&m, &a);
		rc = p->body ? 0 : -1;
		if (rc == 0 && fl && fl->answer)
			rc = fl->answer(p, f, NULL);
	} else {
		size_t n_data = 0;
		p->stream = true;
		p->content_type = "text/event-stream";
		rc = sim_oai_render_stream(&m, &a, r->include_usage,
					   (f && sim_fault_has(f, SIM_F_CHUNKS))
						   ? f->chunks : 0,
					   &p->events, &n_data);
		if (rc == 0 && fl && fl->answer)
			rc = fl->answer(p, f, &n_data);
		p->n_send = p->events.n;
		if (rc == 0)
			rc = sim_chat_plan_stream_faults(p, f, n_data,
							 sim_oai_render_stream_error);
	}
	sim_answer_free(&a);
	return rc;
}

static void log_request(struct sim_server *srv, const struct sim_plan *p,
			const char *model, enum pick pk)
{
	fprintf(stderr, "simprov %s: %s model=%s stream=%d fault=%s -> %s%d\n",
		srv->name, p->request_id, model ? model : "-", p->stream,
		pk == PICK_FAULT ? "yes" : pk == PICK_BAD_HEADER ? "bad" : "no",
		p->hang ? "hang " : p->reset ? "reset " : "", p->status);
}

int sim_chat_begin(struct sim_server *srv, struct evhttp_request *req, const char *key,
		   struct sim_chat_req *c)
{
	memset(c, 0, sizeof(*c));
	c->ex = sim_exchange_new(srv, req);
	if (!c->ex) {
		evhttp_send_error(req, 500, NULL);
		return -1;
	}
	c->p = sim_exchange_plan(c->ex);
	c->id = ++srv->next_id;
	snprintf(c->p->request_id, sizeof(c->p->request_id), "req_%s_%llu",
		 srv->name, c->id);

	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len > 0)
		c->body = json_loadb((const char *)evbuffer_pullup(in, -1), len,
				     0, NULL);
	struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	sim_stats_arrival(&srv->stats, c->body, key,
			  evhttp_find_header(hdr, "x-request-id"),
			  evhttp_find_header(hdr, "content-type"));
	if (json_is_true(json_object_get(c->body, "stream")))
		srv->stats.stream_requests++;

	c->pk = sim_chat_pick_fault(srv, req, &c->f, &c->ferr);
	c->fp = c->pk == PICK_FAULT ? &c->f : NULL;
	if (c->fp) {
		srv->stats.faulted++;
		sim_chat_plan_timing(c->p, c->fp);
	}
	return 0;
}

void sim_chat_openai(struct sim_server *srv, struct evhttp_request *req)
{
	sim_chat_openai_as(srv, req, NULL);
}

void sim_chat_openai_as(struct sim_server *srv, struct evhttp_request *req,
			const struct sim_oai_flavor *fl)
{
	struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	struct sim_chat_req c;
	if (sim_chat_begin(srv, req, evhttp_find_header(hdr, "authorization"), &c) < 0)
		return;
	/* Azure's dated URLs name the deployment; the body may leave model out. */
	if (fl && fl->model && json_is_object(c.body) && !json_object_get(c.body, "model"))
		json_object_set_new(c.body, "model", json_string(fl->model));
	struct sim_plan *p = c.p;
	json_t *body = c.body;
	unsigned long long id = c.id;
	enum pick pk = c.pk;
	const struct sim_fault *fp = c.fp;
	struct sim_fault_error ferr = c.ferr;
	struct sim_oai_request r;
	struct sim_oai_error e;
	int prc = sim_oai_parse_request(body, &r, &e);

	if (pk == PICK_BAD_HEADER) {
		struct sim_oai_error be = {
			.status = 400, .type = "invalid_request_error",
			.param = ferr.key[0] ? ferr.key : NULL,
			.code = "bad_sim_fault",
		};
		snprintf(be.message, sizeof(be.message), "x-sim-fault: %s",
			 ferr.message);
		plan_error(p, &be);
	} else if (fp && sim_fault_has(fp, SIM_F_RESET)) {
		p->reset = true;
	} else if (fp && sim_fault_has(fp, SIM_F_HANG)) {
		p->hang = true;
	} else if (fp && sim_fault_has(fp, SIM_F_STATUS)) {
		/* an upstream failure preempts validation, as a real
		 * overloaded or rate-limiting front end would */
		json_t *jm = json_object_get(body, "model");
		struct sim_oai_error fe;
		sim_oai_fault_error(
			fp->status,
			sim_fault_has(fp, SIM_F_CODE) ? fp->code : NULL,
			sim_fault_has(fp, SIM_F_MESSAGE) ? fp->message : NULL,
			json_is_string(jm) ? json_string_value(jm) : NULL,
			prc == 0 ? sim_gen_prompt_tokens(r.conv.prompt_bytes) : 1,
			&fe);
		plan_error(p, &fe);
		if (fl && fl->fault_error)
			fl->fault_error(p, fp);
	} else if (prc < 0) {
		plan_error(p, &e);
	} else if (plan_answer(srv, p, &r, fp, id, fl) < 0) {
		sim_chat_plan_failed(p);
	}

	if (srv->verbose)
		log_request(srv, p, prc == 0 ? r.model : NULL, pk);
	sim_oai_request_free(&r);
	json_decref(body);
	sim_exchange_start(c.ex);
}
