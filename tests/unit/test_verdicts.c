/* test_verdicts.c - the leak heuristics on synthetic sites: what must be
 * caught (interval, teardown, irregular, slow, realloc, bursts, truncated,
 * unreachable) and what must not be flagged (start-up data, cache plateau,
 * churn, sawtooth, too short). The statistics underneath are tested in
 * test_timeline_stats.c. */
#include "suites.h"
#include "verdicts.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MS 1000000ull
#define SEC 1000000000ull
#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define MAX_POINTS 8192
#define MAX_BIRTHS 8192

/* One synthetic site: its true live bytes as a function of time, sampled
 * at every snapshot like the tracer does, plus its survivors' births. */
static struct verdict_point points[MAX_POINTS];
static uint64_t births[MAX_BIRTHS];
static struct verdict_input in;
static struct verdict out;
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 33;
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
    return (double)rng_next() / (double)(1ull << 31);
}

static void site_begin(uint64_t run_end_ns)
{
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    in.timeline = points;
    in.survivor_births = births;
    in.run_end_ns = run_end_ns;
    in.interval_ns = 100 * MS;
    in.program_peak_live_bytes = 64 * MIB;
    rng_state = 42;
}

/* Appends a snapshot when the value changed (the tracer writes a site only
 * then); the last snapshot, at the run's end, is always taken. */
static void snapshot(uint64_t t_ns, uint64_t live)
{
    uint64_t before = in.npoints ? points[in.npoints - 1].live_bytes : 0;
    if (live == before)
        return;
    ck_assert_uint_lt(in.npoints, MAX_POINTS);
    points[in.npoints].t_ns = t_ns;
    points[in.npoints].live_bytes = live;
    in.npoints++;
}

/* Births (ascending) of blocks of `size` bytes that all survive: the
 * timeline is their running total, sampled every interval. */
static void survivors_sampled(uint64_t size)
{
    uint64_t t;
    size_t born = 0;

    for (t = in.interval_ns; t <= in.run_end_ns; t += in.interval_ns) {
        while (born < in.nbirths && births[born] <= t)
            born++;
        snapshot(t, born * size);
    }
    snapshot(in.run_end_ns, in.nbirths * size);  /* the one taken at exit */
    in.allocs = in.nbirths;
    in.survivors_total = in.nbirths;
    in.live_blocks_end = in.nbirths;
    in.live_bytes_end = in.nbirths * size;
    in.peak_live_bytes = in.live_bytes_end;
}

static void add_birth(uint64_t t_ns)
{
    ck_assert_uint_lt(in.nbirths, MAX_BIRTHS);
    births[in.nbirths++] = t_ns;
}

static bool has_reason(const char *phrase)
{
    size_t i;
    for (i = 0; i < out.nreasons; i++)
        if (strstr(out.reasons[i], phrase))
            return true;
    return false;
}

static void assert_reason(const char *phrase)
{
    size_t i;
    if (has_reason(phrase))
        return;
    for (i = 0; i < out.nreasons; i++)
        fprintf(stderr, "  reason: %s\n", out.reasons[i]);
    ck_abort_msg("no reason contains \"%s\" (verdict %s)", phrase,
                 verdict_kind_name(out.kind));
}

static void assert_near(double got, double want, double rel)
{
    ck_assert_msg(fabs(got - want) <= rel * fabs(want),
                  "%g is not within %.0f%% of %g", got, rel * 100, want);
}

/* The headline: a 50 ms interval appends 1 MiB and never trims. */
static void build_interval_leak(void)
{
    int k;
    site_begin(3050 * MS);
    for (k = 1; k <= 60; k++)
        add_birth((uint64_t)k * 50 * MS + rng_next() % (2 * MS));
    survivors_sampled(MIB);
}

START_TEST(test_interval_leak)
{
    build_interval_leak();
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    ck_assert(!out.too_short);
    assert_near((double)out.period_ns, 50.0 * MS, 0.05);
    assert_near(out.growth_bytes_per_s, 20.0 * MIB, 0.05);
    assert_reason("grew steadily");
    assert_reason("born every 50 ms, 60 of 60 still live");
    ck_assert(!has_reason("timer callback"));
}
END_TEST

START_TEST(test_event_loop_reason)
{
    static const char *const libuv[] = { "tick", NULL, "uv__run_timers",
                                         "uv_run", "main" };
    static const char *const glib[] = { "on_timeout", "g_main_context_dispatch",
                                        "g_main_loop_run" };
    static const char *const python_asyncio[] = {
        "list_append", "_PyEval_EvalFrameDefault", "task_step_impl" };
    static const char *const python_plain[] = { "list_append",
                                                "_PyEval_EvalFrameDefault" };
    build_interval_leak();
    in.functions = libuv;
    in.nfunctions = 5;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    assert_reason("allocated from a timer callback (libuv uv__run_timers)");
    assert_reason("never trims?");

    in.functions = glib;
    in.nfunctions = 3;
    verdict_judge(&in, &out);
    assert_reason("event loop callback (GLib g_main_context_dispatch)");

    in.functions = python_asyncio;
    in.nfunctions = 3;
    verdict_judge(&in, &out);
    assert_reason("(Python asyncio task_step_impl)");

    in.functions = python_plain;
    in.nfunctions = 2;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    ck_assert(!has_reason("callback"));
}
END_TEST

