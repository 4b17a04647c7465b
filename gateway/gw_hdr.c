/* gw_hdr: upstream request header lists; see gw_hdr.h. */
#include "gw_hdr.h"

#include <stdlib.h>
#include <string.h>

struct gw_hdr *gw_hdr_append(struct gw_hdr *list, const char *line)
{
    size_t len = strlen(line);
    struct gw_hdr *n = malloc(sizeof *n + len + 1);
    if (!n)
        return NULL;
    char *copy = (char *)(n + 1);
    memcpy(copy, line, len + 1);
    n->line = copy;
    n->next = NULL;
    if (!list)
        return n;
    struct gw_hdr *last = list;
    while (last->next)
        last = (struct gw_hdr *)last->next;
    last->next = n;
    return list;
}

void gw_hdr_free(struct gw_hdr *list, bool wipe)
{
    while (list) {
        struct gw_hdr *next = (struct gw_hdr *)list->next;
        if (wipe)
            explicit_bzero(list + 1, strlen(list->line));
        free(list);
        list = next;
    }
}
