/* live.c - see live.h: the shards and their packed tables; the side
 * tables are in live_overflow.c. */
#include "live_shard.h"

#include "arena.h"

#define LIVE_SHARD_BITS 6
_Static_assert(LIVE_SHARDS == 1u << LIVE_SHARD_BITS, "shard bits");

/*
 * A packed entry. Its key, k = ptr >> 4, is below 2^43 (user addresses are
 * below 2^47 on x86-64) and is stored hashed, one-to-one, in two parts.
 *
 * The shard comes from k's 1 MiB granule alone (k >> 16, 27 bits, times
 * GRANULE_MUL mod 2^27: the top 6 bits). A thread allocates from its own
 * arena, so its blocks mostly share a few granules and its inserts and
 * removes take a few shards that other threads seldom touch: their locks
 * and counts stay in its core's cache. Hashing each block to any shard
 * made nearly every operation move a shard's line from the other core:
 * alloc_churn 5000000 4 took 1.32 s under the tracer against 1.06 s this
 * way (medians of 7 interleaved rounds; native 0.55 s) while the two vCPUs
 * were slow to share lines, and 3% less in quieter rounds. 64 KiB granules
 * gained nothing there: a thread's live blocks spread over too many. The
 * price is a second multiplication, about 7 instructions an operation,
 * and, for a single thread with few blocks, fuller tables: they no longer
 * sit nearly alone in 64 floor-sized ones (alloc_churn 5000000 1: CPU
 * time 1.53x -> 1.57x native; growing small tables at half load instead
 * did not win it back).
 *
 * The remainder, 37 bits, is k's 128-byte region (k >> 3) times
 * REGION_MUL mod 2^34, then k's low 3 bits (where in the region). It
 * leaves out the region's top 6 bits, the granule's, which the shard
 * gives back: two granules that differ only there differ in their shard,
 * as GRANULE_MUL is odd. Its top 32 bits give the home slot, the same for
 * a whole region: blocks allocated one after another share a cache line
 * of the table instead of missing it each time (with millions of blocks
 * live, that miss was most of a malloc's cost). At most four blocks
 * (32-byte chunks) share a region, and so a home: with 256-byte regions
 * the longer probes cost more than they saved.
 *
 * Word 0: remainder (37 bits) | size (20 bits: below 1 MiB) | probe field
 * (7 bits): distance from the home slot plus one, PROBE_FAR for "PROBE_FAR
 * - 1 or more" (then computed); 0 only in an empty slot. Word 1: site id
 * (24 bits) | birth in LIVE_BIRTH_UNIT_NS (40 bits: 2^56 ns, 2.28 years).
 */
struct packed_block {
    uint64_t key_size;
    uint64_t site_birth;
};

#define HASH_BITS 43
#define GRANULE_BITS 27                        /* k >> 16: 1 MiB */
#define GRANULE_MUL UINT64_C(0x4F1BBCD)        /* 2^27 / golden ratio, odd */
#define GRANULE_INVERSE UINT64_C(0x81A905)     /* GRANULE_MUL^-1 mod 2^27 */
_Static_assert(((GRANULE_MUL * GRANULE_INVERSE) &
                ((UINT64_C(1) << GRANULE_BITS) - 1)) == 1, "inverse");
#define REGION_BITS (HASH_BITS - LIVE_SHARD_BITS - 3)   /* kept: 34 */
#define REGION_MASK ((UINT64_C(1) << REGION_BITS) - 1)
#define REGION_MUL UINT64_C(0x278DDE6E5)       /* 2^34 / golden ratio, odd */
#define REGION_INVERSE UINT64_C(0x2A32A66ED)   /* REGION_MUL^-1 mod 2^34 */
_Static_assert(((REGION_MUL * REGION_INVERSE) & REGION_MASK) == 1,
               "inverse");
