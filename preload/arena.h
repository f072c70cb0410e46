/*
 * arena.h - the tracer's own memory, straight from mmap, so that its
 * tables never go through the allocator it traces. Small pieces come from
 * a bump pointer and are never returned (sites live as long as the
 * process); large ones are whole mappings and can be returned.
 */
#ifndef MTRACE_ARENA_H
#define MTRACE_ARENA_H

#include <stddef.h>

#include "spinlock.h"

/* Zeroed memory, 16-byte aligned, or NULL. */
void *arena_alloc(size_t size);
/* Returns memory of arena_alloc; small pieces are kept for reuse never. */
void arena_free(void *ptr, size_t size);

/* A whole mapping of at least `size` zeroed bytes, or NULL. */
void *arena_map(size_t size);
void arena_unmap(void *ptr, size_t size);

extern spinlock_t arena_lock;   /* taken around fork by lifecycle.c */

#endif
