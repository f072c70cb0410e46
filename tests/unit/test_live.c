/* test_live.c - the live-block table's operations: insert, remove,
 * replace, growth with deletion, packed entries and their exact side
 * table, random operations against a reference model, threads sharing a
 * shard (the layout: test_live_layout.c). */
#include "suites.h"
#include "expect.h"
#include "live_fixtures.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

static size_t count_cb_calls;

static void count_cb(const struct live_block *b, void *arg)
{
    (void)b;
    (void)arg;
    count_cb_calls++;
}

static size_t overflow_total(void)
{
    size_t n = 0;
    for (unsigned s = 0; s < LIVE_SHARDS; s++) {
        struct live_shard_usage u;
        live_shard_usage(s, &u);
        n += u.overflow_count;
    }
    return n;
}

START_TEST(test_insert_remove_roundtrip)
{
    struct expected model = { 0 };
    uintptr_t p = 0x100000000000ull;
    insert_checked(p, 100, 7, 555 + 3 * LIVE_BIRTH_UNIT_NS, &model);
    EXPECT_EQ(model.birth, 3 * LIVE_BIRTH_UNIT_NS);
    remove_checked(p, &model);          /* checks ptr, size, site, birth */
    remove_checked(p, &model);          /* gone */
}
END_TEST

/* Sizes from 1 MiB up do not pack: the side table keeps them exactly,
 * clamped to LIVE_SIZE_MAX; site ids keep their low 24 bits. */
START_TEST(test_sizes_exact_above_packed_limit)
{
    static const uint64_t sizes[] = {
        0, 1, PACKED_SIZE_LIMIT - 1, PACKED_SIZE_LIMIT, PACKED_SIZE_LIMIT + 1,
        123456789, LIVE_SIZE_MAX - 1, LIVE_SIZE_MAX, LIVE_SIZE_MAX + 1,
        UINT64_MAX,
    };
    enum { N = sizeof sizes / sizeof sizes[0] };
    struct expected model[N] = { { 0 } };
    uintptr_t base = 0x310000000000ull;
    size_t before = live_count(), spilled = overflow_total();

    for (size_t i = 0; i < N; i++)
        insert_checked(base + i * 4096, sizes[i], (uint32_t)(i << 22) - 1, i,
                       &model[i]);
    EXPECT_EQ(live_count(), before + N);
    EXPECT_EQ(overflow_total(), spilled + N - 3);
    count_cb_calls = 0;
    live_for_each(count_cb, NULL, false);
    EXPECT_EQ(count_cb_calls, before + N);
    for (size_t i = 0; i < N; i++)
        remove_checked(base + i * 4096, &model[i]);
    EXPECT_EQ(live_count(), before);
    EXPECT_EQ(overflow_total(), spilled);
}
END_TEST

/* Births come back rounded down to the unit, however late. */
START_TEST(test_birth_rounded_down)
{
    static const uint64_t births[] = {
        0, 1, LIVE_BIRTH_UNIT_NS - 1, LIVE_BIRTH_UNIT_NS,
        LIVE_BIRTH_UNIT_NS + 1, 123456789, 3600ull * 1000000000,
        (UINT64_C(1) << 56) - 1, UINT64_C(1) << 56, UINT64_MAX,
    };
    enum { N = sizeof births / sizeof births[0] };
    struct expected model[N] = { { 0 } };
    uintptr_t base = 0x320000000000ull;

    for (size_t i = 0; i < N; i++) {
        insert_checked(base + i * 16, 48, 9, births[i], &model[i]);
        EXPECT_LE(model[i].birth, births[i]);
        EXPECT(births[i] - model[i].birth < LIVE_BIRTH_UNIT_NS);
    }
    for (size_t i = 0; i < N; i++)
        remove_checked(base + i * 16, &model[i]);
    /* A unit under a millisecond: ages and periods keep their precision. */
    EXPECT_LE(LIVE_BIRTH_UNIT_NS, 1000000);
}
END_TEST

/* A pointer that does not pack (unaligned, at or above 2^47, 0) is exact
 * in the side table and never matches a packed entry whose hash it shares
 * (p + 2^47 does); the smallest and largest pointers that pack too. */
