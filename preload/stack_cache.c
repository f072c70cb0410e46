/* stack_cache.c - see stack_cache.h. */
#include "stack_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "arena.h"
#include "frame_rules.h"
#include "sites.h"
#include "spinlock.h"

/* Chains deeper than this are not cached (MTRACE_DEPTH above it). */
#define CACHE_DEPTH 32
#define CACHE_SETS 32
#define CACHE_WAYS 4
/* Where chains pushed out of a set go, by their second return address. */
#define OVERFLOW_SETS 64
/* Slot positions and load offsets are kept in words from the entry slot,
 * in 16 bits. */
#define WORD sizeof(uintptr_t)
#define SPAN_MAX (UINT16_MAX * WORD)
/* rbp loads that are not a frame-pointer chain's, per entry. */
#define CACHE_OTHER_READS 4

/* In code built with frame pointers every step loads rbp, and always in
 * one pattern: the word below frame i's return address holds the frame
 * pointer of frame i+1, which sits just below frame i+1's return address.
 * Those loads cost a bit each (fp_chain); any other goes in the list. */
struct cache_entry {
    uintptr_t entry_slot;               /* 0: empty */
    /* The caller's caller: chains that share a set usually differ from
     * there, and it is checked without reaching for the site. */
    uintptr_t first_pc, second_pc;
    struct site *site;
    uint8_t nframes;
    uint8_t nreads;
    uint16_t at[CACHE_DEPTH];           /* slot i - entry slot, in words */
    uint32_t fp_chain;                  /* bit i: *(slot i - 8) ==
                                         * slot i+1 - 8 */
    int16_t read_at[CACHE_OTHER_READS]; /* load address - entry slot */
    uintptr_t read_value[CACHE_OTHER_READS];
};

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
    uint64_t key = ((entry_slot >> 3) ^ first_pc) * 0x9E3779B97F4A7C15ull ^
                   second_pc;
    key *= 0xBF58476D1CE4E5B9ull;
    return &c->overflow[(key >> 32) % OVERFLOW_SETS];
}

/* Frames 1 and up, for code without frame pointers (the usual case). */
static inline bool slots_match(const struct cache_entry *e,
                               const uintptr_t *base, const uintptr_t *frames)
{
    /* Offsets, not a running sum: the loads do not wait on each other. */
    for (unsigned i = 1; i < e->nframes; i++)
        if (base[e->at[i]] != frames[i])
            return false;
    return true;
}

/* The same, also checking the frame-pointer chain where fp_chain says. */
static inline bool slots_and_chain_match(const struct cache_entry *e,
                                         const uintptr_t *base,
                                         const uintptr_t *frames)
{
    const uintptr_t *slot = base;
    uint32_t fp_chain = e->fp_chain;
    for (unsigned i = 1; i < e->nframes; i++, fp_chain >>= 1) {
        const uintptr_t *next = base + e->at[i];
        /* The frame pointer that places the next slot, then the slot. */
        if (((fp_chain & 1) && slot[-1] != (uintptr_t)(next - 1)) ||
            *next != frames[i])
            return false;
        slot = next;
    }
    return true;
}

static inline __attribute__((always_inline)) bool
entry_matches(const struct cache_entry *e, uintptr_t entry_slot)
{
    const uintptr_t *base = (const uintptr_t *)entry_slot;
    const uintptr_t *frames;

    /* Each slot is read only once the frames below it matched, as the
     * walk would read it: a stack that is not the remembered one (a
     * coroutine's, smaller, at the same place) is never read past. */
    if (base[0] != e->first_pc)
        return false;
    if (e->nframes > 1 && (e->fp_chain & 1) &&
        base[-1] != (uintptr_t)(base + e->at[1] - 1))
        return false;
    if (e->nframes > 1 && base[e->at[1]] != e->second_pc)
        return false;
    frames = e->site->frames;
    if (base[0] != frames[0] ||
        !(e->fp_chain ? slots_and_chain_match(e, base, frames)
                      : slots_match(e, base, frames)))
        return false;
    for (unsigned i = 0; i < e->nreads; i++)
        if (*(const uintptr_t *)(entry_slot + (uintptr_t)((intptr_t)
                                     e->read_at[i] * (intptr_t)WORD)) !=
            e->read_value[i])
            return false;
    return true;
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
            struct cache_entry hit = *e;
            *e = set->way[w - 1];
            set->way[w - 1] = hit;
        }
        return site;
    }
    return NULL;
}

