/*
 * arena.h - the tracer's own memory, straight from mmap, so that its
 * tables never go through the allocator it traces. Small pieces come from
 * a bump pointer and are never returned (sites live as long as the
 * process); large ones are whole mappings and can be returned.
 */
#ifndef MTRACE_ARENA_H
#define MTRACE_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spinlock.h"

/* Zeroed memory, 16-byte aligned, or NULL. */
void *arena_alloc(size_t size);
/* The same, aligned to `align` (a power of two, at most a page) and as
 * long as a multiple of it, so that pieces of one size packed one after
 * another leave no gaps. */
void *arena_alloc_aligned(size_t size, size_t align);
/* Returns memory of arena_alloc; small pieces are kept for reuse never. */
void arena_free(void *ptr, size_t size);

/* A whole mapping of at least `size` zeroed bytes, or NULL. */
void *arena_map(size_t size);
void arena_unmap(void *ptr, size_t size);

extern spinlock_t arena_lock;   /* taken around fork by lifecycle.c */

/* The tracer's own mappings, for the reachability scan, which must not
 * take the live table's pointers for the program's. Calls fn on each;
 * false when some were not recorded (too many to keep track of). */
bool arena_for_each_mapping(void (*fn)(uintptr_t start, size_t len, void *),
                            void *arg);

#endif
