/* record.c - see record.h. */
#include "record.h"

#include "clock.h"
#include "counter.h"
#include "mmap_ranges.h"
#include "modules.h"
#include "nursery.h"
#include "options.h"
#include "sites.h"
#include "snapshot.h"
#include "spinlock.h"
#include "stack.h"
#include "stack_cache.h"
#include "tracer.h"

/* Frees read the clock only now and then, to notice a due snapshot. */
#define FREES_PER_CLOCK_CHECK 64

/* Every allocation and free of every thread writes live: a line of their
 * own (the type's alignment pads it), so that what is read as often, such
 * as tracer_threaded, which the linker had put next to it, is not moved
 * between cores with it. */
struct global_bytes {
    _Atomic uint64_t live, peak;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct global_bytes) == 64, "a line of its own");
static struct global_bytes global_bytes;
static __thread unsigned frees_since_clock_check;
static __thread unsigned frees_since_nursery_review;

static inline __attribute__((always_inline)) void
count_global_growth(uint64_t size, bool shared)
{
    uint64_t live = counter_add(&global_bytes.live, size, shared);
    counter_raise(&global_bytes.peak, live, shared);
}

static inline __attribute__((always_inline)) void
count_alloc(struct site *site, uint64_t size)
{
    bool shared = counters_shared();
    count_global_growth(size, shared);
    sites_count_alloc(site, size, shared);
}

static inline __attribute__((always_inline)) void
release_from_site(struct site *site, uint64_t size)
{
    bool shared = counters_shared();
    counter_sub(&global_bytes.live, size, shared);
    sites_count_free(site, size, shared);
}

/* Inlined into free: one call fewer on every free. */
__attribute__((always_inline)) inline void
record_release(const struct live_block *block)
{
    struct site *site = sites_by_id(live_block_site(block));
    if (site)
        release_from_site(site, live_block_size(block));
}

/* A block moving from the nursery to the live table. One the table cannot
 * take (no memory) is no longer tracked: counted as freed, as the counters
 * follow the table. */
static inline __attribute__((always_inline)) void
record_move_to_table(const struct live_block *block)
{
    struct live_block replaced;
    bool stored;
    if (live_insert(block->ptr, live_block_size(block),
                    live_block_site(block), block->birth_ns, &replaced,
                    &stored))
        record_release(&replaced);
    if (!stored)
        record_release(block);
}

static void move_to_table(const struct live_block *block, void *arg)
{
    (void)arg;
    record_move_to_table(block);
}

static void empty_nursery(void)
{
    spin_lock(&nursery_lock);
    nursery_for_each(move_to_table, NULL, true);
    spin_unlock(&nursery_lock);
}

void record_nursery_hand_over(void)
{
    if (!nursery_mine)
        return;
    empty_nursery();
    nursery_mine = false;
    nursery_on = false;
    atomic_store(&nursery_owned, false);
}

/* A thread started behind our back, missing a block in the live table:
 * the block may be in the nursery of the thread that had the process to
 * itself. Once per process: the nursery is never used again. */
static __attribute__((noinline, cold)) void unannounced_thread(void)
{
    nursery_stop_owner();
    empty_nursery();
    atomic_store(&nursery_owned, false);
}

/* Whether this allocation or free goes through the nursery: its owner's,
 * while the process runs one thread and the nursery is not resting; then
 * nursery_leave() ends the update. The owner that finds a second thread
 * started behind our back hands the nursery over (if that thread has not
 * emptied it already). Between the two, nothing that can wait for another
 * thread (no stack walk, which may take the loader's lock; no snapshot):
 * the thread that stops the owner may hold any lock of the program's or
 * the C library's (a dlclose frees under the loader's). */
static inline bool nursery_enter(void)
{
    if (likely(!nursery_on))
        return false;
    atomic_store_explicit(&nursery_busy, 1, memory_order_relaxed);
    /* No fence: nursery_stop_owner's membarrier stands for it. */
    atomic_signal_fence(memory_order_seq_cst);
    if (likely(!atomic_load_explicit(&tracer_threaded, memory_order_relaxed)))
        return true;
    atomic_store_explicit(&nursery_busy, 0, memory_order_release);
    record_nursery_hand_over();
    return false;
}

