/*
 * Bedrock Converse rendering: the JSON answer, ConverseStream's binary
 * frames (each a whole event-stream message with both CRCs, from
 * shared/evs.c) and AWS error bodies, for the answer sim_gen chose.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evs.h"
#include "sim_bedrock.h"

static const char *stop_reason(const struct sim_answer *a)
{
	if (a->kind != SIM_ANSWER_TEXT)
		return "tool_use";
	return a->truncated ? "max_tokens" : "end_turn";
}

static json_t *usage(const struct sim_answer *a)
{
	return json_pack("{s:i, s:i, s:i}", "inputTokens", (int)a->prompt_tokens, "outputTokens",
			 (int)a->completion_tokens, "totalTokens", (int)(a->prompt_tokens + a->completion_tokens));
}

/* The tool's input: its arguments parsed, or (bad_tool_args) the broken
 * text itself, which no real answer holds and a client must refuse. */
static json_t *tool_input(const struct sim_answer *a)
{
	json_t *in = json_loads(a->tool_args, 0, NULL);
	return in ? in : json_string(a->tool_args);
}

char *sim_bdr_render_converse(const struct sim_answer *a, const char *tool_id)
{
	json_t *content = json_array();
	if (content && a->kind == SIM_ANSWER_TEXT)
		json_array_append_new(content, json_pack("{s:s}", "text", a->content));
	else if (content && a->kind == SIM_ANSWER_TOOL)
		json_array_append_new(content, json_pack("{s:{s:s, s:s, s:o}}", "toolUse", "toolUseId", tool_id,
							 "name", a->tool_name, "input", tool_input(a)));
	json_t *doc = content ? json_pack("{s:{s:{s:s, s:o}}, s:s, s:o, s:{s:i}}", "output", "message", "role",
					  "assistant", "content", content, "stopReason", stop_reason(a), "usage",
					  usage(a), "metrics", "latencyMs", 1)
			      : NULL;
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return s;
}

/* One frame with :event-type type and doc (stolen) as the payload. */
static int push_event(struct sim_strv *out, const char *type, json_t *doc)
{
	char *payload = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!payload)
		return -1;
	const char *names[] = { ":event-type", ":content-type", ":message-type" };
	const char *values[] = { type, "application/json", "event" };
	size_t len;
	unsigned char *m = evs_encode(names, values, 3, payload, strlen(payload), &len);
	free(payload);
	return sim_strv_push(out, (char *)m, len);
}

int sim_bdr_push_exception(struct sim_strv *out, const char *type, const char *message)
{
	json_t *doc = json_pack("{s:s}", "message",
				message ? message : "The system encountered an unexpected error during "
						    "processing. Try your request again.");
	char *payload = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!payload)
		return -1;
	const char *names[] = { ":exception-type", ":content-type", ":message-type" };
	const char *values[] = { type ? type : "internalServerException", "application/json", "exception" };
	size_t len;
	unsigned char *m = evs_encode(names, values, 3, payload, strlen(payload), &len);
	free(payload);
	return sim_strv_push(out, (char *)m, len);
}

static int text_deltas(const struct sim_answer *a, long nchunks, struct sim_strv *out)
{
	size_t *spans = NULL;
	long n = sim_gen_split(a->content, nchunks, &spans);
	if (n < 0)
		return -1;
	int rc = 0;
	for (long i = 0; rc == 0 && i < n; i++) {
		if (spans[2 * i + 1] == 0)
			continue; /* Bedrock sends no empty deltas */
		rc = push_event(out, "contentBlockDelta",
				json_pack("{s:i, s:{s:s%}}", "contentBlockIndex", 0, "delta", "text",
					  a->content + spans[2 * i], spans[2 * i + 1]));
	}
	free(spans);
	return rc;
}

