/*
 * Provider-neutral answer generation: what the simulated model "says".
 *
 * Each wire format (OpenAI today; Anthropic, Gemini, ... later) reduces its
 * request to a struct sim_conv, gets a struct sim_answer back, and renders it
 * in its own shape. Keeping the decision here means every format answers the
 * same prompt with the same text, tokens and tool call, which is what lets a
 * test compare a request routed to different providers.
 */
#ifndef SIM_GEN_H
#define SIM_GEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct sim_conv {
	bool last_is_tool;        /* last message is a tool result */
	char *last_user_text;     /* text of the last user message ("" if none) */
	char *tool_result_text;   /* text of the final tool message, if any */
	size_t prompt_bytes;      /* bytes of all message text content */
	long max_tokens;          /* completion cap, -1 when not given */
	const char *tool_name;    /* tool to call, NULL to answer in text */
	const json_t *tool_schema;/* JSON Schema of its arguments (may be NULL) */
	enum sim_json_mode {
		SIM_JSON_NONE,
		SIM_JSON_OBJECT,  /* response_format json_object */
		SIM_JSON_SCHEMA,  /* response_format json_schema */
	} json_mode;
	const json_t *json_schema;/* SIM_JSON_SCHEMA: the schema (may be NULL) */
};

struct sim_gen_opts {
	const char *name;         /* instance name, part of the answer text */
	bool empty_tool_turn;
	bool bad_tool_args;
	bool unknown_tool;        /* call a function that was not offered */
	bool schema_violation;    /* arguments / JSON content break the schema */
	bool not_json;            /* ignore response_format: answer in prose */
	long words;               /* > 0: text answers have exactly this many
				   * words (padded with "lorem0 lorem1 ...",
				   * or cut), before max_tokens applies */
};

enum sim_answer_kind {
	SIM_ANSWER_TEXT,
	SIM_ANSWER_TOOL,
	SIM_ANSWER_EMPTY_TOOL,    /* claims tool use but carries no call */
};

struct sim_answer {
	enum sim_answer_kind kind;
	char *content;            /* SIM_ANSWER_TEXT only */
	bool truncated;           /* content cut at max_tokens */
	char *tool_name;          /* SIM_ANSWER_TOOL only */
	char *tool_args;          /* JSON text (deliberately broken if asked) */
	long prompt_tokens;
	long completion_tokens;
};

void sim_conv_free(struct sim_conv *c);

/* Returns 0, or -1 on allocation failure with *out left empty. */
int sim_gen_answer(const struct sim_conv *c, const struct sim_gen_opts *o,
		   struct sim_answer *out);
void sim_answer_free(struct sim_answer *a);

/* Token accounting (deterministic so tests can predict it):
 *  - prompt tokens     = ceil(prompt_bytes / 4), at least 1;
 *  - completion tokens = number of whitespace-separated words of the text
 *    answer; for a tool call ceil((strlen(name) + strlen(args)) / 4), at
 *    least 1; 0 for an empty tool turn. */
long sim_gen_prompt_tokens(size_t prompt_bytes);
long sim_gen_count_words(const char *s);

/* Appends the text of an OpenAI/Anthropic-style content value (a string, or
 * an array of parts whose "text" members are concatenated) to *buf.
 * Returns the number of bytes appended, or -1 on allocation failure. */
long sim_gen_append_text(const json_t *content, char **buf, size_t *len);
/* The number of bytes sim_gen_append_text would append. */
size_t sim_gen_text_bytes(const json_t *content);

/* Splits text into pieces for streaming. nchunks <= 0 means one piece per
 * word, each word keeping its trailing whitespace; otherwise nchunks pieces
 * of near-equal length cut at UTF-8 character boundaries (fewer if the text
 * has fewer characters). Pieces concatenate to exactly the input. Returns the
 * number of pieces written as (offset, length) pairs into *spans (malloc'd,
 * caller frees), or -1 on allocation failure. Empty text gives one empty piece. */
long sim_gen_split(const char *text, long nchunks, size_t **spans);

#endif
