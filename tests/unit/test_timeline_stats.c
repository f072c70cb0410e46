/* test_timeline_stats.c - the statistics underneath the leak verdicts: the
 * line fit and the other measures of a timeline (timeline_fit.h), and the
 * rhythm of survivors' births (birth_period.h). The verdicts themselves
 * are tested in test_verdicts.c. */
#include "suites.h"
#include "birth_period.h"
#include "timeline_fit.h"

#include <math.h>
#include <stdio.h>

#define MS 1000000ull
#define SEC 1000000000ull

static uint64_t rng_state;

/* Uniform in [0, 1), a fixed sequence per seed. */
static double rng_unit(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 33) / (double)(1ull << 31);
}

static void assert_near(double got, double want, double rel)
{
    ck_assert_msg(fabs(got - want) <= rel * fabs(want),
                  "%g is not within %.0f%% of %g", got, rel * 100, want);
}

START_TEST(test_line_fit_exact_ramp)
{
    struct verdict_point points[100];
    struct line_fit fit;
    size_t k;

    /* Steps of 1000 bytes every 100 ms: 10000 bytes/s, a near-perfect line. */
    for (k = 0; k < 100; k++) {
        points[k].t_ns = (k + 1) * 100 * MS;
        points[k].live_bytes = (k + 1) * 1000;
    }
    ck_assert(timeline_fit_line(points, 100, 100 * MS, 10 * SEC, &fit));
    assert_near(fit.slope_per_s, 10000.0, 0.01);
    ck_assert(fit.r2 > 0.99);
    ck_assert(!timeline_fit_line(points, 100, 5 * SEC, 5 * SEC, &fit));
    ck_assert_uint_eq(timeline_value_at(points, 100, 50 * MS), 0);
    ck_assert_uint_eq(timeline_value_at(points, 100, 250 * MS), 2000);
    ck_assert_uint_eq(timeline_upsteps(points, 100, 0, 10 * SEC), 99);
}
END_TEST

/* A ramp of 100 steps of 100 KB every 20 ms up to 10 MB at 2 s, then the
 * tail given as (time after the last step in ms, value) pairs; the run
 * ends at `run_end_ns`. */
static size_t ramp_then(struct verdict_point *points,
                        const uint64_t tail[][2], size_t ntail)
{
    size_t k, n = 0;

    for (k = 1; k <= 100; k++, n++) {
        points[n].t_ns = k * 20 * MS;
        points[n].live_bytes = k * 100000;
    }
    for (k = 0; k < ntail; k++, n++) {
        points[n].t_ns = 2 * SEC + tail[k][0] * MS;
        points[n].live_bytes = tail[k][1];
    }
    return n;
}

START_TEST(test_teardown_found_at_top_of_descent)
{
    struct verdict_point points[110];
    /* Python frees a list's items one by one: the descent spans two
     * snapshots, the first still above half the peak. */
    static const uint64_t spread[][2] = { { 60, 6000000 }, { 80, 0 } };
    static const uint64_t at_once[][2] = { { 60, 0 } };
    static const uint64_t early[][2] = { { 60, 6000000 }, { 80, 0 },
                                         { 1500, 0 } };
    static const uint64_t regrows[][2] = { { 20, 0 }, { 40, 2000000 },
                                           { 60, 4000000 }, { 180, 0 } };
    uint64_t drop = 0;
    size_t n;

    n = ramp_then(points, spread, 2);
    ck_assert(timeline_teardown(points, n, 2100 * MS, 100 * MS, 0.1, &drop));
    ck_assert_uint_eq(drop, 2060 * MS);

    n = ramp_then(points, at_once, 1);
    ck_assert(timeline_teardown(points, n, 2100 * MS, 100 * MS, 0.1, &drop));
    ck_assert_uint_eq(drop, 2060 * MS);

    /* Released 1.5 s before the end: the program went on, no teardown. */
    n = ramp_then(points, early, 3);
    ck_assert(!timeline_teardown(points, n, 3600 * MS, 100 * MS, 0.1, &drop));

    /* A fall that the series climbs back from is a sawtooth's new tooth,
     * even when the run ends at 0 soon after. */
    n = ramp_then(points, regrows, 4);
    ck_assert(!timeline_teardown(points, n, 2200 * MS, 500 * MS, 0.1, &drop));
}
END_TEST

START_TEST(test_birth_pattern)
{
    uint64_t regular[20], irregular[40];
    struct birth_pattern p;
    uint64_t t = 0;
    int k;

    for (k = 0; k < 20; k++)
        regular[k] = (uint64_t)k * SEC + (k % 3) * 10 * MS;
    ck_assert_int_eq(birth_pattern_find(regular, 20, &p), 0);
    ck_assert_uint_eq(p.events, 20);
    assert_near((double)p.period_ns, 1.0 * SEC, 0.05);

    rng_state = 7;
    for (k = 0; k < 40; k++) {
        t += (uint64_t)(-log(1.0 - rng_unit()) * 100.0 * MS) + 1;
        irregular[k] = t;
    }
    ck_assert_int_eq(birth_pattern_find(irregular, 40, &p), 0);
    ck_assert_uint_eq(p.period_ns, 0);

    /* Four regular births are not enough to call it a period. */
    ck_assert_int_eq(birth_pattern_find(regular, 4, &p), 0);
    ck_assert_uint_eq(p.period_ns, 0);
    ck_assert_int_eq(birth_pattern_find(regular, 0, &p), 0);
    ck_assert_uint_eq(p.events, 0);
}
END_TEST

Suite *timeline_stats_suite(void)
{
    Suite *s = suite_create("timeline_stats");
    TCase *fit = tcase_create("timeline");
    TCase *births = tcase_create("births");

    tcase_add_test(fit, test_line_fit_exact_ramp);
    tcase_add_test(fit, test_teardown_found_at_top_of_descent);
    tcase_add_test(births, test_birth_pattern);
    suite_add_tcase(s, fit);
    suite_add_tcase(s, births);
    return s;
}
