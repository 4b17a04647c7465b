/*
 * OpenAI Chat Completions wire format: request validation and rendering of
 * completions, stream chunks, errors and the model list.
 *
 * Transport-free (jansson only): it turns JSON into a struct sim_conv and a
 * struct sim_answer into bytes; the server decides when the bytes go out.
 */
#ifndef SIM_OPENAI_H
#define SIM_OPENAI_H

#include <jansson.h>
#include <stdbool.h>

#include "sim_gen.h"
#include "sim_strv.h"

struct sim_oai_request {
	const char *model;        /* borrowed from the parsed body */
	bool stream;
	bool include_usage;
	struct sim_conv conv;     /* owned; sim_oai_request_free releases it */
};

/* A request the real API would reject, described well enough to render the
 * same error body. Strings are static or point into err itself. */
struct sim_oai_error {
	int status;
	const char *type;
	const char *param;
	const char *code;
	char message[512];
};

/* What every rendering of one response shares. */
struct sim_oai_meta {
	const char *id;           /* "chatcmpl-..." */
	const char *call_id;      /* "call_..." for a tool call */
	const char *model;        /* model to report */
	long long created;        /* unix seconds */
};

/* body may be NULL (unparseable JSON). Returns 0, or -1 with *err filled
 * (err->status 0 means an allocation failure, i.e. a 500). */
int sim_oai_parse_request(const json_t *body, struct sim_oai_request *out,
			  struct sim_oai_error *err);
void sim_oai_request_free(struct sim_oai_request *r);

/* All renderers return malloc'd text, or NULL on allocation failure. */
char *sim_oai_render_completion(const struct sim_oai_meta *m,
				const struct sim_answer *a);

/* Appends the SSE events of a streamed answer to *out: the role chunk, the
 * content pieces (nchunks as for sim_gen_split) or tool-call deltas (the
 * arguments in max(2, nchunks) fragments), the finish chunk, the usage chunk
 * when include_usage, then "data: [DONE]". *n_data receives the number of
 * events before [DONE], i.e. the ones a truncating fault counts. */
int sim_oai_render_stream(const struct sim_oai_meta *m,
			  const struct sim_answer *a, bool include_usage,
			  long nchunks, struct sim_strv *out, size_t *n_data);

/* "data: {"error":{...}}\n\n" for an error that strikes mid-stream. */
char *sim_oai_render_stream_error(const char *code, const char *message);

char *sim_oai_render_error(const struct sim_oai_error *e);

/* The error a "status=N" fault answers with: type, code and message follow
 * what the real API sends for that status; code/message override them
 * (NULL = default). code "context_length_exceeded" yields the real
 * context-length body (param "messages", token counts in the message). */
void sim_oai_fault_error(int status, const char *code, const char *message,
			 const char *model, long prompt_tokens,
			 struct sim_oai_error *out);

char *sim_oai_render_models(const char *model_id, const char *owner);

#endif
