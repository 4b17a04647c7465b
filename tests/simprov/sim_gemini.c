/*
 * Gemini generateContent: request validation (what the real API rejects:
 * empty text parts, empty or role-less turns, lower-case schema types and
 * JSON Schema keys its OpenAPI subset does not know) and rendering.  The
 * request reduces to a struct sim_conv counted as the OpenAI form would
 * be, so every format answers the same prompt alike.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_gemini.h"

/* Gemini's context window, for the context-length fault's wording. */
#define SIM_GEM_CONTEXT_WINDOW 1048576L

static int bad(struct sim_gem_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct sim_gem_error *e, const char *fmt, ...)
{
	e->status = 400;
	e->rpc = "INVALID_ARGUMENT";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct sim_gem_error *e)
{
	e->status = 0;
	e->rpc = "INTERNAL";
	snprintf(e->message, sizeof(e->message), "out of memory");
	return -1;
}

/* ---- schemas ---- */

static const char *const schema_keys[] = {
	"type", "format", "title", "description", "nullable", "enum",
	"maxItems", "minItems", "properties", "required", "minProperties",
	"maxProperties", "minLength", "maxLength", "pattern", "example",
	"anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
};
static const char *const type_names[] = {
	"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL",
};

static bool known(const char *k, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(k, list[i]) == 0)
			return true;
	return false;
}

/* Checks a Schema as Gemini's parser would and returns it as JSON Schema
 * (lower-case types) for the answer generator; NULL with *e set. */
static json_t *schema_in(const json_t *s, const char *at, int depth,
			 struct sim_gem_error *e)
{
	if (depth > 32 || !json_is_object(s)) {
		bad(e, "Invalid JSON payload received. %s: not a Schema", at);
		return NULL;
	}
	json_t *out = json_object();
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)s, k, v) {
		if (!known(k, schema_keys, sizeof(schema_keys) / sizeof(*schema_keys))) {
			bad(e, "Invalid JSON payload received. Unknown name \"%.64s\" at '%s': Cannot find field.", k, at);
			goto fail;
		}
		json_t *x = NULL;
		if (strcmp(k, "type") == 0) {
			const char *t = json_string_value(v);
			if (!t || !known(t, type_names, sizeof(type_names) / sizeof(*type_names))) {
				bad(e, "Invalid value at '%s.type', \"%.32s\"", at, t ? t : "?");
				goto fail;
			}
			char low[16];
			size_t i = 0;
			for (; t[i] && i < sizeof(low) - 1; i++)
				low[i] = (char)tolower((unsigned char)t[i]);
			low[i] = '\0';
			x = json_string(low);
		} else if (strcmp(k, "properties") == 0) {
			x = json_object();
			const char *pk;
			const json_t *pv;
			json_object_foreach((json_t *)v, pk, pv) {
				json_t *c = schema_in(pv, at, depth + 1, e);
				if (!c) {
					json_decref(x);
					goto fail;
				}
				json_object_set_new(x, pk, c);
			}
		} else if (strcmp(k, "items") == 0) {
			if (!(x = schema_in(v, at, depth + 1, e)))
				goto fail;
		} else {
			x = json_deep_copy(v);
		}
		json_object_set_new(out, k, x);
	}
	const json_t *props = json_object_get(s, "properties");
	const char *t = json_string_value(json_object_get(s, "type"));
	if (t && strcmp(t, "OBJECT") == 0 && depth == 0 && json_object_size(props) == 0) {
		bad(e, "* GenerateContentRequest.%s.properties: should be non-empty for OBJECT type", at);
		goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* ---- contents ---- */

/* The text of a functionResponse: its "result" when that is all it holds,
 * else the response object as JSON. */
static int response_text(const json_t *resp, char **dst)
{
	const json_t *r = json_object_get(resp, "result");
	if (json_object_size(resp) == 1 && json_is_string(r)) {
		*dst = strdup(json_string_value(r));
	} else {
		*dst = json_dumps(resp, JSON_COMPACT);
	}
	return *dst ? 0 : -1;
}

static size_t response_bytes(const json_t *resp)
{
	char *t = NULL;
	size_t n = response_text(resp, &t) == 0 ? strlen(t) : 0;
	free(t);
	return n;
}

static int check_part(const json_t *p, size_t i, size_t j, struct sim_gem_error *e)
{
	static const char *const kinds[] = { "text", "inlineData", "fileData", "functionCall",
					     "functionResponse" };
	size_t found = 0;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++)
		found += json_object_get(p, kinds[k]) != NULL;
	if (!json_is_object(p) || found != 1)
		return bad(e, "contents[%zu].parts[%zu]: exactly one of text, inlineData, fileData, "
			   "functionCall, functionResponse is required", i, j);
	const json_t *t = json_object_get(p, "text");
	if (t && (!json_is_string(t) || json_string_length(t) == 0))
		return bad(e, "Unable to submit request because it has an empty text parameter. "
			   "Add a value to the parameter and try again.");
	const json_t *fc = json_object_get(p, "functionCall");
	if (fc && (!json_is_string(json_object_get(fc, "name")) ||
		   (json_object_get(fc, "args") && !json_is_object(json_object_get(fc, "args")))))
		return bad(e, "contents[%zu].parts[%zu].functionCall: name required, args must be an object", i, j);
	const json_t *fr = json_object_get(p, "functionResponse");
	if (fr && (!json_is_string(json_object_get(fr, "name")) ||
		   !json_is_object(json_object_get(fr, "response"))))
		return bad(e, "contents[%zu].parts[%zu].functionResponse: name and a response object required", i, j);
	const json_t *id = json_object_get(p, "inlineData");
	if (id && (!json_is_string(json_object_get(id, "mimeType")) ||
		   !json_is_string(json_object_get(id, "data"))))
		return bad(e, "contents[%zu].parts[%zu].inlineData: mimeType and data required", i, j);
	const json_t *fd = json_object_get(p, "fileData");
	if (fd && (!json_is_string(json_object_get(fd, "mimeType")) ||
		   !json_is_string(json_object_get(fd, "fileUri"))))
		return bad(e, "contents[%zu].parts[%zu].fileData: mimeType and fileUri required", i, j);
	return 0;
}

