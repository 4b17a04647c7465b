/*
 * Anthropic Messages: request validation (what the real API rejects, with
 * its wording) and the reduction of a request to a struct sim_conv, so the
 * simulated model answers it exactly as it answers the OpenAI form.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_anthropic.h"

static int bad(struct sim_ant_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct sim_ant_error *e, const char *fmt, ...)
{
	e->status = 400;
	e->type = "invalid_request_error";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct sim_ant_error *e)
{
	e->status = 0;
	e->type = "api_error";
	snprintf(e->message, sizeof(e->message), "out of memory");
	return -1;
}

static bool is_type(const json_t *block, const char *type)
{
	const json_t *t = json_object_get(block, "type");
	return json_is_string(t) && strcmp(json_string_value(t), type) == 0;
}

/* Content is a non-empty string or a non-empty array of typed blocks. */
static int check_content(const json_t *content, size_t i, bool may_be_empty,
			 struct sim_ant_error *e)
{
	if (json_is_string(content)) {
		if (json_string_length(content) == 0 && !may_be_empty)
			return bad(e, "messages: all messages must have "
				   "non-empty content except for the optional "
				   "final assistant message");
		return 0;
	}
	if (!json_is_array(content))
		return bad(e, "messages.%zu.content: Input should be a valid "
			   "list", i);
	if (json_array_size(content) == 0 && !may_be_empty)
		return bad(e, "messages: all messages must have non-empty "
			   "content except for the optional final assistant "
			   "message");
	size_t j;
	const json_t *b;
	json_array_foreach(content, j, b) {
		if (!json_is_object(b) ||
		    !json_is_string(json_object_get(b, "type")))
			return bad(e, "messages.%zu.content.%zu.type: Field "
				   "required", i, j);
		if (is_type(b, "tool_use") &&
		    !json_is_object(json_object_get(b, "input")))
			return bad(e, "messages.%zu.content.%zu.tool_use.input: "
				   "Input should be a valid dictionary", i, j);
		if (is_type(b, "text") && !json_is_string(json_object_get(b, "text")))
			return bad(e, "messages.%zu.content.%zu.text.text: "
				   "Field required", i, j);
	}
	return 0;
}

/* The text of a user message's text blocks (tool results excluded). */
static int user_text(const json_t *content, char **dst)
{
	size_t len = 0;
	*dst = calloc(1, 1);
	if (!*dst)
		return -1;
	if (json_is_string(content))
		return sim_gen_append_text(content, dst, &len) < 0 ? -1 : 0;
	size_t j;
	const json_t *b;
	json_array_foreach(content, j, b)
		if (is_type(b, "text") &&
		    sim_gen_append_text(json_object_get(b, "text"), dst, &len) < 0)
			return -1;
	return 0;
}

static const json_t *last_tool_result(const json_t *content)
{
	const json_t *found = NULL;
	size_t j;
	const json_t *b;
	json_array_foreach(content, j, b)
		if (is_type(b, "tool_result"))
			found = b;
	return found;
}

/* Bytes of text the request carries, counted as the OpenAI form would. */
static size_t content_bytes(const json_t *content)
{
	if (!json_is_array(content))
		return sim_gen_text_bytes(content);
	size_t n = 0, j;
	const json_t *b;
	json_array_foreach(content, j, b)
		n += is_type(b, "tool_result")
			? sim_gen_text_bytes(json_object_get(b, "content"))
			: sim_gen_text_bytes(json_object_get(b, "text"));
	return n;
}

static int read_messages(const json_t *msgs, struct sim_conv *c,
			 struct sim_ant_error *e)
{
	size_t i, n = json_array_size(msgs);
	const json_t *m, *last_user = NULL, *tool_result = NULL;
	json_array_foreach(msgs, i, m) {
		if (!json_is_object(m))
			return bad(e, "messages.%zu: Input should be a valid "
				   "dictionary", i);
		const json_t *role = json_object_get(m, "role");
		const char *r = json_is_string(role) ? json_string_value(role) : "";
		bool user = strcmp(r, "user") == 0;
		if (!user && strcmp(r, "assistant") != 0)
			return bad(e, "messages.%zu.role: Input should be "
				   "'user' or 'assistant'", i);
		const json_t *content = json_object_get(m, "content");
		if (check_content(content, i, !user && i + 1 == n, e) < 0)
			return -1;
		c->prompt_bytes += content_bytes(content);
		const json_t *tr = user && json_is_array(content)
					   ? last_tool_result(content) : NULL;
		/* Text after the results is the newest thing the user said (an
		 * agent's correction, say): it is answered like a user turn. */
		bool text_after = tr && !is_type(json_array_get(content,
				json_array_size(content) - 1), "tool_result");
		if (user && i + 1 == n && tr && !text_after) {
			c->last_is_tool = true;
			tool_result = tr;
		}
		if (user && (json_is_string(content) || !tr || text_after))
			last_user = content;
	}
	if (user_text(last_user, &c->last_user_text) < 0)
		return oom(e);
	if (tool_result) {
		size_t len = 0;
		c->tool_result_text = calloc(1, 1);
		if (!c->tool_result_text ||
		    sim_gen_append_text(json_object_get(tool_result, "content"),
					&c->tool_result_text, &len) < 0)
			return oom(e);
	}
	return 0;
}

