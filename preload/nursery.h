/*
 * nursery.h - the newest blocks of a process that runs one thread, held in
 * a direct-mapped table in front of the live table (live.h). Most blocks
 * die young: of the blocks freed, this share was still in the nursery
 * (replayed with an LD_PRELOAD shim; 128 hashed slots, as before, in
 * brackets): sqlite3 100% (83%), cc1 99.9% (89%), the C++ containers of
 * `make bench` 100% (32%), alloc_churn 96% (5%), python3 93% (33%). A
 * block freed while here never touches the live table, whose insert and
 * remove each take a shard lock (a locked instruction), probe and shift a
 * run of slots, and miss the cache on its slot; a block that lives longer
 * moves there when a newer one needs its slot.
 *
 * The nursery has no lock on the way: only the thread that owns it
 * (nursery_mine) uses it, and only while the process has one thread. Our
 * pthread_create hands its blocks to the live table before the second
 * thread exists. A thread the C library starts behind our back (a
 * SIGEV_THREAD timer's) may free a block that is here before the owner
 * calls again, so the first such free that misses the live table empties
 * the nursery itself: it turns tracer_threaded on, and waits until the
 * owner is not inside a call (nursery_busy). The owner raises
 * nursery_busy, then reads tracer_threaded, with no fence between: the
 * other thread makes up for it with membarrier(2), which runs a full
 * barrier on every thread of the process (the asymmetric Dekker handshake
 * of userspace RCU). Where the kernel has no membarrier, there is no
 * nursery.
 *
 * A program whose blocks mostly outlive the nursery pays for it on every
 * call and gains little. A block leaves it freed (a hit) or pushed out to
 * the live table by a newer one; its owner rests the nursery when more
 * than four are pushed out for each hit, and tries it again after
 * NURSERY_REST_WINDOWS windows. That is where it stops paying, in
 * instructions: a malloc/free pair that misses it costs 57 more than with
 * the nursery resting, one that finds it 236 fewer (callgrind, a program
 * mixing pairs freed at once with a ring of 60,000 blocks, the nursery
 * held on or off). The owner reviews every NURSERY_WINDOW frees and every
 * NURSERY_WINDOW blocks pushed out, so that a program that only
 * allocates, building a large structure, rests it too.
 *
 * A slot is the block's 32-byte chunk modulo a megabyte (address bits 5
 * to 19), not a hash: a megabyte of heap, wherever it starts, takes every
 * slot once, so a heap's young blocks never push each other out until
 * they span more, and blocks allocated one after the other sit side by
 * side, their slots sharing cache lines; the 768 KiB of slots cost the
 * cache little more than the heap itself does (a program touches only as
 * many as its heap spans). CPU time against native on `cxx_containers
 * 170`, medians of 11 to 21 interleaved rounds, one comparison a line:
 *   128 slots hashed (resting) 1.441x; 16,384 hashed 1.389x; 16,384 by
 *     16-byte chunk, 256 KiB windows folded together 1.284x
 *   by 16-byte chunk, 8,192 / 16,384 / 32,768 slots, windows each moved
 *     by a hash: 1.389x / 1.362x / 1.317x
 *   32,768 slots, 512 KiB windows moved by a hash / one megabyte of
 *     32-byte chunks 1.274x / 1.231x: hashed windows overlapped, and 16-
 *     byte chunks left every other slot empty, as glibc never hands out
 *     blocks closer than 32 bytes.
 * Blocks a multiple of a megabyte apart share a slot: as they are that
 * large, or sparse, few are young together.
 *
 * A slot holds the pointer complemented: the reachability scan reads all
 * of the process's writable memory, ours included, and must not find the
 * blocks here as roots. The word of birth and size is complemented too:
 * as it is, every 65.5 us of birth time spans 16 MiB of addresses, and
 * births six minutes into a run look like pointers into the heap.
 */
#ifndef MTRACE_NURSERY_H
#define MTRACE_NURSERY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "live.h"
#include "sites.h"
#include "spinlock.h"

#define NURSERY_BITS 15
#define NURSERY_SLOTS (1u << NURSERY_BITS)
/* glibc's chunks take 32 bytes at least. */
#define NURSERY_CHUNK_SHIFT 5

/* A slot keeps sizes below 2^24 and births below 2^55 ns (1.14 years),
 * in one word whose top bit stays clear; other blocks go to the live
 * table. */
#define NURSERY_SIZE_BITS 24
#define NURSERY_SIZE_LIMIT (UINT64_C(1) << NURSERY_SIZE_BITS)
#define NURSERY_BIRTH_NS_BITS 55
_Static_assert(NURSERY_SIZE_BITS + NURSERY_BIRTH_NS_BITS -
                   LIVE_BIRTH_UNIT_SHIFT == 63, "one word, top bit clear");