START_TEST(test_odd_pointers_never_match)
{
    uintptr_t p = 0x330000001230ull, top = UINT64_C(1) << 47;
    const uintptr_t odd[] = {
        p + 1, p + 8, p + 15, p + top, p + 2 * top, p | (UINT64_C(1) << 63),
        0, 16, 0xFFFFFFFFFFFFFFF0ull, top - 16, top,
    };
    enum { N = sizeof odd / sizeof odd[0] };
    struct expected anchor = { 0 }, model[N] = { { 0 } };
    size_t before = live_count();

    insert_checked(p, 64, 3, 1000000, &anchor);
    for (size_t i = 0; i < N; i++)
        lookup_checked(odd[i], &model[i]);       /* absent: no false match */
    for (size_t i = 0; i < N; i++)
        insert_checked(odd[i], 100 + i, 20 + (uint32_t)i, i << 20, &model[i]);
    EXPECT_EQ(live_count(), before + N + 1);
    lookup_checked(p, &anchor);
    for (size_t i = 0; i < N; i += 2)
        remove_checked(odd[i], &model[i]);
    lookup_checked(p, &anchor);
    for (size_t i = 0; i < N; i++)
        lookup_checked(odd[i], &model[i]);
    for (size_t i = 1; i < N; i += 2)
        remove_checked(odd[i], &model[i]);
    remove_checked(p, &anchor);
    EXPECT_EQ(live_count(), before);
}
END_TEST

/* A block whose free went unseen is replaced, and returned, wherever it
 * was stored: packed or in the side table. */
START_TEST(test_replace_reports_old_entry)
{
    const uint64_t big = 2 * PACKED_SIZE_LIMIT, small = 32;
    const uint64_t late = UINT64_C(1) << 60;    /* births that do not pack */
    struct expected model = { 0 };
    uintptr_t p = 0x340000000000ull;
    size_t before = live_count(), spilled = overflow_total();

    insert_checked(p, small, 1, 10, &model);
    insert_checked(p, small + 16, 2, 20, &model);      /* packed, packed */
    EXPECT_EQ(overflow_total(), spilled);
    insert_checked(p, big, 3, 30, &model);             /* to the side */
    EXPECT_EQ(overflow_total(), spilled + 1);
    insert_checked(p, big + 1, 4, 40, &model);         /* side, side */
    insert_checked(p, small, 5, late, &model);         /* side: late birth */
    EXPECT_EQ(overflow_total(), spilled + 1);
    insert_checked(p, small, 6, 60, &model);           /* back to packed */
    EXPECT_EQ(overflow_total(), spilled);
    EXPECT_EQ(live_count(), before + 1);
    remove_checked(p, &model);
    remove_checked(p, &model);
    EXPECT_EQ(live_count(), before);
}
END_TEST

START_TEST(test_many_blocks_grow_and_delete)
{
    enum { N = 200000 };
    struct live_block out, replaced;
    bool stored;
    uintptr_t base = 0x400000000000ull;
    size_t before = live_count();

    for (uintptr_t i = 0; i < N; i++)
        live_insert(base + i * 16, i, (uint32_t)(i % 1000) + 1, i << 10,
                    &replaced, &stored);
    EXPECT_EQ(live_count(), before + N);
    /* Remove every other block: the rest must still be found, which
     * exercises backward-shift deletion across clusters. */
    for (uintptr_t i = 0; i < N; i += 2)
        EXPECT(live_remove(base + i * 16, &out));
    for (uintptr_t i = 1; i < N; i += 2) {
        EXPECT(live_remove(base + i * 16, &out));
        EXPECT_EQ(live_block_size(&out), i);
        EXPECT_EQ(out.birth_ns, BIRTH_ROUNDED(i << 10));
    }
    EXPECT_EQ(live_count(), before);
}
END_TEST

