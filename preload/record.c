/* record.c - see record.h. */
#include "record.h"

#include "clock.h"
#include "counter.h"
#include "modules.h"
#include "options.h"
#include "sites.h"
#include "snapshot.h"
#include "stack.h"
#include "stack_cache.h"
#include "tracer.h"

/* Frees read the clock only now and then, to notice a due snapshot. */
#define FREES_PER_CLOCK_CHECK 64

static _Atomic uint64_t global_live_bytes;
static _Atomic uint64_t global_peak_bytes;
static __thread unsigned frees_since_clock_check;

static void count_alloc(struct site *site, uint64_t size)
{
    bool shared = counters_shared();
    uint64_t live = counter_add(&global_live_bytes, size, shared);
    counter_raise(&global_peak_bytes, live, shared);
    sites_count_alloc(site, size, shared);
}

/* Inlined into free: one call fewer on every free. */
__attribute__((always_inline)) inline void
record_release(const struct live_block *block)
{
    struct site *site = sites_by_id(live_block_site(block));
    uint64_t size = live_block_size(block);
    bool shared = counters_shared();
    if (!site)
        return;
    counter_sub(&global_live_bytes, size, shared);
    sites_count_free(site, size, shared);
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

void record_alloc(void *ptr, size_t size, uint32_t kind, uintptr_t entry_slot)
{
    struct live_block replaced;
    struct site *site;
    uint64_t now;
    bool stored;

    live_prefetch((uintptr_t)ptr);
    site = stack_cache_find(entry_slot);
    if (site && unlikely(mt_opt.check_unwind))
        stack_check(site->frames, site->nframes, mt_opt.depth, true);
    if (!site && !(site = site_of_call(entry_slot, kind)))
        return;
    if (size > LIVE_SIZE_MAX)
        size = LIVE_SIZE_MAX;
    now = clock_tracer_ns() - tracer_origin_ns;
    /* A block already at this address was freed where we could not see
     * it (inside the guard): count that free now. */
    if (unlikely(live_insert((uintptr_t)ptr, size, site->id, now, &replaced,
                             &stored)))
        record_release(&replaced);
    if (unlikely(!stored))
        return;
    count_alloc(site, size);
    if (unlikely(tracer_pristine))
        tracer_pristine = false;
    snapshot_if_due(now);
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
    atomic_fetch_add_explicit(&site->bytes_allocated, size,
                              memory_order_relaxed);
    /* Freed at once, as far as the counters go: live stays 0. */
    atomic_fetch_add_explicit(&site->frees, 1, memory_order_relaxed);
    sites_mark_dirty(site);
}

bool record_free(void *ptr)
{
    struct live_block block;
    if (!live_remove((uintptr_t)ptr, &block))
        return false;
    record_release(&block);
    if (unlikely(tracer_pristine))
        tracer_pristine = false;
    if (unlikely(++frees_since_clock_check >= FREES_PER_CLOCK_CHECK)) {
        frees_since_clock_check = 0;
        snapshot_if_due(clock_tracer_ns() - tracer_origin_ns);
    }
    return true;
}

bool record_detach(void *ptr, struct live_block *block)
{
    return live_remove((uintptr_t)ptr, block);
}

void record_restore(const struct live_block *block)
{
    struct live_block replaced;
    bool stored;
    live_insert(block->ptr, live_block_size(block), live_block_site(block),
                block->birth_ns, &replaced, &stored);
}

uint64_t record_live_bytes(void)
{
    return atomic_load_explicit(&global_live_bytes, memory_order_relaxed);
}

uint64_t record_peak_live_bytes(void)
{
    return atomic_load_explicit(&global_peak_bytes, memory_order_relaxed);
}
