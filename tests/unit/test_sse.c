/* Unit tests of the SSE parser: the same stream cut at every byte boundary
 * must give the same events. */
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "unit.h"

struct collected {
    char text[4096];
    size_t len;
    int n;
};

static int collect(void *arg, const struct sse_event *ev)
{
    struct collected *c = arg;
    c->len += (size_t)snprintf(c->text + c->len, sizeof c->text - c->len, "[%s|%.*s]", ev->event,
                               (int)ev->data_len, ev->data);
    c->n++;
    return 0;
}

static int stop_at_second(void *arg, const struct sse_event *ev)
{
    (void)ev;
    return ++*(int *)arg == 2 ? 7 : 0;
}

static void parse_split(const char *stream, size_t cut, struct collected *out)
{
    struct sse_parser p;
    sse_init(&p, 0);
    memset(out, 0, sizeof *out);
    size_t len = strlen(stream);
    if (cut > len)
        cut = len;
    CHECK(sse_feed(&p, stream, cut, collect, out) == 0);
    CHECK(sse_feed(&p, stream + cut, len - cut, collect, out) == 0);
    sse_free(&p);
}

int main(void)
{
    const char *stream =
        ": keep-alive\n\n"
        "data: {\"a\":1}\n\n"
        "event: message_start\r\ndata: x\r\n\r\n"
        "data: line1\ndata: line2\n\n"
        "data:nospace\r\rdata: [DONE]\n\n"
        "id: 5\nretry: 10\n\n"
        "data: tail-without-blank-line\n";
    const char *want = "[|{\"a\":1}][message_start|x][|line1\nline2][|nospace][|[DONE]]";
    for (size_t cut = 0; cut <= strlen(stream); cut++) {
        struct collected c;
        parse_split(stream, cut, &c);
        CHECK(c.n == 5);
        CHECK(strcmp(c.text, want) == 0);
        if (strcmp(c.text, want) != 0)
            fprintf(stderr, "cut %zu: %s\n", cut, c.text);
    }
    /* One byte at a time. */
    struct sse_parser p;
    struct collected c = { 0 };
    sse_init(&p, 0);
    for (const char *s = stream; *s; s++)
        CHECK(sse_feed(&p, s, 1, collect, &c) == 0);
    CHECK(strcmp(c.text, want) == 0);
    sse_free(&p);

    /* A callback's non-zero value stops the feed and comes back. */
    int seen = 0;
    sse_init(&p, 0);
    CHECK(sse_feed(&p, "data: 1\n\ndata: 2\n\ndata: 3\n\n", 27, stop_at_second, &seen) == 7);
    CHECK(seen == 2);
    sse_free(&p);

    /* An event over the bound is refused, not grown without limit. */
    sse_init(&p, 64);
    char big[300];
    memset(big, 'x', sizeof big);
    memcpy(big, "data: ", 6);
    memset(&c, 0, sizeof c);
    CHECK(sse_feed(&p, big, sizeof big, collect, &c) == -1);
    sse_free(&p);
    UNIT_END("sse");
}
