/*
 * gw_hdr: a list of request header lines for an upstream transfer
 * (gw_upstream.h), in libcurl's conventions so both clients send the same
 * head: "Name: value" is sent, "Name:" removes a header the client would add
 * (Host, Accept, Expect), "Name;" sends it empty.
 *
 * A node made by gw_hdr_append owns its line (stored after the node) and
 * belongs to the list's owner, who frees it with gw_hdr_free.  A node may
 * also live in its owner's own struct, pointing at a line it keeps, and be
 * prepended to a shared list without copying it (a transfer only reads).
 */
#ifndef BS_GW_HDR_H
#define BS_GW_HDR_H

#include <stdbool.h>

struct gw_hdr {
    const char *line;
    const struct gw_hdr *next;
};

/* list with a copy of line at its end; NULL on out of memory (list is
 * untouched: the caller still owns and frees it). */
struct gw_hdr *gw_hdr_append(struct gw_hdr *list, const char *line);
/* Frees a list made by gw_hdr_append; wipe: zero the lines first (keys). */
void gw_hdr_free(struct gw_hdr *list, bool wipe);

#endif
