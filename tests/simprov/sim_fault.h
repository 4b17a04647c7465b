/*
 * Fault specs for the simulated provider.
 *
 * Grammar:  spec  := item (';' item)*
 *           item  := key '=' value | flag
 * Blanks (space, tab, CR, LF) around items, keys and values are ignored and
 * empty items are skipped, so "status=503; retry_after=2;" is accepted.
 * Everything else is strict: unknown keys, duplicate keys, flags given a
 * value, keys missing their value and out-of-range numbers are errors, and
 * the error names the offending key so callers can report it.
 *
 * Pure C with no libevent or jansson dependency so the parser can be unit
 * tested on its own.
 */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include <stdbool.h>
#include <stddef.h>

/* One bit per key, recorded in sim_fault.has, so "given as 0" and "absent"
 * stay distinguishable (close_after=0 is meaningful). */
enum sim_fault_bit {
	SIM_F_STATUS             = 1u << 0,
	SIM_F_CODE               = 1u << 1,
	SIM_F_MESSAGE            = 1u << 2,
	SIM_F_RETRY_AFTER        = 1u << 3,
	SIM_F_RETRY_AFTER_MS     = 1u << 4,
	SIM_F_LATENCY_MS         = 1u << 5,
	SIM_F_TTFB_MS            = 1u << 6,
	SIM_F_CHUNK_DELAY_MS     = 1u << 7,
	SIM_F_CHUNKS             = 1u << 8,
	SIM_F_HANG               = 1u << 9,
	SIM_F_RESET              = 1u << 10,
	SIM_F_CLOSE_AFTER        = 1u << 11,
	SIM_F_STREAM_ERROR_AFTER = 1u << 12,
	SIM_F_EMPTY_TOOL_TURN    = 1u << 13,
	SIM_F_BAD_TOOL_ARGS      = 1u << 14,
	SIM_F_MODEL              = 1u << 15,
	SIM_F_NO_TOOLS           = 1u << 16,
	SIM_F_COUNT              = 1u << 17,
	SIM_F_RATE               = 1u << 18,
	SIM_F_NONE               = 1u << 19,
	SIM_F_WORDS              = 1u << 20,
	SIM_F_UNKNOWN_TOOL       = 1u << 21,
	SIM_F_SCHEMA_VIOLATION   = 1u << 22,
	SIM_F_NOT_JSON           = 1u << 23,
	SIM_F_CONTENT_FILTER     = 1u << 24,
	SIM_F_BAD_CRC_AFTER      = 1u << 25,
	SIM_F_DELAY_AFTER        = 1u << 26,
	SIM_F_CUT_AFTER_DONE     = 1u << 27,
	SIM_F_NO_DONE            = 1u << 28,
	SIM_F_CUT_MID_EVENT      = 1u << 29,
};

#define SIM_FAULT_SPEC_MAX   4096
#define SIM_FAULT_CODE_MAX   64
#define SIM_FAULT_MSG_MAX    512
#define SIM_FAULT_MODEL_MAX  256

/* Fixed-size storage keeps a parsed fault a plain value: it can be copied,
 * and nothing in it needs freeing on any path. */
struct sim_fault {
	unsigned int has;
	int status;
	long retry_after;
	long retry_after_ms;
	long latency_ms;
	long ttfb_ms;
	long chunk_delay_ms;
	long delay_after;
	long chunks;
	long close_after;
	long cut_mid_event;
	long stream_error_after;
	long count;
	long rate;
	long words;
	long bad_crc_after;
	char code[SIM_FAULT_CODE_MAX];
	char message[SIM_FAULT_MSG_MAX];
	char model[SIM_FAULT_MODEL_MAX];
};

struct sim_fault_error {
	char key[64];       /* offending key ("" when the spec as a whole is bad) */
	char message[320];  /* human-readable, already names the key */
};

/* Where a spec came from: some keys only make sense for some sources. */
enum sim_fault_origin {
	SIM_FAULT_FROM_SERVER,   /* --fault or POST /_sim/fault */
	SIM_FAULT_FROM_HEADER,   /* x-sim-fault request header */
};

/* Parses spec into *out (zeroed first). Returns 0 on success, -1 on error with
 * *err filled in. A NULL, empty or blank spec is an error: callers decide
 * whether "no header" means "no fault" before calling. */
int sim_fault_parse(const char *spec, enum sim_fault_origin origin,
		    struct sim_fault *out, struct sim_fault_error *err);

static inline bool sim_fault_has(const struct sim_fault *f, unsigned int bit)
{
	return (f->has & bit) != 0;
}

/* Deterministic rate selection: the i-th request (0-based) that a rate-limited
 * fault is evaluated against is hit iff (i * pct) % 100 < pct. That hits
 * exactly pct of every 100 consecutive requests, spread evenly, starting with
 * request 0, and needs no PRNG state to reproduce in a test. */
bool sim_fault_rate_hit(long pct, unsigned long i);

#endif
