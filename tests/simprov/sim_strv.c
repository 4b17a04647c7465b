#include "sim_strv.h"

#include <stdlib.h>
#include <string.h>

int sim_strv_append(struct sim_strv *sv, const char *s, size_t len)
{
	if (!sv->buf || len > sv->bufcap - sv->used) {
		size_t cap = sv->bufcap ? sv->bufcap : 1024;
		while (len > cap - sv->used) {
			if (cap > ((size_t)-1) / 2)
				return -1;
			cap *= 2;
		}
		char *b = realloc(sv->buf, cap);
		if (!b)
			return -1;
		sv->buf = b;
		sv->bufcap = cap;
	}
	if (len > 0)
		memcpy(sv->buf + sv->used, s, len);
	sv->used += len;
	return 0;
}

int sim_strv_close(struct sim_strv *sv)
{
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		size_t *e = realloc(sv->end, cap * sizeof(*e));
		if (!e)
			return -1;
		sv->end = e;
		sv->cap = cap;
	}
	sv->end[sv->n++] = sv->used;
	return 0;
}

int sim_strv_push(struct sim_strv *sv, char *s, size_t len)
{
	if (!s)
		return -1;
	sim_strv_truncate(sv, sv->n);   /* no open string may ride along */
	int rc = sim_strv_append(sv, s, len);
	free(s);
	if (rc == 0)
		rc = sim_strv_close(sv);
	if (rc < 0)
		sim_strv_truncate(sv, sv->n);
	return rc;
}

int sim_strv_push_sse(struct sim_strv *sv, char *json)
{
	static const char pre[] = "data: ", post[] = "\n\n";
	if (!json)
		return -1;
	sim_strv_truncate(sv, sv->n);
	int rc = sim_strv_append(sv, pre, sizeof(pre) - 1);
	if (rc == 0)
		rc = sim_strv_append(sv, json, strlen(json));
	if (rc == 0)
		rc = sim_strv_append(sv, post, sizeof(post) - 1);
	free(json);
	if (rc == 0)
		rc = sim_strv_close(sv);
	if (rc < 0)
		sim_strv_truncate(sv, sv->n);
	return rc;
}

void sim_strv_truncate(struct sim_strv *sv, size_t n)
{
	if (n < sv->n)
		sv->n = n;
	sv->used = sv->n ? sv->end[sv->n - 1] : 0;
}

void sim_strv_shorten_last(struct sim_strv *sv, size_t len)
{
	if (!sv->n)
		return;
	size_t start = sv->n > 1 ? sv->end[sv->n - 2] : 0;
	if (start + len < sv->end[sv->n - 1])
		sv->end[sv->n - 1] = start + len;
	sv->used = sv->end[sv->n - 1];
}

void sim_strv_free(struct sim_strv *sv)
{
	free(sv->buf);
	free(sv->end);
	memset(sv, 0, sizeof(*sv));
}
