/* test_sites.c - site interning (same stack -> same site, kind matters),
 * id lookup, counters with exact peak, and the dirty list. */
#include "suites.h"
#include "sites.h"

#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>

static struct site *intern(const uintptr_t *frames, size_t n, uint32_t kind)
{
    struct stack_key key;
    bool created;
    for (size_t i = 0; i < n; i++)
        key.frames[i] = frames[i];
    return sites_intern(&key, n, kind, &created);
}

static void drain_dirty(void)
{
    for (struct site *s = sites_take_dirty(); s;)
        s = sites_dirty_next(s);
}

START_TEST(test_same_stack_same_site)
{
    uintptr_t a[] = { 0x1000, 0x2000, 0x3000 };
    uintptr_t b[] = { 0x1000, 0x2000, 0x3001 };
    struct site *sa = intern(a, 3, MT_KIND_HEAP);
    ck_assert_ptr_nonnull(sa);
    ck_assert_ptr_eq(intern(a, 3, MT_KIND_HEAP), sa);
    ck_assert_ptr_ne(intern(b, 3, MT_KIND_HEAP), sa);
    ck_assert_ptr_ne(intern(a, 2, MT_KIND_HEAP), sa);   /* a prefix differs */
    ck_assert_ptr_ne(intern(a, 3, MT_KIND_MMAP), sa);   /* kind differs */
    ck_assert_ptr_eq(sites_by_id(sa->id), sa);
    ck_assert_uint_eq(sa->nframes, 3);
    ck_assert_uint_eq(sa->frames[2], 0x3000);
}
END_TEST

START_TEST(test_created_only_once)
{
    uintptr_t f[] = { 0xc0ffee, 0xbeef };
    struct stack_key key = { .frames = { 0xc0ffee, 0xbeef } };
    bool created = false;
    struct site *s = sites_intern(&key, 2, MT_KIND_HEAP, &created);
    ck_assert(created);
    ck_assert_ptr_eq(sites_intern(&key, 2, MT_KIND_HEAP, &created), s);
    ck_assert(!created);
    ck_assert_ptr_eq(intern(f, 2, MT_KIND_HEAP), s);
}
END_TEST

START_TEST(test_many_sites_distinct_ids)
{
    uint32_t last = 0;
    for (uintptr_t i = 0; i < 10000; i++) {
        uintptr_t f[] = { 0xabc000 + i, 42 };
        struct site *s = intern(f, 2, MT_KIND_HEAP);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_gt(s->id, last);
        last = s->id;
        ck_assert_ptr_eq(sites_by_id(s->id), s);
    }
    /* Found again once the lookup array has grown several times. */
    for (uintptr_t i = 0; i < 10000; i += 997) {
        uintptr_t f[] = { 0xabc000 + i, 42 };
        ck_assert_uint_eq(intern(f, 2, MT_KIND_HEAP)->id, last - 9999 + i);
    }
}
END_TEST

START_TEST(test_sites_start_on_a_cache_line)
{
    /* Every allocation reads a site's counters, id and depth: one line. */
    for (uintptr_t depth = 1; depth <= 9; depth++) {
        uintptr_t f[9] = { 0xcafe000, 1, 2, 3, 4, 5, 6, 7, 8 };
        struct site *s = intern(f, depth, MT_KIND_MMAP);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq((uintptr_t)s % SITE_ALIGN, 0);
        ck_assert_uint_le(offsetof(struct site, nframes) +
                          sizeof s->nframes, SITE_ALIGN);
        ck_assert_uint_eq(s->nframes, depth);
        ck_assert_uint_eq(s->frames[depth - 1], f[depth - 1]);
    }
}
END_TEST

START_TEST(test_counters_and_peak)
{
    uintptr_t f[] = { 0x77 };
    struct site *s = intern(f, 1, MT_KIND_HEAP);
    sites_count_alloc(s, 100, false);
    sites_count_alloc(s, 50, false);
    sites_count_free(s, 100, false);
    sites_count_alloc(s, 10, false);
    ck_assert_uint_eq(s->live_bytes, 60);
    ck_assert_uint_eq(s->peak_live_bytes, 150);
    ck_assert_uint_eq(s->allocs, 3);
    ck_assert_uint_eq(s->frees, 1);
    ck_assert_uint_eq(s->bytes_allocated, 160);
}
END_TEST

