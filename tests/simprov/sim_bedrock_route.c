/*
 * POST /model/{modelId}/converse and /converse-stream: the Bedrock route.
 * Verifies the SigV4 signature (with --aws-key's secret), then decides
 * fault, validation error or answer like the OpenAI route, in Bedrock's
 * shapes: JSON, or binary event-stream frames for the stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "sim_bedrock.h"
#include "sim_chat.h"

static void plan_error(struct sim_plan *p, const struct sim_bdr_error *e)
{
	p->status = e->status ? e->status : 500;
	p->body = e->status ? sim_bdr_render_error(e) : NULL;
	if (!p->body)
		p->status = 500;
	/* AWS appends the service's namespace after a colon. */
	snprintf(p->error_type, sizeof(p->error_type), "%.64s:http://internal.amazon.com/coral/com.amazon.bedrock/",
		 e->type ? e->type : "InternalServerException");
}

/* Stream faults as for every format, but the exception frame is binary
 * (NULs and all), so it is pushed here rather than rendered as text. */
static int plan_stream_faults(struct sim_plan *p, const struct sim_fault *f, size_t n_data)
{
	if (!f || !sim_fault_has(f, SIM_F_STREAM_ERROR_AFTER))
		return sim_chat_plan_stream_faults(p, f, n_data, NULL);
	size_t n = (size_t)f->stream_error_after;
	sim_strv_truncate(&p->events, n < n_data ? n : n_data);
	if (sim_bdr_push_exception(&p->events, sim_fault_has(f, SIM_F_CODE) ? f->code : NULL,
				   sim_fault_has(f, SIM_F_MESSAGE) ? f->message : NULL) < 0)
		return -1;
	p->n_send = p->events.n;
	p->success = false;
	return 0;
}

static int plan_answer(struct sim_server *srv, struct sim_plan *p, struct sim_bdr_request *r,
		       const struct sim_fault *f, unsigned long long id)
{
	struct sim_gen_opts o = sim_chat_gen_opts(srv, f, &r->conv);
	struct sim_answer a;
	if (sim_gen_answer(&r->conv, &o, &a) < 0)
		return -1;
	char tid[128];
	snprintf(tid, sizeof(tid), "tooluse_%s_%llu", srv->name, id);
	p->prompt_tokens = a.prompt_tokens;
	p->completion_tokens = a.completion_tokens;
	p->status = 200;
	p->success = true;
	int rc;
	if (!r->stream) {
		p->body = sim_bdr_render_converse(&a, tid);
		rc = p->body ? 0 : -1;
	} else {
		size_t n_data = 0;
		p->stream = true;
		p->content_type = "application/vnd.amazon.eventstream";
		rc = sim_bdr_render_stream(&a, tid, (f && sim_fault_has(f, SIM_F_CHUNKS)) ? f->chunks : 0, &p->events,
					   &n_data);
		p->n_send = p->events.n;
		if (rc == 0)
			rc = plan_stream_faults(p, f, n_data);
		/* A frame damaged in transit: its message CRC no longer matches. */
		if (rc == 0 && f && sim_fault_has(f, SIM_F_BAD_CRC_AFTER) && (size_t)f->bad_crc_after < p->events.n) {
			size_t len;
			char *frame = (char *)sim_strv_at(&p->events, (size_t)f->bad_crc_after, &len);
			frame[len - 1] ^= 0x5a;
			p->success = false;
		}
	}
	sim_answer_free(&a);
	return rc;
}

static const char *find_header(void *arg, const char *name)
{
	return evhttp_find_header(arg, name);
}