static int read_contents(const json_t *contents, struct sim_conv *c, struct sim_gem_error *e)
{
	size_t i, n = json_array_size(contents);
	const json_t *m, *last_user = NULL, *last_resp = NULL;
	if (n == 0)
		return bad(e, "* GenerateContentRequest.contents: contents is not specified");
	json_array_foreach(contents, i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));
		if (!role)
			role = "user";
		bool user = strcmp(role, "user") == 0;
		if (!user && strcmp(role, "model") != 0)
			return bad(e, "Please use a valid role: user, model.");
		const json_t *parts = json_object_get(m, "parts");
		if (!json_is_array(parts) || json_array_size(parts) == 0)
			return bad(e, "* GenerateContentRequest.contents[%zu].parts: contents.parts must not be empty.", i);
		size_t j;
		const json_t *p;
		bool has_resp = false;
		json_array_foreach(parts, j, p) {
			if (check_part(p, i, j, e) < 0)
				return -1;
			const json_t *fr = json_object_get(p, "functionResponse");
			c->prompt_bytes += fr ? response_bytes(json_object_get(fr, "response"))
					      : sim_gen_text_bytes(json_object_get(p, "text"));
			if (fr && user && i + 1 == n) {
				has_resp = true;
				last_resp = json_object_get(fr, "response");
			}
		}
		if (user && !has_resp)
			last_user = parts;
	}
	c->last_is_tool = last_resp != NULL;
	size_t len = 0;
	c->last_user_text = calloc(1, 1);
	if (!c->last_user_text)
		return oom(e);
	json_array_foreach(last_user, i, m)
		if (sim_gen_append_text(json_object_get(m, "text"), &c->last_user_text, &len) < 0)
			return oom(e);
	if (last_resp && response_text(last_resp, &c->tool_result_text) < 0)
		return oom(e);
	return 0;
}

