/*
 * brk: the circuit-breaker record the controller publishes in LMDB and every
 * worker reads (ST_DB_BREAKERS, key "provider/model").  The controller is
 * the only writer; a change of any record bumps ST_KEY_BREAKER_GEN in the
 * same transaction, so a worker re-reads the table only when it moved.
 */
#ifndef BS_BRK_H
#define BS_BRK_H

#include <stdint.h>

enum brk_state {
    BRK_CLOSED = 0,
    BRK_OPEN = 1,       /* no requests until until_wall_ms */
    BRK_HALF_OPEN = 2,  /* exactly one trial, by worker trial_slot, once per trial_epoch */
};

struct brk_record {
    uint8_t state;            /* enum brk_state */
    uint8_t reason;           /* enum fail_class that opened it (0 when closed) */
    uint16_t trial_slot;
    uint32_t trips;           /* consecutive openings; the cool-down grows with them */
    uint64_t trial_epoch;     /* new value with every grant */
    uint64_t until_wall_ms;   /* open: when the cool-down ends */
    uint64_t changed_wall_ms; /* when the controller last changed this record */
};

#define ST_KEY_BREAKER_GEN "breaker_gen"

const char *brk_state_name(int state);

#endif
