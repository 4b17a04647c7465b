#include "sim_openai.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The context window quoted in context_length_exceeded errors. */
#define SIM_CONTEXT_WINDOW 8192L

static int bad(struct sim_oai_error *e, const char *param, const char *code,
	       const char *fmt, ...)
{
	e->status = 400;
	e->type = "invalid_request_error";
	e->param = param;
	e->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct sim_oai_error *e)
{
	memset(e, 0, sizeof(*e));
	return -1;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a decimal";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* The real API names the offending field in both message and param; params
 * here must outlive the call, hence the fixed names. */
static int check_bool(const json_t *body, const char *key, bool *out,
		      struct sim_oai_error *e)
{
	json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return bad(e, key, "invalid_type",
			   "Invalid type for '%s': expected a boolean, but got "
			   "%s instead.", key, type_name(v));
	*out = json_is_true(v);
	return 0;
}

static int check_max(const json_t *body, const char *key, long *out,
		     struct sim_oai_error *e)
{
	json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return bad(e, key, "invalid_type",
			   "Invalid type for '%s': expected an integer, but got "
			   "%s instead.", key, type_name(v));
	json_int_t n = json_integer_value(v);
	if (n < 1)
		return bad(e, key, "integer_below_min_value",
			   "Invalid '%s': integer below minimum value. Expected "
			   "a value >= 1, but got %lld instead.", key,
			   (long long)n);
	*out = n > 1000000000 ? 1000000000L : (long)n;
	return 0;
}

static const char *function_name(const json_t *tool)
{
	json_t *type = json_object_get(tool, "type");
	if (type && !(json_is_string(type) &&
		      strcmp(json_string_value(type), "function") == 0))
		return NULL;
	json_t *name = json_object_get(json_object_get(tool, "function"),
				       "name");
	return json_is_string(name) ? json_string_value(name) : NULL;
}

/* Picks the tool the simulated model calls, or none (text answer). */
static int choose_tool(const json_t *body, struct sim_conv *c,
		       struct sim_oai_error *e)
{
	json_t *tools = json_object_get(body, "tools");
	json_t *choice = json_object_get(body, "tool_choice");
	const char *wanted = NULL;

	if (!tools || json_is_null(tools))
		return 0;
	if (!json_is_array(tools))
		return bad(e, "tools", "invalid_type",
			   "Invalid type for 'tools': expected an array, but "
			   "got %s instead.", type_name(tools));
	size_t i;
	json_t *t;
	json_array_foreach(tools, i, t) {
		if (!json_is_object(t))
			return bad(e, "tools", "invalid_type",
				   "Invalid type for 'tools[%zu]': expected an "
				   "object, but got %s instead.", i,
				   type_name(t));
		json_t *type = json_object_get(t, "type");
		bool is_fn = !type || (json_is_string(type) &&
			strcmp(json_string_value(type), "function") == 0);
		if (is_fn && !function_name(t))
			return bad(e, "tools", "missing_required_parameter",
				   "Missing required parameter: "
				   "'tools[%zu].function.name'.", i);
	}

	if (json_is_string(choice)) {
		const char *s = json_string_value(choice);
		if (strcmp(s, "none") == 0)
			return 0;
		if (strcmp(s, "auto") != 0 && strcmp(s, "required") != 0)
			return bad(e, "tool_choice", "invalid_value",
				   "Invalid value: '%.100s'. Supported values "
				   "are: 'none', 'auto', and 'required'.", s);
	} else if (json_is_object(choice)) {
		json_t *type = json_object_get(choice, "type");
		if (json_is_string(type) &&
		    strcmp(json_string_value(type), "function") == 0) {
			json_t *n = json_object_get(
				json_object_get(choice, "function"), "name");
			if (!json_is_string(n))
				return bad(e, "tool_choice",
					   "missing_required_parameter",
					   "Missing required parameter: "
					   "'tool_choice.function.name'.");
			wanted = json_string_value(n);
		}
	} else if (choice && !json_is_null(choice)) {
		return bad(e, "tool_choice", "invalid_type",
			   "Invalid type for 'tool_choice': expected a string "
			   "or an object, but got %s instead.",
			   type_name(choice));
	}

	json_array_foreach(tools, i, t) {
		const char *name = function_name(t);
		if (!name || (wanted && strcmp(name, wanted) != 0))
			continue;
		c->tool_name = name;
		c->tool_schema = json_object_get(json_object_get(t, "function"),
						 "parameters");
		return 0;
	}
	if (wanted)
		return bad(e, "tool_choice", "invalid_value",
			   "Invalid value for 'tool_choice': function '%.100s' "
			   "is not among the provided tools.", wanted);
	return 0;
}

/* response_format: text (absent), json_object, or json_schema with its
 * schema under json_schema.schema. */
static int read_response_format(const json_t *body, struct sim_conv *c,
				struct sim_oai_error *e)
{
	json_t *rf = json_object_get(body, "response_format");
	if (!rf || json_is_null(rf))
		return 0;
	const char *type = json_string_value(json_object_get(rf, "type"));
	if (!json_is_object(rf) || !type)
		return bad(e, "response_format", "invalid_type",
			   "Invalid type for 'response_format': expected an "
			   "object with a string 'type'.");
	if (strcmp(type, "json_object") == 0) {
		c->json_mode = SIM_JSON_OBJECT;
	} else if (strcmp(type, "json_schema") == 0) {
		json_t *js = json_object_get(rf, "json_schema");
		if (!json_is_object(js))
			return bad(e, "response_format", "missing_required_parameter",
				   "Missing required parameter: "
				   "'response_format.json_schema'.");
		c->json_mode = SIM_JSON_SCHEMA;
		c->json_schema = json_object_get(js, "schema");
	} else if (strcmp(type, "text") != 0) {
		return bad(e, "response_format", "invalid_value",
			   "Invalid value: '%.100s'. Supported values are: "
			   "'json_object', 'json_schema', and 'text'.", type);
	}
	return 0;
}

/* Extracts a message's text into *dst (NULL message: stays NULL). */
static int take_text(const json_t *msg, char **dst)
{
	size_t len = 0;
	if (!msg)
		return 0;
	*dst = malloc(1);
	if (!*dst)
		return -1;
	**dst = '\0';
	return sim_gen_append_text(json_object_get(msg, "content"), dst,
				   &len) < 0 ? -1 : 0;
}

static int read_messages(const json_t *msgs, struct sim_conv *c,
			 struct sim_oai_error *e)
{
	size_t i, n = json_array_size(msgs);
	json_t *m;
	const json_t *last_user = NULL, *tool_result = NULL;

	json_array_foreach(msgs, i, m) {
		if (!json_is_object(m))
			return bad(e, "messages", "invalid_type",
				   "Invalid type for 'messages[%zu]': expected "
				   "an object, but got %s instead.", i,
				   type_name(m));
		json_t *role = json_object_get(m, "role");
		if (!json_is_string(role))
			return bad(e, "messages", "missing_required_parameter",
				   "Missing required parameter: "
				   "'messages[%zu].role'.", i);
		c->prompt_bytes += sim_gen_text_bytes(
			json_object_get(m, "content"));
		const char *r = json_string_value(role);
		if (strcmp(r, "user") == 0)
			last_user = m;
		if (i + 1 == n && strcmp(r, "tool") == 0) {
			c->last_is_tool = true;
			tool_result = m;
		}
	}
	if (take_text(last_user, &c->last_user_text) < 0 ||
	    take_text(tool_result, &c->tool_result_text) < 0)
		return oom(e);
	return 0;
}

int sim_oai_parse_request(const json_t *body, struct sim_oai_request *out,
			  struct sim_oai_error *e)
{
	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	out->conv.max_tokens = -1;

	if (!body)
		return bad(e, NULL, NULL,
			   "We could not parse the JSON body of your request. "
			   "(HINT: This likely means you aren't using your "
			   "HTTP library correctly. The OpenAI API expects a "
			   "JSON payload, but what was sent was not valid "
			   "JSON.)");
	if (!json_is_object(body))
		return bad(e, NULL, NULL,
			   "Invalid type for request body: expected an object, "
			   "but got %s instead.", type_name(body));

	json_t *model = json_object_get(body, "model");
	if (!model)
		return bad(e, NULL, NULL, "you must provide a model parameter");
	if (!json_is_string(model))
		return bad(e, "model", "invalid_type",
			   "Invalid type for 'model': expected a string, but "
			   "got %s instead.", type_name(model));
	out->model = json_string_value(model);

	json_t *msgs = json_object_get(body, "messages");
	if (!msgs)
		return bad(e, "messages", "missing_required_parameter",
			   "Missing required parameter: 'messages'.");
	if (!json_is_array(msgs))
		return bad(e, "messages", "invalid_type",
			   "Invalid type for 'messages': expected an array of "
			   "objects, but got %s instead.", type_name(msgs));
	if (json_array_size(msgs) == 0)
		return bad(e, "messages", "empty_array",
			   "Invalid 'messages': empty array. Expected an array "
			   "with minimum length 1, but got an empty array "
			   "instead.");

	if (check_bool(body, "stream", &out->stream, e) < 0)
		return -1;
	json_t *so = json_object_get(body, "stream_options");
	if (json_is_object(so) &&
	    check_bool(so, "include_usage", &out->include_usage, e) < 0)
		return -1;
	/* max_completion_tokens supersedes the deprecated max_tokens */
	long mt = -1, mct = -1;
	if (check_max(body, "max_tokens", &mt, e) < 0 ||
	    check_max(body, "max_completion_tokens", &mct, e) < 0)
		return -1;
	out->conv.max_tokens = mct >= 0 ? mct : mt;

	if (read_messages(msgs, &out->conv, e) < 0 ||
	    choose_tool(body, &out->conv, e) < 0 ||
	    read_response_format(body, &out->conv, e) < 0) {
		sim_oai_request_free(out);
		return -1;
	}
	return 0;
}

void sim_oai_request_free(struct sim_oai_request *r)
{
	sim_conv_free(&r->conv);
	r->model = NULL;
}

static json_t *usage_json(const struct sim_answer *a)
{
	return json_pack("{s:I, s:I, s:I, s:{s:i}}",
			 "prompt_tokens", (json_int_t)a->prompt_tokens,
			 "completion_tokens", (json_int_t)a->completion_tokens,
			 "total_tokens",
			 (json_int_t)(a->prompt_tokens + a->completion_tokens),
			 "prompt_tokens_details", "cached_tokens", 0);
}

static const char *finish_reason(const struct sim_answer *a)
{
	if (a->kind != SIM_ANSWER_TEXT)
		return "tool_calls";
	return a->truncated ? "length" : "stop";
}

/* Builds the object, serialises it and drops it, so callers get either text
 * or NULL and never a half-built tree to clean up. */
static char *dump(json_t *v)
{
	if (!v)
		return NULL;
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s;
}

char *sim_oai_render_completion(const struct sim_oai_meta *m,
				const struct sim_answer *a)
{
	json_t *msg = json_pack("{s:s, s:o, s:n}", "role", "assistant",
				"content",
				a->kind == SIM_ANSWER_TEXT
					? json_string(a->content) : json_null(),
				"refusal");
	if (msg && a->kind == SIM_ANSWER_TOOL &&
	    json_object_set_new(msg, "tool_calls", json_pack(
		    "[{s:s, s:s, s:{s:s, s:s}}]", "id", m->call_id,
		    "type", "function", "function", "name", a->tool_name,
		    "arguments", a->tool_args)) < 0) {
		json_decref(msg);
		return NULL;
	}
	if (!msg)
		return NULL;
	return dump(json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}],"
			      " s:o}",
			      "id", m->id, "object", "chat.completion",
			      "created", (json_int_t)m->created,
			      "model", m->model,
			      "choices", "index", 0, "message", msg,
			      "logprobs", "finish_reason", finish_reason(a),
			      "usage", usage_json(a)));
}

