/* test_nursery.c - the nursery (preload/nursery.h): entries come back as
 * the live table would give them, no slot holds a block's address as it
 * is, walks with and without emptying, slots that take a megabyte of
 * the heap one-to-one and in order, the review that rests the nursery and
 * wakes it, and a thread arriving unannounced waiting for the owner to
 * leave it. */
#include "suites.h"
#include "nursery.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "counter.h"

static void empty_nursery(void)
{
    memset(nursery, 0, sizeof nursery);
}

/* Sites stand in for interned ones: the nursery only keeps the pointer
 * and reads the id. */
static struct site site_a = { .id = 0x234567 }, site_b = { .id = 1 };

START_TEST(test_put_and_unpack_as_the_live_table_keeps_them)
{
    uintptr_t ptr = 0x55550000a010;
    struct nursery_slot *slot = nursery_slot_of(ptr);
    struct live_block out;
    uint64_t late = (UINT64_C(1) << NURSERY_BIRTH_NS_BITS) - 1;

    empty_nursery();
    ck_assert(!nursery_holds(slot, ptr));
    nursery_put(slot, ptr, 4096, &site_a, 3 * LIVE_BIRTH_UNIT_NS + 999);
    ck_assert(nursery_holds(slot, ptr));
    ck_assert(!nursery_holds(slot, ptr + 16));
    ck_assert_ptr_eq(nursery_site(slot), &site_a);
    ck_assert_uint_eq(nursery_size(slot), 4096);
    nursery_unpack(slot, &out);
    ck_assert_uint_eq(out.ptr, ptr);
    ck_assert_uint_eq(live_block_size(&out), 4096);
    ck_assert_uint_eq(live_block_site(&out), 0x234567);
    /* Births round down, as live.h keeps them. */
    ck_assert_uint_eq(out.birth_ns, 3 * LIVE_BIRTH_UNIT_NS);
    /* The largest size and the latest birth a slot keeps. */
    ck_assert(nursery_fits(NURSERY_SIZE_LIMIT - 1, late));
    ck_assert(!nursery_fits(NURSERY_SIZE_LIMIT, 0));
    ck_assert(!nursery_fits(1, late + 1));
    nursery_put(slot, ptr, NURSERY_SIZE_LIMIT - 1, &site_b, late);
    nursery_unpack(slot, &out);
    ck_assert_uint_eq(live_block_size(&out), NURSERY_SIZE_LIMIT - 1);
    ck_assert_uint_eq(live_block_site(&out), 1);
    ck_assert_uint_eq(out.birth_ns, late & ~(LIVE_BIRTH_UNIT_NS - 1));
    nursery_clear(slot);
    ck_assert(!nursery_holds(slot, ptr));
    ck_assert_uint_eq(nursery_count(), 0);
}
END_TEST

START_TEST(test_no_slot_holds_a_raw_address)
{
    /* The reachability scan reads our memory too: a word here that looks
     * like an address in a block would make that block look reachable.
     * Neither the key nor the word of birth and size may: the second,
     * kept as it is, would read 0x555555559040 for this birth (366.5 s)
     * and size, inside a PIE program's heap. Only the site pointer,
     * which points into the tracer's own memory, is an address. */
    uintptr_t ptr = 0x7f0012345670, word;
    uint64_t birth_ns = UINT64_C(0x555555) << LIVE_BIRTH_UNIT_SHIFT;
    empty_nursery();
    nursery_put(nursery_slot_of(ptr), ptr, 0x559040, &site_b, birth_ns);
    for (size_t at = 0; at < sizeof nursery; at += sizeof word) {
        if (at % sizeof(struct nursery_slot) ==
            offsetof(struct nursery_slot, site))
            continue;
        memcpy(&word, (const char *)nursery + at, sizeof word);
        /* Empty, or beyond any user-space address (2^47). */
        ck_assert(word == 0 || word >> 47 != 0);
    }
    ck_assert_uint_eq(nursery_size(nursery_slot_of(ptr)), 0x559040);
}
END_TEST

struct walk {
    unsigned calls;
    uint64_t bytes;
    unsigned held_during;      /* blocks still here during the last call */
};

static void walk_cb(const struct live_block *b, void *arg)
{
    struct walk *w = arg;
    w->calls++;
    w->bytes += live_block_size(b);
    w->held_during = nursery_count();
}

START_TEST(test_walks_with_and_without_emptying)
{
    struct walk w = { 0, 0, 0 };
    unsigned n = 0;
    empty_nursery();
    /* Neighbours take neighbouring slots; the last address shares the
     * first one's slot, and takes it. */
    uintptr_t first = 0x100000, shared = first + 32;
    while (nursery_slot_of(shared) != nursery_slot_of(first))
        shared += 32;
    for (uintptr_t p = first; p < first + 64 * 32; p += 32) {
        struct nursery_slot *slot = nursery_slot_of(p);
        n += slot->key == 0;
        nursery_put(slot, p, 10, &site_b, 0);
    }
    nursery_put(nursery_slot_of(shared), shared, 10, &site_b, 0);
    ck_assert(nursery_holds(nursery_slot_of(first), shared));
    ck_assert_uint_eq(nursery_count(), n);
    ck_assert_uint_eq(n, 64);
    nursery_for_each(walk_cb, &w, false);
    ck_assert_uint_eq(w.calls, n);
    ck_assert_uint_eq(w.bytes, 10 * n);
    ck_assert_uint_eq(nursery_count(), n);
    memset(&w, 0, sizeof w);
    nursery_for_each(walk_cb, &w, true);
    ck_assert_uint_eq(w.calls, n);
    /* Each slot is emptied before its block is handed on. */
    ck_assert_uint_eq(w.held_during, 0);
    ck_assert_uint_eq(nursery_count(), 0);
}
END_TEST