START_TEST(test_event_loop_not_said_for_ok_site)
{
    static const char *const libuv[] = { "tick", "uv__run_timers" };
    site_begin(10 * SEC);
    add_birth(10 * MS);
    survivors_sampled(4 * KIB);
    in.functions = libuv;
    in.nfunctions = 2;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_OK);
    ck_assert(!has_reason("timer callback"));
}
END_TEST

START_TEST(test_bursts_per_tick)
{
    int k, j;
    site_begin(10 * SEC);
    for (k = 1; k <= 45; k++)
        for (j = 0; j < 3; j++)
            add_birth((uint64_t)k * 200 * MS + (uint64_t)j * 300000);
    survivors_sampled(64 * KIB);
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    assert_near((double)out.period_ns, 200.0 * MS, 0.05);
    assert_reason("born in bursts of ~3 every 200 ms, 135 of 135 still live");
}
END_TEST

START_TEST(test_teardown_release_is_still_leak)
{
    int k;
    site_begin(30500 * MS);
    for (k = 1; k <= 60; k++)
        add_birth((uint64_t)k * 500 * MS);
    survivors_sampled(MIB);
    /* The program frees everything in its teardown: the final snapshot. */
    snapshot(in.run_end_ns, 0);
    in.frees = in.allocs;
    in.nbirths = 0;
    in.survivors_total = 0;
    in.live_blocks_end = 0;
    in.live_bytes_end = 0;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    assert_near(out.growth_bytes_per_s, 2.0 * MIB, 0.05);
    assert_reason("grew steadily to 60.0 MiB, then released at exit (teardown)");
}
END_TEST

/* A 20 ms interval keeps 100 KB for 2 s; at 2.02 s the program frees
 * them all (over two snapshots when `spread`: Python frees a list's items
 * one by one), and the recording ends `finalize_ms` after that. */
static void build_released_at_exit(uint64_t finalize_ms, bool spread)
{
    int k;
    site_begin(2020 * MS + finalize_ms * MS);
    in.interval_ns = 20 * MS;
    for (k = 1; k <= 100; k++)
        snapshot((uint64_t)k * 20 * MS, (uint64_t)k * 100000);
    if (spread)
        snapshot(2020 * MS, 4600000);
    snapshot(spread ? 2040 * MS : 2020 * MS, 0);
    in.allocs = in.frees = 100;
    in.peak_live_bytes = 10000000;
}

START_TEST(test_teardown_over_snapshots_is_still_leak)
{
    /* The first, half-freed snapshot must not read as a plateau. */
    build_released_at_exit(60, true);
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    assert_near(out.growth_bytes_per_s, 100000.0 / 0.020, 0.05);
    assert_reason("grew steadily to 9.5 MiB, then released at exit (teardown)");

    /* On a loaded machine the interpreter's finalization took 250 ms more:
     * more than 5% of this short run, still a teardown. */
    build_released_at_exit(250, true);
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    assert_reason("then released at exit (teardown)");
}
END_TEST

START_TEST(test_release_long_before_exit_is_ok)
{
    /* Freed 1.5 s before the end of the run: the program went on working,
     * so this was a batch given back, not a teardown. */
    build_released_at_exit(1500, false);
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_OK);
    ck_assert(!has_reason("teardown"));
}
END_TEST

START_TEST(test_irregular_growth_without_period)
{
    uint64_t t = 0;
    site_begin(20 * SEC);
    for (;;) {
        t += (uint64_t)(-log(1.0 - rng_unit()) * 80.0 * MS) + 1;
        if (t >= 20 * SEC)
            break;
        add_birth(t);
    }
    survivors_sampled(2 * KIB);
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    ck_assert_uint_eq(out.period_ns, 0);
    assert_near(out.growth_bytes_per_s, 2.0 * KIB / 0.080, 0.10);
    assert_reason("at irregular times");
}
END_TEST

START_TEST(test_slow_leak_under_big_heap)
{
    uint64_t t = 0;
    site_begin(60 * SEC);
    in.program_peak_live_bytes = 512 * MIB;
    for (;;) {
        t += 500 * MS + rng_next() % (400 * MS);
        if (t >= 60 * SEC)
            break;
        add_birth(t);
    }
    survivors_sampled(4 * KIB);
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    assert_near(out.growth_bytes_per_s, 4.0 * KIB / 0.7, 0.10);
}
END_TEST

