/*
 * evs: the AWS event-stream binary framing (application/vnd.amazon.eventstream),
 * as Bedrock's ConverseStream sends it.  One message:
 *
 *   total_length u32 | headers_length u32 | prelude_crc u32 (over bytes 0..7)
 *   headers | payload | message_crc u32 (over everything before it)
 *
 * All integers big-endian, CRC-32 as zlib's.  The decoder takes bytes as the
 * network delivers them, cut anywhere, and hands out whole messages whose
 * CRCs both matched; anything else is a framing error that ends the stream.
 * The encoder serves the simulated provider and the tests.
 *
 * Ownership: a decoder owns its buffer (evs_decoder_free); a message passed
 * to the callback points into that buffer and is valid during the call only.
 */
#ifndef BS_EVS_H
#define BS_EVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* botocore's limits: what a real stream never exceeds. */
#define EVS_MAX_HEADERS_BYTES (128u * 1024u)
#define EVS_MAX_PAYLOAD (16u * 1024u * 1024u)
/* Headers a message may carry; Bedrock sends three or four. */
#define EVS_MAX_HEADERS 16

enum evs_type {
    EVS_TRUE = 0, EVS_FALSE, EVS_BYTE, EVS_SHORT, EVS_INT, EVS_LONG,
    EVS_BYTES, EVS_STRING, EVS_TIMESTAMP, EVS_UUID
};

struct evs_header {
    const char *name;         /* not NUL-terminated */
    size_t name_len;
    enum evs_type type;
    const char *value;        /* bytes of BYTES, STRING, UUID; not NUL-terminated */
    size_t value_len;
    int64_t num;              /* TRUE/FALSE as 1/0, the integer types, TIMESTAMP */
};

struct evs_message {
    struct evs_header headers[EVS_MAX_HEADERS];
    size_t nheaders;
    const char *payload;
    size_t payload_len;
};

/* The value of a string header, or NULL (absent or of another type). */
const char *evs_header_string(const struct evs_message *m, const char *name, size_t *len);
/* Whether header name is a string equal to value. */
bool evs_header_is(const struct evs_message *m, const char *name, const char *value);

/* CRC-32 (IEEE, reflected 0xEDB88320), continuing from crc (0 to start). */
uint32_t evs_crc32(uint32_t crc, const void *buf, size_t len);

/* Called once per whole, verified message; non-zero stops decoding. */
typedef int (*evs_message_fn)(void *arg, const struct evs_message *m);

struct evs_decoder {
    unsigned char *buf;
    size_t len, cap;
    bool failed;
    char error[128];          /* what was wrong, once failed */
};

void evs_decoder_init(struct evs_decoder *d);
void evs_decoder_free(struct evs_decoder *d);
/* Feeds bytes.  Returns 0 (waiting for more), the callback's non-zero
 * value, or -1 when the bytes are not an event stream (d->error says why;
 * every later call returns -1 too).  Out of memory is -1 as well. */
int evs_feed(struct evs_decoder *d, const void *buf, size_t len, evs_message_fn fn, void *arg);

/* One message with string headers (names[i] = values[i]); malloc'd, *out_len
 * its size.  NULL when memory ran out or a part exceeds the format. */
unsigned char *evs_encode(const char *const *names, const char *const *values, size_t nheaders,
                          const void *payload, size_t payload_len, size_t *out_len);

#endif