/* Any megabyte of 32-byte chunks, wherever it starts, takes every slot
 * once, in the heap's order (a line holds the slots of blocks allocated
 * one after the other): a heap's young blocks never push each other out
 * until they span more. Addresses a megabyte apart share a slot. */
START_TEST(test_a_megabyte_takes_every_slot_in_order)
{
    static bool used[NURSERY_SLOTS];
    uintptr_t base = 0x55d4c0a2e010, span = (uintptr_t)NURSERY_SLOTS << 5;
    unsigned distinct = 0;
    memset(used, 0, sizeof used);
    for (uintptr_t p = base; p < base + span; p += 32) {
        size_t at = (size_t)(nursery_slot_of(p) - nursery);
        ck_assert_uint_lt(at, NURSERY_SLOTS);
        distinct += !used[at];
        used[at] = true;
        if (p > base && at > 0)
            ck_assert_uint_eq(at, (size_t)(nursery_slot_of(p - 32) -
                                           nursery) + 1);
    }
    ck_assert_uint_eq(distinct, NURSERY_SLOTS);
    ck_assert_uint_eq(span, 1u << 20);
    ck_assert_ptr_eq(nursery_slot_of(base + span), nursery_slot_of(base));
    /* Blocks 16 bytes apart, which glibc never hands out, share one. */
    ck_assert_ptr_eq(nursery_slot_of(base - 16), nursery_slot_of(base));
}
END_TEST

START_TEST(test_review_rests_and_wakes)
{
    nursery_mine = false;
    nursery_on = false;
    ck_assert_int_eq(nursery_review(), NURSERY_KEEP);   /* not the owner */
    nursery_adopt();
    ck_assert(nursery_mine && nursery_on);
    /* Four blocks pushed out for each freed here: still worth it. */
    nursery_hits = 100;
    nursery_evictions = 100 * NURSERY_EVICTIONS_PER_HIT;
    ck_assert_int_eq(nursery_review(), NURSERY_KEEP);
    ck_assert(nursery_on);
    ck_assert_uint_eq(nursery_hits, 0);
    ck_assert_uint_eq(nursery_evictions, 0);
    /* Frees of blocks from elsewhere only: it costs them little. */
    ck_assert_int_eq(nursery_review(), NURSERY_KEEP);
    nursery_hits = 100;
    nursery_evictions = 100 * NURSERY_EVICTIONS_PER_HIT + 1;
    ck_assert_int_eq(nursery_review(), NURSERY_STOP);
    ck_assert(!nursery_on && nursery_mine);
    for (unsigned i = 1; i < NURSERY_REST_WINDOWS; i++)
        ck_assert_int_eq(nursery_review(), NURSERY_KEEP);
    ck_assert(!nursery_on);
    ck_assert_int_eq(nursery_review(), NURSERY_START);
    ck_assert(nursery_on);
    /* Woken into a phase that only allocates: rests again at once. */
    nursery_evictions = NURSERY_WINDOW;
    ck_assert_int_eq(nursery_review(), NURSERY_STOP);
    nursery_mine = false;
    nursery_on = false;
}
END_TEST

static atomic_bool stopper_returned;

static void *stop_owner(void *arg)
{
    (void)arg;
    nursery_stop_owner();
    atomic_store(&stopper_returned, true);
    return NULL;
}

START_TEST(test_a_new_thread_waits_for_the_owner_to_leave)
{
    struct timespec pause = { 0, 50 * 1000 * 1000 };
    long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    bool usable = commands > 0 &&
                  (commands & (MEMBARRIER_CMD_PRIVATE_EXPEDITED |
                               MEMBARRIER_CMD_GLOBAL));
    pthread_t t;
    /* Debian 12's kernel has membarrier; a sandbox may refuse it, and
     * then there must be no nursery at all. */
    ck_assert_int_eq(nursery_possible(), usable);
    if (!usable)
        return;
    atomic_store(&tracer_threaded, false);
    atomic_store(&stopper_returned, false);
    atomic_store(&nursery_busy, 1);         /* the owner is inside a call */
    ck_assert_int_eq(pthread_create(&t, NULL, stop_owner, NULL), 0);
    nanosleep(&pause, NULL);
    ck_assert(!atomic_load(&stopper_returned));
    ck_assert(atomic_load(&tracer_threaded));   /* the owner would see it */
    atomic_store(&nursery_busy, 0);         /* ... and leaves */
    pthread_join(t, NULL);
    ck_assert(atomic_load(&stopper_returned));
    atomic_store(&tracer_threaded, false);
}
END_TEST

Suite *nursery_suite(void)
{
    Suite *s = suite_create("nursery");
    TCase *tc = tcase_create("nursery");
    tcase_add_test(tc, test_put_and_unpack_as_the_live_table_keeps_them);
    tcase_add_test(tc, test_no_slot_holds_a_raw_address);
    tcase_add_test(tc, test_walks_with_and_without_emptying);
    tcase_add_test(tc, test_a_megabyte_takes_every_slot_in_order);
    tcase_add_test(tc, test_review_rests_and_wakes);
    tcase_add_test(tc, test_a_new_thread_waits_for_the_owner_to_leave);
    suite_add_tcase(s, tc);
    return s;
}