START_TEST(test_for_each_visits_every_block)
{
    struct live_block out, replaced;
    bool stored;
    uintptr_t base = 0x500000000000ull;
    for (uintptr_t i = 0; i < 1000; i++)
        live_insert(base + i * 32, 3, 1, 0, &replaced, &stored);
    count_cb_calls = 0;
    live_for_each(count_cb, NULL, false);
    EXPECT_EQ(count_cb_calls, live_count());
    for (uintptr_t i = 0; i < 1000; i++)
        EXPECT(live_remove(base + i * 32, &out));
}
END_TEST

/* Random operations on a pool of distinct pointers of every kind, each
 * result compared with a plain array. */
enum { POOL = 40000, OPS = 400000, AUDIT_EVERY = 25000 };

static uint64_t entry_mix(uintptr_t ptr, uint64_t size, uint32_t site,
                          uint64_t birth)
{
    uint64_t x = ptr * 0x9E3779B97F4A7C15ull ^ size * 0xC2B2AE3D27D4EB4Full ^
                 site * 0x165667B19E3779F9ull ^ birth * 0xD6E8FEB86659FD93ull;
    x ^= x >> 31;
    return x * 0x94D049BB133111EBull;
}

static void mix_cb(const struct live_block *b, void *arg)
{
    *(uint64_t *)arg += entry_mix(b->ptr, live_block_size(b),
                                  live_block_site(b), b->birth_ns);
}

static uint64_t table_mix(void)
{
    uint64_t sum = 0;
    live_for_each(mix_cb, &sum, false);
    return sum;
}

static uintptr_t pool_pointer(size_t i, uint64_t *rng)
{
    uintptr_t dense = 0x600000000000ull, r = live_xorshift(rng);
    switch (i % 8) {
    case 0: case 1: case 2:                  /* close together: clusters */
        return dense + (i / 8 * 3 + i % 8) * 16;
    case 3:                                  /* spread over user space */
        return (i / 8 + 1) * UINT64_C(0x9E3779B970) % (UINT64_C(1) << 47);
    case 4:                                  /* a dense one, misaligned */
        return dense + (i / 8 * 3) * 16 + 1 + r % 15;
    case 5:                  /* a dense one plus k * 2^47: the same hash */
        return dense + (i / 8 * 3 + 1) * 16 + ((r % 131071 + 1) << 47);
    case 6:                                  /* page aligned, like mmap */
        return 0x700000000000ull + (i / 8) * 4096;
    default:                                 /* 0, then anything at all */
        return i / 8 * UINT64_C(0x9E3779B97F4A7C15);
    }
}

static uint64_t random_size(uint64_t r)
{
    switch (r % 10) {
    case 0: return PACKED_SIZE_LIMIT - 2 + (r >> 8) % 4;
    case 1: return (r >> 8) & LIVE_SIZE_MAX;
    case 2: return LIVE_SIZE_MAX - 1 + (r >> 8) % 8;       /* some clamped */
    case 3: return 0;
    default: return (r >> 8) % 4096;
    }
}

static uint64_t random_birth(uint64_t r)
{
    switch (r % 20) {
    case 0: return r;                                       /* anything */
    case 1: return (UINT64_C(1) << 56) - 2 + (r >> 8) % 4;  /* packs or not */
    default: return (r >> 8) % (UINT64_C(1) << 40);
    }
}

START_TEST(test_random_operations_match_model)
{
    uintptr_t *pool = malloc(POOL * sizeof *pool);
    struct expected *model = calloc(POOL, sizeof *model);
    uint64_t rng = 0x9E3779B97F4A7C15ull, base_mix = table_mix();
    size_t base_count = live_count(), present = 0;

    EXPECT(pool && model);
    for (size_t i = 0; i < POOL; i++)     /* distinct: none replaces one */
        insert_checked(pool[i] = pool_pointer(i, &rng), 1, 1, 1, &model[i]);
    for (size_t i = 0; i < POOL; i++)
        remove_checked(pool[i], &model[i]);

    for (size_t op = 1; op <= OPS; op++) {
        uint64_t r = live_xorshift(&rng);
        size_t c = (size_t)(r % POOL);
        unsigned what = (unsigned)(r >> 32) % 10;
        bool was = model[c].present;
        if (what < 5) {
            uint64_t r2 = live_xorshift(&rng), r3 = live_xorshift(&rng);
            insert_checked(pool[c], random_size(r2), (uint32_t)(r3 >> 20),
                           random_birth(r3), &model[c]);
        } else if (what < 9) {
            remove_checked(pool[c], &model[c]);
        } else {
            lookup_checked(pool[c], &model[c]);
        }
        present += (size_t)model[c].present - (size_t)was;
        if (op % AUDIT_EVERY == 0) {
            uint64_t mix = base_mix;
            EXPECT_EQ(live_count(), base_count + present);
            for (size_t i = 0; i < POOL; i++)
                if (model[i].present)
                    mix += entry_mix(pool[i], model[i].size, model[i].site,
                                     model[i].birth);
            EXPECT_EQ(table_mix(), mix);
        }
    }
    EXPECT(overflow_total() > 100);
    for (size_t i = 0; i < POOL; i++)
        remove_checked(pool[i], &model[i]);
    EXPECT_EQ(live_count(), base_count);
    free(pool);
    free(model);
}
END_TEST