/* One chat.completion.chunk carrying delta (stolen) and finish (or null). */
static int push_chunk(struct sim_strv *out, const struct sim_oai_meta *m,
		      json_t *delta, const char *finish, bool include_usage)
{
	json_t *c = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:o}]}",
			      "id", m->id, "object", "chat.completion.chunk",
			      "created", (json_int_t)m->created,
			      "model", m->model,
			      "choices", "index", 0, "delta", delta,
			      "logprobs", "finish_reason",
			      finish ? json_string(finish) : json_null());
	if (c && include_usage && json_object_set_new(c, "usage",
						      json_null()) < 0) {
		json_decref(c);
		return -1;
	}
	return sim_strv_push_sse(out, dump(c));
}

/* Appends text as the inside of a JSON string, escaped exactly as jansson
 * escapes it (quote, backslash, control characters; UTF-8 passes through),
 * so the fast path below renders the same bytes json_dumps would. */
static int append_json_chars(struct sim_strv *out, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		char esc[8];
		size_t el = 2;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)c);
			el = 6;
			break;
		}
		if (sim_strv_append(out, s + run, i - run) < 0 ||
		    sim_strv_append(out, esc, el) < 0)
			return -1;
		run = i + 1;
	}
	return sim_strv_append(out, s + run, n - run);
}

