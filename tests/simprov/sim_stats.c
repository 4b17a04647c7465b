#include "sim_stats.h"

#include <string.h>

int sim_stats_init(struct sim_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->models = json_object();
	return st->models ? 0 : -1;
}

void sim_stats_free(struct sim_stats *st)
{
	json_decref(st->models);
	json_decref(st->last_request);
	json_decref(st->last_headers);
	memset(st, 0, sizeof(*st));
}

void sim_stats_reset(struct sim_stats *st)
{
	long long live = st->in_flight;
	json_t *models = st->models;

	json_object_clear(models);
	json_decref(st->last_request);
	json_decref(st->last_headers);
	memset(st, 0, sizeof(*st));
	st->models = models;
	st->in_flight = live;
}

/* A header value that is not valid UTF-8 cannot be a JSON string; it shows
 * as null rather than failing the whole record. */
static json_t *str_or_null(const char *s)
{
	json_t *v = s ? json_string(s) : NULL;
	return v ? v : json_null();
}

void sim_stats_model(struct sim_stats *st, const char *m)
{
	json_t *n = json_object_get(st->models, m);
	if (n)
		json_integer_set(n, json_integer_value(n) + 1);
	else
		json_object_set_new(st->models, m, json_integer(1));
}

void sim_stats_arrival(struct sim_stats *st, json_t *body,
		       const char *authorization, const char *request_id,
		       const char *content_type)
{
	st->requests++;
	st->in_flight++;

	json_t *model = json_object_get(body, "model");
	if (json_is_string(model))
		sim_stats_model(st, json_string_value(model));

	json_decref(st->last_request);
	st->last_request = json_incref(body);
	json_decref(st->last_headers);
	st->last_headers = json_pack("{s:o, s:o, s:o}",
				     "authorization", str_or_null(authorization),
				     "x-request-id", str_or_null(request_id),
				     "content-type", str_or_null(content_type));
}

char *sim_stats_render(const struct sim_stats *st, const char *name)
{
	json_t *o = json_pack(
		"{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O,"
		" s:O?, s:O?}",
		"name", name,
		"requests", (json_int_t)st->requests,
		"stream_requests", (json_int_t)st->stream_requests,
		"completed", (json_int_t)st->completed,
		"cancelled", (json_int_t)st->cancelled,
		"aborted", (json_int_t)st->aborted,
		"faulted", (json_int_t)st->faulted,
		"prompt_tokens", (json_int_t)st->prompt_tokens,
		"completion_tokens", (json_int_t)st->completion_tokens,
		"in_flight", (json_int_t)st->in_flight,
		"connections", (json_int_t)st->connections,
		"models", st->models,
		"last_request", st->last_request,
		"last_headers", st->last_headers);
	if (!o)
		return NULL;
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}
