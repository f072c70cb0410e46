/* test_buckets.c - every survivor in exactly one bucket, at the edges. */
#include "suites.h"

#include "buckets.h"

static const struct bucket_thresholds th = { .young_ns = 1000000000ull,
                                             .large_bytes = 131072 };
#define END 10000000000ull

START_TEST(test_large_boundary)
{
    /* size == large is large, whatever the age */
    ck_assert_int_eq(bucket_classify(&th, 131072, END, END), BUCKET_LARGE);
    ck_assert_int_eq(bucket_classify(&th, 131072, 0, END), BUCKET_LARGE);
    ck_assert_int_eq(bucket_classify(&th, UINT64_MAX, 0, END), BUCKET_LARGE);
    ck_assert_int_ne(bucket_classify(&th, 131071, END, END), BUCKET_LARGE);
}
END_TEST

START_TEST(test_young_boundary)
{
    /* age == young is old; one nanosecond less is young */
    ck_assert_int_eq(bucket_classify(&th, 131071, END - th.young_ns, END),
                     BUCKET_OLD);
    ck_assert_int_eq(bucket_classify(&th, 131071, END - th.young_ns + 1, END),
                     BUCKET_YOUNG);
    ck_assert_int_eq(bucket_classify(&th, 1, END, END), BUCKET_YOUNG);
    ck_assert_int_eq(bucket_classify(&th, 1, 0, END), BUCKET_OLD);
}
END_TEST

START_TEST(test_birth_after_end_is_young)
{
    ck_assert_int_eq(bucket_classify(&th, 8, END + 5, END), BUCKET_YOUNG);
}
END_TEST

START_TEST(test_zero_thresholds)
{
    const struct bucket_thresholds zero = { 0, 0 };
    const struct bucket_thresholds none = { 0, UINT64_MAX };
    ck_assert_int_eq(bucket_classify(&zero, 0, END, END), BUCKET_LARGE);
    ck_assert_int_eq(bucket_classify(&none, 1, END, END), BUCKET_OLD);
}
END_TEST

START_TEST(test_totals)
{
    struct bucket_totals a = { { 0 }, { 0 } }, b = { { 0 }, { 0 } };
    bucket_totals_add(&a, BUCKET_YOUNG, 10, 1);
    bucket_totals_add(&a, BUCKET_YOUNG, 5, 2);
    bucket_totals_add(&b, BUCKET_LARGE, 200000, 1);
    bucket_totals_add(&b, BUCKET_OLD, 7, 1);
    bucket_totals_merge(&a, &b);
    ck_assert_uint_eq(a.bytes[BUCKET_YOUNG], 15);
    ck_assert_uint_eq(a.blocks[BUCKET_YOUNG], 3);
    ck_assert_uint_eq(a.bytes[BUCKET_OLD], 7);
    ck_assert_uint_eq(a.bytes[BUCKET_LARGE], 200000);
    ck_assert_uint_eq(a.blocks[BUCKET_LARGE], 1);
    ck_assert_str_eq(bucket_name(BUCKET_YOUNG), "young");
    ck_assert_str_eq(bucket_name(BUCKET_OLD), "old");
    ck_assert_str_eq(bucket_name(BUCKET_LARGE), "large");
}
END_TEST

Suite *buckets_suite(void)
{
    Suite *s = suite_create("buckets");
    TCase *tc = tcase_create("buckets");
    tcase_add_test(tc, test_large_boundary);
    tcase_add_test(tc, test_young_boundary);
    tcase_add_test(tc, test_birth_after_end_is_young);
    tcase_add_test(tc, test_zero_thresholds);
    tcase_add_test(tc, test_totals);
    suite_add_tcase(s, tc);
    return s;
}