static inline void nursery_leave(void)
{
    atomic_store_explicit(&nursery_busy, 0, memory_order_release);
}

/* The full path: unwind, intern, and maybe teach the stack cache. */
static struct site *site_of_call(uintptr_t entry_slot, uint32_t kind)
{
    struct stack_key key;
    uintptr_t slots[MT_MAX_FRAMES];
    struct unwind_reads reads;
    struct site *site;
    bool created, have_slots;
    size_t n = stack_capture(entry_slot, key.frames, slots, &reads,
                             &have_slots, mt_opt.depth);

    site = sites_intern(&key, n, kind, &created);
    if (unlikely(!site))
        return NULL;
    /* A library loaded since the last snapshot may be unloaded before the
     * next: record the map while this stack's modules are still there. */
    if (unlikely(created) && !modules_cover(site->frames, site->nframes))
        modules_capture();
    stack_cache_learn(entry_slot, site, have_slots ? slots : NULL, &reads);
    return site;
}

/* The site of this allocation: the stack cache's, else a walk's. */
static inline __attribute__((always_inline)) struct site *
site_of_alloc(uintptr_t entry_slot, uint32_t kind)
{
    struct site *site = stack_cache_find(entry_slot);
    if (site && unlikely(mt_opt.check_unwind))
        stack_check(site->frames, site->nframes, mt_opt.depth, true);
    return site ? site : site_of_call(entry_slot, kind);
}

static inline __attribute__((always_inline)) void
after_counting(uint64_t now)
{
    if (unlikely(tracer_pristine))
        tracer_pristine = false;
    snapshot_if_due(now);
}

/* Inside the nursery's bracket: the block into its slot, the one there
 * out, to the live table or, at the same address (freed where we could
 * not see it), counted as freed. Whether one went to the table. */
static inline __attribute__((always_inline)) bool
keep_young(struct nursery_slot *young, uintptr_t ptr, uint64_t size,
           struct site *site, uint64_t now)
{
    struct live_block older;
    bool occupied = young->key != 0;
    if (occupied)
        nursery_unpack(young, &older);
    nursery_put(young, ptr, size, site, now);
    if (occupied && older.ptr == ptr)
        record_release(&older);
    else if (occupied)
        record_move_to_table(&older);
    return occupied && older.ptr != ptr;
}

static void review_nursery(void);

void record_alloc(void *ptr, size_t size, uint32_t kind, uintptr_t entry_slot)
{
    struct live_block replaced;
    struct site *site;
    uint64_t now;
    bool stored;
    /* Only this thread changes nursery_on: still on at nursery_enter(),
     * unless that hands the nursery over. */
    struct nursery_slot *young =
        nursery_on ? nursery_slot_of((uintptr_t)ptr) : NULL;
    uint64_t hash = 0;

    /* The table slot the block (or the one it pushes out of the nursery)
     * goes to: its miss overlaps the stack lookup. */
    if (young) {
        /* Outside the nursery's bracket: a thread emptying it may be
         * clearing the slot (then the prefetch is only useless). */
        uintptr_t key = __atomic_load_n(&young->key, __ATOMIC_RELAXED);
        if (key)
            live_prefetch(live_hash(~key));
    } else {
        live_prefetch(hash = live_hash((uintptr_t)ptr));
    }
    if (!(site = site_of_alloc(entry_slot, kind)))
        return;
    if (size > LIVE_SIZE_MAX)
        size = LIVE_SIZE_MAX;
    now = clock_tracer_ns() - tracer_origin_ns;
    if (young && nursery_enter()) {
        if (likely(nursery_fits(size, now))) {
            bool evicted = keep_young(young, (uintptr_t)ptr, size, site, now);
            count_alloc(site, size);
            nursery_leave();
            if (evicted && unlikely(++nursery_evictions >= NURSERY_WINDOW))
                review_nursery();
            after_counting(now);
            return;
        }
        /* Too large for a slot: to the table, but first the same
         * address's young entry (freed where we could not see it), which
         * would otherwise stand for the block at its free. */
        if (unlikely(nursery_holds(young, (uintptr_t)ptr))) {
            struct live_block older;
            nursery_unpack(young, &older);
            nursery_clear(young);
            record_release(&older);
        }
        nursery_leave();
    }
    /* The nursery was handed over meanwhile, or the block is too large
     * for it: the hash prefetched was the slot's older block's. */
    if (young)
        hash = live_hash((uintptr_t)ptr);
    /* A block already at this address was freed where we could not see
     * it (inside the guard): count that free now. */
    if (unlikely(live_insert_hashed(hash, (uintptr_t)ptr, size, site->id,
                                    now, &replaced, &stored)))
        record_release(&replaced);
    if (unlikely(!stored))
        return;
    count_alloc(site, size);
    after_counting(now);
}

