/* bs_time: clocks.  Monotonic for every duration and deadline, wall clock
 * only for what is shown to people or stored as a date. */
#ifndef BS_TIME_H
#define BS_TIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t bs_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t bs_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