/* Threads on their own pointers, sharing shards and their locks: the
 * pointers interleave, 48 bytes apart, so that every shard a thread uses
 * is every other's too (a shard holds whole 1 MiB granules). */
enum { THREADS = 4, THREAD_OPS = 100000, THREAD_POOL = 5000 };
#define THREAD_BASE 0x650000000000ull

static uintptr_t thread_pointer(uintptr_t t, size_t c)
{
    return THREAD_BASE + (c * THREADS + t) * 16 * 3 +
           (c % 4 == 0 ? 8 : 0);                   /* 1/4 odd */
}

static void *thread_churn(void *arg)
{
    uintptr_t t = (uintptr_t)arg;
    struct expected *model = calloc(THREAD_POOL, sizeof *model);
    uint64_t rng = (t + 1) * 0x9E3779B97F4A7C15ull;
    EXPECT(model);
    for (size_t op = 0; op < THREAD_OPS; op++) {
        uint64_t r = live_xorshift(&rng);
        size_t c = (size_t)(r % THREAD_POOL);
        uintptr_t p = thread_pointer(t, c);
        if (model[c].present || (r >> 32) % 3 == 0)
            remove_checked(p, &model[c]);
        else
            insert_checked(p, (r >> 20) % 3 ? 64 : 4 * PACKED_SIZE_LIMIT,
                           (uint32_t)c, op, &model[c]);
    }
    for (size_t c = 0; c < THREAD_POOL; c++)
        remove_checked(thread_pointer(t, c), &model[c]);
    free(model);
    return NULL;
}

START_TEST(test_threads_share_shards)
{
    pthread_t threads[THREADS];
    size_t before = live_count(), home;
    /* All four pools lie in one granule, so in one shard. */
    EXPECT_EQ(live_shard_of(thread_pointer(0, 0), &home),
              live_shard_of(thread_pointer(THREADS - 1, THREAD_POOL - 1),
                            &home));
    EXPECT_EQ((thread_pointer(0, 0) >> 20),
              (thread_pointer(THREADS - 1, THREAD_POOL - 1) >> 20));
    for (uintptr_t t = 0; t < THREADS; t++)
        EXPECT_EQ(pthread_create(&threads[t], NULL, thread_churn,
                                 (void *)t), 0);
    for (unsigned t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    EXPECT_EQ(live_count(), before);
}
END_TEST

Suite *live_suite(void)
{
    Suite *s = suite_create("live");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 120);  /* 400k random operations under ASan */
    tcase_add_test(tc, test_insert_remove_roundtrip);
    tcase_add_test(tc, test_sizes_exact_above_packed_limit);
    tcase_add_test(tc, test_birth_rounded_down);
    tcase_add_test(tc, test_odd_pointers_never_match);
    tcase_add_test(tc, test_replace_reports_old_entry);
    tcase_add_test(tc, test_many_blocks_grow_and_delete);
    tcase_add_test(tc, test_for_each_visits_every_block);
    tcase_add_test(tc, test_random_operations_match_model);
    tcase_add_test(tc, test_threads_share_shards);
    suite_add_tcase(s, tc);
    return s;
}
