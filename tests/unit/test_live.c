/* test_live.c - the live-block table: insert, remove, replace, growth,
 * backward-shift deletion keeping every other entry findable. */
#include "suites.h"
#include "live.h"

#include <stdlib.h>

static size_t count_cb_calls;
static uint64_t sum_cb_sizes;

static void count_cb(const struct live_block *b, void *arg)
{
    (void)arg;
    count_cb_calls++;
    sum_cb_sizes += live_block_size(b);
}

/* The table is global: every test uses its own address range and removes
 * what it inserted. */
START_TEST(test_insert_remove_roundtrip)
{
    struct live_block out, replaced;
    bool stored;
    uintptr_t base = 0x100000000000ull;
    ck_assert(!live_insert(base, 100, 7, 555, &replaced, &stored));
    ck_assert(stored);
    ck_assert(live_remove(base, &out));
    ck_assert_uint_eq(out.ptr, base);
    ck_assert_uint_eq(live_block_size(&out), 100);
    ck_assert_uint_eq(live_block_site(&out), 7);
    ck_assert_uint_eq(out.birth_ns, 555);
    ck_assert(!live_remove(base, &out));
}
END_TEST

START_TEST(test_replace_reports_old_entry)
{
    struct live_block out, replaced;
    bool stored;
    uintptr_t p = 0x200000000000ull;
    ck_assert(!live_insert(p, 10, 1, 1, &replaced, &stored));
    ck_assert(live_insert(p, 20, 2, 2, &replaced, &stored));
    ck_assert_uint_eq(live_block_size(&replaced), 10);
    ck_assert_uint_eq(live_block_site(&replaced), 1);
    ck_assert(live_remove(p, &out));
    ck_assert_uint_eq(live_block_size(&out), 20);
    ck_assert(!live_remove(p, &out));
}
END_TEST

START_TEST(test_size_clamped_and_site_kept)
{
    struct live_block out, replaced;
    bool stored;
    uintptr_t p = 0x300000000000ull;
    live_insert(p, LIVE_SIZE_MAX + 5, (1u << 24) - 1, 0, &replaced, &stored);
    ck_assert(live_remove(p, &out));
    ck_assert_uint_eq(live_block_size(&out), LIVE_SIZE_MAX);
    ck_assert_uint_eq(live_block_site(&out), (1u << 24) - 1);
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
        live_insert(base + i * 16, i, (uint32_t)(i % 1000) + 1, i,
                    &replaced, &stored);
    ck_assert_uint_eq(live_count(), before + N);
    /* Remove every other block: the rest must still be found, which
     * exercises backward-shift deletion across clusters. */
    for (uintptr_t i = 0; i < N; i += 2)
        ck_assert(live_remove(base + i * 16, &out));
    for (uintptr_t i = 1; i < N; i += 2) {
        ck_assert(live_remove(base + i * 16, &out));
        ck_assert_uint_eq(live_block_size(&out), i);
        ck_assert_uint_eq(out.birth_ns, i);
    }
    ck_assert_uint_eq(live_count(), before);
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
    sum_cb_sizes = 0;
    live_for_each(count_cb, NULL, false);
    ck_assert_uint_eq(count_cb_calls, live_count());
    ck_assert_uint_ge(sum_cb_sizes, 3000);
    for (uintptr_t i = 0; i < 1000; i++)
        ck_assert(live_remove(base + i * 32, &out));
}
END_TEST

Suite *live_suite(void)
{
    Suite *s = suite_create("live");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 60);   /* 200k blocks on a loaded machine */
    tcase_add_test(tc, test_insert_remove_roundtrip);
    tcase_add_test(tc, test_replace_reports_old_entry);
    tcase_add_test(tc, test_size_clamped_and_site_kept);
    tcase_add_test(tc, test_many_blocks_grow_and_delete);
    tcase_add_test(tc, test_for_each_visits_every_block);
    suite_add_tcase(s, tc);
    return s;
}
