/*
 * sites.h - the call-site table: one entry per distinct (kind, stack),
 * with the counters the snapshots report. Interning takes a lock only the
 * first time any thread meets a stack (site_lookup.h); counting is
 * lock-free.
 */
#ifndef MTRACE_SITES_H
#define MTRACE_SITES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uthash.h>

#include "counter.h"
#include "spinlock.h"
#include "trace_format.h"

/* Site ids must fit the live table's 24-bit field; id 0 is "no site". */
#define SITE_ID_MAX ((1u << 24) - 1)

struct memo_layout;                /* chain_memo.c */

/* Sites start on a cache line (SITE_ALIGN), and what every allocation
 * reads or writes comes first: the counters, the dirty flag, the id the
 * live table keeps and the depth a cached chain is proved to; then the
 * frames. */
#define SITE_ALIGN 64

struct site {
    /* Counters: written by every thread, atomically. */
    _Atomic uint64_t live_bytes;
    _Atomic uint64_t allocs;
    _Atomic uint64_t frees;
    _Atomic uint64_t bytes_allocated;
    _Atomic uint64_t peak_live_bytes;
    atomic_int dirty;              /* queued for the next snapshot */

    /* Written once at interning. */
    uint32_t id;
    uint32_t kind;                 /* enum mt_site_kind */
    uint32_t nframes;
    uint64_t hash;

    struct site *_Atomic next_dirty;

    /* Set by the chain memo (chain_memo.c), maybe replaced: how the walk
     * that found this stack laid it out. */
    struct memo_layout *_Atomic memo_layout;

    /* Owned by the snapshot writer (under its lock). */
    bool written;                  /* SITE record is in the current file */
    uint64_t reported_live, reported_allocs, reported_frees, reported_bytes;

    UT_hash_handle hh;
    struct site *next_all;         /* every site, for a new file */
    uint64_t key_header;           /* the hash key: this word + frames */
    uintptr_t frames[];
};

/* A stack as the site table keys it: kind and depth, then the frames. */
struct stack_key {
    uint64_t header;               /* filled in by sites_intern */
    uintptr_t frames[MT_MAX_FRAMES];
};

/* The site for this stack, created on first sight (then *created is
 * set); NULL when out of memory or ids (the allocation then goes
 * unrecorded). */
struct site *sites_intern(struct stack_key *key, size_t nframes,
                          uint32_t kind, bool *created);

struct site *sites_by_id(uint32_t id);

static inline void sites_mark_dirty(struct site *site);

/* A live block `size` bytes larger (a new one, or one grown in place):
 * live bytes, peak, bytes allocated; marked last, after every count. */
static inline void sites_count_growth(struct site *site, uint64_t size,
                                      bool shared)
{
    uint64_t live = counter_add(&site->live_bytes, size, shared);
    counter_raise(&site->peak_live_bytes, live, shared);
    counter_add(&site->bytes_allocated, size, shared);
    sites_mark_dirty(site);
}

static inline void sites_count_alloc(struct site *site, uint64_t size,
                                     bool shared)
{
    counter_add(&site->allocs, 1, shared);
    sites_count_growth(site, size, shared);
}

static inline void sites_count_free(struct site *site, uint64_t size,
                                    bool shared)
{
    counter_sub(&site->live_bytes, size, shared);
    counter_add(&site->frees, 1, shared);
    sites_mark_dirty(site);
}

extern struct site *_Atomic sites_dirty_head;

static inline void sites_mark_dirty(struct site *site)
{
    struct site *head;
    if (atomic_load_explicit(&site->dirty, memory_order_relaxed) ||
        atomic_exchange_explicit(&site->dirty, 1, memory_order_acq_rel))
        return;
    head = atomic_load_explicit(&sites_dirty_head, memory_order_relaxed);
    do
        site->next_dirty = head;
    while (!atomic_compare_exchange_weak_explicit(&sites_dirty_head, &head,
                                                  site, memory_order_release,
                                                  memory_order_relaxed));
}

/* Takes the whole dirty list; each site's dirty flag is cleared as the
 * caller walks it with sites_dirty_next. */
struct site *sites_take_dirty(void);
struct site *sites_dirty_next(struct site *site);

/* After fork, in the child (one thread): a site another thread was
 * queueing would stay flagged but unqueued; queue every site afresh. */
void sites_rebuild_dirty_list(void);

/* Every site, newest first (for rewriting them into a new file). */
struct site *sites_all(void);

extern spinlock_t sites_lock;  /* taken around fork by lifecycle.c */

#endif
