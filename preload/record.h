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

/* Takes ptr out of the live table without counting a free (realloc may
 * still fail); then either record_release or record_restore it. */
bool record_detach(void *ptr, struct live_block *block);
void record_release(const struct live_block *block);
void record_restore(const struct live_block *block);

/* Every block live: the live table's, and the nursery's when this thread
 * owns it (nursery.h). `bounded` as live_for_each's. */
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
