#include "sim_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of the user's text the answer quotes, in characters. */
#define QUOTE_CHARS 40
/* Schemas are caller-supplied; bound the recursion so a cyclic or absurdly
 * deep schema cannot exhaust the stack. */
#define SCHEMA_DEPTH_MAX 32
/* The malformed arguments bad_tool_args produces: a JSON object cut off in
 * the middle of a string, as a model stopped mid-generation would leave it. */
#define BAD_TOOL_ARGS "{\"city\": \"Os"
/* The function unknown_tool calls: no request offers it. */
#define UNKNOWN_TOOL_NAME "sim_unoffered_function"

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

void sim_conv_free(struct sim_conv *c)
{
	free(c->last_user_text);
	free(c->tool_result_text);
	memset(c, 0, sizeof(*c));
}

void sim_answer_free(struct sim_answer *a)
{
	free(a->content);
	free(a->tool_name);
	free(a->tool_args);
	memset(a, 0, sizeof(*a));
}

long sim_gen_prompt_tokens(size_t prompt_bytes)
{
	long t = (long)((prompt_bytes + 3) / 4);
	return t < 1 ? 1 : t;
}

long sim_gen_count_words(const char *s)
{
	long n = 0;
	int in_word = 0;
	for (; *s; s++) {
		if (is_space((unsigned char)*s)) {
			in_word = 0;
		} else if (!in_word) {
			in_word = 1;
			n++;
		}
	}
	return n;
}

long sim_gen_append_text(const json_t *content, char **buf, size_t *len)
{
	if (json_is_string(content)) {
		size_t n = json_string_length(content);
		char *nb = realloc(*buf, *len + n + 1);
		if (!nb)
			return -1;
		memcpy(nb + *len, json_string_value(content), n);
		*len += n;
		nb[*len] = '\0';
		*buf = nb;
		return (long)n;
	}
	if (!json_is_array(content))
		return 0;

	long added = 0;
	size_t i;
	json_t *part;
	json_array_foreach(content, i, part) {
		json_t *text = json_object_get(part, "text");
		if (!json_is_string(text))
			continue;
		long r = sim_gen_append_text(text, buf, len);
		if (r < 0)
			return -1;
		added += r;
	}
	return added;
}

size_t sim_gen_text_bytes(const json_t *content)
{
	if (json_is_string(content))
		return json_string_length(content);
	size_t total = 0, i;
	json_t *part;
	json_array_foreach(content, i, part) {
		json_t *text = json_object_get(part, "text");
		if (json_is_string(text))
			total += json_string_length(text);
	}
	return total;
}

/* Byte length of the first n UTF-8 characters of s (input is valid UTF-8:
 * it came through a JSON parser). */
static size_t utf8_prefix(const char *s, size_t n)
{
	size_t i = 0;
	while (s[i] && n > 0) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		n--;
	}
	return i;
}

/* lead, name, mid, then the first QUOTE_CHARS characters of text: plain
 * pieces rather than a format, so every format here is a checked literal. */
static char *quote_answer(const char *lead, const char *name, const char *mid,
			  const char *text)
{
	const char *t = text ? text : "";
	int q = (int)utf8_prefix(t, QUOTE_CHARS);
	int n = snprintf(NULL, 0, "%s%s%s%.*s", lead, name, mid, q, t);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (s)
		snprintf(s, (size_t)n + 1, "%s%s%s%.*s", lead, name, mid, q, t);
	return s;
}

/* Cuts s after its k-th word (dropping the whitespace that followed it). */
static void truncate_words(char *s, long k)
{
	long n = 0;
	int in_word = 0;
	for (char *p = s; *p; p++) {
		if (is_space((unsigned char)*p)) {
			if (in_word && n == k) {
				*p = '\0';
				return;
			}
			in_word = 0;
		} else if (!in_word) {
			in_word = 1;
			n++;
		}
	}
}

/* Digits of k in decimal. */
static size_t digits(unsigned long k)
{
	size_t d = 1;
	while (k >= 10) {
		k /= 10;
		d++;
	}
	return d;
}

/* Writes k in decimal at p (digits(k) bytes, no terminator). */
static void put_ulong(char *p, unsigned long k, size_t d)
{
	while (d > 0) {
		p[--d] = (char)('0' + k % 10);
		k /= 10;
	}
}

/* Makes *text exactly n words: cut after the n-th word, or padded with the
 * filler words "lorem0 lorem1 ...". The result is sized up front and written
 * in one pass, so a million words cost one allocation. */
static int pad_words(char **text, long have, long n)
{
	if (have >= n) {
		truncate_words(*text, n);
		return 0;
	}
	static const char filler[] = "lorem";
	const size_t fl = sizeof(filler) - 1;
	size_t len = strlen(*text);
	/* no blank needed after text that is empty or already ends in one */
	bool sep = len > 0 && !is_space((unsigned char)(*text)[len - 1]);
	unsigned long extra = (unsigned long)(n - have);
	size_t total = len;
	for (unsigned long k = 0; k < extra; k++)
		total += (k > 0 || sep) + fl + digits(k);
	char *s = realloc(*text, total + 1);
	if (!s)
		return -1;
	char *p = s + len;
	for (unsigned long k = 0; k < extra; k++) {
		if (k > 0 || sep)
			*p++ = ' ';
		memcpy(p, filler, fl);
		p += fl;
		size_t d = digits(k);
		put_ulong(p, k, d);
		p += d;
	}
	*p = '\0';
	*text = s;
	return 0;
}