/* The function to call: toolConfig's mode and allowed names decide. */
static int choose_tool(const json_t *body, struct sim_gem_request *r, struct sim_gem_error *e)
{
	const json_t *tools = json_object_get(body, "tools");
	if (!tools)
		return 0;
	if (!json_is_array(tools))
		return bad(e, "Invalid JSON payload received. 'tools' is not a list.");
	const json_t *fcc = json_object_get(json_object_get(body, "toolConfig"), "functionCallingConfig");
	const char *mode = json_string_value(json_object_get(fcc, "mode"));
	if (mode && strcmp(mode, "AUTO") != 0 && strcmp(mode, "ANY") != 0 && strcmp(mode, "NONE") != 0 &&
	    strcmp(mode, "VALIDATED") != 0)
		return bad(e, "Invalid value at 'tool_config.function_calling_config.mode' (%.32s)", mode);
	const json_t *allowed = json_object_get(fcc, "allowedFunctionNames");
	if (allowed && (!mode || strcmp(mode, "ANY") != 0))
		return bad(e, "allowed_function_names can only be set when the mode is ANY.");
	const char *wanted = json_string_value(json_array_get(allowed, 0));
	size_t i, j;
	const json_t *t, *d;
	const json_t *pick = NULL;
	json_array_foreach(tools, i, t) {
		const json_t *decls = json_object_get(t, "functionDeclarations");
		json_array_foreach(decls, j, d) {
			const char *name = json_string_value(json_object_get(d, "name"));
			if (!name || !*name)
				return bad(e, "* GenerateContentRequest.tools[%zu].function_declarations[%zu].name: "
					   "Name cannot be empty.", i, j);
			const json_t *params = json_object_get(d, "parameters");
			char at[96];
			snprintf(at, sizeof(at), "tools[%zu].function_declarations[%zu].parameters", i, j);
			json_t *schema = params ? schema_in(params, at, 0, e) : NULL;
			if (params && !schema)
				return -1;
			if (!pick && (!wanted || strcmp(name, wanted) == 0)) {
				pick = d;
				r->conv.tool_name = name;
				r->schema = schema;
				r->conv.tool_schema = schema;
			} else {
				json_decref(schema);
			}
		}
	}
	if (wanted && !pick)
		return bad(e, "allowed_function_names: %.64s is not a declared function", wanted);
	if (mode && strcmp(mode, "NONE") == 0) {
		r->conv.tool_name = NULL;
		r->conv.tool_schema = NULL;
	}
	return 0;
}

static int read_config(const json_t *body, struct sim_gem_request *r, struct sim_gem_error *e)
{
	const json_t *gc = json_object_get(body, "generationConfig");
	if (gc && !json_is_object(gc))
		return bad(e, "Invalid JSON payload received. 'generationConfig' is not an object.");
	const json_t *mt = json_object_get(gc, "maxOutputTokens");
	if (mt && (!json_is_integer(mt) || json_integer_value(mt) < 1))
		return bad(e, "max_output_tokens must be positive.");
	if (mt)
		r->conv.max_tokens = (long)json_integer_value(mt);
	const json_t *stop = json_object_get(gc, "stopSequences");
	if (stop && (!json_is_array(stop) || json_array_size(stop) > 5))
		return bad(e, "stop_sequences must be a list of at most 5 strings.");
	const json_t *t = json_object_get(gc, "temperature");
	if (t && (!json_is_number(t) || json_number_value(t) < 0 || json_number_value(t) > 2))
		return bad(e, "temperature must be in [0, 2].");
	const json_t *rs = json_object_get(gc, "responseSchema");
	if (rs) {
		json_t *x = schema_in(rs, "generation_config.response_schema", 1, e);
		if (!x)
			return -1;
		json_decref(x);
	}
	return 0;
}

