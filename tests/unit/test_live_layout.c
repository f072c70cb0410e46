/* test_live_layout.c - how the live-block table lays its entries out:
 * shards that grow by 1.5x and stay between half and three quarters full,
 * clusters wrapping past a table's end and entries far from home kept
 * findable through deletions, a shard per 1 MiB granule, and a hash that
 * gives every pointer back. */
#include "suites.h"
#include "expect.h"
#include "live_fixtures.h"

#include <stdlib.h>

/* Each shard grows by at most 1.5x when 3/4 full, so its load stays in
 * [1/2, 3/4] and it costs at most 32 bytes a block past its first pages.
 * Inserts until every shard grew twice past that floor, from whatever size
 * earlier tests left it at (the shards of the few granules they filled
 * are large): 48 bytes apart in each of 512 granules in turn, a shard
 * holding whole granules, skipping granules whose shard is done. */
START_TEST(test_growth_keeps_load_between_half_and_three_quarters)
{
    enum { FLOOR_SLOTS = 512, MAX_INSERTS = 4000000, GRANULES = 512 };
    size_t last_slots[LIVE_SHARDS], grown[LIVE_SHARDS] = { 0 };
    size_t bytes = 0, count = 0, shards_done = 0, n = 0;
    struct live_block out, replaced;
    uintptr_t *ptrs = malloc(MAX_INSERTS * sizeof *ptrs);
    bool stored;

    EXPECT(ptrs);
    for (unsigned s = 0; s < LIVE_SHARDS; s++) {
        struct live_shard_usage u;
        live_shard_usage(s, &u);
        last_slots[s] = u.slots;
    }
    for (uintptr_t at = 0; shards_done < LIVE_SHARDS && at < (1 << 20);
         at += 48)
        for (uintptr_t g = 0; g < GRANULES && n < MAX_INSERTS; g++) {
            uintptr_t p = 0x410000000000ull + (g << 20) + at;
            struct live_shard_usage u;
            size_t home;
            unsigned s = live_shard_of(p, &home);
            if (grown[s] >= 2)
                continue;
            EXPECT(!live_insert(p, 24, 1, 0, &replaced, &stored));
            EXPECT(stored);
            ptrs[n++] = p;
            live_shard_usage(s, &u);
            EXPECT_LE(u.count * 4, u.slots * 3);
            if (u.slots == last_slots[s])
                continue;
            if (last_slots[s] >= FLOOR_SLOTS) {
                /* Grown just before this insert, at 3/4 of the old size. */
                EXPECT(u.slots > last_slots[s]);
                EXPECT_LE(u.slots * 2, last_slots[s] * 3);
                EXPECT_GE((u.count - 1) * 2, u.slots); /* 32 bytes a block */
                if (++grown[s] == 2)
                    shards_done++;
            }
            last_slots[s] = u.slots;
        }
    EXPECT_EQ(shards_done, LIVE_SHARDS);
    /* Packed tables only: side tables earlier tests emptied keep pages. */
    for (unsigned s = 0; s < LIVE_SHARDS; s++) {
        struct live_shard_usage u;
        live_shard_usage(s, &u);
        bytes += u.slots * 16;
        count += u.count;
    }
    EXPECT_LE(bytes, count * 32);
    for (size_t i = 0; i < n; i++)
        EXPECT(live_remove(ptrs[i], &out));
    free(ptrs);
}
END_TEST

/* Fills ptrs with pointers of base's shard whose home slots lie at the
 * given offsets from the end of its table (-1: the last slot, 0: the
 * first), after making sure the shard has a table. Returns its slots. */
static size_t pick_by_home(uintptr_t base, const long *offsets, size_t k,
                           uintptr_t *ptrs)
{
    struct expected probe = { 0 };
    struct live_shard_usage u;
    size_t home, found = 0, n;
    unsigned shard = live_shard_of(base, &home);
    bool *taken = calloc(k, sizeof *taken);

    insert_checked(base, 16, 1, 0, &probe);
    remove_checked(base, &probe);
    live_shard_usage(shard, &u);
    EXPECT(taken && u.count == 0);
    n = u.slots;
    for (uintptr_t c = 1; found < k && c < 400000000; c++) {
        if (live_shard_of(base + c * 16, &home) != shard)
            continue;
        for (size_t i = 0; i < k; i++)
            if (!taken[i] && (size_t)((long)n + offsets[i]) % n == home) {
                ptrs[i] = base + c * 16;
                taken[i] = true;
                found++;
                break;
            }
    }
    EXPECT_EQ(found, k);
    free(taken);
    return n;
}

/* Inserts the k pointers in random order and removes them in another,
 * looking up every other one after each removal; `rounds` times. */
