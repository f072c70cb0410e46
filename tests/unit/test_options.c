/* test_options.c - parsing of MTRACE_* values, good and bad. */
#include "suites.h"
#include "options.h"

#include <signal.h>


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

Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_uint_good_and_bad);
    tcase_add_test(tc, test_bool_values);
    tcase_add_test(tc, test_signal_names);
    suite_add_tcase(s, tc);
    return s;
}
