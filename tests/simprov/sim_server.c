/*
 * The standing fault: installed by --fault or POST /_sim/fault, consumed
 * request by request in sim_chat.c. Kept out of sim_main.c so everything
 * but main() can live in a library.
 */
#include <stdio.h>
#include <string.h>

#include "sim_server.h"

int sim_server_set_fault(struct sim_server *srv, const char *spec,
			 struct sim_fault_error *err)
{
	struct sim_fault f;
	if (sim_fault_parse(spec, SIM_FAULT_FROM_SERVER, &f, err) < 0)
		return -1;
	srv->fault = f;
	srv->fault_active = true;
	snprintf(srv->fault_spec, sizeof(srv->fault_spec), "%s", spec);
	/* the stored spec is shown back verbatim, minus surrounding blanks */
	size_t n = strlen(srv->fault_spec);
	while (n > 0 && strchr(" \t\r\n", srv->fault_spec[n - 1]))
		srv->fault_spec[--n] = '\0';
	size_t lead = strspn(srv->fault_spec, " \t\r\n");
	memmove(srv->fault_spec, srv->fault_spec + lead, n - lead + 1);
	srv->fault_remaining = sim_fault_has(&f, SIM_F_COUNT) ? f.count : -1;
	srv->fault_seq = 0;
	return 0;
}

void sim_server_clear_fault(struct sim_server *srv)
{
	srv->fault_active = false;
	memset(&srv->fault, 0, sizeof(srv->fault));
	srv->fault_spec[0] = '\0';
	srv->fault_remaining = -1;
	srv->fault_seq = 0;
}
