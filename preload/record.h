/*
 * record.h - what happens to one allocation or free once the real
 * allocator has done its work: stack -> site -> live table -> counters,
 * and a snapshot when one is due. Callers hold the reentrancy guard.
 */
#ifndef MTRACE_RECORD_H
#define MTRACE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "live.h"

/* entry_slot: where the interposed entry point's return address lives
 * (ENTRY_SLOT() in it), the key of the stack cache. */
void record_alloc(void *ptr, size_t size, uint32_t kind, uintptr_t entry_slot);

/* Forces a frame pointer in the calling function, whose return address
 * then sits just above it. */
#define ENTRY_SLOT() ((uintptr_t)__builtin_frame_address(0) + sizeof(void *))

/* Counts a request the allocator refused (NULL), at a site of kind
 * MT_KIND_FAILED, so a trace of an out-of-memory death says where. */
void record_failure(size_t size);

/* Removes ptr from the live table and counts the free; false when the
 * block was never recorded (allocated before start, or untraced). */
bool record_free(void *ptr);

/* record_free without its look at the clock (a snapshot due), for
 * frees through another entry point than free (C++ delete): a caller of
 * its own, so that free's path keeps record_free inlined. */
bool record_free_quietly(void *ptr);

/* Takes ptr out of the live table without counting a free (realloc may
 * still fail); then either record_release or record_restore it. */
bool record_detach(void *ptr, struct live_block *block);
void record_release(const struct live_block *block);
void record_restore(const struct live_block *block);

/* Pieces of traced mappings (MTRACE_MMAP) live in mmap_ranges.h's index,
 * not the live table: an unmap may take any part of them. These count
 * what happens to them, by site id; the counting ones neither unwind nor
 * take a lock, so they may run under mmap_ranges_lock. */

/* The site of the mapping being made (kind MT_KIND_MMAP), 0 when none.
 * Unwinds: call it before taking mmap_ranges_lock. */
uint32_t record_site_of_mapping(uintptr_t entry_slot);
/* The tracer's time now, as births and snapshots count it. */
uint64_t record_now_ns(void);
/* A new block of `bytes`: one alloc, bytes allocated, live bytes, peaks. */
void record_block_added(uint32_t site_id, uint64_t bytes);
/* A block cut in two: the second part is a block of its own, one more
 * alloc; its bytes were counted with the first. */
void record_block_split(uint32_t site_id);
/* A live block `bytes` larger: live bytes, bytes allocated, peaks; the
 * same block, so no alloc. */
void record_block_grown(uint32_t site_id, uint64_t bytes);
/* `bytes` of a live block gone; `whole_block`: nothing of it is left,
 * one free. */
void record_bytes_released(uint32_t site_id, uint64_t bytes,
                           bool whole_block);
/* After counting a change to the pieces, outside mmap_ranges_lock: a
 * snapshot if one is due. */
void record_mappings_changed(uint64_t now_ns);

/* Every block live: the live table's, the nursery's when this thread
 * owns it (nursery.h), and the pieces of traced mappings. `bounded` as
 * live_for_each's. */
void record_for_each_live(void (*fn)(const struct live_block *, void *),
                          void *arg, bool bounded);
size_t record_live_count(void);

/* The nursery's blocks go to the live table, for good: called before the
 * process's second thread starts. */
void record_nursery_hand_over(void);

/* Exact program-wide live bytes and their peak. */
uint64_t record_live_bytes(void);
uint64_t record_peak_live_bytes(void);

#endif