#define REM_BITS (HASH_BITS - LIVE_SHARD_BITS)
#define REM_MASK ((UINT64_C(1) << REM_BITS) - 1)
_Static_assert(REM_BITS == REGION_BITS + 3, "remainder: region, chunk");
#define PACKED_SIZE_BITS 20
#define PACKED_SIZE_MASK ((UINT64_C(1) << PACKED_SIZE_BITS) - 1)
#define PROBE_SHIFT (REM_BITS + PACKED_SIZE_BITS)
#define PROBE_ONE (UINT64_C(1) << PROBE_SHIFT)
#define PROBE_FAR 127
_Static_assert(PROBE_SHIFT + 7 == 64, "word 0 holds 64 bits");
#define PACKED_BIRTH_BITS (64 - SITE_BITS)
#define PACKED_PER_PAGE (TABLE_PAGE / sizeof(struct packed_block))

static struct live_shard shards[LIVE_SHARDS];

/* The granule's number times GRANULE_MUL, in the top 27 bits: it wraps
 * there as it would mod 2^27. */
static inline uint64_t granule_product(uint64_t granule)
{
    return (granule << (64 - GRANULE_BITS)) * GRANULE_MUL;
}

/* h: the remainder in the top 37 bits, the shard in the low 6, where
 * each is one instruction away. The region's product is taken in the top
 * 34 bits, as the granule's. Any pointer hashes, by its low 47 bits. */
static inline uint64_t ptr_hash(uintptr_t ptr)
{
    uint64_t region = ((uint64_t)ptr >> 7 << (64 - REGION_BITS)) *
                      REGION_MUL;
    return region | ((uint64_t)ptr >> 4 & 7) << (64 - REM_BITS) |
           granule_product((uint64_t)ptr >> 20) >> (64 - LIVE_SHARD_BITS);
}

static inline uint64_t hash_rem(uint64_t hash)
{
    return hash >> (64 - REM_BITS);
}

static inline struct live_shard *shard_of(uint64_t hash)
{
    struct live_shard *s = &shards[hash & (LIVE_SHARDS - 1)];
    /* Hides where s came from, so that GCC addresses fields through s, not
     * rebuilding &shards[i] each time: fewer registers on the hot paths. */
    __asm__("" : "+r"(s));
    return s;
}

/* ptr_hash backwards: the region's low 34 bits from the remainder, then
 * the granule's top 6 bits, t, from the shard: that shard is the top 6
 * bits of (low + t * 2^21) * GRANULE_MUL mod 2^27, low's own plus t *
 * GRANULE_MUL mod 2^6. */
static inline uintptr_t packed_ptr(const struct live_shard *s, uint64_t rem)
{
    uint64_t region = (rem >> 3) * REGION_INVERSE & REGION_MASK;
    uint64_t low = region >> (REGION_BITS - (GRANULE_BITS - LIVE_SHARD_BITS));
    uint64_t t = ((uint64_t)(s - shards) -
                  (granule_product(low) >> (64 - LIVE_SHARD_BITS))) *
                 GRANULE_INVERSE & ((1u << LIVE_SHARD_BITS) - 1);
    return (uintptr_t)(t << (20 + GRANULE_BITS - LIVE_SHARD_BITS) |
                       region << 7 | (rem & 7) << 4);
}

static inline size_t packed_home(uint64_t rem, size_t nslots)
{
    return reduce((uint32_t)(rem >> (REM_BITS - 32)), nslots);
}

/* 16-byte aligned, not 0, below 2^47: rotated right by 4, such a pointer
 * is its key, in [1, HASH_MASK] (alignment bits land on top; 0 wraps). Any
 * other, say foreign, pointer is looked up in the side table only, so it
 * cannot match a packed entry whose key shares its low bits. */
static inline bool ptr_packs(uintptr_t ptr)
{
    return !(((ptr >> 4 | (uint64_t)ptr << 60) - 1) >> HASH_BITS);
}

static inline void packed_unpack(const struct packed_block *e,
                                 struct live_block *out)
{
    out->birth_ns = (e->site_birth >> SITE_BITS) << LIVE_BIRTH_UNIT_SHIFT;
    out->size_site = (e->key_size >> REM_BITS & PACKED_SIZE_MASK) |
                     (e->site_birth & SITE_MASK) << LIVE_SIZE_BITS;
}