/* The site itself, not its id: a free found here reaches the site's
 * counters in one load, where the id goes through the site index, whose
 * lines the program's own work keeps evicting (a tenth of free's time in
 * `cxx_containers 170` under perf waited on them). */
struct nursery_slot {
    uintptr_t key;             /* ~ptr; 0: empty */
    struct site *site;
    uint64_t birth_size;       /* complemented: the birth in
                                * LIVE_BIRTH_UNIT_NS, then the size in the
                                * low NURSERY_SIZE_BITS */
};

extern struct nursery_slot nursery[NURSERY_SLOTS];

/* This thread owns the nursery: the process's first (or forked) thread,
 * until the nursery is handed over. */
extern __thread bool nursery_mine;
/* The owner uses it now: not resting. */
extern __thread bool nursery_on;
/* Frees (and reallocs) that found their block here, and blocks pushed
 * out to the live table by newer ones, this window. */
extern __thread unsigned nursery_hits, nursery_evictions;

#define NURSERY_WINDOW 1024        /* frees, or blocks pushed out */
#define NURSERY_EVICTIONS_PER_HIT 4 /* at most, to stay on */
#define NURSERY_REST_WINDOWS 64

/* Raised by the owner around each call that uses the nursery. */
extern _Atomic int nursery_busy;
/* Some thread owns the nursery (it may hold blocks). */
extern _Atomic bool nursery_owned;
/* Taken by whoever empties the nursery when the process gains a thread:
 * the owner or the new thread, maybe both at once. */
extern spinlock_t nursery_lock;

/* Once, while the process has one thread: whether a thread that arrives
 * unannounced can stop the owner (membarrier is there). */
bool nursery_possible(void);

/* Such a thread: turns tracer_threaded on and returns once the owner is
 * outside any call, never to use the nursery again. */
void nursery_stop_owner(void);

/* This thread takes the nursery, on. */
void nursery_adopt(void);

/* The owner's verdict on a window that just ended (the caller counts
 * frees and blocks pushed out): NURSERY_STOP means empty the nursery into
 * the live table, as it is resting from now on. */
enum nursery_change { NURSERY_KEEP, NURSERY_STOP, NURSERY_START };
enum nursery_change nursery_review(void);

/* Where ptr's entry goes: its 32-byte chunk, modulo a megabyte. */
static inline struct nursery_slot *nursery_slot_of(uintptr_t ptr)
{
    return &nursery[(uint64_t)ptr >> NURSERY_CHUNK_SHIFT &
                    (NURSERY_SLOTS - 1)];
}

static inline bool nursery_holds(const struct nursery_slot *slot,
                                 uintptr_t ptr)
{
    return slot->key == ~ptr;
}

static inline struct site *nursery_site(const struct nursery_slot *slot)
{
    return slot->site;
}

static inline uint64_t nursery_size(const struct nursery_slot *slot)
{
    return ~slot->birth_size & (NURSERY_SIZE_LIMIT - 1);
}

/* As the live table would hand the block out. */
static inline void nursery_unpack(const struct nursery_slot *slot,
                                  struct live_block *out)
{
    out->ptr = ~slot->key;
    out->size_site = nursery_size(slot) |
                     (uint64_t)(slot->site->id & 0xFFFFFFu) << LIVE_SIZE_BITS;
    out->birth_ns = ~slot->birth_size >> NURSERY_SIZE_BITS
                                       << LIVE_BIRTH_UNIT_SHIFT;
}

/* Whether a slot can keep this size and birth: one test, as birth_ns >>
 * 31 reaches 2^24 exactly from 2^55. */
static inline bool nursery_fits(uint64_t size, uint64_t birth_ns)
{
    uint64_t birth_high = birth_ns >> (NURSERY_BIRTH_NS_BITS -
                                       NURSERY_SIZE_BITS);
    return !((size | birth_high) >> NURSERY_SIZE_BITS);
}

/* Stores a block that fits (nursery_fits) in its slot, over whatever was
 * there (the caller has taken that out first). A fatal signal's final
 * snapshot (nursery_for_each) may interrupt this on the same thread: the
 * key goes last, so it never sees a half entry. */
static inline void nursery_put(struct nursery_slot *slot, uintptr_t ptr,
                               uint64_t size, struct site *site,
                               uint64_t birth_ns)
{
    slot->key = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    slot->site = site;
    slot->birth_size = ~(birth_ns >> LIVE_BIRTH_UNIT_SHIFT
                                  << NURSERY_SIZE_BITS | size);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    slot->key = ~ptr;
}

static inline void nursery_clear(struct nursery_slot *slot)
{
    slot->key = 0;
}

/* Calls fn on a copy of every block here, emptying each slot first when
 * `take`. */
void nursery_for_each(void (*fn)(const struct live_block *, void *),
                      void *arg, bool take);

/* Blocks here now. */
unsigned nursery_count(void);

#endif
