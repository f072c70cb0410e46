/*
 * tracer.h - state shared by the tracer's modules: whether tracing is on,
 * the per-thread reentrancy guard, and the time origin.
 */
#ifndef MTRACE_TRACER_H
#define MTRACE_TRACER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum tracer_state {
    TRACER_OFF = 0,            /* starting, disabled, or could not start */
    TRACER_ACTIVE = 1,
    TRACER_FINISHED = 2,       /* final records written; pass-through */
    TRACER_UNSTARTED = 3,      /* the initial state */
};

extern atomic_int tracer_state;

/* Nonzero while this thread is inside the tracer: nested allocations
 * (libunwind's, libc's inside our syscalls, a signal handler's) go straight
 * to the C library. Initial-exec TLS: touching it never allocates. */
extern __thread int tracer_in_hook;

/* CLOCK_MONOTONIC at start: every time in the trace is relative to it. */
extern uint64_t tracer_origin_ns;

/* No allocation or free recorded by this process image since it started
 * or forked: an exec then hands the trace's name to the new program. */
extern bool tracer_pristine;

/* What libmtrace.so exports (exports.map lists it): the interposed
 * functions; everything else is hidden. */
#define EXPORT __attribute__((visibility("default")))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Starts the tracer at the first call made once the C library is ready,
 * when that comes before our constructor (another library's constructor
 * allocating: ld.so runs the program's libraries' before a preloaded
 * one's). Whether that call may record. */
bool tracer_start_early(void);

static inline bool tracer_should_record(void)
{
    int state = atomic_load_explicit(&tracer_state, memory_order_relaxed);
    if (likely(state == TRACER_ACTIVE) && likely(!tracer_in_hook))
        return true;
    return unlikely(state == TRACER_UNSTARTED) && tracer_start_early();
}

#endif
