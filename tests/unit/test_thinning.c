/* test_thinning.c - the tracer writes per-site counters at fewer and fewer
 * snapshots as a run goes on (snapshot.h): which snapshots write them, and
 * that the verdicts on a long run come out the same from the thinned
 * timelines as from a point at every snapshot. */
#include "suites.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "snapshot.h"
#include "verdicts.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define KIB 1024ull
#define MIB (1024ull * 1024ull)
/* A 10-minute run at the default 100 ms. */
#define LONG_RUN_SNAPSHOTS 6000u
#define INTERVAL_NS (100 * MS)

static uint64_t due_between(uint64_t first, uint64_t last)
{
    uint64_t n = 0;
    for (uint64_t seq = first; seq <= last; seq++)
        n += snapshot_site_counters_due(seq);
    return n;
}

START_TEST(test_short_runs_keep_every_snapshot)
{
    for (uint64_t seq = 1; seq <= SNAPSHOT_FULL_RESOLUTION; seq++)
        ck_assert_msg(snapshot_site_counters_due(seq), "seq %llu",
                      (unsigned long long)seq);
}
END_TEST

START_TEST(test_stride_doubles_with_the_run)
{
    /* 257..512 every 2nd, 513..1024 every 4th, 1025..2048 every 8th. */
    for (uint64_t seq = 257; seq <= 2048; seq++) {
        uint64_t stride = seq <= 512 ? 2 : seq <= 1024 ? 4 : 8;
        ck_assert_msg(snapshot_site_counters_due(seq) == (seq % stride == 0),
                      "seq %llu", (unsigned long long)seq);
    }
    ck_assert(!snapshot_site_counters_due(257));
    ck_assert(snapshot_site_counters_due(258));
    ck_assert(snapshot_site_counters_due(512));
    ck_assert(!snapshot_site_counters_due(514));
    ck_assert(snapshot_site_counters_due(516));
}
END_TEST

START_TEST(test_writes_grow_with_log_of_run)
{
    uint64_t first = SNAPSHOT_FULL_RESOLUTION + 1;
    /* Half the full-resolution count per doubling of the run. */
    for (uint64_t end = 2 * SNAPSHOT_FULL_RESOLUTION; end <= (1u << 20);
         end *= 2) {
        ck_assert_uint_eq(due_between(first, end),
                          SNAPSHOT_FULL_RESOLUTION / 2);
        first = end + 1;
    }
    /* 10 minutes at 100 ms: 256 + 4 * 128 + 1904 / 32, against 6000. */
    ck_assert_uint_eq(due_between(1, LONG_RUN_SNAPSHOTS), 827);
    /* An hour at 100 ms: 1,164 of 36,000; a day: 1,746 of 864,000. */
    ck_assert_uint_eq(due_between(1, 36000), 1164);
    ck_assert_uint_eq(due_between(1, 864000), 1746);
}
END_TEST

START_TEST(test_lag_stays_under_one_percent)
{
    /* A run killed at any snapshot loses at most this much of a site's
     * timeline (the totals of every snapshot are still exact). */
    uint64_t last_due = 0;
    for (uint64_t seq = 1; seq <= 200000; seq++) {
        if (snapshot_site_counters_due(seq))
            last_due = seq;
        ck_assert_msg((seq - last_due) * 128 < seq, "seq %llu: last due %llu",
                      (unsigned long long)seq, (unsigned long long)last_due);
    }
}
END_TEST

START_TEST(test_huge_sequence_numbers)
{
    ck_assert(snapshot_site_counters_due(1ull << 63));
    ck_assert(!snapshot_site_counters_due((1ull << 63) + (1ull << 54)));
    ck_assert(!snapshot_site_counters_due(UINT64_MAX));
}
END_TEST

/* One synthetic site over a long run, sampled like the tracer: at every
 * snapshot (full) or only at those due and the final one (thinned); a point
 * only where the value changed, as the model keeps it. */
static struct verdict_point full_pts[LONG_RUN_SNAPSHOTS + 1];
static struct verdict_point thin_pts[LONG_RUN_SNAPSHOTS + 1];
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 33;
}

static void add_point(struct verdict_point *pts, size_t *n, uint64_t t,
                      uint64_t live)
{
    if (live == (*n ? pts[*n - 1].live_bytes : 0))
        return;
    pts[*n].t_ns = t;
    pts[*n].live_bytes = live;
    (*n)++;
}

