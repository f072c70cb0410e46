/* clock.h - the tracer's time: CLOCK_MONOTONIC through the vDSO. */
#ifndef MTRACE_CLOCK_H
#define MTRACE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The same clock at the kernel tick's resolution (1 to 10 ms, 4 ms on
 * Debian's kernels): 5 ns a read where the precise one costs 23 ns on a
 * VM, and an allocation reads it once. Birth times need no more: ages are
 * judged in hundreds of milliseconds and periods from many births. It
 * never runs ahead of clock_now_ns, so the tracer's origin is taken from
 * it and every time since is positive. */
static inline uint64_t clock_coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The clock the allocation path reads (births, due snapshots): the coarse
 * one, unless snapshots are asked for more often than it ticks
 * (MTRACE_INTERVAL_MS=1); clock_tracer_choose decides once, at start. */
extern clockid_t clock_tracer_id;
/* clock_gettime, or the vDSO's entry that it calls. */
extern int (*clock_tracer_read)(clockid_t, struct timespec *);

static inline uint64_t clock_tracer_ns(void)
{
    struct timespec ts;
    clock_tracer_read(clock_tracer_id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void clock_tracer_choose(uint64_t interval_ns);

#endif