/* The packed table: linear probing in Robin Hood order. Along a run of
 * occupied slots, entries sit in the order of their homes, each knowing how
 * far from home it is (its probe field). Insertion shifts the rest of the
 * run one slot on; deletion shifts back only the entries after the hole
 * that are away from home. At the 3/4 load the memory bound asks for,
 * plain linear probing would rescan and rehash the rest of the run at
 * every deletion. */

/* Whether word 0 holds rem: shifts, as a mask would take a register. */
static inline bool same_rem(uint64_t word, uint64_t rem)
{
    return !((word ^ rem) << (64 - REM_BITS));
}

static inline uint64_t probe_field(size_t distance)
{
    return (distance < PROBE_FAR - 1 ? distance + 1 : PROBE_FAR)
           << PROBE_SHIFT;
}

/* The exact distance of the entry at i from its home, wrapping past the
 * table's end, for a field that only says "far": all but never needed. */
static RARE size_t far_distance(uint64_t word, size_t i, size_t nslots)
{
    size_t home = packed_home(word & REM_MASK, nslots);
    return i >= home ? i - home : i + nslots - home;
}

/* Where rem is (*found) or else where it belongs: the first slot empty or
 * holding an entry closer to its home than rem would be there (one test:
 * an empty slot's field is 0), *distance from rem's home. */
static inline size_t packed_seat(const struct packed_block *slots,
                                 size_t nslots, uint64_t rem,
                                 size_t *distance, bool *found)
{
    size_t i = packed_home(rem, nslots), d = 0;
    for (*found = false;; d++, i = next_slot(i, nslots)) {
        uint64_t word = slots[i].key_size, field = word >> PROBE_SHIFT;
        if (field <= d &&
            (LIKELY(field < PROBE_FAR) || far_distance(word, i, nslots) < d))
            break;
        if (same_rem(word, rem)) {
            *found = true;
            break;
        }
    }
    *distance = d;
    return i;
}

/* The slot holding rem, or an empty slot: plain linear probing, valid in
 * Robin Hood order too, and cheaper for a key that is there. */
static inline size_t packed_find(const struct packed_block *slots,
                                 size_t nslots, uint64_t rem)
{
    size_t i = packed_home(rem, nslots);
    for (;;) {
        uint64_t word = slots[i].key_size;
        if (!word || same_rem(word, rem))
            return i;
        i = next_slot(i, nslots);
    }
}

/* Puts entry at slot i, `distance` from its home, shifting the entries
 * from i to the end of their run one slot on, one further from home. */
static inline void packed_place(struct packed_block *slots, size_t nslots,
                                size_t i, size_t distance,
                                struct packed_block entry)
{
    entry.key_size |= probe_field(distance);
    while (slots[i].key_size) {
        struct packed_block next = slots[i];
        slots[i] = entry;
        entry = next;
        if (LIKELY(entry.key_size >> PROBE_SHIFT < PROBE_FAR))
            entry.key_size += PROBE_ONE;
        i = next_slot(i, nslots);
    }
    slots[i] = entry;
}

/* Grows by 1.5x in whole pages when 3/4 full, so at least half full after,
 * 32 bytes a block; one page, then two, are the floor. Not cold: it moves
 * every entry. Read from the start of a run, entries come in the order of
 * their homes, that is of their hashes, so each lands after those already
 * placed, mostly without shifting any. */
