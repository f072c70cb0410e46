/* test_truncation.c - a trace cut at every byte offset: inside the file
 * header it is not a trace or damaged; after it, it reads as cut short
 * with exactly the snapshots that were complete, and nothing pending. */
#include "suites.h"
#include "trace_forge.h"

#include <stdio.h>
#include <string.h>

#include "model.h"
#include "trace_load.h"

#define MAX_SNAPSHOTS 8

struct forged_run {
    struct forge f;
    size_t snapshot_end[MAX_SNAPSHOTS];  /* buf.len after each SNAPSHOT */
    uint64_t site1_live[MAX_SNAPSHOTS];  /* site 1's live bytes there */
    size_t sites_at[MAX_SNAPSHOTS];      /* sites committed there */
    size_t nsnapshots;
    size_t final_snapshot_end;
};

static void snapshot(struct forged_run *run, uint64_t t, uint64_t live1,
                     size_t nsites)
{
    forge_snapshot(&run->f, t, live1);
    run->snapshot_end[run->nsnapshots] = run->f.buf.len;
    run->site1_live[run->nsnapshots] = live1;
    run->sites_at[run->nsnapshots] = nsites;
    run->nsnapshots++;
}

/* PROCESS, MODULES, three intervals (the second defines a new site), the
 * final snapshot, two survivors, END. */
static void forge_run(struct forged_run *run)
{
    memset(run, 0, sizeof *run);
    forge_init(&run->f, 1 << 14);
    forge_process(&run->f, 7, "/bin/prog");
    forge_modules(&run->f, 1, "/bin/prog");
    forge_site(&run->f, 1, 2);
    forge_counters(&run->f, 1, 100, 1, 0);
    snapshot(run, 100000000, 100, 1);
    forge_site(&run->f, 2, 3);
    forge_counters(&run->f, 1, 300, 3, 0);
    forge_counters(&run->f, 2, 50, 1, 0);
    snapshot(run, 200000000, 300, 2);
    forge_counters(&run->f, 1, 200, 3, 1);
    snapshot(run, 300000000, 200, 2);
    run->final_snapshot_end = run->f.buf.len;
    forge_survivor(&run->f, 1, 200, 150000000, 0);
    forge_survivor(&run->f, 2, 50, 190000000, 0);
    forge_end(&run->f, 310000000, 2, 0);
}

static void check_prefix(struct forged_run *run, size_t len)
{
    struct bucket_thresholds th = { BUCKETS_DEFAULT_YOUNG_NS,
                                    BUCKETS_DEFAULT_LARGE_BYTES };
    struct model m;
    char err[512] = "";
    size_t complete = 0;
    int rc;

    model_init(&m, &th);
    rc = trace_load(forge_write(&run->f, "cut.trace", len), &m, err,
                    sizeof err);
    if (len < sizeof(struct mt_file_header)) {
        ck_assert_msg(rc == -1, "cut at %zu read as a trace", len);
        ck_assert_msg(strstr(err, "not an mtrace trace") ||
                      strstr(err, "damaged trace"), "cut at %zu: %s", len,
                      err);
        model_free(&m);
        return;
    }
    ck_assert_msg(rc == 0, "cut at %zu: %s", len, err);
    while (complete < run->nsnapshots && run->snapshot_end[complete] <= len)
        complete++;
    ck_assert_msg(m.truncated == (len < run->f.buf.len),
                  "cut at %zu: truncated %d", len, m.truncated);
    ck_assert_uint_eq(m.ntimeline, complete);
    if (complete == 0) {
        ck_assert_uint_eq(m.nsites, 0);
        ck_assert_uint_eq(m.live_bytes_end, 0);
        ck_assert_uint_eq(m.end_ns, 0);
    } else {
        struct model_site *site1 = model_site_find(&m, 1);
        ck_assert_uint_eq(m.nsites, run->sites_at[complete - 1]);
        ck_assert_ptr_nonnull(site1);
        ck_assert_uint_eq(site1->counters.live_bytes,
                          run->site1_live[complete - 1]);
        ck_assert_uint_eq(site1->end.live_bytes,
                          run->site1_live[complete - 1]);
        ck_assert_uint_eq(m.last_snapshot.live_bytes,
                          run->site1_live[complete - 1]);
        if (m.truncated)
            ck_assert_uint_eq(m.end_ns, m.last_snapshot.t_ns);
    }
    /* A site defined in a cut interval is forgotten with it. */
    if (complete < 2)
        ck_assert_ptr_null(model_site_find(&m, 2));
    if (m.truncated) {
        ck_assert(m.ages_estimated);
        ck_assert(!m.survivors_used);
    } else {
        ck_assert(m.survivors_used);
        ck_assert_uint_eq(m.end_ns, 310000000);
        ck_assert_uint_eq(m.live_bytes_end, 250);
        ck_assert_uint_eq(m.live_blocks_end, 2);
    }
    model_free(&m);
}

START_TEST(test_cut_at_every_offset)
{
    struct forged_run run;

    forge_run(&run);
    for (size_t len = 0; len <= run.f.buf.len; len++)
        check_prefix(&run, len);
    forge_free(&run.f);
}
END_TEST

START_TEST(test_cut_after_final_snapshot_estimates)
{
    struct bucket_thresholds th = { BUCKETS_DEFAULT_YOUNG_NS,
                                    BUCKETS_DEFAULT_LARGE_BYTES };
    struct forged_run run;
    struct model m;
    char err[256];

    forge_run(&run);
    model_init(&m, &th);
    ck_assert_int_eq(trace_load(forge_write(&run.f, "final.trace",
                                            run.final_snapshot_end),
                                &m, err, sizeof err), 0);
    ck_assert(m.truncated);
    ck_assert(m.ages_estimated);
    ck_assert_uint_eq(m.end_ns, 300000000);
    /* Counters, not survivors: site 1 holds 200 bytes in 2 blocks. */
    ck_assert_uint_eq(m.live_bytes_end, 250);
    ck_assert_uint_eq(m.live_blocks_end, 3);
    ck_assert_uint_eq(m.buckets.bytes[BUCKET_YOUNG], 250);
    model_free(&m);
    forge_free(&run.f);
}
END_TEST

Suite *truncation_suite(void)
{
    Suite *s = suite_create("truncation");
    TCase *tc = tcase_create("truncation");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cut_at_every_offset);
    tcase_add_test(tc, test_cut_after_final_snapshot_estimates);
    suite_add_tcase(s, tc);
    return s;
}
