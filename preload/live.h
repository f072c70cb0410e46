/*
 * live.h - the live-block table: pointer -> {size, site, birth}, for every
 * block the program holds. Open addressing with linear probing, split into
 * shards by pointer hash so that threads rarely meet on a lock. 24 bytes a
 * block; memory from mmap.
 */
#ifndef MTRACE_LIVE_H
#define MTRACE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_SIZE_BITS 40
#define LIVE_SIZE_MAX ((UINT64_C(1) << LIVE_SIZE_BITS) - 1)

struct live_block {
    uintptr_t ptr;             /* 0: empty slot */
    uint64_t birth_ns;
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

/* Records a block. Sizes above LIVE_SIZE_MAX (1 TiB) are clamped. If ptr
 * was already present (its free went unseen), the old entry is returned in
 * *replaced and true; else false. If the table cannot grow, the block is
 * not recorded and *stored is false. */
bool live_insert(uintptr_t ptr, uint64_t size, uint32_t site,
                 uint64_t birth_ns, struct live_block *replaced,
                 bool *stored);

/* Removes ptr; true and its entry in *out when it was present. */
bool live_remove(uintptr_t ptr, struct live_block *out);

/* Calls fn on every entry, one shard at a time under that shard's lock.
 * `bounded`: skip a shard whose lock stays taken (a fatal signal may have
 * interrupted its holder). */
void live_for_each(void (*fn)(const struct live_block *, void *), void *arg,
                   bool bounded);

/* Around fork: every shard lock. */
void live_lock_all(void);
void live_unlock_all(void);

/* Blocks currently recorded (sum over shards, not atomic as a whole). */
size_t live_count(void);

#endif