static __attribute__((noinline)) bool packed_grow(struct live_shard *s)
{
    size_t old_pages = s->nslots / PACKED_PER_PAGE;
    size_t pages = old_pages < 2 ? old_pages + 1 : old_pages + old_pages / 2;
    size_t n = pages * PACKED_PER_PAGE, i, distance, start = 0;
    struct packed_block *fresh;
    bool found;

    if (n > UINT32_MAX)        /* reduce() would overflow */
        return false;
    fresh = arena_map(pages * TABLE_PAGE);
    if (!fresh)
        return false;
    while (start < s->nslots && s->slots[start].key_size)
        start++;
    for (size_t k = 0, j = start; k < s->nslots; k++) {
        struct packed_block e = s->slots[j];
        j = next_slot(j, s->nslots);
        if (!e.key_size)
            continue;
        e.key_size &= PROBE_ONE - 1;
        i = packed_seat(fresh, n, e.key_size & REM_MASK, &distance, &found);
        packed_place(fresh, n, i, distance, e);
    }
    arena_unmap(s->slots, old_pages * TABLE_PAGE);
    /* Atomic for live_prefetch, which reads them without the lock. */
    __atomic_store_n(&s->slots, fresh, __ATOMIC_RELAXED);
    __atomic_store_n(&s->nslots, n, __ATOMIC_RELAXED);
    s->grow_at = n / 4 * 3;
    return true;
}

/* Backward-shift deletion: no tombstones, so probes never lengthen. An
 * entry at its home (field 1) or an empty slot (field 0) ends it. */
static inline __attribute__((always_inline)) void
packed_delete(struct live_shard *s, size_t hole)
{
    struct packed_block *slots = s->slots;
    size_t n = s->nslots, j = next_slot(hole, n);
    struct packed_block e;

    while ((e = slots[j]).key_size >> PROBE_SHIFT > 1) {
        if (LIKELY(e.key_size >> PROBE_SHIFT < PROBE_FAR))
            e.key_size -= PROBE_ONE;
        else
            e.key_size = (e.key_size & (PROBE_ONE - 1)) |
                         probe_field(far_distance(e.key_size, j, n) - 1);
        slots[hole] = e;
        hole = j;
        j = next_slot(j, n);
    }
    slots[hole] = (struct packed_block){ 0, 0 };
    set_count(&s->count, s->count - 1);
}

static RARE bool packed_take(struct live_shard *s, uint64_t rem,
                             struct live_block *out)
{
    size_t i;
    if (!s->count || !s->slots[i = packed_find(s->slots, s->nslots,
                                                 rem)].key_size)
        return false;
    out->ptr = packed_ptr(s, rem);
    packed_unpack(&s->slots[i], out);
    packed_delete(s, i);
    return true;
}

/* Insertion and removal. A pointer lives in at most one of the two
 * tables: a new entry takes the place of one in the other table too (a
 * block there whose free went unseen, which packed differently).
 *
 * live_insert and live_remove handle the common case, a packed entry in a
 * shard with a free lock, room to spare and no side table, with no call
 * but a tail call, so they need no registers saved. Everything else goes
 * to the general versions below, which take the lock and handle all. */

static inline bool entry_packs(uintptr_t ptr, uint64_t size,
                               uint64_t birth_ns)
{
    /* The pointer; a size from 1 MiB or a birth after 2^56 ns, in one
     * test, as birth_ns >> 36 reaches 2^20 exactly from 2^56. */
    return ptr_packs(ptr) &&
           !((size | birth_ns >> (LIVE_BIRTH_UNIT_SHIFT + PACKED_BIRTH_BITS -
                                  PACKED_SIZE_BITS)) >> PACKED_SIZE_BITS);
}

/* Without its probe field, which packed_place sets. */
static inline struct packed_block packed_entry(uint64_t rem, uint64_t size,
                                               uint32_t site,
                                               uint64_t birth_ns)
{
    return (struct packed_block){
        .key_size = rem | size << REM_BITS,
        .site_birth = (site & SITE_MASK) |
                      birth_ns >> LIVE_BIRTH_UNIT_SHIFT << SITE_BITS,
    };
}

/* A found entry's place: hands it out and puts the same pointer's new
 * one there, at the same distance from home. */
static inline void packed_swap(struct packed_block *slot, uintptr_t ptr,
                               struct packed_block entry,
                               struct live_block *replaced)
{
    replaced->ptr = ptr;
    packed_unpack(slot, replaced);
    entry.key_size |= slot->key_size & ~(PROBE_ONE - 1);
    *slot = entry;
}