typedef uint64_t live_at_fn(uint64_t seq);

static void judge_both(live_at_fn *live_at, struct verdict *full,
                       struct verdict *thin)
{
    struct verdict_input in;
    size_t nfull = 0, nthin = 0;

    rng_state = 7;
    for (uint64_t seq = 1; seq <= LONG_RUN_SNAPSHOTS; seq++) {
        uint64_t live = live_at(seq), t = seq * INTERVAL_NS;
        add_point(full_pts, &nfull, t, live);
        if (snapshot_site_counters_due(seq) || seq == LONG_RUN_SNAPSHOTS)
            add_point(thin_pts, &nthin, t, live);
    }
    ck_assert_uint_lt(nthin, 900);
    memset(&in, 0, sizeof in);
    in.run_end_ns = LONG_RUN_SNAPSHOTS * INTERVAL_NS;
    in.interval_ns = INTERVAL_NS;
    in.allocs = 100000;
    in.frees = 90000;
    in.program_peak_live_bytes = 64 * MIB;
    in.timeline = full_pts;
    in.npoints = nfull;
    verdict_judge(&in, full);
    in.timeline = thin_pts;
    in.npoints = nthin;
    verdict_judge(&in, thin);
    ck_assert_str_eq(verdict_kind_name(thin->kind),
                     verdict_kind_name(full->kind));
}

/* 100 KiB every 250 ms, never freed: 400 KiB/s. */
static uint64_t steady_leak(uint64_t seq)
{
    return seq * INTERVAL_NS / (250 * MS) * 100 * KIB;
}

/* Fills to 10 MiB over the first 200 s, then evicts as it inserts. */
static uint64_t cache(uint64_t seq)
{
    if (seq <= 2000)
        return seq * 5 * KIB + rng_next() % (4 * KIB);
    return 10000 * KIB + rng_next() % (64 * KIB);
}

/* Load in 40 s waves: up from 1 MiB to 10 MiB, then released. */
static uint64_t sawtooth(uint64_t seq)
{
    return MIB + (seq % 400) * 23 * KIB;
}

/* Grows steadily, everything freed in the teardown at exit. */
static uint64_t teardown(uint64_t seq)
{
    return seq == LONG_RUN_SNAPSHOTS ? 0 : steady_leak(seq);
}

static uint64_t churn(uint64_t seq)
{
    (void)seq;
    return 1000 + rng_next() % 4000;
}

START_TEST(test_long_leak_still_a_leak)
{
    struct verdict full, thin;
    judge_both(steady_leak, &full, &thin);
    ck_assert_int_eq(thin.kind, VERDICT_LEAK);
    ck_assert_msg(fabs(thin.growth_bytes_per_s - 400.0 * KIB) <=
                      0.02 * 400.0 * KIB,
                  "growth %g", thin.growth_bytes_per_s);
    judge_both(teardown, &full, &thin);
    ck_assert_int_eq(thin.kind, VERDICT_LEAK);
}
END_TEST

START_TEST(test_long_healthy_sites_still_ok)
{
    struct verdict full, thin;
    judge_both(cache, &full, &thin);
    ck_assert_int_eq(thin.kind, VERDICT_OK);
    judge_both(sawtooth, &full, &thin);
    ck_assert_int_eq(thin.kind, VERDICT_OK);
    judge_both(churn, &full, &thin);
    ck_assert_int_eq(thin.kind, VERDICT_OK);
}
END_TEST

Suite *thinning_suite(void)
{
    Suite *s = suite_create("thinning");
    TCase *rule = tcase_create("stride rule");
    TCase *verdicts = tcase_create("verdicts on thinned timelines");
    tcase_add_test(rule, test_short_runs_keep_every_snapshot);
    tcase_add_test(rule, test_stride_doubles_with_the_run);
    tcase_add_test(rule, test_writes_grow_with_log_of_run);
    tcase_add_test(rule, test_lag_stays_under_one_percent);
    tcase_add_test(rule, test_huge_sequence_numbers);
    tcase_add_test(verdicts, test_long_leak_still_a_leak);
    tcase_add_test(verdicts, test_long_healthy_sites_still_ok);
    suite_add_tcase(s, rule);
    suite_add_tcase(s, verdicts);
    return s;
}
