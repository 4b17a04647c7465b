/*
 * worker: what the controller and its workers agree on when one starts the
 * other.  The controller re-executes backstopd as `backstopd --worker
 * STATE_DIR SLOT` with the listening socket, the telemetry socket and the
 * breakers' trial claim words (shared/brk_claim.c) on fixed descriptors;
 * the worker's entry point is gateway/gw_worker.c.
 */
#ifndef BS_WORKER_H
#define BS_WORKER_H

#define CTR_WORKER_LISTEN_FD 3
#define CTR_WORKER_TEL_FD    4
#define CTR_WORKER_CLAIMS_FD 5

int gw_worker_main(const char *state_dir, int slot);

#endif