static RARE bool insert_general(uintptr_t ptr, uint64_t size, uint32_t site,
                                uint64_t birth_ns,
                                struct live_block *replaced, bool *stored)
{
    uint64_t hash = ptr_hash(ptr), rem = hash_rem(hash);
    struct live_shard *s = shard_of(hash);
    bool found = false, here;
    size_t i, distance;

    size = size > LIVE_SIZE_MAX ? LIVE_SIZE_MAX : size;
    spin_lock(&s->lock);
    *stored = false;
    if (entry_packs(ptr, size, birth_ns)) {
        struct packed_block entry = packed_entry(rem, size, site, birth_ns);
        if (s->count >= s->grow_at && !packed_grow(s))
            goto out;
        i = packed_seat(s->slots, s->nslots, rem, &distance, &here);
        if ((found = here)) {
            packed_swap(&s->slots[i], ptr, entry, replaced);
        } else {
            /* No call while the shard has no side table. */
            found = s->ovf_count && overflow_take(s, ptr, replaced);
            packed_place(s->slots, s->nslots, i, distance, entry);
            set_count(&s->count, s->count + 1);
        }
    } else {
        bool had;
        if (!overflow_put(s, ptr, size, site, birth_ns, replaced, &had))
            goto out;
        found = had || (ptr_packs(ptr) && packed_take(s, rem, replaced));
    }
    *stored = true;
out:
    spin_unlock(&s->lock);
    return found;
}

static RARE bool remove_general(uintptr_t ptr, struct live_block *out)
{
    uint64_t hash = ptr_hash(ptr);
    struct live_shard *s = shard_of(hash);
    bool found;

    spin_lock(&s->lock);
    found = (ptr_packs(ptr) && packed_take(s, hash_rem(hash), out)) ||
            overflow_take(s, ptr, out);
    spin_unlock(&s->lock);
    return found;
}

/* Inlined into the allocation path (LTO): called, the fast path spent
 * 20 of its ~90 instructions saving and restoring registers. */
__attribute__((always_inline)) inline bool
live_insert_hashed(uint64_t hash, uintptr_t ptr, uint64_t size,
                   uint32_t site, uint64_t birth_ns,
                   struct live_block *replaced, bool *stored)
{
    uint64_t rem = hash_rem(hash);
    struct live_shard *s = shard_of(hash);
    struct packed_block *slots;
    size_t i, distance;
    bool here;

    if (UNLIKELY(!entry_packs(ptr, size, birth_ns)) ||
        UNLIKELY(!spin_trylock(&s->lock)))
        return insert_general(ptr, size, site, birth_ns, replaced, stored);
    if (UNLIKELY(s->count >= s->grow_at))
        goto general;
    slots = s->slots;
    i = packed_seat(slots, s->nslots, rem, &distance, &here);
    if (here) {
        packed_swap(&slots[i], ptr, packed_entry(rem, size, site, birth_ns),
                    replaced);
        spin_unlock(&s->lock);
        *stored = true;
        return true;
    }
    if (UNLIKELY(s->ovf_count))
        goto general;
    packed_place(slots, s->nslots, i, distance,
                 packed_entry(rem, size, site, birth_ns));
    set_count(&s->count, s->count + 1);
    spin_unlock(&s->lock);
    *stored = true;
    return false;
general:
    spin_unlock(&s->lock);
    return insert_general(ptr, size, site, birth_ns, replaced, stored);
}

__attribute__((always_inline)) inline bool
live_insert(uintptr_t ptr, uint64_t size, uint32_t site, uint64_t birth_ns,
            struct live_block *replaced, bool *stored)
{
    return live_insert_hashed(ptr_hash(ptr), ptr, size, site, birth_ns,
                              replaced, stored);
}

