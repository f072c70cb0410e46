/* test_fuzz_regressions.c - traces the fuzzer (tests/fuzz) found to crash
 * the analyzer or to reach undefined behaviour, forged again in their
 * smallest form. Each goes through the whole path of mtrace-analyze: load,
 * analysis, every report; the sanitizer build (make check) turns a
 * regression back into an abort. */
#include "suites.h"
#include "trace_forge.h"

#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "model.h"
#include "report.h"
#include "stacks.h"
#include "trace_load.h"

#define INTERVAL_NS 100000000ull

/* Loads the forged trace; on success analyses it and writes every report
 * to /dev/null. Returns trace_load's result, with its error in err. */
static int analyze_forged(struct forge *f, char *err, size_t errlen)
{
    struct bucket_thresholds th = { BUCKETS_DEFAULT_YOUNG_NS,
                                    BUCKETS_DEFAULT_LARGE_BYTES };
    struct report_options o = { .thresholds = th, .top = 10,
                                .cost = REPORT_COST_LIVE };
    struct model m;
    struct analysis a;
    struct stacks *stacks;
    FILE *devnull;
    int rc;

    model_init(&m, &th);
    rc = trace_load(forge_write(f, "regression.trace", SIZE_MAX), &m, err,
                    errlen);
    if (rc == 0) {
        devnull = fopen("/dev/null", "w");
        ck_assert_ptr_nonnull(devnull);
        stacks = stacks_new(&m, NULL);
        analysis_run(&a, &m, stacks, NULL);
        ck_assert_int_eq(report_text(devnull, &a, &o), 0);
        ck_assert_int_eq(report_json(devnull, &a, &o), 0);
        ck_assert_int_eq(report_collapsed(devnull, &a, &o), 0);
        analysis_free(&a);
        stacks_free(stacks);
        fclose(devnull);
    }
    model_free(&m);
    return rc;
}

/* PROCESS, then a module that is not on this machine (nothing is opened
 * for it) and `nsites` sites of 2 frames. */
static void forge_start(struct forge *f, uint32_t nsites)
{
    forge_init(f, 1 << 16);
    forge_process(f, 7, "/nonexistent/prog");
    forge_modules(f, 1, "/nonexistent/prog");
    for (uint32_t id = 1; id <= nsites; id++)
        forge_site(f, id, 2);
}

/* Survivors born 2^64 - 2^32 ns after the start: the gaps between births
 * overflowed when birth_period.c scaled their median by its tolerance
 * (a double out of uint64_t's range cast back). Such a time is damage. */
START_TEST(test_birth_time_beyond_any_recording)
{
    struct forge f;
    char err[512] = "";

    forge_start(&f, 1);
    forge_counters(&f, 1, 800, 4, 0);
    forge_snapshot(&f, INTERVAL_NS, 800);
    forge_survivor(&f, 1, 200, 1000, 0);
    forge_survivor(&f, 1, 200, 0x0102000000000001ull, 0);
    forge_survivor(&f, 1, 200, 0xffffffff000aec54ull, 0);
    forge_survivor(&f, 1, 200, 0xffffffff000aec55ull, 0);
    forge_end(&f, 2 * INTERVAL_NS, 4, 0);
    ck_assert_int_eq(analyze_forged(&f, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "damaged trace: SURVIVORS record at offset") &&
                  strstr(err, "has a birth time 18446744069415300180 ns, "
                              "beyond any recording"), "%s", err);
    forge_free(&f);
}
END_TEST

/* The largest times a trace may hold still analyse: eight survivors born
 * 2^59 ns apart, so the births have a median gap of 2^59 and the run
 * ends at 2^62 ns. */
START_TEST(test_largest_times_analyse)
{
    struct forge f;
    char err[512] = "";

    forge_start(&f, 1);
    forge_counters(&f, 1, 8 * 64, 8, 0);
    forge_snapshot(&f, 1ull << 62, 8 * 64);
    for (uint64_t k = 0; k < 8; k++)
        forge_survivor(&f, 1, 64, k << 59, 0);
    forge_end(&f, 1ull << 62, 8, 0);
    ck_assert_msg(analyze_forged(&f, err, sizeof err) == 0, "%s", err);
    forge_free(&f);
}
END_TEST

/* A snapshot, an END or a survivor a nanosecond past the bound is damage. */
START_TEST(test_snapshot_and_end_time_bound)
{
    struct forge f;
    char err[512] = "";

    forge_start(&f, 0);
    forge_snapshot(&f, (1ull << 62) + 1, 0);
    ck_assert_int_eq(analyze_forged(&f, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "SNAPSHOT record at offset") &&
                  strstr(err, "beyond any recording"), "%s", err);
    forge_free(&f);

    forge_start(&f, 0);
    forge_snapshot(&f, INTERVAL_NS, 0);
    forge_end(&f, (1ull << 62) + 1, 0, 0);
    ck_assert_int_eq(analyze_forged(&f, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "END record at offset") &&
                  strstr(err, "beyond any recording"), "%s", err);
    forge_free(&f);
}
END_TEST

/* Reduced from a real trace of interval_leak (a snapshot every 20 ms),
 * cut short: in one interval a site's live bytes go from 8 KiB to 8.8e18
 * at the same snapshot time, and the fitted growth rate (about 7.7e19 B/s)
 * overflowed uint64_t where verdicts.c cast it from double to print it. */
START_TEST(test_growth_rate_beyond_uint64)
{
    struct forge f;
    char err[512] = "";

    forge_init(&f, 1 << 16);
    forge_process_every(&f, 7, "/nonexistent/prog", 20);
    forge_modules(&f, 1, "/nonexistent/prog");
    forge_site(&f, 1, 2);
    forge_counters(&f, 1, 4096, 1, 0);
    forge_snapshot(&f, 51000000, 4096);
    forge_counters(&f, 1, 8192, 2, 0);
    forge_counters(&f, 1, 8791026472627220480ull, 3, 0);
    forge_snapshot(&f, 152000000, 8192);
    forge_snapshot(&f, 202000000, 8192);
    ck_assert_msg(analyze_forged(&f, err, sizeof err) == 0, "%s", err);
    forge_free(&f);
}
END_TEST

Suite *fuzz_regressions_suite(void)
{
    Suite *s = suite_create("fuzz_regressions");
    TCase *tc = tcase_create("fuzz_regressions");
    tcase_add_test(tc, test_birth_time_beyond_any_recording);
    tcase_add_test(tc, test_largest_times_analyse);
    tcase_add_test(tc, test_snapshot_and_end_time_bound);
    tcase_add_test(tc, test_growth_rate_beyond_uint64);
    suite_add_tcase(s, tc);
    return s;
}