/* Every piece event is the same chunk around a different string, so the
 * chunk is rendered once with an empty piece and split around it; each
 * piece is then pasted in, escaped, with no JSON tree or allocation per
 * event. That keeps a 200000-word stream cheap. The marker is structural
 * (bare quotes never occur inside a serialised string), so it is unique. */
static int push_pieces(struct sim_strv *out, const struct sim_oai_meta *m,
		       const struct sim_answer *a, bool iu, long nchunks)
{
	const char *text = a->kind == SIM_ANSWER_TEXT ? a->content : a->tool_args;
	const char *marker = a->kind == SIM_ANSWER_TEXT
		? "\"delta\":{\"content\":\"\""
		: "\"function\":{\"arguments\":\"\"";
	if (a->kind == SIM_ANSWER_TOOL && nchunks < 2)
		nchunks = 2;   /* arguments always arrive in fragments */

	json_t *delta;
	if (a->kind == SIM_ANSWER_TEXT)
		delta = json_pack("{s:s}", "content", "");
	else
		delta = json_pack("{s:[{s:i, s:{s:s}}]}", "tool_calls",
				  "index", 0, "function", "arguments", "");
	struct sim_strv tpl = { 0 };
	if (push_chunk(&tpl, m, delta, NULL, iu) < 0) {
		sim_strv_free(&tpl);
		return -1;
	}
	size_t tl;
	const char *t = sim_strv_at(&tpl, 0, &tl);
	const char *hit = memmem(t, tl, marker, strlen(marker));
	if (!hit) {
		sim_strv_free(&tpl);
		return -1;
	}
	/* t is the whole event: t[0, head) ends with the opening quote of the
	 * empty piece, t[head, tl) starts with its closing quote */
	size_t head = (size_t)(hit - t) + strlen(marker) - 1;
	const char *tail = t + head;
	size_t tail_len = tl - head;

	size_t *sp = NULL;
	long n = sim_gen_split(text, nchunks, &sp);
	int rc = n < 0 ? -1 : 0;
	for (long i = 0; rc == 0 && i < n; i++) {
		if (sim_strv_append(out, t, head) < 0 ||
		    append_json_chars(out, text + sp[2 * i], sp[2 * i + 1]) < 0 ||
		    sim_strv_append(out, tail, tail_len) < 0 ||
		    sim_strv_close(out) < 0)
			rc = -1;
	}
	if (rc < 0)
		sim_strv_truncate(out, out->n);
	free(sp);
	sim_strv_free(&tpl);
	return rc;
}

