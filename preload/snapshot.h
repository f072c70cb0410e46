/*
 * snapshot.h - turns the in-process state into trace records: every
 * interval the sites that changed and the totals; at the end the survivors
 * and the END record. All writing happens under snapshot_lock.
 */
#ifndef MTRACE_SNAPSHOT_H
#define MTRACE_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "spinlock.h"

extern spinlock_t snapshot_lock;
extern _Atomic uint64_t snapshot_due_ns;

/* Set by the MTRACE_SNAPSHOT_SIGNAL handler (which may not take locks or
 * write): the next allocation takes the snapshot and writes the copy. */
extern atomic_int snapshot_requested;

/* From the allocation path: takes a snapshot if one is due and no other
 * thread is taking one. */
void snapshot_take_if_due(uint64_t now_ns);

static inline void snapshot_if_due(uint64_t now_ns)
{
    if (now_ns >= atomic_load_explicit(&snapshot_due_ns, memory_order_relaxed))
        snapshot_take_if_due(now_ns);
}

/* The rest need snapshot_lock held. */

/* Changed sites, totals, then write(2). flags: enum mt_snapshot_flags.
 * `from_signal`: a fatal signal handler, which must not touch the loader. */
int snapshot_write(uint64_t now_ns, uint32_t flags, bool from_signal);

/* SURVIVORS records for every live block. `bounded`: from a fatal signal,
 * skip what is locked rather than wait. Returns how many were written. */
uint64_t snapshot_write_survivors(bool bounded);

int snapshot_write_end(uint64_t now_ns, uint64_t survivors, uint32_t reason,
                       int32_t status, uint32_t flags);

/* A new trace file: every site and the module map must be written again,
 * and the totals start over from the sites' current counters. */
void snapshot_restart(void);

#endif
