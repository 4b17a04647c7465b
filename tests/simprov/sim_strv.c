#include "sim_strv.h"

#include <stdlib.h>
#include <string.h>

int sim_strv_push(struct sim_strv *sv, char *s, size_t len)
{
	if (!s)
		return -1;
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		char **v = realloc(sv->v, cap * sizeof(*v));
		if (!v) {
			free(s);
			return -1;
		}
		sv->v = v;
		size_t *l = realloc(sv->len, cap * sizeof(*l));
		if (!l) {
			free(s);
			return -1;
		}
		sv->len = l;
		sv->cap = cap;
	}
	sv->v[sv->n] = s;
	sv->len[sv->n] = len;
	sv->n++;
	return 0;
}

int sim_strv_push_sse(struct sim_strv *sv, char *json)
{
	static const char pre[] = "data: ", post[] = "\n\n";
	if (!json)
		return -1;
	size_t jl = strlen(json);
	size_t total = sizeof(pre) - 1 + jl + sizeof(post) - 1;
	char *ev = malloc(total + 1);
	if (!ev) {
		free(json);
		return -1;
	}
	memcpy(ev, pre, sizeof(pre) - 1);
	memcpy(ev + sizeof(pre) - 1, json, jl);
	memcpy(ev + sizeof(pre) - 1 + jl, post, sizeof(post));
	free(json);
	return sim_strv_push(sv, ev, total);
}

void sim_strv_truncate(struct sim_strv *sv, size_t n)
{
	while (sv->n > n)
		free(sv->v[--sv->n]);
}

void sim_strv_free(struct sim_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	free(sv->len);
	memset(sv, 0, sizeof(*sv));
}
