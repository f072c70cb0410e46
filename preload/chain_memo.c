/* chain_memo.c - see chain_memo.h. */
#include "chain_memo.h"

#include <stdatomic.h>

#include "arena.h"
#include "frame_rules.h"
#include "sites.h"

/* 2,048 sets of 8: 16,384 chains in 384 KiB. Replaying cc1's walks, the
 * memo found 87% of them with this shape; 8 ways, as dozens of chains can
 * share their first two return addresses (callers of callers of xmalloc). */
#define MEMO_SETS 2048
#define MEMO_WAYS 8

struct memo_layout {
    uint64_t generation;           /* frame_rules_generation when walked */
    const struct site *site;       /* whose layout */
    struct chain_layout layout;
};

/* The site and its layout side by side: a hit loads both at once. */
struct memo_way {
    _Atomic uint64_t tag;          /* 0: empty */
    struct site *_Atomic site;
    const struct memo_layout *_Atomic layout;
};

struct memo_table {
    struct memo_way set[MEMO_SETS][MEMO_WAYS];
};

static struct memo_table *_Atomic memo;
static _Atomic uint64_t walks_before_memo;

static inline uint64_t memo_tag(uintptr_t entry_slot, uintptr_t first_pc,
                                uintptr_t second_pc)
{
    uint64_t key = chain_key(entry_slot, first_pc, second_pc);
    return (key ^ key >> 29) | 1;
}

static inline struct memo_way *set_of(struct memo_table *t, uint64_t tag)
{
    return t->set[(tag >> 40) % MEMO_SETS];
}

void chain_memo_prefetch(uintptr_t entry_slot, uintptr_t first_pc,
                         uintptr_t second_pc)
{
    struct memo_table *t = atomic_load_explicit(&memo, memory_order_relaxed);
    if (t)
        __builtin_prefetch(set_of(t, memo_tag(entry_slot, first_pc,
                                              second_pc)));
}

/* Moves way `from` into way `to`: three stores a race can tear, which
 * only makes a proof fail. */
