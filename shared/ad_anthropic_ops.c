/*
 * ad_anthropic_ops: the Anthropic Messages adapter's operations table.  Apart from
 * the shared mappings (ad_anthropic.c), so that the request, answer and
 * stream files depend on those without depending on each other.
 */
#include "ad_anthropic.h"

const struct ad_ops ad_anthropic_ops = {
    .name = "anthropic",
    .build_request = ad_anthropic_build,
    .parse_response = ad_anthropic_parse,
    .stream_new = ad_anthropic_stream_new,
    .stream_feed = ad_anthropic_feed,
    .stream_free = ad_stream_free,
    .classify = ad_anthropic_classify,
};
