/*
 * ad_openai: what adapters for OpenAI's dialects (Azure OpenAI) take from
 * the identity adapter: its stream event handling, with a hook that may
 * tidy each chunk first.  Internal to shared/ad_*.c and their tests.
 */
#ifndef BS_AD_OPENAI_H
#define BS_AD_OPENAI_H

#include "ad_common.h"

enum ad_fix {
    AD_FIX_SAME,     /* the chunk goes out as the upstream wrote it */
    AD_FIX_CHANGED,  /* the hook changed it: it goes out re-serialised */
    AD_FIX_DROP,     /* nothing for the client in it */
};
/* Looks at (and may change) one chunk object before it goes out. */
typedef enum ad_fix (*ad_openai_fix_fn)(json_t *chunk);

/* One OpenAI SSE event (s is the stream): [DONE], an error, or a chunk
 * passed through fix (NULL: none).  What an sse_event_fn returns. */
int ad_openai_event(struct ad_stream *s, const struct sse_event *ev, ad_openai_fix_fn fix);

#endif
