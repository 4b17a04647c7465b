/*
 * Anthropic Messages rendering: a message, its named-event stream, and
 * Anthropic's error bodies, from the provider-neutral struct sim_answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_anthropic.h"

/* Claude's context window, for the context-length fault's wording. */
#define SIM_ANT_CONTEXT_WINDOW 200000L

/* A broken tool input cannot be a JSON value: it goes into the body as raw
 * text in place of this marker, the way a broken upstream would send it. */
#define BROKEN_MARK "\"__sim_broken_input__\""

static char *dump(json_t *v)
{
	if (!v)
		return NULL;
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s;
}

static const char *stop_reason(const struct sim_answer *a)
{
	if (a->kind != SIM_ANSWER_TEXT)
		return "tool_use";
	return a->truncated ? "max_tokens" : "end_turn";
}

static json_t *usage_json(const struct sim_answer *a, long output)
{
	return json_pack("{s:I, s:i, s:i, s:I}",
			 "input_tokens", (json_int_t)a->prompt_tokens,
			 "cache_creation_input_tokens", 0,
			 "cache_read_input_tokens", 0,
			 "output_tokens", (json_int_t)output);
}

/* The tool input as an object, or the marker when the arguments are not
 * one (the bad_tool_args fault). */
static json_t *tool_input(const struct sim_answer *a, bool *broken)
{
	json_t *in = json_loads(a->tool_args, 0, NULL);
	*broken = !json_is_object(in);
	if (*broken) {
		json_decref(in);
		return json_string("__sim_broken_input__");
	}
	return in;
}

/* Replaces the marker in text by raw (which is not JSON). */
static char *splice(char *text, const char *raw)
{
	char *at = text ? strstr(text, BROKEN_MARK) : NULL;
	if (!at)
		return text;
	size_t head = (size_t)(at - text), ml = strlen(BROKEN_MARK);
	size_t rl = strlen(raw), tl = strlen(text);
	char *out = malloc(tl - ml + rl + 1);
	if (out) {
		memcpy(out, text, head);
		memcpy(out + head, raw, rl);
		memcpy(out + head + rl, at + ml, tl - head - ml + 1);
	}
	free(text);
	return out;
}

char *sim_ant_render_message(const struct sim_ant_meta *m,
			     const struct sim_answer *a)
{
	json_t *content = json_array();
	bool broken = false;
	if (content && a->kind == SIM_ANSWER_TEXT)
		json_array_append_new(content, json_pack("{s:s, s:s}", "type", "text",
							 "text", a->content));
	else if (content && a->kind == SIM_ANSWER_TOOL)
		json_array_append_new(content, json_pack(
			"{s:s, s:s, s:s, s:o}", "type", "tool_use", "id",
			m->tool_id, "name", a->tool_name, "input",
			tool_input(a, &broken)));
	char *text = dump(json_pack(
		"{s:s, s:s, s:s, s:s, s:o, s:s, s:n, s:o}", "id", m->id,
		"type", "message", "role", "assistant", "model", m->model,
		"content", content, "stop_reason", stop_reason(a),
		"stop_sequence", "usage", usage_json(a, a->completion_tokens)));
	return broken ? splice(text, a->tool_args) : text;
}

/* "event: NAME\ndata: JSON\n\n"; takes v. */
static int push_event(struct sim_strv *out, const char *name, json_t *v)
{
	char *json = dump(v);
	if (!json)
		return -1;
	sim_strv_truncate(out, out->n);
	int rc = sim_strv_append(out, "event: ", 7);
	if (rc == 0)
		rc = sim_strv_append(out, name, strlen(name));
	if (rc == 0)
		rc = sim_strv_append(out, "\ndata: ", 7);
	if (rc == 0)
		rc = sim_strv_append(out, json, strlen(json));
	if (rc == 0)
		rc = sim_strv_append(out, "\n\n", 2);
	free(json);
	if (rc == 0)
		rc = sim_strv_close(out);
	if (rc < 0)
		sim_strv_truncate(out, out->n);
	return rc;
}

static int push_deltas(struct sim_strv *out, const struct sim_answer *a, long nchunks)
{
	bool text = a->kind == SIM_ANSWER_TEXT;
	const char *s = text ? a->content : a->tool_args;
	if (!text && nchunks < 2)
		nchunks = 2;   /* input arrives in fragments */
	size_t *sp = NULL;
	long n = sim_gen_split(s, nchunks, &sp);
	int rc = n < 0 ? -1 : 0;
	for (long i = 0; rc == 0 && i < n; i++) {
		json_t *piece = json_stringn(s + sp[2 * i], sp[2 * i + 1]);
		json_t *delta = text
			? json_pack("{s:s, s:o}", "type", "text_delta", "text", piece)
			: json_pack("{s:s, s:o}", "type", "input_json_delta",
				    "partial_json", piece);
		rc = push_event(out, "content_block_delta",
				json_pack("{s:s, s:i, s:o}", "type",
					  "content_block_delta", "index", 0,
					  "delta", delta));
	}
	free(sp);
	return rc;
}