static int tool_deltas(const struct sim_answer *a, const char *tool_id, long nchunks, struct sim_strv *out)
{
	if (push_event(out, "contentBlockStart",
		       json_pack("{s:i, s:{s:{s:s, s:s}}}", "contentBlockIndex", 0, "start", "toolUse",
				 "toolUseId", tool_id, "name", a->tool_name)) < 0)
		return -1;
	size_t len = strlen(a->tool_args);
	size_t pieces = (size_t)(nchunks > 2 ? nchunks : 2);
	if (pieces > len)
		pieces = len ? len : 1;
	for (size_t i = 0, at = 0; i < pieces; i++) {
		size_t end = len * (i + 1) / pieces;
		if (push_event(out, "contentBlockDelta",
			       json_pack("{s:i, s:{s:{s:s%}}}", "contentBlockIndex", 0, "delta", "toolUse", "input",
					 a->tool_args + at, end - at)) < 0)
			return -1;
		at = end;
	}
	return 0;
}

int sim_bdr_render_stream(const struct sim_answer *a, const char *tool_id, long nchunks,
			  struct sim_strv *out, size_t *n_data)
{
	int rc = push_event(out, "messageStart", json_pack("{s:s}", "role", "assistant"));
	if (rc == 0 && a->kind == SIM_ANSWER_TEXT)
		rc = text_deltas(a, nchunks, out);
	else if (rc == 0 && a->kind == SIM_ANSWER_TOOL)
		rc = tool_deltas(a, tool_id, nchunks, out);
	if (rc == 0 && a->kind != SIM_ANSWER_EMPTY_TOOL)
		rc = push_event(out, "contentBlockStop", json_pack("{s:i}", "contentBlockIndex", 0));
	if (rc == 0)
		rc = push_event(out, "messageStop", json_pack("{s:s}", "stopReason", stop_reason(a)));
	*n_data = out->n;
	if (rc == 0)
		rc = push_event(out, "metadata", json_pack("{s:o, s:{s:i}}", "usage", usage(a), "metrics",
							   "latencyMs", 1));
	return rc;
}

char *sim_bdr_render_error(const struct sim_bdr_error *e)
{
	json_t *doc = json_pack("{s:s}", "message", e->message);
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return s;
}

static const struct {
	int status;
	const char *type;
	const char *message;
} by_status[] = {
	{ 400, "ValidationException", "Malformed input request, please reformat your input and try again." },
	{ 403, "AccessDeniedException", "You don't have access to the model with the specified model ID." },
	{ 404, "ResourceNotFoundException", "The provided model identifier is invalid." },
	{ 408, "ModelTimeoutException", "Model has timed out in processing the request." },
	{ 424, "ModelErrorException", "The model failed to process the request." },
	{ 429, "ThrottlingException", "Too many requests, please wait before trying again." },
	{ 500, "InternalServerException", "The system encountered an unexpected error during processing. "
					  "Try your request again." },
	{ 503, "ServiceUnavailableException", "Bedrock is unable to process your request." },
};

void sim_bdr_fault_error(int status, const char *code, const char *message, struct sim_bdr_error *out)
{
	memset(out, 0, sizeof(*out));
	out->status = status;
	out->type = status >= 500 ? "InternalServerException" : "ValidationException";
	const char *msg = status >= 500 ? by_status[6].message : by_status[0].message;
	for (size_t i = 0; i < sizeof(by_status) / sizeof(by_status[0]); i++)
		if (by_status[i].status == status) {
			out->type = by_status[i].type;
			msg = by_status[i].message;
		}
	if (code && strcmp(code, "context_length_exceeded") == 0) {
		out->type = "ValidationException";
		msg = "Input is too long for requested model.";
	} else if (code && strcmp(code, "insufficient_quota") == 0) {
		out->type = "ServiceQuotaExceededException";
		msg = "Your request exceeded the service quota for this account.";
	} else if (code && strcmp(code, "model_not_ready") == 0) {
		out->type = "ModelNotReadyException";
		msg = "Model is not ready to serve inference requests.";
	} else if (code) {
		snprintf(out->type_buf, sizeof(out->type_buf), "%s", code);
		out->type = out->type_buf;
	}
	snprintf(out->message, sizeof(out->message), "%s", message ? message : msg);
}
