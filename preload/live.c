/* live.c - see live.h. */
#include "live.h"

#include <string.h>

#include "arena.h"
#include "spinlock.h"

#define LIVE_SHARD_BITS 6
#define LIVE_SHARDS (1u << LIVE_SHARD_BITS)
#define LIVE_INITIAL_SLOTS 256

struct live_shard {
    spinlock_t lock;
    size_t mask;               /* slots - 1 */
    size_t count;
    struct live_block *slots;
} __attribute__((aligned(64)));

static struct live_shard shards[LIVE_SHARDS];

/* Fibonacci hashing of the pointer without its alignment bits: the top
 * bits pick the shard, the next ones the slot. */
static inline uint64_t ptr_hash(uintptr_t ptr)
{
    return (uint64_t)(ptr >> 4) * 0x9E3779B97F4A7C15ull;
}

static inline struct live_shard *shard_of(uint64_t hash)
{
    return &shards[hash >> (64 - LIVE_SHARD_BITS)];
}

static inline size_t slot_of(uint64_t hash, size_t mask)
{
    return (size_t)(hash >> (64 - LIVE_SHARD_BITS - 32)) & mask;
}

static void shard_place(struct live_block *slots, size_t mask,
                        const struct live_block *b)
{
    size_t i = slot_of(ptr_hash(b->ptr), mask);
    while (slots[i].ptr)
        i = (i + 1) & mask;
    slots[i] = *b;
}

static bool shard_grow(struct live_shard *shard)
{
    size_t old_slots = shard->slots ? shard->mask + 1 : 0;
    size_t new_slots = old_slots ? old_slots * 2 : LIVE_INITIAL_SLOTS;
    struct live_block *fresh = arena_map(new_slots * sizeof *fresh);
    if (!fresh)
        return false;
    for (size_t i = 0; i < old_slots; i++)
        if (shard->slots[i].ptr)
            shard_place(fresh, new_slots - 1, &shard->slots[i]);
    arena_unmap(shard->slots, old_slots * sizeof *fresh);
    shard->slots = fresh;
    shard->mask = new_slots - 1;
    return true;
}

bool live_insert(uintptr_t ptr, uint64_t size, uint32_t site,
                 uint64_t birth_ns, struct live_block *replaced,
                 bool *stored)
{
    uint64_t hash = ptr_hash(ptr);
    struct live_shard *shard = shard_of(hash);
    struct live_block b = {
        .ptr = ptr,
        .birth_ns = birth_ns,
        .size_site = (size > LIVE_SIZE_MAX ? LIVE_SIZE_MAX : size) |
                     (uint64_t)site << LIVE_SIZE_BITS,
    };
    bool found = false;
    size_t i;

    spin_lock(&shard->lock);
    /* Keep the load under 3/4 so probes stay short. */
    if ((!shard->slots || (shard->count + 1) * 4 > (shard->mask + 1) * 3) &&
        !shard_grow(shard)) {
        spin_unlock(&shard->lock);
        *stored = false;
        return false;
    }
    i = slot_of(hash, shard->mask);
    while (shard->slots[i].ptr && shard->slots[i].ptr != ptr)
        i = (i + 1) & shard->mask;
    if (shard->slots[i].ptr == ptr) {
        *replaced = shard->slots[i];
        found = true;
    } else {
        shard->count++;
    }
    shard->slots[i] = b;
    spin_unlock(&shard->lock);
    *stored = true;
    return found;
}

bool live_remove(uintptr_t ptr, struct live_block *out)
{
    uint64_t hash = ptr_hash(ptr);
    struct live_shard *shard = shard_of(hash);
    size_t i, j, mask;

    spin_lock(&shard->lock);
    if (!shard->slots) {
        spin_unlock(&shard->lock);
        return false;
    }
    mask = shard->mask;
    i = slot_of(hash, mask);
    while (shard->slots[i].ptr != ptr) {
        if (!shard->slots[i].ptr) {
            spin_unlock(&shard->lock);
            return false;
        }
        i = (i + 1) & mask;
    }
    *out = shard->slots[i];
    /* Backward-shift deletion: no tombstones, so probes never lengthen. */
    for (j = (i + 1) & mask; shard->slots[j].ptr; j = (j + 1) & mask) {
        size_t home = slot_of(ptr_hash(shard->slots[j].ptr), mask);
        /* Move j into the hole at i unless its home lies in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            shard->slots[i] = shard->slots[j];
            i = j;
        }
    }
    shard->slots[i].ptr = 0;
    shard->count--;
    spin_unlock(&shard->lock);
    return true;
}

void live_for_each(void (*fn)(const struct live_block *, void *), void *arg,
                   bool bounded)
{
    for (unsigned s = 0; s < LIVE_SHARDS; s++) {
        struct live_shard *shard = &shards[s];
        if (!bounded)
            spin_lock(&shard->lock);
        else if (!spin_lock_bounded(&shard->lock, 1000))
            continue;
        if (shard->slots)
            for (size_t i = 0; i <= shard->mask; i++)
                if (shard->slots[i].ptr)
                    fn(&shard->slots[i], arg);
        spin_unlock(&shard->lock);
    }
}

void live_lock_all(void)
{
    for (unsigned s = 0; s < LIVE_SHARDS; s++)
        spin_lock(&shards[s].lock);
}

void live_unlock_all(void)
{
    for (unsigned s = 0; s < LIVE_SHARDS; s++)
        spin_unlock(&shards[s].lock);
}

size_t live_count(void)
{
    size_t n = 0;
    for (unsigned s = 0; s < LIVE_SHARDS; s++)
        n += __atomic_load_n(&shards[s].count, __ATOMIC_RELAXED);
    return n;
}
