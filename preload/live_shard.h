/*
 * live_shard.h - private to live.c and live_overflow.c: one shard of the
 * live-block table (live.h), its packed table and its side table under one
 * lock, and the small helpers both tables use. Static inline, so the hot
 * paths in live.c make no calls for them.
 */
#ifndef MTRACE_LIVE_SHARD_H
#define MTRACE_LIVE_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "live.h"
#include "spinlock.h"

#define TABLE_PAGE 4096    /* tables are whole pages: no rounding slack */

/* Site ids keep their low 24 bits, in either table. */
#define SITE_BITS 24
#define SITE_MASK ((UINT64_C(1) << SITE_BITS) - 1)

struct packed_block;       /* live.c */
struct overflow_block;     /* live_overflow.c */

struct live_shard {
    spinlock_t lock;
    size_t nslots, count, grow_at;           /* packed table */
    struct packed_block *slots;
    size_t ovf_pages, ovf_nslots, ovf_count, ovf_grow_at;
    struct overflow_block *ovf;
} __attribute__((aligned(64)));

/* Rare paths stay out of line: the common one keeps its registers. */
#define RARE __attribute__((noinline, cold))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* 32 bits of hash times the slot count, high half: a slot for any count,
 * not only powers of two, without a division. */
static inline size_t reduce(uint32_t hash32, size_t nslots)
{
    return (size_t)(((uint64_t)hash32 * nslots) >> 32);
}

static inline size_t next_slot(size_t i, size_t nslots)
{
    return ++i == nslots ? 0 : i;
}

/* live_count reads counts without the lock. */
static inline void set_count(size_t *count, size_t value)
{
    __atomic_store_n(count, value, __ATOMIC_RELAXED);
}

/* The side table, live_overflow.c; all under the shard's lock. */

/* Records ptr's entry, growing the table if need be: false if it cannot.
 * *found: whether ptr had an entry there already, then handed out in
 * *replaced. */
RARE bool overflow_put(struct live_shard *s, uintptr_t ptr, uint64_t size,
                       uint32_t site, uint64_t birth_ns,
                       struct live_block *replaced, bool *found);

/* Removes ptr; true and its entry in *out when it was present. */
RARE bool overflow_take(struct live_shard *s, uintptr_t ptr,
                        struct live_block *out);

/* Calls fn on a copy of every entry. */
void overflow_for_each(const struct live_shard *s,
                       void (*fn)(const struct live_block *, void *),
                       void *arg);

#endif
