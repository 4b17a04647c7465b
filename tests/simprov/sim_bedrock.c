/*
 * Bedrock Converse: request validation (what the real service rejects,
 * with its wording) and the reduction of a request to a struct sim_conv, so
 * the simulated model answers it exactly as it answers the OpenAI form.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_bedrock.h"

static int bad(struct sim_bdr_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct sim_bdr_error *e, const char *fmt, ...)
{
	e->status = 400;
	e->type = "ValidationException";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(struct sim_bdr_error *e)
{
	e->status = 0;
	e->type = "InternalServerException";
	snprintf(e->message, sizeof(e->message), "out of memory");
	return -1;
}

static const char *const block_keys[] = {
	"text", "image", "document", "video", "audio", "toolUse", "toolResult",
	"reasoningContent", "cachePoint", "guardContent", "citationsContent",
};

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

/* A ContentBlock is a union: exactly one known member. */
static int check_block(const json_t *b, size_t i, size_t j, bool *tool_blocks, struct sim_bdr_error *e)
{
	if (!json_is_object(b) || json_object_size(b) != 1)
		return bad(e, "messages.%zu.content.%zu: a ContentBlock must set exactly one member", i, j);
	const char *key = json_object_iter_key(json_object_iter((json_t *)b));
	const json_t *v = json_object_iter_value(json_object_iter((json_t *)b));
	bool known = false;
	for (size_t k = 0; k < sizeof(block_keys) / sizeof(block_keys[0]); k++)
		known = known || strcmp(key, block_keys[k]) == 0;
	if (!known)
		return bad(e, "messages.%zu.content.%zu: unknown member %.64s", i, j, key);
	if (strcmp(key, "text") == 0 && (!json_is_string(v) || blank(json_string_value(v))))
		return bad(e, "The text field in the ContentBlock object at messages.%zu.content.%zu is blank. "
			   "Add text to the text field, and try again.", i, j);
	if (strcmp(key, "toolUse") == 0) {
		*tool_blocks = true;
		if (!json_is_string(json_object_get(v, "toolUseId")) ||
		    !json_is_string(json_object_get(v, "name")) ||
		    !json_is_object(json_object_get(v, "input")))
			return bad(e, "messages.%zu.content.%zu.toolUse: toolUseId, name and an input object "
				   "are required", i, j);
	}
	if (strcmp(key, "toolResult") == 0) {
		*tool_blocks = true;
		const json_t *c = json_object_get(v, "content");
		if (!json_is_string(json_object_get(v, "toolUseId")) || !json_is_array(c) ||
		    json_array_size(c) == 0)
			return bad(e, "messages.%zu.content.%zu.toolResult: toolUseId and content are required",
				   i, j);
	}
	if (strcmp(key, "image") == 0) {
		const json_t *f = json_object_get(v, "format");
		const char *fs = json_is_string(f) ? json_string_value(f) : "";
		if ((strcmp(fs, "png") && strcmp(fs, "jpeg") && strcmp(fs, "gif") && strcmp(fs, "webp")) ||
		    !json_is_string(json_object_get(json_object_get(v, "source"), "bytes")))
			return bad(e, "messages.%zu.content.%zu.image: format and source.bytes are required",
				   i, j);
	}
	return 0;
}

