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

static int plan_answer(struct sim_server *srv, struct sim_plan *p, struct sim_ant_request *r,
		       const struct sim_fault *f, unsigned long long id)
{
	struct sim_gen_opts o = sim_chat_gen_opts(srv, f, &r->conv);
	struct sim_answer a;
	if (sim_gen_answer(&r->conv, &o, &a) < 0)
		return -1;
	char mid[128], tid[128];
	snprintf(mid, sizeof(mid), "msg_%s_%llu", srv->name, id);
	snprintf(tid, sizeof(tid), "toolu_%s_%llu", srv->name, id);
	struct sim_ant_meta m = {
		.id = mid,
		.tool_id = tid,
		.model = sim_chat_model(srv, f, r->model),
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
			rc = sim_chat_plan_stream_faults(p, f, n_data, sim_ant_render_stream_error);
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
	struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	const char *key;
	struct sim_ant_error he;
	int hrc = check_headers(hdr, &key, &he);
	struct sim_chat_req c;
	if (sim_chat_begin(srv, req, key, &c) < 0)
		return;
	struct sim_plan *p = c.p;
	json_t *body = c.body;
	enum pick pk = c.pk;
	const struct sim_fault *fp = c.fp;
	struct sim_ant_request r;
	struct sim_ant_error e;
	int prc = sim_ant_parse_request(body, &r, &e);

	if (pk == PICK_BAD_HEADER) {
		struct sim_ant_error be = { .status = 400, .type = "invalid_request_error" };
		snprintf(be.message, sizeof(be.message), "x-sim-fault: %s", c.ferr.message);
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
	} else if (plan_answer(srv, p, &r, fp, c.id) < 0) {
		sim_chat_plan_failed(p);
	}
	if (srv->verbose)
		fprintf(stderr, "simprov %s: %s anthropic model=%s stream=%d -> %d\n", srv->name,
			p->request_id, prc == 0 ? r.model : "-", p->stream, p->status);
	if (prc == 0)
		sim_ant_request_free(&r);
	json_decref(body);
	sim_exchange_start(c.ex);
}
