/*
 * spinlock.h - the only lock the tracer takes. A plain word, so a forked
 * child can reset it, and held only for a few instructions (or one write(2)
 * at snapshot time); waiters yield the CPU after a short spin.
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

static inline void spin_lock(spinlock_t *lock)
{
    unsigned spins = 0;
    while (!spin_trylock(lock)) {
        if (++spins < 64)
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