START_TEST(test_dirty_list_once_per_site)
{
    uintptr_t f1[] = { 0x91 }, f2[] = { 0x92 };
    struct site *s1 = intern(f1, 1, MT_KIND_HEAP);
    struct site *s2 = intern(f2, 1, MT_KIND_HEAP);
    size_t n = 0;
    drain_dirty();
    sites_count_alloc(s1, 1, false);
    sites_count_alloc(s1, 1, false);
    sites_count_alloc(s2, 1, false);
    for (struct site *s = sites_take_dirty(); s; s = sites_dirty_next(s)) {
        ck_assert(s == s1 || s == s2);
        n++;
    }
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_null(sites_take_dirty());
    sites_count_free(s1, 1, false);                       /* queued again */
    ck_assert_ptr_eq(sites_take_dirty(), s1);
    drain_dirty();
}
END_TEST

static struct site *shared_site;

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        sites_count_alloc(shared_site, 8, true);
        sites_count_free(shared_site, 8, true);
    }
    return NULL;
}

START_TEST(test_counters_exact_across_threads)
{
    uintptr_t f[] = { 0x5151 };
    pthread_t t[4];
    shared_site = intern(f, 1, MT_KIND_HEAP);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(shared_site->allocs, 400000);
    ck_assert_uint_eq(shared_site->frees, 400000);
    ck_assert_uint_eq(shared_site->live_bytes, 0);
    ck_assert_uint_le(shared_site->peak_live_bytes, 32);
    ck_assert_uint_ge(shared_site->peak_live_bytes, 8);
    drain_dirty();
}
END_TEST

/* Readers probe the lookup array without the lock while a writer adds
 * sites and grows it under them: every reader must get back exactly the
 * site it interned first, never NULL, another site or a second copy. */
#define RACE_READERS 3
#define RACE_KNOWN 64
#define RACE_NEW 20000
static struct site *race_known[RACE_KNOWN];
static atomic_bool race_done;

static void *race_reader(void *arg)
{
    unsigned mismatches = 0, rounds = 0;
    (void)arg;
    while (!atomic_load(&race_done) || rounds < 10) {
        for (uintptr_t i = 0; i < RACE_KNOWN; i++) {
            uintptr_t f[] = { 0x7ace0000 + i, 0x11, 0x22 };
            mismatches += intern(f, 3, MT_KIND_HEAP) != race_known[i];
        }
        rounds++;
    }
    return (void *)(uintptr_t)mismatches;
}

START_TEST(test_lookup_while_growing)
{
    pthread_t t[RACE_READERS];
    for (uintptr_t i = 0; i < RACE_KNOWN; i++) {
        uintptr_t f[] = { 0x7ace0000 + i, 0x11, 0x22 };
        race_known[i] = intern(f, 3, MT_KIND_HEAP);
        ck_assert_ptr_nonnull(race_known[i]);
    }
    atomic_store(&race_done, false);
    for (int i = 0; i < RACE_READERS; i++)
        pthread_create(&t[i], NULL, race_reader, NULL);
    for (uintptr_t i = 0; i < RACE_NEW; i++) {
        uintptr_t f[] = { 0x5eed0000 + i, 0x33 };
        ck_assert_ptr_nonnull(intern(f, 2, MT_KIND_HEAP));
    }
    atomic_store(&race_done, true);
    for (int i = 0; i < RACE_READERS; i++) {
        void *mismatches;
        pthread_join(t[i], &mismatches);
        ck_assert_uint_eq((uintptr_t)mismatches, 0);
    }
    drain_dirty();
}
END_TEST

Suite *sites_suite(void)
{
    Suite *s = suite_create("sites");
    TCase *tc = tcase_create("sites");
    tcase_add_test(tc, test_same_stack_same_site);
    tcase_add_test(tc, test_created_only_once);
    tcase_add_test(tc, test_many_sites_distinct_ids);
    tcase_add_test(tc, test_sites_start_on_a_cache_line);
    tcase_add_test(tc, test_counters_and_peak);
    tcase_add_test(tc, test_dirty_list_once_per_site);
    tcase_add_test(tc, test_counters_exact_across_threads);
    tcase_add_test(tc, test_lookup_while_growing);
    suite_add_tcase(s, tc);
    return s;
}
