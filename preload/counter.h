/*
 * counter.h - the tracer's statistics words (live bytes, allocations,
 * peaks). While the process has one thread, nothing else can touch them:
 * a plain load and store is exact and spares the locked instruction
 * (about twenty cycles each, nine per malloc/free pair) that a
 * fetch-and-add costs. tracer_threaded turns on before a second thread
 * can run: our pthread_create sets it before the thread exists, and a
 * thread the C library started behind our back (timer_create, aio) sets
 * it on its first allocation, when a count in flight on another thread
 * can at worst be off by that one update.
 */
#ifndef MTRACE_COUNTER_H
#define MTRACE_COUNTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

extern atomic_bool tracer_threaded;
/* This thread is the one the tracer started (or forked) on. */
extern __thread bool tracer_thread_known;

/* Whether this update must be atomic; notices a thread we did not see
 * created. */
static inline bool counters_shared(void)
{
    if (__builtin_expect(atomic_load_explicit(&tracer_threaded,
                                              memory_order_relaxed), 0))
        return true;
    if (__builtin_expect(!tracer_thread_known, 0)) {
        atomic_store(&tracer_threaded, true);
        return true;
    }
    return false;
}

/* Adds v; returns the new value. */
static inline uint64_t counter_add(_Atomic uint64_t *c, uint64_t v,
                                   bool shared)
{
    uint64_t now;
    if (shared)
        return atomic_fetch_add_explicit(c, v, memory_order_relaxed) + v;
    now = atomic_load_explicit(c, memory_order_relaxed) + v;
    atomic_store_explicit(c, now, memory_order_relaxed);
    return now;
}

static inline void counter_sub(_Atomic uint64_t *c, uint64_t v, bool shared)
{
    counter_add(c, -v, shared);
}

/* Raises *c to at least v. Every value passed is one the counted thing
 * really held, so the max of them is its exact peak even with threads. */
static inline void counter_raise(_Atomic uint64_t *c, uint64_t v, bool shared)
{
    uint64_t old = atomic_load_explicit(c, memory_order_relaxed);
    if (v <= old)
        return;
    if (!shared) {
        atomic_store_explicit(c, v, memory_order_relaxed);
        return;
    }
    while (v > old &&
           !atomic_compare_exchange_weak_explicit(c, &old, v,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

#endif