/* The SigV4 check over the request as it came. */
static int verify(struct sim_server *srv, struct evhttp_request *req, const void *body, size_t len,
		  struct sim_bdr_error *e)
{
	const char *uri = evhttp_request_get_uri(req);
	char *path = strdup(uri ? uri : "/");
	if (!path) {
		e->status = 0;
		return -1;
	}
	char *q = strchr(path, '?');
	if (q)
		*q++ = '\0';
	struct sim_bdr_signed s = {
		.method = "POST",
		.path = path,
		.query = q,
		.header = find_header,
		.header_arg = evhttp_request_get_input_headers(req),
		.body = body,
		.body_len = len,
		.now = (long long)time(NULL),
	};
	int rc = sim_bdr_verify(&s, srv->aws_access_key, srv->aws_secret_key, e);
	free(path);
	return rc;
}

void sim_chat_bedrock(struct sim_server *srv, struct evhttp_request *req, const char *model, bool stream)
{
	struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	struct sim_chat_req c;
	if (sim_chat_begin(srv, req, evhttp_find_header(hdr, "authorization"), &c) < 0)
		return;
	struct sim_plan *p = c.p;
	/* Converse names the model and the mode in the URL only. */
	sim_stats_model(&srv->stats, model);
	if (stream)
		srv->stats.stream_requests++;

	/* The signature covers the body's bytes as they came. */
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *raw = len ? (const char *)evbuffer_pullup(in, -1) : "";
	struct sim_bdr_error he;
	memset(&he, 0, sizeof(he));
	int hrc = verify(srv, req, raw, len, &he);

	struct sim_bdr_request r;
	struct sim_bdr_error e;
	const struct sim_fault *fp = c.fp;
	int prc = sim_bdr_parse_request(c.body, stream, &r, &e);

	if (c.pk == PICK_BAD_HEADER) {
		struct sim_bdr_error be = { .status = 400, .type = "ValidationException" };
		snprintf(be.message, sizeof(be.message), "x-sim-fault: %s", c.ferr.message);
		plan_error(p, &be);
	} else if (hrc < 0) {
		/* The front end refuses an unsigned or badly signed request
		 * before any fault the model behind it could have. */
		plan_error(p, &he);
	} else if (fp && sim_fault_has(fp, SIM_F_RESET)) {
		p->reset = true;
	} else if (fp && sim_fault_has(fp, SIM_F_HANG)) {
		p->hang = true;
	} else if (fp && sim_fault_has(fp, SIM_F_STATUS)) {
		struct sim_bdr_error fe;
		sim_bdr_fault_error(fp->status, sim_fault_has(fp, SIM_F_CODE) ? fp->code : NULL,
				    sim_fault_has(fp, SIM_F_MESSAGE) ? fp->message : NULL, &fe);
		plan_error(p, &fe);
	} else if (prc < 0) {
		plan_error(p, &e);
	} else if (plan_answer(srv, p, &r, fp, c.id) < 0) {
		sim_chat_plan_failed(p);
	}
	if (srv->verbose)
		fprintf(stderr, "simprov %s: %s bedrock model=%s stream=%d -> %d\n", srv->name, p->request_id,
			model, p->stream, p->status);
	if (prc == 0)
		sim_bdr_request_free(&r);
	json_decref(c.body);
	sim_exchange_start(c.ex);
}

bool sim_bedrock_match(const char *path, char *model, size_t size, bool *stream)
{
	static const char pre[] = "/model/";
	if (!path || strncmp(path, pre, sizeof(pre) - 1) != 0)
		return false;
	const char *id = path + sizeof(pre) - 1;
	const char *slash = strchr(id, '/');
	if (!slash || slash == id)
		return false;
	const char *op = slash + 1;
	size_t n = strlen(op);
	if (n && op[n - 1] == '/')
		n--; /* one trailing slash, as elsewhere */
	if (n == 8 && strncmp(op, "converse", 8) == 0)
		*stream = false;
	else if (n == 15 && strncmp(op, "converse-stream", 15) == 0)
		*stream = true;
	else
		return false;
	char *enc = strndup(id, (size_t)(slash - id));
	char *dec = enc ? evhttp_uridecode(enc, 0, NULL) : NULL;
	bool ok = dec && *dec && strlen(dec) < size;
	if (ok)
		snprintf(model, size, "%s", dec);
	free(enc);
	free(dec);
	return ok;
}
