/* stack_cache.c - see stack_cache.h. */
#include "stack_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "arena.h"
#include "chain_layout.h"
#include "chain_memo.h"
#include "frame_rules.h"
#include "sites.h"
#include "spinlock.h"

#define CACHE_SETS 32
#define CACHE_WAYS 4
/* Where chains pushed out of a set go, by their second return address. */
#define OVERFLOW_SETS 64

/* A line each for the checks of a lookup (chain_layout.h). */
struct cache_entry {
    uintptr_t entry_slot;               /* 0: empty */
    /* The caller's caller: chains that share a set usually differ from
     * there, and it is checked without reaching for the site. */
    uintptr_t first_pc, second_pc;
    struct site *site;
    struct chain_layout layout;
} __attribute__((aligned(64)));

/* Chains missed lately in a set, as tags: a chain is learned the second
 * time it misses, so code whose stacks rarely repeat (a compiler) does not
 * pay for learning each one, while a loop's chain is learned at once. */
#define CACHE_RECENT_MISSES 4

struct cache_set {
    struct cache_entry way[CACHE_WAYS]; /* most recently hit first */
    uintptr_t recent_miss[CACHE_RECENT_MISSES];
    uint32_t next_miss;
};

struct thread_cache {
    struct cache_set set[CACHE_SETS];
    struct cache_set overflow[OVERFLOW_SETS];
    /* frame_rules_generation the entries were learned in: code unloaded
     * since may have been replaced by other code at the same addresses. */
    uint64_t generation;
    struct thread_cache *next_free;
};

/* NULL: the thread has none yet; CACHE_GONE: it is exiting, or memory
 * ran out: no cache from here on. */
#define CACHE_GONE ((struct thread_cache *)1)
static __thread struct thread_cache *mine;

static pthread_key_t exit_key;
static bool exit_key_made;
/* Caches of threads that exited, for the next new ones. Taken only by
 * trylock: a thread that finds it busy maps a fresh cache instead. */
static spinlock_t free_lock;
static struct thread_cache *free_list;

static void cache_release(void *cache)
{
    struct thread_cache *c = cache;
    mine = CACHE_GONE;
    if (spin_lock_bounded(&free_lock, 100)) {
        c->next_free = free_list;
        free_list = c;
        spin_unlock(&free_lock);
    }
}

void stack_cache_init(void)
{
    exit_key_made = pthread_key_create(&exit_key, cache_release) == 0;
}

void stack_cache_after_fork_child(void)
{
    spin_unlock(&free_lock);
}

static void cache_forget(struct thread_cache *c, uint64_t generation)
{
    for (unsigned s = 0; s < CACHE_SETS; s++)
        for (unsigned w = 0; w < CACHE_WAYS; w++)
            c->set[s].way[w].entry_slot = 0;
    for (unsigned s = 0; s < OVERFLOW_SETS; s++)
        for (unsigned w = 0; w < CACHE_WAYS; w++)
            c->overflow[s].way[w].entry_slot = 0;
    c->generation = generation;
}

static struct thread_cache *cache_acquire(void)
{
    struct thread_cache *c = NULL;
    if (spin_trylock(&free_lock)) {
        if ((c = free_list))
            free_list = c->next_free;
        spin_unlock(&free_lock);
    }
    if (c) {
        cache_forget(c, atomic_load(&frame_rules_generation));
    } else if (!(c = arena_map(sizeof *c))) {
        mine = CACHE_GONE;
        return NULL;
    }
    mine = c;
    /* The key only hands the cache back at thread exit; without it the
     * cache stays the thread's. */
    if (exit_key_made)
        pthread_setspecific(exit_key, c);
    return c;
}

static inline struct thread_cache *cache_of_thread(void)
{
    struct thread_cache *c = mine;
    uint64_t generation;
    if (__builtin_expect(c == NULL || c == CACHE_GONE, 0))
        c = c == CACHE_GONE ? NULL : cache_acquire();
    if (!c)
        return NULL;
    generation = atomic_load_explicit(&frame_rules_generation,
                                      memory_order_relaxed);
    if (__builtin_expect(c->generation != generation, 0))
        cache_forget(c, generation);
    return c;
}

static inline struct cache_set *set_for(struct thread_cache *c,
                                        uintptr_t entry_slot)
{
    /* The slot and the call it returns to. */
    uintptr_t key = (entry_slot >> 3) ^ *(const uintptr_t *)entry_slot;
    return &c->set[(key ^ (key >> 7) ^ (key >> 17)) % CACHE_SETS];
}

/* Chains that meet the allocator at one slot from one call (every
 * allocation of cc1 passes xmalloc, sqlite's sqlite3Malloc) outnumber a
 * set's ways; their second return address tells them apart. */
static inline struct cache_set *overflow_for(struct thread_cache *c,
                                             uintptr_t entry_slot,
                                             uintptr_t first_pc,
                                             uintptr_t second_pc)
{
    return &c->overflow[(chain_key(entry_slot, first_pc, second_pc) >> 32) %
                        OVERFLOW_SETS];
}

/* The bytes of an entry in use: not its padding to the next line. */
#define ENTRY_USED (offsetof(struct cache_entry, layout) + \
                    sizeof(struct chain_layout))

static inline void entry_swap(struct cache_entry *a, struct cache_entry *b)
{
    char held[ENTRY_USED];
    memcpy(held, a, ENTRY_USED);
    memcpy(a, b, ENTRY_USED);
    memcpy(b, held, ENTRY_USED);
}

