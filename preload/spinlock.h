/*
 * spinlock.h - the only lock the tracer takes. A plain word, so a forked
 * child can reset it, and held only for a few instructions (or one write(2)
 * at snapshot time); waiters yield the CPU after spinning a while.
 */
#ifndef MTRACE_SPINLOCK_H
#define MTRACE_SPINLOCK_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef atomic_int spinlock_t;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline bool spin_trylock(spinlock_t *lock)
{
    return atomic_load_explicit(lock, memory_order_relaxed) == 0 &&
           atomic_exchange_explicit(lock, 1, memory_order_acquire) == 0;
}

/* About 20 us of pause before the first yield: holders are done well
 * within that unless preempted, and a yield that switches threads costs
 * far more. With 64 (1-2 us), node_work.js 210 made 4,000-10,000
 * sched_yield calls a run (V8's sweeper thread frees what the main
 * thread allocates), with 1,024 at most about 1,000. */
#define SPIN_BEFORE_YIELD 1024

static inline void spin_lock(spinlock_t *lock)
{
    unsigned spins = 0;
    while (!spin_trylock(lock)) {
        if (++spins < SPIN_BEFORE_YIELD)
            cpu_relax();
        else
            sched_yield();
    }
}

/* Gives up after about `rounds` yields: for paths (fatal signals) that may
 * have interrupted the lock's own holder. */
static inline bool spin_lock_bounded(spinlock_t *lock, unsigned rounds)
{
    while (!spin_trylock(lock)) {
        if (rounds-- == 0)
            return false;
        sched_yield();
    }
    return true;
}

static inline void spin_unlock(spinlock_t *lock)
{
    atomic_store_explicit(lock, 0, memory_order_release);
}

#endif