int sim_oai_render_stream(const struct sim_oai_meta *m,
			  const struct sim_answer *a, bool iu, long nchunks,
			  struct sim_strv *out, size_t *n_data)
{
	if (push_chunk(out, m, json_pack("{s:s, s:s}", "role", "assistant",
					 "content", ""), NULL, iu) < 0)
		return -1;
	if (a->kind == SIM_ANSWER_TOOL) {
		json_t *first = json_pack(
			"{s:[{s:i, s:s, s:s, s:{s:s, s:s}}]}", "tool_calls",
			"index", 0, "id", m->call_id, "type", "function",
			"function", "name", a->tool_name, "arguments", "");
		if (push_chunk(out, m, first, NULL, iu) < 0)
			return -1;
	}
	if (a->kind != SIM_ANSWER_EMPTY_TOOL &&
	    push_pieces(out, m, a, iu, nchunks) < 0)
		return -1;
	if (push_chunk(out, m, json_object(), finish_reason(a), iu) < 0)
		return -1;
	if (iu && sim_strv_push_sse(out, dump(json_pack(
			"{s:s, s:s, s:I, s:s, s:[], s:o}", "id", m->id,
			"object", "chat.completion.chunk",
			"created", (json_int_t)m->created, "model", m->model,
			"choices", "usage", usage_json(a)))) < 0)
		return -1;
	*n_data = out->n;
	static const char done[] = "data: [DONE]\n\n";
	return sim_strv_push(out, strdup(done), sizeof(done) - 1);
}