static inline __attribute__((always_inline)) bool
entry_matches(const struct cache_entry *e, uintptr_t entry_slot)
{
    const uintptr_t *base = (const uintptr_t *)entry_slot;
    const struct chain_layout *l = &e->layout;

    /* Frames 0 and 1 first, without reaching for the site; slot 1 only
     * once its frame pointer (if it is found by one) is the remembered. */
    if (base[0] != e->first_pc)
        return false;
    if (l->nframes > 1 && (l->fp_chain & 1) &&
        base[-1] != (uintptr_t)(base + l->at[1] - 1))
        return false;
    if (l->nframes > 1 && base[l->at[1]] != e->second_pc)
        return false;
    /* Frames 0 and 1 and the frame pointer between them are proved:
     * first_pc and second_pc are the site's frames[0] and frames[1]
     * (learn_layout). */
    return chain_layout_rest_matches(l, entry_slot, e->site->frames, 2);
}

static inline __attribute__((always_inline)) struct site *
find_in_set(struct cache_set *set, uintptr_t entry_slot)
{
    for (unsigned w = 0; w < CACHE_WAYS; w++) {
        struct cache_entry *e = &set->way[w];
        struct site *site;
        if (e->entry_slot != entry_slot || !entry_matches(e, entry_slot))
            continue;
        site = e->site;
        if (w > 0) {
            /* One place forward: chains hit often settle in front. */
            entry_swap(e, &set->way[w - 1]);
        }
        return site;
    }
    return NULL;
}

/* Whether this chain missed in its set lately; remembers it if not. */
static bool missed_before(struct cache_set *set, uintptr_t entry_slot,
                          const struct site *site)
{
    uintptr_t tag = (entry_slot ^ (uintptr_t)site) | 1;
    for (unsigned i = 0; i < CACHE_RECENT_MISSES; i++)
        if (set->recent_miss[i] == tag)
            return true;
    set->recent_miss[set->next_miss++ % CACHE_RECENT_MISSES] = tag;
    return false;
}

/* The chain a new one pushes out of a set, into its overflow set: over
 * an older copy of itself, in a free way, or in place of the one hit
 * least recently there. */
static void demote(struct thread_cache *c, const struct cache_entry *old)
{
    struct cache_set *overflow;
    unsigned w = 0;
    if (!old->entry_slot || old->layout.nframes < 2)
        return;
    overflow = overflow_for(c, old->entry_slot, old->first_pc,
                            old->second_pc);
    while (w < CACHE_WAYS - 1 && overflow->way[w].entry_slot &&
           !(overflow->way[w].entry_slot == old->entry_slot &&
             overflow->way[w].site == old->site))
        w++;
    memcpy(&overflow->way[w], old, ENTRY_USED);
}

/* Into the chain's set, the second time it misses there; the entry hit
 * least recently moves to its overflow set. */
static void learn_layout(struct thread_cache *c, uintptr_t entry_slot,
                         struct site *site, const struct chain_layout *l)
{
    struct cache_set *set = set_for(c, entry_slot);
    struct cache_entry *e;

    /* Misses are remembered where the chain would overflow to: the set
     * itself sees too many chains to remember one until it comes back. */
    if (!missed_before(l->nframes > 1 ? overflow_for(c, entry_slot,
                                                     site->frames[0],
                                                     site->frames[1])
                                      : set,
                       entry_slot, site))
        return;
    demote(c, &set->way[CACHE_WAYS - 1]);
    e = &set->way[CACHE_WAYS - 1];
    e->entry_slot = 0;   /* half-written entries never match */
    e->layout = *l;
    e->first_pc = site->frames[0];
    e->second_pc = l->nframes > 1 ? site->frames[1] : 0;
    e->site = site;
    e->entry_slot = entry_slot;
}

/* Out of line: the common hit in the set keeps its registers. A chain
 * found in the memo is learned as a walked one would be. */
static __attribute__((noinline)) struct site *
find_in_overflow(struct thread_cache *c, uintptr_t entry_slot)
{
    /* The second return address, read where the walk would read it. */
    uintptr_t slot = unwind_second_slot(entry_slot);
    uintptr_t first_pc = *(const uintptr_t *)entry_slot, second_pc;
    const struct chain_layout *layout;
    struct site *site;

    if (!slot)
        return NULL;
    second_pc = *(const uintptr_t *)slot;
    chain_memo_prefetch(entry_slot, first_pc, second_pc);
    site = find_in_set(overflow_for(c, entry_slot, first_pc, second_pc),
                       entry_slot);
    if (site)
        return site;
    site = chain_memo_find(entry_slot, first_pc, second_pc, &layout);
    if (site)
        learn_layout(c, entry_slot, site, layout);
    return site;
}

/* Inlined into both allocation paths (record.c). */
__attribute__((always_inline)) inline struct site *
stack_cache_find(uintptr_t entry_slot)
{
    struct thread_cache *c = cache_of_thread();
    struct site *site;

    if (!c)
        return NULL;
    site = find_in_set(set_for(c, entry_slot), entry_slot);
    return site ? site : find_in_overflow(c, entry_slot);
}

void stack_cache_learn(uintptr_t entry_slot, struct site *site,
                       const uintptr_t *slots,
                       const struct unwind_reads *reads)
{
    struct thread_cache *c = cache_of_thread();
    struct chain_layout layout;

    /* A chain that cannot be kept pushes none out. */
    if (!c || !slots || site->frames[0] != *(const uintptr_t *)entry_slot ||
        !chain_layout_from_walk(&layout, entry_slot, slots, site->nframes,
                                reads))
        return;
    chain_memo_add(entry_slot, site, &layout);
    learn_layout(c, entry_slot, site, &layout);
}
