/* gw_chunk: what a native stream's chunk says (gw_chunk.h). */
#include "gw_chunk.h"

#include <string.h>

/* The first non-blank byte at or after p, or NULL at end. */
static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p < end ? p : NULL;
}

/* Whether some member `key` (quotes included) of the chunk has a value
 * that says something: a non-empty string, a non-empty array, an object.
 * A byte sequence "key": cannot occur inside a JSON string (its quotes
 * would be escaped there), so a plain search finds members only. */
static bool member_says(const char *data, size_t len, const char *key, size_t klen)
{
    const char *end = data + len, *p = data;
    while ((p = memmem(p, (size_t)(end - p), key, klen))) {
        p += klen;
        const char *v = skip_ws(p, end);
        if (!v || *v != ':' || !(v = skip_ws(v + 1, end)))
            continue;
        if (*v == '{')
            return true;
        if ((*v == '"' || *v == '[') && v + 1 < end) {
            const char *w = *v == '[' ? skip_ws(v + 1, end) : v + 1;
            if (w && *w != (*v == '[' ? ']' : '"'))
                return true;
        }
    }
    return false;
}

bool gw_chunk_says(const char *data, size_t len)
{
#define SAYS(k) member_says(data, len, k, sizeof k - 1)
    if (!memmem(data, len, "\"choices\"", 9))
        return true;
    return SAYS("\"content\"") || SAYS("\"refusal\"") || SAYS("\"tool_calls\"") ||
           SAYS("\"function_call\"") || SAYS("\"finish_reason\"");
#undef SAYS
}

bool gw_chunk_finishes(const char *data, size_t len)
{
    static const char key[] = "\"finish_reason\"";
    return memmem(data, len, "\"choices\"", 9) && member_says(data, len, key, sizeof key - 1);
}
