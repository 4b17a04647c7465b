/*
 * Azure OpenAI routes: POST /openai/deployments/{deployment}/chat/completions
 * ?api-version=... (dated) and POST /openai/v1/chat/completions (v1, the
 * body's model names the deployment).  The OpenAI route serves them, with
 * Azure's differences: an api-key header (or a bearer token), api-version
 * required on the dated form, content filter reports in answers and
 * streams (the stream opens with a chunk holding only the prompt's
 * filter results), and Azure's own error bodies: a filtered prompt
 * (status=400;code=content_filter), DeploymentNotFound (404), the 429
 * that names its retry time.  The content_filter fault cuts the answer
 * with finish_reason content_filter, as the output filter does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "sim_chat.h"

static json_t *filters(bool filtered)
{
	return json_pack("{s:{s:b, s:s}, s:{s:b, s:s}, s:{s:b, s:s}, s:{s:b, s:s}}",
			 "hate", "filtered", 0, "severity", "safe",
			 "self_harm", "filtered", 0, "severity", "safe",
			 "sexual", "filtered", 0, "severity", "safe",
			 "violence", "filtered", filtered, "severity", filtered ? "high" : "safe");
}

static char *dump(json_t *v)
{
	if (!v)
		return NULL;
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s;
}

static int answer_body(struct sim_plan *p, bool filtered)
{
	json_t *doc = json_loads(p->body, 0, NULL);
	json_t *choice = json_array_get(json_object_get(doc, "choices"), 0);
	if (!choice)
		return -1;
	json_object_set_new(doc, "prompt_filter_results",
			    json_pack("[{s:i, s:o}]", "prompt_index", 0, "content_filter_results", filters(false)));
	json_object_set_new(choice, "content_filter_results", filters(filtered));
	if (filtered) {
		json_object_set_new(choice, "finish_reason", json_string("content_filter"));
		json_object_set_new(json_object_get(choice, "message"), "content", json_string(""));
		json_object_del(json_object_get(choice, "message"), "tool_calls");
	}
	free(p->body);
	p->body = dump(doc);
	return p->body ? 0 : -1;
}

/* A data event's JSON with content_filter_results on its choices. */
static char *with_filters(const char *ev, size_t len)
{
	if (len < 8 || strncmp(ev, "data: {", 7) != 0)
		return strndup(ev, len);
	json_t *doc = json_loadb(ev + 6, len - 6, 0, NULL);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "choices"), i, c)
		json_object_set_new(c, "content_filter_results", filters(false));
	return dump(doc);
}

static int answer_stream(struct sim_plan *p, bool filtered, size_t *n_data)
{
	struct sim_strv out = { 0 };
	json_t *first = json_pack("{s:[], s:i, s:s, s:s, s:s, s:[{s:i, s:o}]}", "choices", "created", 0, "id", "",
				  "model", "", "object", "", "prompt_filter_results", "prompt_index", 0,
				  "content_filter_results", filters(false));
	int rc = sim_strv_push_sse(&out, dump(first));
	/* role chunk and one content piece, then the filter strikes */
	size_t keep = filtered && *n_data > 2 ? 2 : *n_data;
	for (size_t i = 0; rc == 0 && i < keep; i++) {
		size_t len;
		const char *ev = sim_strv_at(&p->events, i, &len);
		char *x = with_filters(ev, len);
		rc = x && x[0] == '{' ? sim_strv_push_sse(&out, x) : sim_strv_push(&out, x, x ? strlen(x) : 0);
	}
	if (rc == 0 && filtered) {
		/* The cut chunk is the stream's own: same id, created and model. */
		size_t len = 0;
		const char *ev = p->events.n ? sim_strv_at(&p->events, 0, &len) : "";
		json_t *cut = len > 6 ? json_loadb(ev + 6, len - 6, 0, NULL) : NULL;
		if (cut) {
			json_object_set_new(cut, "choices", json_pack("[{s:i, s:{}, s:s, s:o}]", "index", 0, "delta",
								      "finish_reason", "content_filter",
								      "content_filter_results", filters(true)));
			json_object_del(cut, "usage");
		}
		rc = sim_strv_push_sse(&out, dump(cut));
		if (rc == 0)
			rc = sim_strv_push(&out, strdup("data: [DONE]\n\n"), 14);
	}
	for (size_t i = keep; rc == 0 && !filtered && i < p->events.n; i++) {
		size_t len;
		const char *ev = sim_strv_at(&p->events, i, &len);
		rc = sim_strv_push(&out, strndup(ev, len), len);
	}
	if (rc < 0) {
		sim_strv_free(&out);
		return -1;
	}
	*n_data = filtered ? out.n - 1 : *n_data + 1;
	sim_strv_free(&p->events);
	p->events = out;
	return 0;
}

static int azure_answer(struct sim_plan *p, const struct sim_fault *f, size_t *n_data)
{
	bool filtered = f && sim_fault_has(f, SIM_F_CONTENT_FILTER);
	if (filtered)
		p->success = false; /* not a whole answer */
	return n_data ? answer_stream(p, filtered, n_data) : answer_body(p, filtered);
}

