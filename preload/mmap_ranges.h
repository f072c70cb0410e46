/*
 * mmap_ranges.h - the pieces of the anonymous mappings MTRACE_MMAP traces,
 * indexed by address range. A mapping counts like a block of the site that
 * made it, but munmap, mremap and a MAP_FIXED mapping can take any part of
 * it away: its head, its tail, its middle (two pieces remain), or parts of
 * several mappings at once. The live table is keyed by exact pointer and
 * cannot say what overlaps a range; this index can, so traced mappings
 * live here, not there, each piece a block of its own.
 *
 * A treap keyed by start address: O(log n) a call whatever order the
 * kernel hands addresses out in (top-down, so a sorted array would insert
 * at its front). Nodes come from the arena and are reused, never returned.
 * Every call below needs mmap_ranges_lock, which the wrappers hold across
 * the system call and the update: no other thread may see the address
 * space and the index disagree, or map an address before its old piece is
 * gone. Under the lock only the arena's lock is taken (for nodes): in the
 * fork order it comes after snapshot_lock, before arena_lock.
 *
 * Ranges passed in are whole pages (the caller rounds as the kernel does);
 * a piece's length is what the program asked for, so it may end inside its
 * last page, and only its pages' worth of bytes can be unmapped.
 *
 * What a change means for the counters comes out as events, whose rule
 * keeps, per site, live bytes == the sum of its pieces' lengths and
 * allocs - frees == its pieces (so frees never pass allocs):
 *   ADDED    a new mapping: one alloc, its bytes allocated and live;
 *   SPLIT    a piece cut in two (its middle unmapped, or part of it moved
 *            away by mremap): the second part is a block of its own, one
 *            more alloc, no new bytes;
 *   TRIMMED  part of a piece unmapped, the rest stays: live bytes down,
 *            no free;
 *   FREED    a whole piece unmapped: live bytes down, one free;
 *   GROWN    a piece grown by mremap: live bytes and bytes allocated up,
 *            no alloc (still the same block).
 * A piece keeps its mapping's site and birth whatever happens to it.
 */
#ifndef MTRACE_MMAP_RANGES_H
#define MTRACE_MMAP_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spinlock.h"

struct mmap_piece {
    uintptr_t start;           /* page-aligned */
    uint64_t len;              /* bytes asked for, > 0 */
    uint64_t birth_ns;
    uint32_t site;
};

enum mmap_event_kind {
    MMAP_EV_ADDED,
    MMAP_EV_SPLIT,
    MMAP_EV_TRIMMED,
    MMAP_EV_FREED,
    MMAP_EV_GROWN,
};

struct mmap_event {
    enum mmap_event_kind kind;
    uint32_t site;
    uint64_t bytes;            /* 0 for SPLIT */
};

struct mmap_sink {
    void (*fn)(const struct mmap_event *event, void *arg);
    void *arg;
};

extern spinlock_t mmap_ranges_lock;

/* A new traced mapping of `span` bytes (whole pages) at piece->start:
 * whatever the index held there is gone (MAP_FIXED replaces mappings). A
 * piece the index has no memory for is not traced, and not counted. */
void mmap_ranges_map(const struct mmap_piece *piece, uint64_t span,
                     const struct mmap_sink *sink);

/* [start, start + span) no longer mapped (munmap; an untraced mapping
 * made over it). */
void mmap_ranges_unmap(uintptr_t start, uint64_t span,
                       const struct mmap_sink *sink);

/* A successful mremap, lengths as the program passed them. */
struct mmap_remap {
    uintptr_t old_addr, new_addr;
    uint64_t old_len, new_len;
    bool keeps_old;            /* MREMAP_DONTUNMAP, or old_len 0 */
    uint64_t page;             /* the page size, a power of two */
    uint64_t now_ns;           /* birth of a mapping keeps_old creates */
};

/* Bytes kept move with their site and birth; bytes beyond the new length
 * are unmapped; growth goes to the piece that held the old range's last
 * page (an untraced mapping grows untraced). With keeps_old, the old range
 * stays and the new one is a new mapping of the site that held old_addr. */
void mmap_ranges_remap(const struct mmap_remap *remap,
                       const struct mmap_sink *sink);

/* Every piece, by address. */
void mmap_ranges_for_each(void (*fn)(const struct mmap_piece *, void *),
                          void *arg);

/* Pieces in the index; may be read without the lock (then approximate). */
size_t mmap_ranges_count(void);

/* For tests: forgets every piece (their nodes are kept for reuse). */
void mmap_ranges_clear(void);

#endif