/* Refused requests may be absurd (malloc(SIZE_MAX / 2)): three of those
 * wrapped the sum around to a small number. */
static void add_saturating(_Atomic uint64_t *sum, uint64_t add)
{
    uint64_t old = atomic_load_explicit(sum, memory_order_relaxed), new;
    do
        new = old > UINT64_MAX - add ? UINT64_MAX : old + add;
    while (!atomic_compare_exchange_weak_explicit(sum, &old, new,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed));
}

void record_failure(size_t size)
{
    struct stack_key key;
    struct site *site;
    bool created;
    /* Not through the stack cache: it maps a call chain to the site of its
     * successful allocations. Failures are rare; unwinding them is fine. */
    size_t n = stack_capture_slow(key.frames, mt_opt.depth);

    site = sites_intern(&key, n, MT_KIND_FAILED, &created);
    if (!site)
        return;
    atomic_fetch_add_explicit(&site->allocs, 1, memory_order_relaxed);
    add_saturating(&site->bytes_allocated, size);
    /* Freed at once, as far as the counters go: live stays 0. */
    atomic_fetch_add_explicit(&site->frees, 1, memory_order_relaxed);
    sites_mark_dirty(site);
}

/* Under the lock: a thread started behind our back may be emptying the
 * nursery too. A window ends here whichever count ended it, so that the
 * next one, either way, judges a whole window. */
static void review_nursery(void)
{
    frees_since_nursery_review = 0;
    if (nursery_review() == NURSERY_STOP)
        empty_nursery();
}

/* ptr's slot, if the nursery holds it: then the caller takes what it
 * needs, clears the slot and leaves (nursery_leave). */
static inline __attribute__((always_inline)) struct nursery_slot *
find_young(uintptr_t ptr)
{
    struct nursery_slot *young;
    if (!nursery_enter())
        return NULL;
    young = nursery_slot_of(ptr);
    if (nursery_holds(young, ptr)) {
        nursery_hits++;
        return young;
    }
    nursery_leave();
    return NULL;
}

/* Takes ptr's entry out of the live table. */
static inline __attribute__((always_inline)) bool
take_old(uintptr_t ptr, struct live_block *out)
{
    if (likely(live_remove(ptr, out)))
        return true;
    if (unlikely(!tracer_thread_known) &&
        unlikely(atomic_load_explicit(&nursery_owned, memory_order_relaxed))) {
        unannounced_thread();
        return live_remove(ptr, out);
    }
    return false;
}

/* Takes ptr's entry out of the nursery or the live table. */
static inline __attribute__((always_inline)) bool
take_block(uintptr_t ptr, struct live_block *out)
{
    struct nursery_slot *young = find_young(ptr);
    if (young) {
        nursery_unpack(young, out);
        nursery_clear(young);
        nursery_leave();
        return true;
    }
    return take_old(ptr, out);
}

/* Takes ptr's entry out and counts it freed. A block found in the
 * nursery gives its site from the slot: no trip through the site index. */
static inline __attribute__((always_inline)) bool
release_block(uintptr_t ptr)
{
    struct nursery_slot *young = find_young(ptr);
    struct live_block block;
    if (young) {
        struct site *site = nursery_site(young);
        uint64_t size = nursery_size(young);
        nursery_clear(young);
        nursery_leave();
        release_from_site(site, size);
        return true;
    }
    if (!take_old(ptr, &block))
        return false;
    record_release(&block);
    return true;
}

