/* test_units.c - parsing and formatting sizes and durations. */
#include "suites.h"

#include <math.h>
#include <string.h>

#include "units.h"

static uint64_t size_ok(const char *text)
{
    uint64_t v = 0;
    char err[200] = "";
    ck_assert_msg(units_parse_size(text, &v, err, sizeof err) == 0,
                  "'%s' rejected: %s", text, err);
    return v;
}

static void size_bad(const char *text, const char *why)
{
    uint64_t v = 12345;
    char err[200] = "";
    ck_assert_msg(units_parse_size(text, &v, err, sizeof err) == -1,
                  "'%s' accepted", text);
    ck_assert_msg(strstr(err, why), "'%s': '%s' lacks '%s'", text, err, why);
    ck_assert_uint_eq(v, 12345);
}

static uint64_t duration_ok(const char *text)
{
    uint64_t v = 0;
    char err[200] = "";
    ck_assert_msg(units_parse_duration(text, &v, err, sizeof err) == 0,
                  "'%s' rejected: %s", text, err);
    return v;
}

static void duration_bad(const char *text, const char *why)
{
    uint64_t v = 0;
    char err[200] = "";
    ck_assert_msg(units_parse_duration(text, &v, err, sizeof err) == -1,
                  "'%s' accepted", text);
    ck_assert_msg(strstr(err, why), "'%s': '%s' lacks '%s'", text, err, why);
}

START_TEST(test_sizes)
{
    ck_assert_uint_eq(size_ok("0"), 0);
    ck_assert_uint_eq(size_ok("4096"), 4096);
    ck_assert_uint_eq(size_ok("100B"), 100);
    ck_assert_uint_eq(size_ok("64K"), 65536);
    ck_assert_uint_eq(size_ok("64k"), 65536);
    ck_assert_uint_eq(size_ok("64KiB"), 65536);
    ck_assert_uint_eq(size_ok("1M"), 1048576);
    ck_assert_uint_eq(size_ok("1.5G"), 1610612736ull);
    ck_assert_uint_eq(size_ok("1.5K"), 1536);
    ck_assert_uint_eq(size_ok("0.5M"), 524288);
    /* Fractions of a unit round to the nearest byte. */
    ck_assert_uint_eq(size_ok("1.1K"), 1126);
    ck_assert_uint_eq(size_ok("18446744073709551615"), UINT64_MAX);
}
END_TEST

START_TEST(test_bad_sizes)
{
    size_bad("", "empty");
    size_bad("-1", "negative");
    size_bad("-64K", "negative");
    size_bad("18446744073709551616", "too large");
    size_bad("17179869184G", "too large");
    size_bad("64Q", "unknown unit");
    size_bad("64K junk", "unknown unit");
    size_bad("K", "not a number");
    size_bad(".", "not a number");
    size_bad("1.5", "not a whole number of bytes");
    size_bad(" 1K", "not a number");
}
END_TEST

START_TEST(test_durations)
{
    ck_assert_uint_eq(duration_ok("500ms"), 500000000ull);
    ck_assert_uint_eq(duration_ok("2s"), 2000000000ull);
    ck_assert_uint_eq(duration_ok("1.5s"), 1500000000ull);
    ck_assert_uint_eq(duration_ok("100us"), 100000ull);
    ck_assert_uint_eq(duration_ok("1m"), 60000000000ull);
    ck_assert_uint_eq(duration_ok("2min"), 120000000000ull);
    ck_assert_uint_eq(duration_ok("1h"), 3600000000000ull);
    ck_assert_uint_eq(duration_ok("250ns"), 250);
    ck_assert_uint_eq(duration_ok("0s"), 0);
    ck_assert_uint_eq(duration_ok("0.001s"), 1000000ull);
}
END_TEST

START_TEST(test_bad_durations)
{
    duration_bad("", "empty");
    duration_bad("5", "needs a unit");
    duration_bad("-1s", "negative");
    duration_bad("1.5x", "unknown unit");
    duration_bad("2 s", "unknown unit");
    duration_bad("s", "not a number");
    duration_bad("1sx", "unknown unit");
    duration_bad("99999999999999999999s", "too large");
    duration_bad("6000000h", "too long");
}
END_TEST

START_TEST(test_format_sizes)
{
    char buf[UNITS_BUF];
    ck_assert_str_eq(units_format_size(0, buf), "0 B");
    ck_assert_str_eq(units_format_size(1023, buf), "1023 B");
    ck_assert_str_eq(units_format_size(1024, buf), "1.0 KiB");
    ck_assert_str_eq(units_format_size(1536, buf), "1.5 KiB");
    ck_assert_str_eq(units_format_size(1572864, buf), "1.5 MiB");
    ck_assert_str_eq(units_format_size(12582912, buf), "12.0 MiB");
    ck_assert_str_eq(units_format_size(1048575, buf), "1.0 MiB");
    ck_assert_str_eq(units_format_size(3ull << 30, buf), "3.0 GiB");
    ck_assert_str_eq(units_format_size(UINT64_MAX, buf), "16.0 EiB");
}
END_TEST

START_TEST(test_format_durations)
{
    char buf[UNITS_BUF];
    ck_assert_str_eq(units_format_duration(15, buf), "15 ns");
    ck_assert_str_eq(units_format_duration(120000, buf), "120 us");
    ck_assert_str_eq(units_format_duration(500000000, buf), "500 ms");
    ck_assert_str_eq(units_format_duration(2300000000ull, buf), "2.3 s");
    ck_assert_str_eq(units_format_duration(240000000000ull, buf), "4.0 min");
    ck_assert_str_eq(units_format_duration(5400000000000ull, buf), "1.5 h");
}
END_TEST

/* Rates from a damaged trace can be any double: never a cast out of range. */
START_TEST(test_round_u64_saturates)
{
    ck_assert_uint_eq(units_round_u64(0.4), 0);
    ck_assert_uint_eq(units_round_u64(0.5), 1);
    ck_assert_uint_eq(units_round_u64(2.6), 3);
    ck_assert_uint_eq(units_round_u64(0x1p63), 1ull << 63);
    ck_assert_uint_eq(units_round_u64(-5.0), 0);
    ck_assert_uint_eq(units_round_u64(NAN), 0);
    ck_assert_uint_eq(units_round_u64(1e30), UINT64_MAX);
    ck_assert_uint_eq(units_round_u64(INFINITY), UINT64_MAX);
}
END_TEST

Suite *units_suite(void)
{
    Suite *s = suite_create("units");
    TCase *tc = tcase_create("units");
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_bad_sizes);
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_bad_durations);
    tcase_add_test(tc, test_format_sizes);
    tcase_add_test(tc, test_format_durations);
    tcase_add_test(tc, test_round_u64_saturates);
    suite_add_tcase(s, tc);
    return s;
}
