/*
 * snapshot.h - turns the in-process state into trace records: every
 * interval the totals and the sites that changed; at the end the survivors
 * and the END record. All writing happens under snapshot_lock.
 *
 * Per-site counters are thinned by snapshot count so that a long run's
 * trace grows with the logarithm of its length, not linearly: every
 * snapshot writes the totals (exact) and the SITE records of new sites
 * with their first counters, but the counters of known sites only at the
 * snapshots snapshot_site_counters_due() names; a changed site skipped
 * stays queued and is written at the next one. Counters are absolute and
 * peaks running maxima, so skipping loses only timeline resolution: at
 * snapshot n, a site's points are at most ~n/128 snapshots apart (< 1% of
 * the run). Final, exec and on-demand snapshots write every changed site.
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
 * thread is taking one. `now_ns` is of clock_tracer_ns (clock.h). */
void snapshot_take_if_due(uint64_t now_ns);

static inline void snapshot_if_due(uint64_t now_ns)
{
    if (now_ns >= atomic_load_explicit(&snapshot_due_ns, memory_order_relaxed))
        snapshot_take_if_due(now_ns);
}

/* Snapshots 1..SNAPSHOT_FULL_RESOLUTION write every changed site (a short
 * run keeps a point per snapshot); later ones every 2nd up to twice that,
 * every 4th up to four times, and so on. */
#define SNAPSHOT_FULL_RESOLUTION 256u

/* Whether periodic snapshot number `seq` (1, 2, ... in its file) writes
 * the counters of every changed site, not only those of new sites. */
bool snapshot_site_counters_due(uint64_t seq);

/* Before an object is unloaded (our dlclose): the sites seen so far are
 * written now, under the module map they were recorded in, since another
 * object may be loaded at the same addresses before the next snapshot.
 * Gives up if snapshot_lock stays taken. */
void snapshot_before_unload(uint64_t now_ns);

/* The rest need snapshot_lock held. */

/* Every changed site, totals, then write(2): a snapshot that ends a trace
 * (exit, exec, fatal signal). flags: enum mt_snapshot_flags.
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