bool record_free(void *ptr)
{
    if (!release_block((uintptr_t)ptr))
        return false;
    if (unlikely(tracer_pristine))
        tracer_pristine = false;
    if (unlikely(++frees_since_clock_check >= FREES_PER_CLOCK_CHECK)) {
        frees_since_clock_check = 0;
        snapshot_if_due(clock_tracer_ns() - tracer_origin_ns);
        if ((frees_since_nursery_review += FREES_PER_CLOCK_CHECK) >=
            NURSERY_WINDOW)
            review_nursery();
    }
    return true;
}

bool record_free_quietly(void *ptr)
{
    return release_block((uintptr_t)ptr);
}

bool record_detach(void *ptr, struct live_block *block)
{
    return take_block((uintptr_t)ptr, block);
}

void record_restore(const struct live_block *block)
{
    struct live_block replaced;
    bool stored;
    live_insert(block->ptr, live_block_size(block), live_block_site(block),
                block->birth_ns, &replaced, &stored);
}

uint32_t record_site_of_mapping(uintptr_t entry_slot)
{
    struct site *site = site_of_alloc(entry_slot, MT_KIND_MMAP);
    return site ? site->id : 0;
}

uint64_t record_now_ns(void)
{
    return clock_tracer_ns() - tracer_origin_ns;
}

void record_block_added(uint32_t site_id, uint64_t bytes)
{
    struct site *site = sites_by_id(site_id);
    if (site)
        count_alloc(site, bytes);
}

void record_block_split(uint32_t site_id)
{
    struct site *site = sites_by_id(site_id);
    if (!site)
        return;
    counter_add(&site->allocs, 1, counters_shared());
    sites_mark_dirty(site);
}

void record_block_grown(uint32_t site_id, uint64_t bytes)
{
    struct site *site = sites_by_id(site_id);
    bool shared = counters_shared();
    if (!site)
        return;
    count_global_growth(bytes, shared);
    sites_count_growth(site, bytes, shared);
}

void record_bytes_released(uint32_t site_id, uint64_t bytes,
                           bool whole_block)
{
    struct site *site = sites_by_id(site_id);
    bool shared = counters_shared();
    if (!site)
        return;
    counter_sub(&global_bytes.live, bytes, shared);
    if (whole_block) {
        sites_count_free(site, bytes, shared);
    } else {
        counter_sub(&site->live_bytes, bytes, shared);
        sites_mark_dirty(site);
    }
}

void record_mappings_changed(uint64_t now_ns)
{
    after_counting(now_ns);
}

struct piece_walk {
    void (*fn)(const struct live_block *, void *);
    void *arg;
};

/* A piece as the live table would hand it out. Pieces of 1 TiB or more
 * show the live table's largest size, as record_alloc clamps a block. */
static void piece_as_block(const struct mmap_piece *piece, void *arg)
{
    struct piece_walk *walk = arg;
    uint64_t size = piece->len > LIVE_SIZE_MAX ? LIVE_SIZE_MAX : piece->len;
    struct live_block block = {
        .ptr = piece->start,
        .birth_ns = piece->birth_ns & ~(LIVE_BIRTH_UNIT_NS - 1),
        .size_site = (uint64_t)piece->site << LIVE_SIZE_BITS | size,
    };
    walk->fn(&block, walk->arg);
}

void record_for_each_live(void (*fn)(const struct live_block *, void *),
                          void *arg, bool bounded)
{
    struct piece_walk walk = { fn, arg };
    live_for_each(fn, arg, bounded);
    /* Another thread's nursery is handed over at its next call. */
    if (nursery_mine)
        nursery_for_each(fn, arg, false);
    if (!mt_opt.mmap)
        return;
    if (bounded ? spin_lock_bounded(&mmap_ranges_lock, 1000)
                : (spin_lock(&mmap_ranges_lock), true)) {
        mmap_ranges_for_each(piece_as_block, &walk);
        spin_unlock(&mmap_ranges_lock);
    }
}

size_t record_live_count(void)
{
    return live_count() + (nursery_mine ? nursery_count() : 0) +
           (mt_opt.mmap ? mmap_ranges_count() : 0);
}

uint64_t record_live_bytes(void)
{
    return atomic_load_explicit(&global_bytes.live, memory_order_relaxed);
}

uint64_t record_peak_live_bytes(void)
{
    return atomic_load_explicit(&global_bytes.peak, memory_order_relaxed);
}