static inline void way_copy(struct memo_way *to, const struct memo_way *from)
{
    atomic_store_explicit(&to->site,
                          atomic_load_explicit(&from->site,
                                               memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&to->layout,
                          atomic_load_explicit(&from->layout,
                                               memory_order_relaxed),
                          memory_order_release);
    atomic_store_explicit(&to->tag,
                          atomic_load_explicit(&from->tag,
                                               memory_order_relaxed),
                          memory_order_relaxed);
}

static inline void way_set(struct memo_way *way, uint64_t tag,
                           struct site *site, const struct memo_layout *ml)
{
    atomic_store_explicit(&way->site, site, memory_order_relaxed);
    atomic_store_explicit(&way->layout, ml, memory_order_release);
    atomic_store_explicit(&way->tag, tag, memory_order_relaxed);
}

struct site *chain_memo_find(uintptr_t entry_slot, uintptr_t first_pc,
                             uintptr_t second_pc,
                             const struct chain_layout **layout)
{
    struct memo_table *t = atomic_load_explicit(&memo, memory_order_acquire);
    uint64_t tag, generation;
    struct memo_way *set;

    if (!t)
        return NULL;
    generation = atomic_load_explicit(&frame_rules_generation,
                                      memory_order_relaxed);
    tag = memo_tag(entry_slot, first_pc, second_pc);
    set = set_of(t, tag);
    for (unsigned w = 0; w < MEMO_WAYS; w++) {
        struct site *site;
        const struct memo_layout *ml;
        if (atomic_load_explicit(&set[w].tag, memory_order_relaxed) != tag)
            continue;
        /* The layout is the site's own (the one stored with it, or an
         * older one that a torn way pairs with it): proved either way. */
        ml = atomic_load_explicit(&set[w].layout, memory_order_acquire);
        site = atomic_load_explicit(&set[w].site, memory_order_relaxed);
        if (!ml || ml->site != site || ml->generation != generation ||
            ml->layout.nframes != site->nframes ||
            site->frames[0] != first_pc ||
            !chain_layout_rest_matches(&ml->layout, entry_slot, site->frames,
                                       1))
            continue;
        if (w > 0) {
            /* One place forward, as in the cache's sets. */
            way_copy(&set[w], &set[w - 1]);
            way_set(&set[w - 1], tag, site, ml);
        }
        *layout = &ml->layout;
        return site;
    }
    return NULL;
}

static bool layouts_equal(const struct chain_layout *a,
                          const struct chain_layout *b)
{
    if (a->nframes != b->nframes || a->nreads != b->nreads ||
        a->fp_chain != b->fp_chain)
        return false;
    for (unsigned i = 0; i < a->nframes; i++)
        if (a->at[i] != b->at[i])
            return false;
    for (unsigned i = 0; i < a->nreads; i++)
        if (a->read_at[i] != b->read_at[i] ||
            a->read_value[i] != b->read_value[i])
            return false;
    return true;
}

/* The table, mapped by the walk that reaches MEMO_AFTER_WALKS. */
static struct memo_table *memo_table(void)
{
    struct memo_table *t = atomic_load_explicit(&memo, memory_order_acquire);
    struct memo_table *fresh = NULL;
    if (t)
        return t;
    if (atomic_fetch_add_explicit(&walks_before_memo, 1,
                                  memory_order_relaxed) + 1 <
        MEMO_AFTER_WALKS)
        return NULL;
    if (!(fresh = arena_map(sizeof *fresh)))
        return NULL;
    if (!atomic_compare_exchange_strong(&memo, &t, fresh)) {
        arena_unmap(fresh, sizeof *fresh);   /* another thread's won */
        return t;
    }
    return fresh;
}

/* The site's layout for this generation: the one it has, or `walked`. */
static const struct memo_layout *site_layout(struct site *site,
                                             const struct chain_layout *walked,
                                             uint64_t generation)
{
    struct memo_layout *ml = atomic_load_explicit(&site->memo_layout,
                                                  memory_order_acquire);
    struct memo_layout *fresh;
    if (ml && ml->generation == generation)
        return ml;
    /* A layout walked before code was unloaded is left behind: arena
     * memory is never returned, and unloads are rare. */
    if (!(fresh = arena_alloc(sizeof *fresh)))
        return NULL;
    fresh->generation = generation;
    fresh->site = site;
    fresh->layout = *walked;
    if (atomic_compare_exchange_strong_explicit(&site->memo_layout, &ml,
                                                fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    /* Another thread's layout won; ours is lost, rarely. */
    return ml && ml->generation == generation ? ml : NULL;
}

void chain_memo_add(uintptr_t entry_slot, struct site *site,
                    const struct chain_layout *walked)
{
    struct memo_table *t = memo_table();
    const struct memo_layout *ml;
    uint64_t tag, generation;
    struct memo_way *set;
    unsigned w;

    if (!t || walked->nframes < 2)
        return;
    generation = atomic_load_explicit(&frame_rules_generation,
                                      memory_order_relaxed);
    /* A chain laid out otherwise than its site's first (a frame of
     * variable size) would only fail its proof. */
    if (!(ml = site_layout(site, walked, generation)) ||
        !layouts_equal(&ml->layout, walked))
        return;
    tag = memo_tag(entry_slot, site->frames[0], site->frames[1]);
    set = set_of(t, tag);
    /* In front, the others one place back, the last one out. */
    for (w = 0; w < MEMO_WAYS - 1; w++)
        if (atomic_load_explicit(&set[w].tag, memory_order_relaxed) == tag &&
            atomic_load_explicit(&set[w].site, memory_order_relaxed) == site)
            break;
    for (; w > 0; w--)
        way_copy(&set[w], &set[w - 1]);
    way_set(&set[0], tag, site, ml);
}

bool chain_memo_active(void)
{
    return atomic_load_explicit(&memo, memory_order_relaxed) != NULL;
}
