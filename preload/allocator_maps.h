/*
 * allocator_maps.h - the memory a program's own allocator (jemalloc, not
 * glibc's) maps for itself, for the reachability scan: besides the
 * blocks, it holds the allocator's caches of block addresses (jemalloc's
 * thread caches keep every address they handed out), which read as roots
 * made every lost block look reachable. Kept from the calls that
 * allocator makes through our mmap, munmap and mremap
 * (real_alloc_owns_code), from its first.
 *
 * A range_set.h: past its size, new ranges are dropped (the scan then
 * reads them as roots, as before: some lost blocks look reachable, none
 * the other way round).
 */
#ifndef MTRACE_ALLOCATOR_MAPS_H
#define MTRACE_ALLOCATOR_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spinlock.h"

/* Taken around every change, by the allocator's mmap calls, which may
 * hold the allocator's own locks: never by our fork handlers, as the
 * allocator's may then wait for those (jemalloc maps under its grow
 * lock). A child finds the lock as it was. */
extern spinlock_t allocator_maps_lock;

/* In a forked child: a thread that no longer exists may have been
 * changing the set. Then it is emptied and said incomplete (the scan
 * reads the allocator's memory as roots, as before). */
void allocator_maps_after_fork_child(void);

void allocator_maps_add(uintptr_t start, size_t len);
void allocator_maps_remove(uintptr_t start, size_t len);

/* Calls fn on each range, under the lock; false when some were dropped. */
bool allocator_maps_for_each(void (*fn)(uintptr_t start, size_t len,
                                        void *arg),
                             void *arg);

#endif