/* The "type" of a schema, tolerating the ["string","null"] union form. */
static const char *schema_type(const json_t *schema)
{
	json_t *t = json_object_get(schema, "type");
	if (json_is_string(t))
		return json_string_value(t);
	if (json_is_array(t)) {
		size_t i;
		json_t *v;
		const char *first = NULL;
		json_array_foreach(t, i, v) {
			if (!json_is_string(v))
				continue;
			if (!first)
				first = json_string_value(v);
			if (strcmp(json_string_value(v), "null") != 0)
				return json_string_value(v);
		}
		return first;
	}
	return NULL;
}

static json_t *value_for_schema(const json_t *schema, int depth);

static json_t *object_for_schema(const json_t *schema, int depth)
{
	json_t *obj = json_object();
	json_t *props = json_object_get(schema, "properties");
	json_t *req = json_object_get(schema, "required");
	size_t i;
	json_t *name;

	if (!obj || !json_is_array(req))
		return obj;
	json_array_foreach(req, i, name) {
		if (!json_is_string(name))
			continue;
		json_t *v = value_for_schema(
			json_object_get(props, json_string_value(name)), depth + 1);
		if (!v || json_object_set_new(obj, json_string_value(name), v) < 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

/* One deterministic, schema-valid value per type (string "x", integer 1,
 * number 1.5, boolean true, array [], object with its required members, null;
 * an enum or const wins), so tests can predict the arguments exactly. */
static json_t *value_for_schema(const json_t *schema, int depth)
{
	if (!json_is_object(schema) || depth > SCHEMA_DEPTH_MAX)
		return json_null();

	json_t *en = json_object_get(schema, "enum");
	if (json_is_array(en) && json_array_size(en) > 0)
		return json_deep_copy(json_array_get(en, 0));
	json_t *cst = json_object_get(schema, "const");
	if (cst)
		return json_deep_copy(cst);

	const char *t = schema_type(schema);
	if (!t) {
		/* untyped: follow the first alternative, or give up with null */
		static const char *const alts[] = { "anyOf", "oneOf", "allOf" };
		for (size_t i = 0; i < sizeof(alts) / sizeof(alts[0]); i++) {
			json_t *a = json_object_get(schema, alts[i]);
			if (json_is_array(a) && json_array_size(a) > 0)
				return value_for_schema(json_array_get(a, 0),
							depth + 1);
		}
		if (json_object_get(schema, "properties"))
			return object_for_schema(schema, depth);
		return json_null();
	}
	if (strcmp(t, "string") == 0)
		return json_string("x");
	if (strcmp(t, "integer") == 0)
		return json_integer(1);
	if (strcmp(t, "number") == 0)
		return json_real(1.5);
	if (strcmp(t, "boolean") == 0)
		return json_true();
	if (strcmp(t, "array") == 0)
		return json_array();
	if (strcmp(t, "object") == 0)
		return object_for_schema(schema, depth);
	return json_null();
}

/* A value the schema rejects by its type: 12345 where a string is wanted,
 * else the string "wrong type". */
static json_t *wrong_value(const json_t *schema)
{
	const char *t = json_is_object(schema) ? schema_type(schema) : NULL;
	if (t && strcmp(t, "string") == 0)
		return json_integer(12345);
	return json_string("wrong type");
}

/* What schema_violation sends: v (built by value_for_schema) with its first
 * required member given the wrong type, or, without a required member, a
 * wrong-typed value in place of v.  Takes v. */
static json_t *violate(json_t *v, const json_t *schema)
{
	json_t *req = json_object_get(schema, "required");
	json_t *first = json_array_get(req, 0);
	if (json_is_object(v) && json_is_string(first)) {
		const char *name = json_string_value(first);
		json_t *props = json_object_get(schema, "properties");
		if (json_object_set_new(v, name, wrong_value(
				json_object_get(props, name))) < 0) {
			json_decref(v);
			return NULL;
		}
		return v;
	}
	json_decref(v);
	return wrong_value(schema);
}

static int tool_answer(const struct sim_conv *c, const struct sim_gen_opts *o,
		       struct sim_answer *out)
{
	out->kind = SIM_ANSWER_TOOL;
	out->tool_name = strdup(o->unknown_tool ? UNKNOWN_TOOL_NAME
						: c->tool_name);
	if (!out->tool_name)
		return -1;
	if (o->bad_tool_args) {
		out->tool_args = strdup(BAD_TOOL_ARGS);
	} else {
		json_t *args = c->tool_schema
			? value_for_schema(c->tool_schema, 0) : json_object();
		if (args && o->schema_violation)
			args = violate(args, c->tool_schema);
		if (!args)
			return -1;
		/* a schema whose top level is not an object still has to
		 * yield an arguments object */
		if (!json_is_object(args)) {
			json_decref(args);
			args = json_object();
			if (!args)
				return -1;
		}
		out->tool_args = json_dumps(args, JSON_COMPACT);
		json_decref(args);
	}
	if (!out->tool_args)
		return -1;
	size_t bytes = strlen(out->tool_name) + strlen(out->tool_args);
	out->completion_tokens = (long)((bytes + 3) / 4);
	if (out->completion_tokens < 1)
		out->completion_tokens = 1;
	return 0;
}

/* response_format: {"answer": TEXT} for json_object, a value of the
 * schema (as tool arguments are made) for json_schema. */
static int json_answer(const struct sim_conv *c, const struct sim_gen_opts *o,
		       struct sim_answer *out)
{
	json_t *v;
	if (c->json_mode == SIM_JSON_SCHEMA) {
		v = c->json_schema ? value_for_schema(c->json_schema, 0)
				   : json_object();
		if (v && o->schema_violation)
			v = violate(v, c->json_schema);
	} else {
		char *text = quote_answer("Hello from ", o->name, ". You said: ",
					  c->last_user_text);
		v = text ? json_pack("{s:s}", "answer", text) : NULL;
		free(text);
	}
	if (!v)
		return -1;
	out->content = json_dumps(v, JSON_ENCODE_ANY);
	json_decref(v);
	return out->content ? 0 : -1;
}

int sim_gen_answer(const struct sim_conv *c, const struct sim_gen_opts *o,
		   struct sim_answer *out)
{
	memset(out, 0, sizeof(*out));
	out->prompt_tokens = sim_gen_prompt_tokens(c->prompt_bytes);

	/* A tool result always gets a text answer so agent loops terminate. */
	if (!c->last_is_tool && c->tool_name) {
		if (o->empty_tool_turn) {
			out->kind = SIM_ANSWER_EMPTY_TOOL;
			return 0;
		}
		if (tool_answer(c, o, out) < 0) {
			sim_answer_free(out);
			return -1;
		}
		return 0;
	}

	out->kind = SIM_ANSWER_TEXT;
	if (c->json_mode != SIM_JSON_NONE && !o->not_json) {
		if (json_answer(c, o, out) < 0) {
			sim_answer_free(out);
			return -1;
		}
	} else if (c->last_is_tool)
		out->content = quote_answer("Done from ", o->name, ": ",
					    c->tool_result_text);
	else
		out->content = quote_answer("Hello from ", o->name, ". You said: ",
					    c->last_user_text);
	if (!out->content)
		return -1;
	long words = sim_gen_count_words(out->content);
	if (o->words > 0) {
		if (pad_words(&out->content, words, o->words) < 0) {
			sim_answer_free(out);
			return -1;
		}
		words = o->words;
	}
	if (c->max_tokens >= 0 && c->max_tokens < words) {
		truncate_words(out->content, c->max_tokens);
		out->truncated = true;
		words = c->max_tokens;
	}
	out->completion_tokens = words;
	return 0;
}

long sim_gen_split(const char *text, long nchunks, size_t **spans)
{
	size_t len = strlen(text);
	size_t *sp;
	long n = 0;

	if (nchunks > 0) {
		size_t chars = 0;
		for (size_t i = 0; i < len; i++)
			if (((unsigned char)text[i] & 0xc0) != 0x80)
				chars++;
		if (chars == 0)
			chars = 1;
		if ((size_t)nchunks > chars)
			nchunks = (long)chars;
		sp = malloc(sizeof(*sp) * 2 * (size_t)nchunks);
		if (!sp)
			return -1;
		/* piece k ends at character floor((k+1) * chars / nchunks) */
		size_t pos = 0, seen = 0;
		for (long k = 0; k < nchunks; k++) {
			size_t target = (size_t)(k + 1) * chars / (size_t)nchunks;
			size_t start = pos;
			while (pos < len && seen < target) {
				pos++;
				while (pos < len &&
				       ((unsigned char)text[pos] & 0xc0) == 0x80)
					pos++;
				seen++;
			}
			sp[2 * n] = start;
			sp[2 * n + 1] = pos - start;
			n++;
		}
		*spans = sp;
		return n;
	}

	long words = sim_gen_count_words(text);
	sp = malloc(sizeof(*sp) * 2 * (size_t)(words > 0 ? words : 1));
	if (!sp)
		return -1;
	if (words == 0) {
		sp[0] = 0;
		sp[1] = len;
		*spans = sp;
		return 1;
	}
	/* A piece runs from one word start to the next; leading blanks (if
	 * any) ride with the first word so nothing is lost. */
	size_t start = 0, i = 0;
	while (i < len && is_space((unsigned char)text[i]))
		i++;
	while (i < len) {
		while (i < len && !is_space((unsigned char)text[i]))
			i++;
		while (i < len && is_space((unsigned char)text[i]))
			i++;
		sp[2 * n] = start;
		sp[2 * n + 1] = i - start;
		n++;
		start = i;
	}
	*spans = sp;
	return n;
}
