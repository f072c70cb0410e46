/* live_overflow.c - a shard's side table (see live.h, live_shard.h): the
 * blocks whose entries do not pack. Plain linear probing, keyed by the
 * whole pointer. */
#include "live_shard.h"

#include "arena.h"

/* A side-table entry, exact for any pointer. birth_tag: the birth in units
 * plus one, so that 0 marks an empty slot whatever the pointer. */
struct overflow_block {
    uintptr_t ptr;
    uint64_t size_site;        /* as in struct live_block */
    uint64_t birth_tag;
};
#define OVERFLOW_HASH_MUL UINT64_C(0xD6E8FEB86659FD93)

static inline size_t overflow_home(uintptr_t ptr, size_t nslots)
{
    return reduce((uint32_t)((ptr * OVERFLOW_HASH_MUL) >> 32), nslots);
}

static inline void overflow_unpack(const struct overflow_block *e,
                                   struct live_block *out)
{
    out->ptr = e->ptr;
    out->birth_ns = (e->birth_tag - 1) << LIVE_BIRTH_UNIT_SHIFT;
    out->size_site = e->size_site;
}

static inline size_t overflow_probe(const struct live_shard *s,
                                    uintptr_t ptr)
{
    size_t n = s->ovf_nslots, i = overflow_home(ptr, n);
    while (s->ovf[i].birth_tag && s->ovf[i].ptr != ptr)
        i = next_slot(i, n);
    return i;
}

/* Grows by at most 7/6 when 7/8 full, so 24-byte entries stay at least
 * 3/4 full, 32 bytes a block; the first six pages come one at a time. */
static RARE bool overflow_grow(struct live_shard *s)
{
    size_t old_pages = s->ovf_pages;
    size_t pages = old_pages < 6 ? old_pages + 1 : old_pages + old_pages / 6;
    size_t n = pages * TABLE_PAGE / sizeof(struct overflow_block);
    struct overflow_block *fresh = arena_map(pages * TABLE_PAGE);

    if (!fresh)
        return false;
    for (size_t i = 0; i < s->ovf_nslots; i++) {
        size_t j;
        if (!s->ovf[i].birth_tag)
            continue;
        j = overflow_home(s->ovf[i].ptr, n);
        while (fresh[j].birth_tag)
            j = next_slot(j, n);
        fresh[j] = s->ovf[i];
    }
    arena_unmap(s->ovf, old_pages * TABLE_PAGE);
    s->ovf = fresh;
    s->ovf_pages = pages;
    s->ovf_nslots = n;
    s->ovf_grow_at = n / 8 * 7;
    return true;
}

RARE bool overflow_put(struct live_shard *s, uintptr_t ptr, uint64_t size,
                       uint32_t site, uint64_t birth_ns,
                       struct live_block *replaced, bool *found)
{
    size_t i;

    if (s->ovf_count >= s->ovf_grow_at && !overflow_grow(s))
        return false;
    i = overflow_probe(s, ptr);
    if ((*found = s->ovf[i].birth_tag != 0))
        overflow_unpack(&s->ovf[i], replaced);
    else
        set_count(&s->ovf_count, s->ovf_count + 1);
    s->ovf[i] = (struct overflow_block){
        .ptr = ptr,
        .size_site = size | (uint64_t)(site & SITE_MASK) << LIVE_SIZE_BITS,
        .birth_tag = (birth_ns >> LIVE_BIRTH_UNIT_SHIFT) + 1,
    };
    return true;
}

/* Backward-shift deletion in plain linear probing: the entry at j may
 * fill the hole unless its home lies cyclically in (hole, j]. Unsigned
 * differences order the distances as the cyclic ones do: past the table's
 * end they wrap by 2^64 instead of by the slot count. */
RARE bool overflow_take(struct live_shard *s, uintptr_t ptr,
                        struct live_block *out)
{
    struct overflow_block *slots = s->ovf;
    size_t n = s->ovf_nslots, hole, j;

    if (!s->ovf_count)
        return false;
    hole = overflow_probe(s, ptr);
    if (!slots[hole].birth_tag)
        return false;
    overflow_unpack(&slots[hole], out);
    for (j = next_slot(hole, n); slots[j].birth_tag; j = next_slot(j, n))
        if (j - overflow_home(slots[j].ptr, n) >= j - hole) {
            slots[hole] = slots[j];
            hole = j;
        }
    slots[hole] = (struct overflow_block){ 0, 0, 0 };
    set_count(&s->ovf_count, s->ovf_count - 1);
    return true;
}

void overflow_for_each(const struct live_shard *s,
                       void (*fn)(const struct live_block *, void *),
                       void *arg)
{
    struct live_block b;
    for (size_t i = 0; i < s->ovf_nslots; i++)
        if (s->ovf[i].birth_tag) {
            overflow_unpack(&s->ovf[i], &b);
            fn(&b, arg);
        }
}