/* Inlined into free, as live_insert is into malloc. */
__attribute__((always_inline)) inline bool
live_remove(uintptr_t ptr, struct live_block *out)
{
    uint64_t hash = ptr_hash(ptr);
    struct live_shard *s = shard_of(hash);
    size_t i, spilled;

    if (UNLIKELY(!ptr_packs(ptr)) || UNLIKELY(!spin_trylock(&s->lock)))
        return remove_general(ptr, out);
    if (LIKELY(s->count) &&
        LIKELY(s->slots[i = packed_find(s->slots, s->nslots,
                                        hash_rem(hash))].key_size)) {
        out->ptr = ptr;
        packed_unpack(&s->slots[i], out);
        packed_delete(s, i);
        spin_unlock(&s->lock);
        return true;
    }
    /* Not packed; maybe in the side table (a large block). */
    spilled = s->ovf_count;
    spin_unlock(&s->lock);
    return UNLIKELY(spilled) && remove_general(ptr, out);
}

void live_for_each(void (*fn)(const struct live_block *, void *), void *arg,
                   bool bounded)
{
    for (unsigned sh = 0; sh < LIVE_SHARDS; sh++) {
        struct live_shard *s = &shards[sh];
        struct live_block b;
        if (!bounded)
            spin_lock(&s->lock);
        else if (!spin_lock_bounded(&s->lock, 1000))
            continue;
        for (size_t i = 0; i < s->nslots; i++)
            if (s->slots[i].key_size) {
                b.ptr = packed_ptr(s, s->slots[i].key_size & REM_MASK);
                packed_unpack(&s->slots[i], &b);
                fn(&b, arg);
            }
        overflow_for_each(s, fn, arg);
        spin_unlock(&s->lock);
    }
}

void live_lock_all(void)
{
    for (unsigned sh = 0; sh < LIVE_SHARDS; sh++)
        spin_lock(&shards[sh].lock);
}

void live_unlock_all(void)
{
    for (unsigned sh = 0; sh < LIVE_SHARDS; sh++)
        spin_unlock(&shards[sh].lock);
}

size_t live_count(void)
{
    size_t n = 0;
    for (unsigned sh = 0; sh < LIVE_SHARDS; sh++)
        n += __atomic_load_n(&shards[sh].count, __ATOMIC_RELAXED) +
             __atomic_load_n(&shards[sh].ovf_count, __ATOMIC_RELAXED);
    return n;
}

void live_shard_usage(unsigned shard, struct live_shard_usage *out)
{
    struct live_shard *s = &shards[shard % LIVE_SHARDS];
    spin_lock(&s->lock);
    out->slots = s->nslots;
    out->count = s->count;
    out->overflow_slots = s->ovf_nslots;
    out->overflow_count = s->ovf_count;
    out->bytes = (s->nslots / PACKED_PER_PAGE + s->ovf_pages) * TABLE_PAGE;
    spin_unlock(&s->lock);
}

unsigned live_shard_of(uintptr_t ptr, size_t *home)
{
    uint64_t hash = ptr_hash(ptr);
    struct live_shard *s = shard_of(hash);
    spin_lock(&s->lock);
    *home = ptr_packs(ptr) && s->nslots
                ? packed_home(hash_rem(hash), s->nslots) : SIZE_MAX;
    spin_unlock(&s->lock);
    return (unsigned)(s - shards);
}

/* Inlined into malloc, as live_insert is. */
__attribute__((always_inline)) inline uint64_t live_hash(uintptr_t ptr)
{
    return ptr_hash(ptr);
}

__attribute__((always_inline)) inline void live_prefetch(uint64_t hash)
{
    const struct live_shard *s = shard_of(hash);
    /* Unlocked: a table being replaced gives a useless but harmless
     * prefetch (it never faults). */
    const struct packed_block *slots = __atomic_load_n(&s->slots,
                                                       __ATOMIC_RELAXED);
    size_t nslots = __atomic_load_n(&s->nslots, __ATOMIC_RELAXED);
    if (slots)
        __builtin_prefetch(&slots[packed_home(hash_rem(hash), nslots)], 1);
}