START_TEST(test_realloc_array_is_flagged)
{
    int k;
    site_begin(6 * SEC);
    for (k = 1; k <= 60; k++)
        snapshot((uint64_t)k * 100 * MS, (uint64_t)k * 8);
    snapshot(6 * SEC, 60 * 8);
    add_birth(5950 * MS);
    in.allocs = 60;
    in.frees = 59;
    in.survivors_total = 1;
    in.live_blocks_end = 1;
    in.live_bytes_end = 480;
    verdict_judge(&in, &out);
    ck_assert_int_ge(out.kind, VERDICT_SUSPECT);
    assert_reason("grew");
    assert_reason("a single block that keeps growing");
}
END_TEST

START_TEST(test_doubling_array_is_suspect)
{
    uint64_t k, cap = 0;
    site_begin(6100 * MS);
    /* One pointer appended per tick, capacity doubled when full: the last
     * doubling comes at tick 33 of 60, then the block is flat. */
    for (k = 1; k <= 60; k++) {
        if (k > cap) {
            cap = cap ? cap * 2 : 1;
            in.allocs++;
        }
        snapshot(k * 100 * MS, cap * 8);
    }
    add_birth(3300 * MS);
    in.frees = in.allocs - 1;
    in.survivors_total = 1;
    in.live_blocks_end = 1;
    in.live_bytes_end = cap * 8;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_SUSPECT);
    assert_reason("a single block that keeps growing (7 allocations, 6 frees)");

    /* The same block grown only during start-up is a buffer sized once. */
    in.npoints = 0;
    for (k = 1; k <= 7; k++)
        snapshot(k * 10 * MS, (1ull << k) * 8);
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_OK);
}
END_TEST

START_TEST(test_truncated_judged_on_timeline)
{
    int k;
    site_begin(5 * SEC);
    for (k = 1; k <= 50; k++)
        snapshot((uint64_t)k * 100 * MS, (uint64_t)k * 100 * KIB);
    in.truncated = true;
    in.allocs = 50;
    in.live_bytes_end = 5000 * KIB;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    ck_assert_uint_eq(out.period_ns, 0);
}
END_TEST

START_TEST(test_leak_under_churn_seen_in_floor)
{
    int k;
    site_begin(20 * SEC);
    /* Keeps 64 KiB per tick, plus a 2 MiB scratch buffer every 2 s. */
    for (k = 1; k <= 200; k++)
        snapshot((uint64_t)k * 100 * MS,
                 (uint64_t)k * 64 * KIB + (k % 20 == 10 ? 2 * MIB : 0));
    in.allocs = 210;
    in.frees = 10;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    assert_reason("what it never gave back grew steadily");
}
END_TEST

START_TEST(test_startup_step_is_ok)
{
    int k;
    site_begin(20 * SEC);
    for (k = 0; k < 100; k++)
        add_birth(20 * MS + (uint64_t)k * 500000);
    survivors_sampled(512 * KIB);
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_OK);
    ck_assert(!out.too_short);
    ck_assert(out.growth_bytes_per_s < 1.0);
    ck_assert_uint_eq(out.period_ns, 0);  /* a start-up loop, not a timer */
    assert_reason("all 100 survivors born in the first 70 ms (start-up data)");
}
END_TEST

START_TEST(test_cache_plateau_is_ok)
{
    uint64_t t, live;
    site_begin(20 * SEC);
    for (t = 100 * MS; t <= 20 * SEC; t += 100 * MS) {
        if (t <= 8 * SEC)
            live = t / (100 * MS) * 128 * KIB;  /* fills to 10 MiB */
        else  /* full: evicts and inserts, a little jitter */
            live = 10 * MIB + rng_next() % (64 * KIB);
        snapshot(t, live);
    }
    in.allocs = 5000;
    in.frees = 4920;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_OK);
    assert_reason("bounded, like a cache");
}
END_TEST

START_TEST(test_churn_is_ok)
{
    uint64_t t;
    site_begin(20 * SEC);
    for (t = 100 * MS; t <= 20 * SEC; t += 100 * MS)
        snapshot(t, 1000 + rng_next() % 4000);
    in.allocs = 1000000;
    in.frees = 999990;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_OK);
}
END_TEST

START_TEST(test_sawtooth_is_ok)
{
    uint64_t t;
    site_begin(11 * SEC);
    /* Load comes in waves: up 1 -> 10 MiB over 2 s, then released. */
    for (t = 100 * MS; t <= 11 * SEC; t += 100 * MS) {
        uint64_t phase = (t % (2 * SEC)) / (100 * MS);
        snapshot(t, MIB + phase * 460 * KIB);
    }
    in.allocs = 5000;
    in.frees = 4990;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_OK);
    assert_reason("shrank substantially");
}
END_TEST