int sim_gem_parse_request(const json_t *body, struct sim_gem_request *out,
			  struct sim_gem_error *e)
{
	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	out->conv.max_tokens = -1;
	if (!json_is_object(body))
		return bad(e, "Invalid JSON payload received.");
	const json_t *si = json_object_get(body, "systemInstruction");
	size_t i;
	const json_t *p;
	json_array_foreach(json_object_get(si, "parts"), i, p)
		out->conv.prompt_bytes += sim_gen_text_bytes(json_object_get(p, "text"));
	if (read_contents(json_object_get(body, "contents"), &out->conv, e) < 0 ||
	    read_config(body, out, e) < 0 || choose_tool(body, out, e) < 0) {
		sim_gem_request_free(out);
		return -1;
	}
	return 0;
}

void sim_gem_request_free(struct sim_gem_request *r)
{
	sim_conv_free(&r->conv);
	json_decref(r->schema);
	r->schema = NULL;
}

/* ---- rendering ---- */

static char *dump(json_t *v)
{
	if (!v)
		return NULL;
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s;
}

static json_t *usage(const struct sim_answer *a)
{
	return json_pack("{s:I, s:I, s:I}", "promptTokenCount", (json_int_t)a->prompt_tokens,
			 "candidatesTokenCount", (json_int_t)a->completion_tokens,
			 "totalTokenCount", (json_int_t)(a->prompt_tokens + a->completion_tokens));
}

static const char *finish(const struct sim_gem_meta *m, const struct sim_answer *a, bool *broken)
{
	json_t *args = a->kind == SIM_ANSWER_TOOL ? json_loads(a->tool_args, 0, NULL) : NULL;
	*broken = a->kind == SIM_ANSWER_TOOL && !json_is_object(args);
	json_decref(args);
	if (m->filtered)
		return "SAFETY";
	if (*broken)
		return "MALFORMED_FUNCTION_CALL"; /* Gemini's form of arguments that are not JSON */
	return a->truncated ? "MAX_TOKENS" : "STOP";
}

/* One GenerateContentResponse with the given parts (stolen), finish
 * reason and usage (both optional). */
static json_t *response(const struct sim_gem_meta *m, json_t *parts, const char *reason,
			const struct sim_answer *usage_of)
{
	json_t *cand = json_pack("{s:{s:s, s:o}, s:i}", "content", "role", "model", "parts", parts,
				 "index", 0);
	if (cand && reason)
		json_object_set_new(cand, "finishReason", json_string(reason));
	json_t *r = json_pack("{s:[o], s:s, s:s}", "candidates", cand, "modelVersion", m->model,
			      "responseId", m->response_id);
	if (r && usage_of)
		json_object_set_new(r, "usageMetadata", usage(usage_of));
	return r;
}

static json_t *answer_parts(const struct sim_answer *a, bool broken)
{
	if (a->kind == SIM_ANSWER_TEXT)
		return json_pack("[{s:s}]", "text", a->content);
	if (a->kind == SIM_ANSWER_EMPTY_TOOL || broken)
		return json_array();
	return json_pack("[{s:{s:s, s:o}}]", "functionCall", "name", a->tool_name, "args",
			 json_loads(a->tool_args, 0, NULL));
}

char *sim_gem_render_response(const struct sim_gem_meta *m, const struct sim_answer *a)
{
	bool broken;
	const char *reason = finish(m, a, &broken);
	json_t *parts = answer_parts(a, broken);
	if (m->filtered) {
		json_decref(parts);
		parts = json_array();
	}
	return dump(response(m, parts, reason, a));
}

int sim_gem_render_stream(const struct sim_gem_meta *m, const struct sim_answer *a,
			  long nchunks, struct sim_strv *out)
{
	bool broken;
	const char *reason = finish(m, a, &broken);
	if (a->kind != SIM_ANSWER_TEXT) {
		/* A call arrives whole, with the finish and the usage. */
		return sim_strv_push_sse(out, dump(response(m, answer_parts(a, broken), reason, a)));
	}
	size_t *sp = NULL;
	long n = sim_gen_split(a->content, nchunks, &sp);
	int rc = n < 0 ? -1 : 0;
	/* The filter strikes after the first piece. */
	long last = m->filtered && n > 1 ? 1 : n;
	for (long i = 0; rc == 0 && i < last; i++) {
		bool end = i + 1 == last;
		json_t *parts = sp[2 * i + 1] ? json_pack("[{s:s%}]", "text", a->content + sp[2 * i], sp[2 * i + 1])
					      : json_array();
		rc = sim_strv_push_sse(out, dump(response(m, parts, end ? reason : NULL, end ? a : NULL)));
	}
	free(sp);
	return rc;
}

