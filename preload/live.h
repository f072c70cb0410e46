/*
 * live.h - the live-block table: pointer -> {size, site, birth}, for every
 * block the program holds. Split into LIVE_SHARDS shards, each with its
 * own lock, by the hash of the pointer's 1 MiB granule: a thread working
 * in its own arena keeps to a few shards, which other threads rarely
 * touch (live.c says why); memory from mmap.
 *
 * At most 32 bytes a live block, slack included, above a floor of two
 * pages per shard. An entry is packed into 16 bytes: the pointer (16-byte
 * aligned, below 2^47) hashed one-to-one, less the hash bits that pick the
 * shard; a 20-bit size; the 24-bit site; the birth in LIVE_BIRTH_UNIT_NS
 * units; how far the entry sits from its home slot. Open addressing with
 * linear probing in Robin Hood order, backward-shift deletion, any slot
 * count: a shard's table grows by at most 1.5x when 3/4 full, so it is at
 * least half full after growing. It never shrinks: after frees it keeps
 * what the shard's peak needed. Blocks that do not pack (1 MiB or more, a
 * pointer not 16-byte aligned or not below 2^47, a birth more than 2.28
 * years into the run) go to the shard's exact side table, 24-byte entries
 * kept between 3/4 and 7/8 full (32 bytes a block too, past six pages).
 * A shard grows on its own, under its own lock: for a moment it holds its
 * old and its new table, a 64th of the whole table (one shard per thread
 * that happens to grow one), never the whole table twice.
 */
#ifndef MTRACE_LIVE_H
#define MTRACE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_SIZE_BITS 40
#define LIVE_SIZE_MAX ((UINT64_C(1) << LIVE_SIZE_BITS) - 1)

/* Birth times come back rounded down to a multiple of this, 65.536 us:
 * far below the 1 ms a birth may be off by, as the analyzer ages blocks
 * and finds birth periods of tens of ms; 40 bits of it cover 2.28 years.
 * Births of one burst (microseconds apart) mostly become equal. */
#define LIVE_BIRTH_UNIT_SHIFT 16
#define LIVE_BIRTH_UNIT_NS (UINT64_C(1) << LIVE_BIRTH_UNIT_SHIFT)

#define LIVE_SHARDS 64

/* What callers see: the table stores it packed, see above. */
struct live_block {
    uintptr_t ptr;
    uint64_t birth_ns;         /* a multiple of LIVE_BIRTH_UNIT_NS */
    uint64_t size_site;        /* size in the low 40 bits, site id above */
};

static inline uint64_t live_block_size(const struct live_block *b)
{
    return b->size_site & LIVE_SIZE_MAX;
}

static inline uint32_t live_block_site(const struct live_block *b)
{
    return (uint32_t)(b->size_site >> LIVE_SIZE_BITS);
}

/* Records a block; any pointer, 0 included. Sizes above LIVE_SIZE_MAX
 * (1 TiB) are clamped, site ids keep their low 24 bits, the birth is
 * rounded down to LIVE_BIRTH_UNIT_NS; all else comes back exactly. If ptr
 * was already present (its free went unseen), the old entry is returned in
 * *replaced and true; else false. If the table cannot grow, the block is
 * not recorded and *stored is false. */
bool live_insert(uintptr_t ptr, uint64_t size, uint32_t site,
                 uint64_t birth_ns, struct live_block *replaced,
                 bool *stored);

/* The same, given live_hash(ptr). */
bool live_insert_hashed(uint64_t hash, uintptr_t ptr, uint64_t size,
                        uint32_t site, uint64_t birth_ns,
                        struct live_block *replaced, bool *stored);

/* ptr's place in the table, for the two calls below: about fifteen
 * instructions that the allocation path need not spend twice. */
uint64_t live_hash(uintptr_t ptr);

/* Starts loading the part of the table where the entry of the pointer
 * with this hash goes: called as soon as the allocator returns, its miss
 * overlaps the stack lookup instead of following it. Even a table that
 * fits the L2 cache misses there next to a program's own working set
 * (node: 42% of the allocation path's samples waited on that load). */
void live_prefetch(uint64_t hash);

/* Removes ptr; true and its entry in *out when it was present. */
bool live_remove(uintptr_t ptr, struct live_block *out);

/* Calls fn on every entry, one shard at a time under that shard's lock;
 * the entry fn sees is a copy, valid during the call. `bounded`: skip a
 * shard whose lock stays taken (a fatal signal may have interrupted its
 * holder). */
void live_for_each(void (*fn)(const struct live_block *, void *), void *arg,
                   bool bounded);

/* Around fork: every shard lock. */
void live_lock_all(void);
void live_unlock_all(void);

/* Blocks currently recorded (sum over shards, not atomic as a whole). */
size_t live_count(void);

/* For tests and diagnostics: one shard's tables. */
struct live_shard_usage {
    size_t slots, count;                     /* packed entries */
    size_t overflow_slots, overflow_count;   /* side table */
    size_t bytes;                            /* mapped for both */
};
void live_shard_usage(unsigned shard, struct live_shard_usage *out);

/* For tests: the shard ptr belongs to and, when ptr can be packed, its
 * home slot in that shard's packed table as sized now (else SIZE_MAX). */
unsigned live_shard_of(uintptr_t ptr, size_t *home);

#endif
