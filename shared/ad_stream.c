/*
 * ad_stream: the part of stream decoding that is the same for every
 * provider: the SSE parser, the end-of-stream rules of ad.h (a stream ends
 * once, with done or with one error, and stays ended), and the
 * first-content flag the gateway commits on.
 */
#include "ad_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ad_stream *ad_stream_new(const char *model, bool include_usage, void *impl,
                                void (*impl_free)(void *impl))
{
    struct ad_stream *s = calloc(1, sizeof *s);
    if (!s || (model && !(s->model = strdup(model)))) {
        free(s);
        if (impl && impl_free)
            impl_free(impl);
        return NULL;
    }
    sse_init(&s->sse, 0);
    s->include_usage = include_usage;
    s->impl = impl;
    s->impl_free = impl_free;
    return s;
}

void ad_stream_free(struct ad_stream *s)
{
    if (!s)
        return;
    if (s->impl && s->impl_free)
        s->impl_free(s->impl);
    sse_free(&s->sse);
    free(s->model);
    free(s);
}

bool ad_stream_has_content(const struct ad_stream *s)
{
    return s && s->content;
}

static int end(struct ad_stream *s, int rc)
{
    s->over = true;
    s->result = rc;
    return rc;
}

int ad_stream_chunk_text(struct ad_stream *s, const char *text, size_t len, bool content)
{
    if (content)
        s->content = true;
    int rc = s->emit(s->arg, text, len, false, NULL);
    return rc ? end(s, rc) : 0;
}

int ad_stream_chunk(struct ad_stream *s, json_t *chunk, bool content)
{
    char *text = chunk ? json_dumps(chunk, AD_JSON_FLAGS) : NULL;
    json_decref(chunk);
    if (!text)
        return ad_stream_fail(s, FAIL_INTERNAL, NULL, "out of memory");
    int rc = ad_stream_chunk_text(s, text, strlen(text), content);
    free(text);
    return rc;
}

int ad_stream_done(struct ad_stream *s)
{
    int rc = s->emit(s->arg, NULL, 0, true, NULL);
    return end(s, rc);
}

int ad_stream_fail(struct ad_stream *s, enum fail_class c, json_t *body, const char *fmt, ...)
{
    struct ad_error err = { .fail = c };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof err.message, fmt, ap);
    va_end(ap);
    if (!body)
        body = ad_openai_error_for(c, err.message);
    char *text = body ? json_dumps(body, AD_JSON_FLAGS) : NULL;
    json_decref(body);
    /* Without memory for the body the class and message still go out. */
    int rc = s->emit(s->arg, text ? text : "", text ? strlen(text) : 0, false, &err);
    free(text);
    return end(s, rc ? rc : -1);
}

int ad_stream_run(struct ad_stream *s, const char *buf, size_t len, ad_emit_fn emit, void *arg,
                  sse_event_fn on_event)
{
    if (s->over)
        return s->result;
    s->emit = emit;
    s->arg = arg;
    int rc = sse_feed(&s->sse, buf, len, on_event, s);
    if (rc && !s->over)
        /* The parser's own failure: an event beyond its bound, or memory. */
        rc = ad_stream_fail(s, FAIL_BAD_RESPONSE, NULL, "upstream stream event too large or out of memory");
    s->emit = NULL;
    s->arg = NULL;
    return s->over ? s->result : rc;
}