char *sim_gem_render_error(const struct sim_gem_error *e)
{
	json_t *err = json_pack("{s:i, s:s, s:s}", "code", e->status, "message", e->message, "status", e->rpc);
	if (err && e->reason)
		json_object_set_new(err, "details", json_pack("[{s:s, s:s, s:s}]", "@type",
							      "type.googleapis.com/google.rpc.ErrorInfo",
							      "reason", e->reason, "domain", "googleapis.com"));
	if (err && e->quota_id)
		json_object_set_new(err, "details", json_pack("[{s:s, s:[{s:s}]}]", "@type",
							      "type.googleapis.com/google.rpc.QuotaFailure",
							      "violations", "quotaId", e->quota_id));
	return dump(err ? json_pack("{s:o}", "error", err) : NULL);
}

char *sim_gem_render_stream_error(const char *code, const char *message)
{
	struct sim_gem_error e;
	sim_gem_fault_error(500, code, message, 1, &e);
	char *body = sim_gem_render_error(&e);
	char *ev = NULL;
	if (body && asprintf(&ev, "data: %s\r\n\r\n", body) < 0)
		ev = NULL;
	free(body);
	return ev;
}

static const char *rpc_of(int status)
{
	switch (status) {
	case 400: return "INVALID_ARGUMENT";
	case 401: return "UNAUTHENTICATED";
	case 403: return "PERMISSION_DENIED";
	case 404: return "NOT_FOUND";
	case 409: return "ABORTED";
	case 429: return "RESOURCE_EXHAUSTED";
	case 499: return "CANCELLED";
	case 503: return "UNAVAILABLE";
	case 504: return "DEADLINE_EXCEEDED";
	}
	return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
}

void sim_gem_fault_error(int status, const char *code, const char *message,
			 long prompt_tokens, struct sim_gem_error *out)
{
	memset(out, 0, sizeof(*out));
	out->status = status;
	out->rpc = rpc_of(status);
	const char *msg = status == 429 ? "Resource has been exhausted (e.g. check quota)."
			: status == 503 ? "The model is overloaded. Please try again later."
			: status == 404 ? "models/sim is not found for API version v1beta."
			: status >= 500 ? "An internal error has occurred."
			: "Request contains an invalid argument.";
	if (code && strcmp(code, "context_length_exceeded") == 0) {
		long over = prompt_tokens > SIM_GEM_CONTEXT_WINDOW ? prompt_tokens : SIM_GEM_CONTEXT_WINDOW + 1;
		snprintf(out->message, sizeof(out->message),
			 "The input token count (%ld) exceeds the maximum number of tokens allowed (%ld).", over,
			 SIM_GEM_CONTEXT_WINDOW);
		out->rpc = "INVALID_ARGUMENT";
	} else if (code && strcmp(code, "insufficient_quota") == 0) {
		snprintf(out->message, sizeof(out->message), "You exceeded your current quota, please check your "
			 "plan and billing details.");
		out->rpc = "RESOURCE_EXHAUSTED";
		out->quota_id = "GenerateRequestsPerDayPerProjectPerModel-FreeTier";
	} else if (code && strcmp(code, "API_KEY_INVALID") == 0) {
		snprintf(out->message, sizeof(out->message), "API key not valid. Please pass a valid API key.");
		out->rpc = "INVALID_ARGUMENT";
		out->reason = "API_KEY_INVALID";
	} else {
		if (code)
			out->rpc = code; /* an RPC status name of the test's choice */
		snprintf(out->message, sizeof(out->message), "%s", msg);
	}
	if (message)
		snprintf(out->message, sizeof(out->message), "%s", message);
}