START_TEST(test_too_short)
{
    site_begin(300 * MS);
    add_birth(50 * MS);
    add_birth(150 * MS);
    add_birth(250 * MS);
    survivors_sampled(MIB);
    verdict_judge(&in, &out);
    ck_assert(out.too_short);
    ck_assert_int_eq(out.kind, VERDICT_OK);
    assert_reason("recording too short to judge growth (3 snapshots over 300 ms)");
}
END_TEST

START_TEST(test_site_active_too_briefly)
{
    site_begin(20 * SEC);
    add_birth(19800 * MS);
    add_birth(19900 * MS);
    survivors_sampled(MIB);
    verdict_judge(&in, &out);
    ck_assert(out.too_short);
    ck_assert_int_eq(out.kind, VERDICT_OK);
    assert_reason("too short to judge growth");
}
END_TEST

START_TEST(test_unreachable_is_leak)
{
    int k;
    site_begin(10 * SEC);
    for (k = 0; k < 10; k++)
        add_birth(30 * MS);
    survivors_sampled(KIB);
    in.reachability = true;
    in.unreachable_blocks = 10;
    in.unreachable_bytes = 10 * KIB;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    assert_reason("10 blocks (10.0 KiB) unreachable at exit: definitely lost");

    /* A sliver of the site: worth a look, not a verdict. */
    in.live_bytes_end = 1000 * KIB;
    in.unreachable_blocks = 1;
    in.unreachable_bytes = KIB;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_SUSPECT);
    assert_reason("1 block (1.0 KiB) unreachable");
}
END_TEST

START_TEST(test_unreachable_counts_in_short_recording)
{
    site_begin(200 * MS);
    add_birth(10 * MS);
    survivors_sampled(KIB);
    in.reachability = true;
    in.unreachable_blocks = 1;
    in.unreachable_bytes = KIB;
    verdict_judge(&in, &out);
    ck_assert(out.too_short);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    assert_reason("definitely lost");
}
END_TEST

START_TEST(test_reachable_growth_is_said)
{
    build_interval_leak();
    in.reachability = true;
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_LEAK);
    assert_reason("all 60 survivors still reachable at exit");
}
END_TEST

START_TEST(test_kind_names)
{
    ck_assert_str_eq(verdict_kind_name(VERDICT_LEAK), "leak");
    ck_assert_str_eq(verdict_kind_name(VERDICT_SUSPECT), "suspect");
    ck_assert_str_eq(verdict_kind_name(VERDICT_OK), "ok");
}
END_TEST

START_TEST(test_empty_site)
{
    site_begin(10 * SEC);
    verdict_judge(&in, &out);
    ck_assert_int_eq(out.kind, VERDICT_OK);
    ck_assert(out.growth_bytes_per_s == 0.0);
}
END_TEST

Suite *verdicts_suite(void)
{
    Suite *s = suite_create("verdicts");
    TCase *leaks = tcase_create("leaks");
    TCase *ok = tcase_create("not leaks");
    TCase *names = tcase_create("names");

    tcase_add_test(leaks, test_interval_leak);
    tcase_add_test(leaks, test_event_loop_reason);
    tcase_add_test(leaks, test_bursts_per_tick);
    tcase_add_test(leaks, test_teardown_release_is_still_leak);
    tcase_add_test(leaks, test_teardown_over_snapshots_is_still_leak);
    tcase_add_test(leaks, test_irregular_growth_without_period);
    tcase_add_test(leaks, test_slow_leak_under_big_heap);
    tcase_add_test(leaks, test_realloc_array_is_flagged);
    tcase_add_test(leaks, test_doubling_array_is_suspect);
    tcase_add_test(leaks, test_truncated_judged_on_timeline);
    tcase_add_test(leaks, test_leak_under_churn_seen_in_floor);
    tcase_add_test(leaks, test_unreachable_is_leak);
    tcase_add_test(leaks, test_unreachable_counts_in_short_recording);
    tcase_add_test(leaks, test_reachable_growth_is_said);
    tcase_add_test(ok, test_event_loop_not_said_for_ok_site);
    tcase_add_test(ok, test_startup_step_is_ok);
    tcase_add_test(ok, test_cache_plateau_is_ok);
    tcase_add_test(ok, test_churn_is_ok);
    tcase_add_test(ok, test_sawtooth_is_ok);
    tcase_add_test(ok, test_too_short);
    tcase_add_test(ok, test_site_active_too_briefly);
    tcase_add_test(ok, test_empty_site);
    tcase_add_test(ok, test_release_long_before_exit_is_ok);
    tcase_add_test(names, test_kind_names);
    suite_add_tcase(s, leaks);
    suite_add_tcase(s, ok);
    suite_add_tcase(s, names);
    return s;
}
