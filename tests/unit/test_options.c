/* test_options.c - parsing of MTRACE_* values, good and bad. */
#include "suites.h"
#include "managed_heaps.h"
#include "trace_format.h"
#include "options.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>


START_TEST(test_uint_good_and_bad)
{
    uint64_t v = 99;
    ck_assert_int_eq(options_parse_uint("32", 1, 128, &v), 0);
    ck_assert_uint_eq(v, 32);
    ck_assert_int_eq(options_parse_uint("1", 1, 128, &v), 0);
    ck_assert_int_eq(options_parse_uint("128", 1, 128, &v), 0);
    v = 5;
    ck_assert_int_eq(options_parse_uint("0", 1, 128, &v), -1);
    ck_assert_int_eq(options_parse_uint("129", 1, 128, &v), -1);
    ck_assert_int_eq(options_parse_uint("", 1, 128, &v), -1);
    ck_assert_int_eq(options_parse_uint(NULL, 1, 128, &v), -1);
    ck_assert_int_eq(options_parse_uint("-5", 0, 128, &v), -1);
    ck_assert_int_eq(options_parse_uint("12abc", 0, 128, &v), -1);
    ck_assert_int_eq(options_parse_uint(" 12", 0, 128, &v), -1);
    ck_assert_int_eq(options_parse_uint("99999999999999999999999", 0,
                                        UINT64_MAX, &v), -1);
    ck_assert_uint_eq(v, 5);   /* untouched on error */
}
END_TEST

START_TEST(test_bool_values)
{
    bool b = false;
    ck_assert_int_eq(options_parse_bool("1", &b), 0);
    ck_assert(b);
    ck_assert_int_eq(options_parse_bool("off", &b), 0);
    ck_assert(!b);
    ck_assert_int_eq(options_parse_bool("YES", &b), 0);
    ck_assert(b);
    ck_assert_int_eq(options_parse_bool("2", &b), -1);
    ck_assert_int_eq(options_parse_bool("maybe", &b), -1);
    ck_assert(b);
}
END_TEST

START_TEST(test_signal_names)
{
    int s = 0;
    ck_assert_int_eq(options_parse_signal("USR2", &s), 0);
    ck_assert_int_eq(s, SIGUSR2);
    ck_assert_int_eq(options_parse_signal("SIGUSR1", &s), 0);
    ck_assert_int_eq(s, SIGUSR1);
    ck_assert_int_eq(options_parse_signal("10", &s), 0);
    ck_assert_int_eq(s, 10);
    ck_assert_int_eq(options_parse_signal("KILL", &s), -1);
    ck_assert_int_eq(options_parse_signal("9", &s), -1);
    ck_assert_int_eq(options_parse_signal("11", &s), -1);
    ck_assert_int_eq(options_parse_signal("NOPE", &s), -1);
    ck_assert_int_eq(options_parse_signal("", &s), -1);
}
END_TEST

START_TEST(test_pythonmalloc_values)
{
    /* Unset or empty: CPython's default, pymalloc. */
    ck_assert(!managed_heaps_malloc_chosen(NULL));
    ck_assert(!managed_heaps_malloc_chosen(""));
    ck_assert(!managed_heaps_malloc_chosen("pymalloc"));
    ck_assert(!managed_heaps_malloc_chosen("debug"));
    ck_assert(!managed_heaps_malloc_chosen("pymalloc_debug"));
    ck_assert(!managed_heaps_malloc_chosen("mimalloc"));
    ck_assert(managed_heaps_malloc_chosen("malloc"));
    ck_assert(managed_heaps_malloc_chosen("malloc_debug"));
    ck_assert(!managed_heaps_malloc_chosen("malloc2"));
}
END_TEST

START_TEST(test_pythonmalloc_flag)
{
    const char *saved = getenv("PYTHONMALLOC");
    char *keep = saved ? strdup(saved) : NULL;

    unsetenv("PYTHONMALLOC");
    ck_assert_uint_eq(managed_heaps_flags(), 0);
    setenv("PYTHONMALLOC", "malloc", 1);
    ck_assert_uint_eq(managed_heaps_flags(), MT_PROC_PYTHONMALLOC_MALLOC);
    setenv("PYTHONMALLOC", "pymalloc", 1);
    ck_assert_uint_eq(managed_heaps_flags(), 0);
    if (keep)
        setenv("PYTHONMALLOC", keep, 1);
    else
        unsetenv("PYTHONMALLOC");
    free(keep);
}
END_TEST

Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_uint_good_and_bad);
    tcase_add_test(tc, test_bool_values);
    tcase_add_test(tc, test_signal_names);
    tcase_add_test(tc, test_pythonmalloc_values);
    tcase_add_test(tc, test_pythonmalloc_flag);
    suite_add_tcase(s, tc);
    return s;
}
