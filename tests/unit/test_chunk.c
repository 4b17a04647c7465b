/* Table tests of gw_chunk_says (gateway/gw_chunk.h): which stream chunks
 * commit a native stream to the client. */
#include <string.h>

#include "gw_chunk.h"
#include "unit.h"

int main(void)
{
    static const struct { const char *chunk; bool says; } t[] = {
        /* preambles */
        { "{\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}", false },
        { "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}", false },
        { "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null}}]}", false },
        { "{\"choices\":[{\"delta\":{}}]}", false },
        { "{\"choices\":[{\"delta\":{\"tool_calls\":[]}}]}", false },
        { "{\"choices\":[{\"delta\":{\"content\" : \"\" }}]}", false },
        { "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":0}}", false },
        { "{\"choices\" : [ { \"delta\" : { \"tool_calls\" : [ ] } , \"finish_reason\" : null } ] }", false },
        /* content */
        { "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}", true },
        { "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}", true },
        { "{\"choices\":[{\"delta\":{\"content\": \"\\n\"}}]}", true },
        { "{\"choices\":[{\"delta\":{\"content\":\" \"}}]}", true },
        { "{\"choices\":[{\"delta\":{\"refusal\":\"no\"}}]}", true },
        { "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"type\":\"function\"}]}}]}", true },
        { "{\"choices\":[{\"delta\":{\"tool_calls\": [ {\"index\":0}]}}]}", true },
        { "{\"choices\":[{\"delta\":{\"function_call\":{\"name\":\"f\"}}}]}", true },
        { "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}", true },
        { "{\"choices\":[{\"delta\":{\"content\":\"\"},\"finish_reason\":\"length\"}]}", true },
        /* a second choice with content */
        { "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"}},{\"index\":1,\"delta\":{\"content\":\"b\"}}]}", true },
        /* a member name inside text does not count: its quotes are escaped */
        { "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"x\":\"\\\"content\\\":\\\"y\"}]}", false },
        /* not a chunk: relayed as before */
        { "{\"object\":\"something.else\"}", true },
        { "not json at all", true },
        { "", true },
        /* truncated after the member name */
        { "{\"choices\":[{\"delta\":{\"content\":", false },
        { "{\"choices\":[{\"delta\":{\"content\":\"", false },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        CHECKF(gw_chunk_says(t[i].chunk, strlen(t[i].chunk)) == t[i].says, "row %zu: %s", i, t[i].chunk);
    UNIT_END("chunk");
}