/* Out of line: the common hit in the set keeps its registers. */
static __attribute__((noinline)) struct site *
find_in_overflow(struct thread_cache *c, uintptr_t entry_slot)
{
    /* The second return address, read where the walk would read it. */
    uintptr_t slot = unwind_second_slot(entry_slot);
    if (!slot)
        return NULL;
    return find_in_set(overflow_for(c, entry_slot,
                                    *(const uintptr_t *)entry_slot,
                                    *(const uintptr_t *)slot),
                       entry_slot);
}

struct site *stack_cache_find(uintptr_t entry_slot)
{
    struct thread_cache *c = cache_of_thread();
    struct site *site;

    if (!c)
        return NULL;
    site = find_in_set(set_for(c, entry_slot), entry_slot);
    return site ? site : find_in_overflow(c, entry_slot);
}

/* The entry a new chain takes: the one hit least recently. */
static struct cache_entry *victim(struct cache_set *set)
{
    struct cache_entry *e = &set->way[CACHE_WAYS - 1];
    e->entry_slot = 0;   /* half-written entries never match */
    return e;
}

/* Slots come from our walk, which only ever steps up the stack to 8-byte
 * aligned frames (unwind.c): they rise, so the span to check is the last
 * one's. */
static bool store_slots(struct cache_entry *e, const uintptr_t *slots,
                        uint32_t n)
{
    uintptr_t base = slots[0], misaligned = 0;
    if (slots[n - 1] - base > SPAN_MAX)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        uintptr_t span = slots[i] - base;
        misaligned |= span % WORD;
        e->at[i] = (uint16_t)(span / WORD);
    }
    return !misaligned;
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
    if (!old->entry_slot || old->nframes < 2)
        return;
    overflow = overflow_for(c, old->entry_slot, old->first_pc,
                            old->second_pc);
    while (w < CACHE_WAYS - 1 && overflow->way[w].entry_slot &&
           !(overflow->way[w].entry_slot == old->entry_slot &&
             overflow->way[w].site == old->site))
        w++;
    overflow->way[w] = *old;
}

static void learn_walked(struct thread_cache *c, uintptr_t entry_slot,
                         struct site *site, const uintptr_t *slots,
                         const struct unwind_reads *reads)
{
    struct cache_set *set = set_for(c, entry_slot);
    struct cache_entry *e;
    uint32_t n = site->nframes, other = 0, frame = 0;

    /* Misses are remembered where the chain would overflow to: the set
     * itself sees too many chains to remember one until it comes back. */
    /* A chain that cannot be kept pushes none out. */
    if (slots[0] != entry_slot || reads->ends_on_zero ||
        reads->n > UNWIND_READS_MAX ||
        !missed_before(n > 1 ? overflow_for(c, entry_slot, site->frames[0],
                                            site->frames[1])
                             : set,
                       entry_slot, site))
        return;
    demote(c, &set->way[CACHE_WAYS - 1]);
    e = victim(set);
    if (!store_slots(e, slots, n))
        return;
    e->fp_chain = 0;
    /* Loads come in walk order, so a frame-pointer load of frame i is
     * found by moving forward through the slots. */
    for (uint32_t r = 0; r < reads->n; r++) {
        uintptr_t addr = reads->addr[r], value = reads->value[r];
        intptr_t at = (intptr_t)(addr - entry_slot);
        while (frame + 1 < n && slots[frame] - WORD < addr)
            frame++;
        if (frame + 1 < n && addr == slots[frame] - WORD &&
            value == slots[frame + 1] - WORD) {
            e->fp_chain |= UINT32_C(1) << frame;
            continue;
        }
        if (other == CACHE_OTHER_READS || at % (intptr_t)WORD ||
            at / (intptr_t)WORD < INT16_MIN || at / (intptr_t)WORD > INT16_MAX)
            return;
        e->read_at[other] = (int16_t)(at / (intptr_t)WORD);
        e->read_value[other++] = value;
    }
    e->nreads = (uint8_t)other;
    e->nframes = (uint8_t)site->nframes;
    e->first_pc = site->frames[0];
    e->second_pc = n > 1 ? site->frames[1] : 0;
    e->site = site;
    e->entry_slot = entry_slot;
}

void stack_cache_learn(uintptr_t entry_slot, struct site *site,
                       const uintptr_t *slots,
                       const struct unwind_reads *reads)
{
    struct thread_cache *c = cache_of_thread();

    if (!c || !slots || site->nframes > CACHE_DEPTH || site->nframes == 0 ||
        site->frames[0] != *(const uintptr_t *)entry_slot)
        return;
    learn_walked(c, entry_slot, site, slots, reads);
}
