/* ad_ops: finding an adapter by name, and what status its errors answer with. */
#include "ad.h"

#include <string.h>

const struct ad_ops *ad_ops_find(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "openai") == 0 || strcmp(name, "openai-compatible") == 0)
        return &ad_openai_ops;
    if (strcmp(name, "anthropic") == 0)
        return &ad_anthropic_ops;
    if (strcmp(name, "bedrock") == 0)
        return &ad_bedrock_ops;
    if (strcmp(name, "gemini") == 0)
        return &ad_gemini_ops;
    if (strcmp(name, "azure") == 0)
        return &ad_azure_ops;
    if (strcmp(name, "vertex-gemini") == 0)
        return &ad_vertex_gemini_ops;
    if (strcmp(name, "vertex-anthropic") == 0)
        return &ad_vertex_anthropic_ops;
    return NULL;
}

int ad_client_status(enum fail_class c, long upstream_status)
{
    /* The status OpenAI itself gives each case, so OpenAI SDKs (and
     * gw_classify_http, reading the answer back) take it for what it is. */
    if (c == FAIL_CONTEXT)
        return 400;
    if (c == FAIL_QUOTA)
        return 429;
    /* A routing error told by text (Bedrock's on-demand refusal is a 400). */
    if (c == FAIL_NOT_FOUND)
        return 404;
    /* A server fault under a 4xx (Bedrock's 424 model error, 429 model not
     * ready): a 4xx would read as the client's fault or a rate limit. */
    if (c == FAIL_SERVER && upstream_status >= 400 && upstream_status < 500 && upstream_status != 408 &&
        upstream_status != 409)
        return 503;
    /* Gemini reports a bad key as 400 INVALID_ARGUMENT, a disabled region
     * as 400 FAILED_PRECONDITION: OpenAI clients know these as 401. */
    if (c == FAIL_AUTH && upstream_status != 401 && upstream_status != 403)
        return 401;
    /* 529 is Anthropic's own; OpenAI clients know 503 as "overloaded". */
    if (upstream_status == 529)
        return 503;
    if (upstream_status < 400 || upstream_status > 599)
        return 502;
    return (int)upstream_status;
}
