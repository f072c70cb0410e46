/* site_lookup.c - see site_lookup.h. */
#include "site_lookup.h"

#include <stdatomic.h>
#include <string.h>

#include "arena.h"
#include "sites.h"

#define LOOKUP_INITIAL_SLOTS 1024

/* A reader that sees `hash` sees the site stored before it (release,
 * acquire); 0 marks an empty slot. */
struct lookup_slot {
    _Atomic uint64_t hash;
    struct site *_Atomic site;
};

struct lookup_array {
    size_t mask;
    size_t count;                  /* under sites_lock */
    struct lookup_slot slot[];
};

static struct lookup_array *_Atomic current;

static inline size_t home_of(uint64_t hash, size_t mask)
{
    /* The hash's top bits: uthash buckets by its low ones. */
    return (size_t)(hash >> 32) & mask;
}

struct site *site_lookup_find(uint64_t hash, const void *key, size_t key_len)
{
    const struct lookup_array *a =
        atomic_load_explicit(&current, memory_order_acquire);
    if (!a)
        return NULL;
    /* At most half full: an empty slot ends every probe. */
    for (size_t i = home_of(hash, a->mask);; i = (i + 1) & a->mask) {
        uint64_t h = atomic_load_explicit(&a->slot[i].hash,
                                          memory_order_acquire);
        if (h == 0)
            return NULL;
        if (h == hash) {
            struct site *site = atomic_load_explicit(&a->slot[i].site,
                                                     memory_order_relaxed);
            if (memcmp(&site->key_header, key, key_len) == 0)
                return site;
        }
    }
}

/* Into an array no reader can see yet, or one with a free slot. */
static void array_put(struct lookup_array *a, struct site *site)
{
    size_t i = home_of(site->hash, a->mask);
    while (atomic_load_explicit(&a->slot[i].hash, memory_order_relaxed))
        i = (i + 1) & a->mask;
    atomic_store_explicit(&a->slot[i].site, site, memory_order_relaxed);
    atomic_store_explicit(&a->slot[i].hash, site->hash, memory_order_release);
    a->count++;
}

static struct lookup_array *array_new(size_t slots)
{
    struct lookup_array *a = arena_map(sizeof *a + slots * sizeof a->slot[0]);
    if (a)
        a->mask = slots - 1;
    return a;
}

bool site_lookup_add(struct site *site)
{
    struct lookup_array *a = atomic_load_explicit(&current,
                                                  memory_order_relaxed);
    if (!a || (a->count + 1) * 2 > a->mask + 1) {
        struct lookup_array *bigger =
            array_new(a ? (a->mask + 1) * 2 : LOOKUP_INITIAL_SLOTS);
        if (!bigger)
            return false;
        for (size_t i = 0; a && i <= a->mask; i++) {
            struct site *s = atomic_load_explicit(&a->slot[i].site,
                                                  memory_order_relaxed);
            if (s)
                array_put(bigger, s);
        }
        /* The old array stays mapped: readers may be probing it. */
        atomic_store_explicit(&current, bigger, memory_order_release);
        a = bigger;
    }
    array_put(a, site);
    return true;
}