static void churn_cluster(const uintptr_t *ptrs, size_t k, size_t nslots,
                          unsigned rounds)
{
    struct expected *model = calloc(k, sizeof *model);
    size_t *order = calloc(k, sizeof *order), home;
    unsigned shard = live_shard_of(ptrs[0], &home);
    uint64_t rng = 0x1234567;
    struct live_shard_usage u;
    EXPECT(model && order);
    for (unsigned round = 0; round < rounds; round++) {
        for (size_t i = 0; i < k; i++)
            order[i] = i;
        for (size_t i = k - 1; i > 0; i--) {      /* Fisher-Yates */
            size_t j = live_xorshift(&rng) % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (size_t i = 0; i < k; i++)
            insert_checked(ptrs[order[i]], order[i] + 1, round,
                           i * LIVE_BIRTH_UNIT_NS, &model[order[i]]);
        live_shard_usage(shard, &u);
        EXPECT(u.count == k && u.slots == nslots);   /* no growth */
        for (size_t i = 0; i < k; i++)
            lookup_checked(ptrs[i], &model[i]);
        for (size_t i = 0; i < k; i++) {
            size_t victim = order[(i * 7 + round) % k];
            while (!model[victim].present)
                victim = (victim + 1) % k;
            remove_checked(ptrs[victim], &model[victim]);
            for (size_t j = 0; j < k; j++)
                lookup_checked(ptrs[j], &model[j]);
        }
    }
    free(model);
    free(order);
}

/* A cluster over the end of a shard's table: homes in its last three
 * slots and its first two. */
START_TEST(test_wraparound_deletion)
{
    static const long offsets[] = { -3, -2, -2, -2, -1, -1, 0, 0, 1 };
    enum { K = sizeof offsets / sizeof offsets[0] };
    uintptr_t ptrs[K];
    churn_cluster(ptrs, K, pick_by_home(0x420000000000ull, offsets, K, ptrs),
                  200);
}
END_TEST

/* 150 entries homed in 8 slots around the end of a table: some sit more
 * than 126 slots from home, beyond what an entry's probe field counts. */
START_TEST(test_entries_far_from_home)
{
    enum { K = 150 };
    long offsets[K];
    uintptr_t ptrs[K];
    for (size_t i = 0; i < K; i++)
        offsets[i] = (long)(i % 8) - 4;
    churn_cluster(ptrs, K, pick_by_home(0x430000000000ull, offsets, K, ptrs),
                  3);
}
END_TEST

/* A shard holds whole 1 MiB granules, so that a thread working in its
 * arena's few granules keeps to a few shards (live.c); granules side by
 * side go to different shards, and every shard gets its share. */
START_TEST(test_shard_follows_the_granule)
{
    enum { GRANULES = 64 * 64 };
    unsigned per_shard[LIVE_SHARDS] = { 0 }, least = GRANULES, most = 0;
    uintptr_t base = 0x7f0000000000ull;
    size_t home;
    for (uintptr_t g = 0; g < GRANULES; g++) {
        uintptr_t granule = base + (g << 20);
        unsigned shard = live_shard_of(granule, &home);
        EXPECT_EQ(live_shard_of(granule + (1 << 20) - 16, &home), shard);
        EXPECT_EQ(live_shard_of(granule + 0x5a5a0, &home), shard);
        per_shard[shard]++;
        if (g > 0)
            EXPECT(shard != live_shard_of(granule - (1 << 20), &home));
    }
    for (unsigned s = 0; s < LIVE_SHARDS; s++) {
        least = per_shard[s] < least ? per_shard[s] : least;
        most = per_shard[s] > most ? per_shard[s] : most;
    }
    /* 64 each on average. */
    EXPECT_GE(least, 48);
    EXPECT_LE(most, 80);
}
END_TEST

/* Whatever shard and home a packed pointer gets, live_for_each hands it
 * back unchanged: the hash is one-to-one over 16-byte aligned pointers
 * below 2^47, the granule's bits and the region's alike. */
static void collect_cb(const struct live_block *b, void *arg)
{
    uintptr_t *seen = arg;
    for (size_t i = 1; i <= seen[0]; i++)
        if (seen[i] == b->ptr)
            seen[i] = 0;
}

START_TEST(test_every_pointer_bit_survives_the_hash)
{
    enum { N = 47 - 4 + 3 };
    uintptr_t ptrs[N], seen[N + 1];
    struct live_block out, replaced;
    bool stored;
    size_t n = 0;
    /* One bit at a time from bit 4 to 46, and three with many bits. */
    for (unsigned bit = 4; bit < 47; bit++)
        ptrs[n++] = (uintptr_t)1 << bit;
    ptrs[n++] = (UINT64_C(1) << 47) - 16;
    ptrs[n++] = 0x555555555550ull;
    ptrs[n++] = 0x2aaaaaaaaaa0ull;
    for (size_t i = 0; i < N; i++) {
        EXPECT(!live_insert(ptrs[i], 8, 3, 0, &replaced, &stored));
        EXPECT(stored);
    }
    seen[0] = N;
    for (size_t i = 0; i < N; i++)
        seen[i + 1] = ptrs[i];
    live_for_each(collect_cb, seen, false);
    for (size_t i = 1; i <= N; i++)
        EXPECT_EQ(seen[i], 0);
    for (size_t i = 0; i < N; i++)
        EXPECT(live_remove(ptrs[i], &out) && out.ptr == ptrs[i]);
}
END_TEST

Suite *live_layout_suite(void)
{
    Suite *s = suite_create("live_layout");
    TCase *tc = tcase_create("live_layout");
    tcase_set_timeout(tc, 120);  /* 4 million inserts under ASan */
    tcase_add_test(tc, test_growth_keeps_load_between_half_and_three_quarters);
    tcase_add_test(tc, test_wraparound_deletion);
    tcase_add_test(tc, test_entries_far_from_home);
    tcase_add_test(tc, test_shard_follows_the_granule);
    tcase_add_test(tc, test_every_pointer_bit_survives_the_hash);
    suite_add_tcase(s, tc);
    return s;
}
