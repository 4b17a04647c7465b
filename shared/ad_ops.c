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
    return fail_http_status(c, upstream_status);
}