static int choose_tool(const json_t *body, struct sim_conv *c,
		       struct sim_ant_error *e)
{
	const json_t *tools = json_object_get(body, "tools");
	const json_t *choice = json_object_get(body, "tool_choice");
	if (!tools)
		return 0;
	if (!json_is_array(tools))
		return bad(e, "tools: Input should be a valid list");
	size_t i;
	const json_t *t;
	json_array_foreach(tools, i, t) {
		if (!json_is_string(json_object_get(t, "name")))
			return bad(e, "tools.%zu.name: Field required", i);
		if (!json_object_get(t, "type") &&
		    !json_is_object(json_object_get(t, "input_schema")))
			return bad(e, "tools.%zu.custom.input_schema: Field "
				   "required", i);
	}
	const char *wanted = NULL;
	if (choice) {
		const json_t *type = json_object_get(choice, "type");
		const char *ty = json_is_string(type) ? json_string_value(type) : "";
		if (strcmp(ty, "none") == 0)
			return 0;
		if (strcmp(ty, "tool") == 0) {
			const json_t *name = json_object_get(choice, "name");
			if (!json_is_string(name))
				return bad(e, "tool_choice.tool.name: Field "
					   "required");
			wanted = json_string_value(name);
		} else if (strcmp(ty, "auto") != 0 && strcmp(ty, "any") != 0) {
			return bad(e, "tool_choice: Input tag '%.64s' found "
				   "using 'type' does not match any of the "
				   "expected tags: 'auto', 'any', 'tool', "
				   "'none'", ty);
		}
	}
	json_array_foreach(tools, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		if (wanted && strcmp(name, wanted) != 0)
			continue;
		c->tool_name = name;
		c->tool_schema = json_object_get(t, "input_schema");
		return 0;
	}
	if (wanted)
		return bad(e, "tool_choice: Tool '%.100s' not found in "
			   "provided tools", wanted);
	return 0;
}

int sim_ant_parse_request(const json_t *body, struct sim_ant_request *out,
			  struct sim_ant_error *e)
{
	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	out->conv.max_tokens = -1;
	if (!json_is_object(body))
		return bad(e, "There was an error parsing the body of your "
			   "request: expected a JSON object");
	const json_t *model = json_object_get(body, "model");
	if (!json_is_string(model))
		return bad(e, "model: Field required");
	out->model = json_string_value(model);
	const json_t *mt = json_object_get(body, "max_tokens");
	if (!json_is_integer(mt))
		return bad(e, "max_tokens: Field required");
	if (json_integer_value(mt) < 1)
		return bad(e, "max_tokens: Input should be greater than or "
			   "equal to 1");
	out->conv.max_tokens = (long)json_integer_value(mt);
	const json_t *msgs = json_object_get(body, "messages");
	if (!json_is_array(msgs))
		return bad(e, "messages: Field required");
	if (json_array_size(msgs) == 0)
		return bad(e, "messages: at least one message is required");
	const json_t *stream = json_object_get(body, "stream");
	if (stream && !json_is_boolean(stream))
		return bad(e, "stream: Input should be a valid boolean");
	out->stream = json_is_true(stream);
	const json_t *sys = json_object_get(body, "system");
	if (sys && !json_is_string(sys) && !json_is_array(sys))
		return bad(e, "system: Input should be a valid string");
	out->conv.prompt_bytes += sim_gen_text_bytes(sys);
	if (read_messages(msgs, &out->conv, e) < 0 ||
	    choose_tool(body, &out->conv, e) < 0) {
		sim_ant_request_free(out);
		return -1;
	}
	return 0;
}

void sim_ant_request_free(struct sim_ant_request *r)
{
	sim_conv_free(&r->conv);
	r->model = NULL;
}