int sim_ant_render_stream(const struct sim_ant_meta *m,
			  const struct sim_answer *a, long nchunks,
			  struct sim_strv *out, size_t *n_data)
{
	json_t *start_usage = json_pack("{s:I, s:i}", "input_tokens",
					(json_int_t)a->prompt_tokens,
					"output_tokens", 1);
	if (push_event(out, "message_start", json_pack(
		    "{s:s, s:{s:s, s:s, s:s, s:[], s:s, s:n, s:n, s:o}}",
		    "type", "message_start", "message", "id", m->id, "type",
		    "message", "role", "assistant", "content", "model", m->model,
		    "stop_reason", "stop_sequence", "usage", start_usage)) < 0 ||
	    push_event(out, "ping", json_pack("{s:s}", "type", "ping")) < 0)
		return -1;
	if (a->kind != SIM_ANSWER_EMPTY_TOOL) {
		json_t *block = a->kind == SIM_ANSWER_TEXT
			? json_pack("{s:s, s:s}", "type", "text", "text", "")
			: json_pack("{s:s, s:s, s:s, s:{}}", "type", "tool_use",
				    "id", m->tool_id, "name", a->tool_name, "input");
		if (push_event(out, "content_block_start", json_pack(
			    "{s:s, s:i, s:o}", "type", "content_block_start",
			    "index", 0, "content_block", block)) < 0 ||
		    push_deltas(out, a, nchunks) < 0 ||
		    push_event(out, "content_block_stop", json_pack(
			    "{s:s, s:i}", "type", "content_block_stop", "index", 0)) < 0)
			return -1;
	}
	if (push_event(out, "message_delta", json_pack(
		    "{s:s, s:{s:s, s:n}, s:o}", "type", "message_delta", "delta",
		    "stop_reason", stop_reason(a), "stop_sequence", "usage",
		    usage_json(a, a->completion_tokens))) < 0)
		return -1;
	*n_data = out->n;
	return push_event(out, "message_stop", json_pack("{s:s}", "type", "message_stop"));
}

char *sim_ant_render_stream_error(const char *type, const char *message)
{
	struct sim_strv sv = { 0 };
	if (push_event(&sv, "error", json_pack(
		    "{s:s, s:{s:s, s:s}}", "type", "error", "error", "type",
		    type ? type : "overloaded_error", "message",
		    message ? message : "Overloaded")) < 0) {
		sim_strv_free(&sv);
		return NULL;
	}
	size_t len;
	const char *ev = sim_strv_at(&sv, 0, &len);
	char *copy = strndup(ev, len);
	sim_strv_free(&sv);
	return copy;
}

char *sim_ant_render_error(const struct sim_ant_error *e, const char *request_id)
{
	return dump(json_pack("{s:s, s:{s:s, s:s}, s:s}", "type", "error",
			      "error", "type", e->type ? e->type : "api_error",
			      "message", e->message, "request_id",
			      request_id ? request_id : "req_sim"));
}

void sim_ant_fault_error(int status, const char *code, const char *message,
			 long prompt_tokens, struct sim_ant_error *e)
{
	memset(e, 0, sizeof(*e));
	e->status = status;
	const char *msg;
	switch (status) {
	case 401: e->type = "authentication_error"; msg = "invalid x-api-key"; break;
	case 402: e->type = "billing_error"; msg = "Billing issue (simulated)."; break;
	case 403: e->type = "permission_error";
		msg = "Your API key does not have permission to use the specified resource."; break;
	case 404: e->type = "not_found_error"; msg = "model: not found (simulated)"; break;
	case 413: e->type = "request_too_large"; msg = "Request exceeds the maximum allowed number of bytes."; break;
	case 429: e->type = "rate_limit_error";
		msg = "Number of request tokens has exceeded your per-minute rate limit (simulated)."; break;
	case 500: e->type = "api_error"; msg = "Internal server error"; break;
	case 504: e->type = "timeout_error"; msg = "Request timed out (simulated)."; break;
	case 529: e->type = "overloaded_error"; msg = "Overloaded"; break;
	default:
		e->type = status >= 500 ? "api_error" : "invalid_request_error";
		msg = status >= 500 ? "Internal server error" : "Invalid request (simulated).";
		break;
	}
	char ctx[160];
	if (code && strcmp(code, "context_length_exceeded") == 0) {
		e->type = "invalid_request_error";
		snprintf(ctx, sizeof(ctx), "prompt is too long: %ld tokens > %ld maximum",
			 SIM_ANT_CONTEXT_WINDOW + prompt_tokens, SIM_ANT_CONTEXT_WINDOW);
		msg = ctx;
	} else if (code && strcmp(code, "insufficient_quota") == 0) {
		e->type = "invalid_request_error";
		msg = "Your credit balance is too low to access the Anthropic API. "
		      "Please go to Plans & Billing to upgrade or purchase credits.";
	} else if (code) {
		e->type = code;
	}
	snprintf(e->message, sizeof(e->message), "%s", message ? message : msg);
}