char *sim_oai_render_stream_error(const char *code, const char *message)
{
	char *json = dump(json_pack("{s:{s:s, s:s, s:s}}", "error",
				    "message", message ? message
					: "simulated upstream error",
				    "type", "server_error",
				    "code", code ? code : "stream_error"));
	if (!json)
		return NULL;
	static const char pre[] = "data: ", post[] = "\n\n";
	size_t jl = strlen(json);
	char *ev = malloc(sizeof(pre) - 1 + jl + sizeof(post));
	if (ev) {
		memcpy(ev, pre, sizeof(pre) - 1);
		memcpy(ev + sizeof(pre) - 1, json, jl);
		memcpy(ev + sizeof(pre) - 1 + jl, post, sizeof(post));
	}
	free(json);
	return ev;
}

char *sim_oai_render_error(const struct sim_oai_error *e)
{
	return dump(json_pack("{s:{s:s, s:s, s:o, s:o}}", "error",
			      "message", e->message,
			      "type", e->type ? e->type : "invalid_request_error",
			      "param", e->param ? json_string(e->param)
						: json_null(),
			      "code", e->code ? json_string(e->code)
					      : json_null()));
}

void sim_oai_fault_error(int status, const char *code, const char *message,
			 const char *model, long prompt_tokens,
			 struct sim_oai_error *e)
{
	memset(e, 0, sizeof(*e));
	e->status = status;
	e->type = status >= 500 ? "server_error" : "invalid_request_error";
	const char *msg;

	switch (status) {
	case 400:
		msg = "Invalid request (simulated).";
		break;
	case 401:
		e->code = "invalid_api_key";
		msg = "Incorrect API key provided: sk-sim****. You can find "
		      "your API key at https://platform.openai.com/account/"
		      "api-keys.";
		break;
	case 403:
		e->code = "unsupported_country_region_territory";
		msg = "Country, region, or territory not supported";
		break;
	case 404:
		e->code = "model_not_found";
		msg = NULL;   /* names the model, formatted below */
		break;
	case 429:
		e->type = "requests";
		e->code = "rate_limit_exceeded";
		msg = "Rate limit reached for requests. Please try again "
		      "later.";
		break;
	case 500:
		msg = "The server had an error while processing your request. "
		      "Sorry about that!";
		break;
	case 502:
		msg = "Bad gateway.";
		break;
	case 503:
		msg = "The engine is currently overloaded, please try again "
		      "later.";
		break;
	case 504:
		msg = "Gateway timeout.";
		break;
	default:
		msg = status >= 500 ? "The server had an error while "
				      "processing your request."
				    : "Request failed (simulated).";
		break;
	}

	if (code) {
		e->code = code;
		/* Quota exhaustion is its own type in the real API; clients
		 * tell "slow down" from "pay up" by it. */
		if (strcmp(code, "insufficient_quota") == 0) {
			e->type = "insufficient_quota";
			msg = "You exceeded your current quota, please check "
			      "your plan and billing details.";
		} else if (strcmp(code, "context_length_exceeded") == 0) {
			e->param = "messages";
			msg = NULL;
		}
	}

	if (message)
		snprintf(e->message, sizeof(e->message), "%s", message);
	else if (msg)
		snprintf(e->message, sizeof(e->message), "%s", msg);
	else if (code && strcmp(code, "context_length_exceeded") == 0)
		snprintf(e->message, sizeof(e->message),
			 "This model's maximum context length is %ld tokens. "
			 "However, your messages resulted in %ld tokens. Please "
			 "reduce the length of the messages.",
			 SIM_CONTEXT_WINDOW, SIM_CONTEXT_WINDOW + prompt_tokens);
	else
		snprintf(e->message, sizeof(e->message),
			 "The model `%.200s` does not exist or you do not have "
			 "access to it.", model ? model : "unknown");
}

char *sim_oai_render_models(const char *model_id, const char *owner)
{
	return dump(json_pack("{s:s, s:[{s:s, s:s, s:i, s:s}]}",
			      "object", "list", "data", "id", model_id,
			      "object", "model", "created", 0,
			      "owned_by", owner));
}