/* Appends the text members of a content list (toolResult content too). */
static int append_texts(const json_t *content, char **dst, size_t *len)
{
	size_t j;
	const json_t *b;
	json_array_foreach(content, j, b) {
		const json_t *t = json_object_get(b, "text");
		if (t && sim_gen_append_text(t, dst, len) < 0)
			return -1;
		const json_t *js = json_object_get(b, "json");
		if (js) {
			char *s = json_dumps(js, JSON_COMPACT);
			json_t *str = s ? json_string(s) : NULL;
			free(s);
			int rc = str ? (int)sim_gen_append_text(str, dst, len) : -1;
			json_decref(str);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

static size_t content_bytes(const json_t *content)
{
	size_t n = 0, j;
	const json_t *b;
	json_array_foreach(content, j, b) {
		n += sim_gen_text_bytes(json_object_get(b, "text"));
		const json_t *tr = json_object_get(b, "toolResult");
		size_t k;
		const json_t *c;
		json_array_foreach(json_object_get(tr, "content"), k, c)
			n += sim_gen_text_bytes(json_object_get(c, "text"));
	}
	return n;
}

static const json_t *last_tool_result(const json_t *content)
{
	const json_t *found = NULL;
	size_t j;
	const json_t *b;
	json_array_foreach(content, j, b)
		if (json_object_get(b, "toolResult"))
			found = json_object_get(b, "toolResult");
	return found;
}

static int read_messages(const json_t *msgs, struct sim_conv *c, bool *tool_blocks, struct sim_bdr_error *e)
{
	size_t i, n = json_array_size(msgs);
	const json_t *m, *last_user = NULL, *tool_result = NULL;
	const char *prev = NULL;
	json_array_foreach(msgs, i, m) {
		const json_t *role = json_object_get(m, "role");
		const char *r = json_is_string(role) ? json_string_value(role) : "";
		bool user = strcmp(r, "user") == 0;
		if (!user && strcmp(r, "assistant") != 0)
			return bad(e, "messages.%zu.role: must be user or assistant", i);
		if (i == 0 && !user)
			return bad(e, "A conversation must start with a user message. Try again with a "
				   "conversation that starts with a user message.");
		if (prev && strcmp(prev, r) == 0)
			return bad(e, "A conversation must alternate between user and assistant roles. Make "
				   "sure the conversation alternates between user and assistant roles and try again.");
		prev = r;
		const json_t *content = json_object_get(m, "content");
		if (!json_is_array(content) || json_array_size(content) == 0)
			return bad(e, "messages.%zu.content: at least one ContentBlock is required", i);
		size_t j;
		const json_t *b;
		json_array_foreach(content, j, b)
			if (check_block(b, i, j, tool_blocks, e) < 0)
				return -1;
		c->prompt_bytes += content_bytes(content);
		const json_t *tr = user ? last_tool_result(content) : NULL;
		/* Text after the results is the newest thing the user said (an
		 * agent's correction, say): it is answered like a user turn. */
		bool text_after = tr && !json_object_get(json_array_get(content,
				json_array_size(content) - 1), "toolResult");
		if (user && i + 1 == n && tr && !text_after) {
			c->last_is_tool = true;
			tool_result = tr;
		}
		if (user && (!tr || text_after))
			last_user = content;
	}
	size_t len = 0;
	if (!(c->last_user_text = calloc(1, 1)) ||
	    (last_user && append_texts(last_user, &c->last_user_text, &len) < 0))
		return oom(e);
	if (tool_result) {
		len = 0;
		if (!(c->tool_result_text = calloc(1, 1)) ||
		    append_texts(json_object_get(tool_result, "content"), &c->tool_result_text, &len) < 0)
			return oom(e);
	}
	return 0;
}

static int choose_tool(const json_t *body, bool tool_blocks, struct sim_conv *c, struct sim_bdr_error *e)
{
	const json_t *cfg = json_object_get(body, "toolConfig");
	if (!cfg) {
		if (tool_blocks)
			return bad(e, "The toolConfig field must be defined when using toolUse and toolResult "
				   "content blocks.");
		return 0;
	}
	const json_t *tools = json_object_get(cfg, "tools");
	if (!json_is_array(tools) || json_array_size(tools) == 0)
		return bad(e, "toolConfig.tools: at least one tool is required");
	size_t i;
	const json_t *t;
	json_array_foreach(tools, i, t) {
		const json_t *spec = json_object_get(t, "toolSpec");
		const json_t *name = json_object_get(spec, "name");
		if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 64 ||
		    strspn(json_string_value(name), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
			    json_string_length(name))
			return bad(e, "toolConfig.tools.%zu.toolSpec.name: must match [a-zA-Z0-9_-]{1,64}", i);
		if (!json_is_object(json_object_get(json_object_get(spec, "inputSchema"), "json")))
			return bad(e, "toolConfig.tools.%zu.toolSpec.inputSchema.json is required", i);
	}
	const json_t *choice = json_object_get(cfg, "toolChoice");
	const char *wanted = NULL;
	if (choice) {
		const json_t *tool = json_object_get(choice, "tool");
		if (json_object_size(choice) != 1 ||
		    !(json_object_get(choice, "auto") || json_object_get(choice, "any") || tool))
			return bad(e, "toolConfig.toolChoice: must set exactly one of auto, any, tool");
		if (tool) {
			if (!json_is_string(json_object_get(tool, "name")))
				return bad(e, "toolConfig.toolChoice.tool.name is required");
			wanted = json_string_value(json_object_get(tool, "name"));
		}
	}
	json_array_foreach(tools, i, t) {
		const json_t *spec = json_object_get(t, "toolSpec");
		const char *name = json_string_value(json_object_get(spec, "name"));
		if (wanted && strcmp(name, wanted) != 0)
			continue;
		c->tool_name = name;
		c->tool_schema = json_object_get(json_object_get(spec, "inputSchema"), "json");
		return 0;
	}
	return bad(e, "toolConfig.toolChoice: tool %.100s is not in toolConfig.tools", wanted ? wanted : "?");
}

static int read_inference(const json_t *body, struct sim_conv *c, struct sim_bdr_error *e)
{
	const json_t *ic = json_object_get(body, "inferenceConfig");
	if (!ic)
		return 0;
	if (!json_is_object(ic))
		return bad(e, "inferenceConfig must be an object");
	const json_t *mt = json_object_get(ic, "maxTokens");
	if (mt) {
		if (!json_is_integer(mt) || json_integer_value(mt) < 1)
			return bad(e, "inferenceConfig.maxTokens: must be an integer >= 1");
		c->max_tokens = (long)json_integer_value(mt);
	}
	const json_t *t = json_object_get(ic, "temperature");
	if (t && (!json_is_number(t) || json_number_value(t) < 0 || json_number_value(t) > 1))
		return bad(e, "inferenceConfig.temperature: must be between 0 and 1");
	const json_t *p = json_object_get(ic, "topP");
	if (p && (!json_is_number(p) || json_number_value(p) < 0 || json_number_value(p) > 1))
		return bad(e, "inferenceConfig.topP: must be between 0 and 1");
	const json_t *ss = json_object_get(ic, "stopSequences");
	if (ss && !json_is_array(ss))
		return bad(e, "inferenceConfig.stopSequences must be a list");
	return 0;
}

int sim_bdr_parse_request(const json_t *body, bool stream, struct sim_bdr_request *out,
			  struct sim_bdr_error *e)
{
	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	out->conv.max_tokens = -1;
	out->stream = stream;
	if (!json_is_object(body))
		return bad(e, "Malformed input request, please reformat your input and try again.");
	/* Converse takes the model and the mode from the URL only. */
	if (json_object_get(body, "model") || json_object_get(body, "stream"))
		return bad(e, "Malformed input request: extraneous key [%s] is not permitted, please "
			   "reformat your input and try again.",
			   json_object_get(body, "model") ? "model" : "stream");
	const json_t *msgs = json_object_get(body, "messages");
	if (!json_is_array(msgs) || json_array_size(msgs) == 0)
		return bad(e, "messages: at least one message is required");
	const json_t *sys = json_object_get(body, "system");
	if (sys) {
		size_t i;
		const json_t *s;
		if (!json_is_array(sys))
			return bad(e, "system must be a list of SystemContentBlock");
		json_array_foreach(sys, i, s) {
			const json_t *t = json_object_get(s, "text");
			if (!json_is_string(t) || blank(json_string_value(t)))
				return bad(e, "system.%zu.text is blank", i);
			out->conv.prompt_bytes += sim_gen_text_bytes(t);
		}
	}
	bool tool_blocks = false;
	if (read_messages(msgs, &out->conv, &tool_blocks, e) < 0 ||
	    read_inference(body, &out->conv, e) < 0 ||
	    choose_tool(body, tool_blocks, &out->conv, e) < 0) {
		sim_bdr_request_free(out);
		return -1;
	}
	return 0;
}

void sim_bdr_request_free(struct sim_bdr_request *r)
{
	sim_conv_free(&r->conv);
}
