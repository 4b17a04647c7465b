/*
 * ad_bedrock_ops: the Bedrock Converse adapter's operations table.  Apart from
 * the shared mappings (ad_bedrock.c), so that the request, answer and
 * stream files depend on those without depending on each other.
 */
#include "ad_bedrock.h"

const struct ad_ops ad_bedrock_ops = {
    .name = "bedrock",
    .build_request = ad_bedrock_build,
    .parse_response = ad_bedrock_parse,
    .stream_new = ad_bedrock_stream_new,
    .stream_feed = ad_bedrock_feed,
    .stream_free = ad_stream_free,
    .classify = ad_bedrock_classify,
};