static void azure_fault_error(struct sim_plan *p, const struct sim_fault *f)
{
	const char *code = sim_fault_has(f, SIM_F_CODE) ? f->code : NULL;
	json_t *e = NULL;
	char msg[256];
	if (code && strcmp(code, "content_filter") == 0) {
		e = json_pack("{s:{s:s, s:n, s:s, s:s, s:i, s:{s:s, s:o}}}", "error", "message",
			      "The response was filtered due to the prompt triggering Azure OpenAI's content management "
			      "policy. Please modify your prompt and retry.",
			      "type", "param", "prompt", "code", "content_filter", "status", 400, "innererror", "code",
			      "ResponsibleAIPolicyViolation", "content_filter_result", filters(true));
	} else if (f->status == 404 && !code) {
		e = json_pack("{s:{s:s, s:s}}", "error", "code", "DeploymentNotFound", "message",
			      "The API deployment for this resource does not exist. If you created the deployment within "
			      "the last 5 minutes, please wait a moment and try again.");
	} else if (f->status == 429 && !code) {
		snprintf(msg, sizeof(msg), "Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
			 "version 2024-10-21 have exceeded token rate limit of your current tier. Please retry after "
			 "%ld seconds.", sim_fault_has(f, SIM_F_RETRY_AFTER) ? f->retry_after : 1L);
		e = json_pack("{s:{s:s, s:s}}", "error", "code", "429", "message", msg);
	}
	char *body = dump(e);
	if (body) {
		free(p->body);
		p->body = body;
	}
}

static void send_azure_error(struct evhttp_request *req, int status, const char *code, const char *message)
{
	json_t *e = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
	sim_http_send_json(req, status, dump(e));
}

static bool has_param(struct evhttp_request *req, const char *name)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	if (!q || evhttp_parse_query_str(q, &params) != 0)
		return false;
	const char *v = evhttp_find_header(&params, name);
	bool ok = v && *v;
	evhttp_clear_headers(&params);
	return ok;
}

static bool has_key(struct evhttp_request *req)
{
	struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	const char *key = evhttp_find_header(hdr, "api-key");
	const char *auth = evhttp_find_header(hdr, "authorization");
	return (key && *key) || (auth && strncmp(auth, "Bearer ", 7) == 0 && auth[7]);
}

static const char denied[] = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
			     "provide a valid key for an active subscription and use a correct regional API endpoint "
			     "for your resource.";

/* GET /openai/models?api-version= and /openai/v1/models: what health
 * probes ask. */
static void list_models(struct evhttp_request *req, bool v1)
{
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		send_azure_error(req, 405, "405", "Method not allowed for this URL.");
	} else if (!has_key(req)) {
		send_azure_error(req, 401, "401", denied);
	} else if (!v1 && !has_param(req, "api-version")) {
		send_azure_error(req, 404, "404", "Resource not found");
	} else {
		json_t *o = json_pack("{s:s, s:[{s:s, s:s}]}", "object", "list", "data", "id", "gpt-4o", "object",
				      "model");
		sim_http_send_json(req, 200, dump(o));
	}
}

bool sim_route_azure(struct sim_server *srv, struct evhttp_request *req, const char *path)
{
	static const char dated[] = "/openai/deployments/";
	static const char tail[] = "/chat/completions";
	char deployment[128] = "";
	size_t n = strlen(path);
	if (n > 1 && path[n - 1] == '/')
		n--;
	if ((n == 14 && strncmp(path, "/openai/models", n) == 0) ||
	    (n == 17 && strncmp(path, "/openai/v1/models", n) == 0)) {
		list_models(req, n == 17);
		return true;
	}
	bool v1 = n == strlen("/openai/v1/chat/completions") && strncmp(path, "/openai/v1/chat/completions", n) == 0;
	if (!v1) {
		size_t d = strlen(dated), t = strlen(tail);
		if (n <= d + t || strncmp(path, dated, d) != 0 || strncmp(path + n - t, tail, t) != 0 ||
		    memchr(path + d, '/', n - d - t))
			return false;
		snprintf(deployment, sizeof(deployment), "%.*s", (int)(n - d - t), path + d);
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		sim_http_send_error(req, 405, "invalid_request_error", "method_not_allowed", NULL,
				    "Method not allowed for this URL.");
		return true;
	}
	struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	const char *key = evhttp_find_header(hdr, "api-key");
	const char *auth = evhttp_find_header(hdr, "authorization");
	if (!has_key(req)) {
		send_azure_error(req, 401, "401", denied);
		return true;
	}
	if (!v1 && !has_param(req, "api-version")) {
		send_azure_error(req, 404, "404", "Resource not found");
		return true;
	}
	/* The OpenAI route records the Authorization header; Azure's key is
	 * what identifies the caller here. */
	if (key && *key && !auth)
		evhttp_add_header(hdr, "authorization", key);
	struct sim_oai_flavor fl = {
		.model = v1 ? NULL : deployment,
		.answer = azure_answer,
		.fault_error = azure_fault_error,
	};
	sim_chat_openai_as(srv, req, &fl);
	return true;
}
