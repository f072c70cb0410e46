/* test_model.c - the model a trace loads into: timelines, survivors per
 * site and bucket, reachability, the birth sample, and estimated ages. */
#include "suites.h"
#include "trace_forge.h"

#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "trace_load.h"

#define SEC 1000000000ull

static const struct bucket_thresholds th = { .young_ns = SEC,
                                             .large_bytes = 131072 };

static void load(struct forge *f, struct model *m)
{
    char err[256] = "";
    model_init(m, &th);
    ck_assert_msg(trace_load(forge_write(f, "model.trace", SIZE_MAX), m, err,
                             sizeof err) == 0, "%s", err);
}

START_TEST(test_survivors_per_site_and_bucket)
{
    struct forge f;
    struct model m;
    struct model_site *s1, *s2;

    forge_init(&f, 1 << 14);
    forge_process(&f, 1, "/bin/p");
    forge_site(&f, 1, 1);
    forge_site(&f, 2, 1);
    forge_counters(&f, 1, 300 + 200000, 3, 0);
    forge_counters(&f, 2, 64, 2, 1);
    forge_snapshot(&f, 10 * SEC, 200364);
    forge_survivor(&f, 1, 100, 1 * SEC, MT_SURV_UNREACHABLE);  /* old */
    forge_survivor(&f, 1, 200, 9 * SEC + 500, 0);              /* young */
    forge_survivor(&f, 1, 200000, 2 * SEC, MT_SURV_UNREACHABLE); /* large */
    forge_survivor(&f, 2, 64, 9 * SEC, 0);  /* age exactly 1 s: old */
    forge_end(&f, 10 * SEC, 4, MT_END_REACHABILITY_DONE);
    load(&f, &m);
    ck_assert(!m.truncated);
    ck_assert(m.survivors_used);
    ck_assert(!m.ages_estimated);
    ck_assert(m.reachability);
    ck_assert_str_eq(m.exe, "/bin/p");
    s1 = model_site_find(&m, 1);
    s2 = model_site_find(&m, 2);
    ck_assert_uint_eq(s1->end.live_bytes, 200300);
    ck_assert_uint_eq(s1->end.live_blocks, 3);
    ck_assert_uint_eq(s1->end.buckets.bytes[BUCKET_OLD], 100);
    ck_assert_uint_eq(s1->end.buckets.bytes[BUCKET_YOUNG], 200);
    ck_assert_uint_eq(s1->end.buckets.bytes[BUCKET_LARGE], 200000);
    ck_assert_uint_eq(s1->end.unreachable_blocks, 2);
    ck_assert_uint_eq(s1->end.unreachable_bytes, 200100);
    ck_assert_uint_eq(s1->end.nbirths, 3);
    ck_assert_uint_eq(s1->end.births[0], 1 * SEC);
    ck_assert_uint_eq(s1->end.births[1], 2 * SEC);
    ck_assert_uint_eq(s1->end.births[2], 9 * SEC + 500);
    ck_assert_uint_eq(s1->end.oldest_birth_ns, 1 * SEC);
    ck_assert_uint_eq(s1->end.newest_birth_ns, 9 * SEC + 500);
    ck_assert_uint_eq(s2->end.buckets.bytes[BUCKET_OLD], 64);
    ck_assert_uint_eq(s2->end.buckets.blocks[BUCKET_OLD], 1);
    ck_assert_uint_eq(m.live_bytes_end, 200364);
    ck_assert_uint_eq(m.live_blocks_end, 4);
    ck_assert_uint_eq(m.buckets.bytes[BUCKET_OLD], 164);
    ck_assert_uint_eq(m.buckets.blocks[BUCKET_OLD], 2);
    ck_assert_uint_eq(m.buckets.blocks[BUCKET_LARGE], 1);
    ck_assert_uint_eq(m.buckets.blocks[BUCKET_YOUNG], 1);
    model_free(&m);
    forge_free(&f);
}
END_TEST

START_TEST(test_unreachable_ignored_without_scan)
{
    struct forge f;
    struct model m;

    forge_init(&f, 1 << 12);
    forge_process(&f, 1, "/bin/p");
    forge_site(&f, 1, 1);
    forge_counters(&f, 1, 10, 1, 0);
    forge_snapshot(&f, SEC, 10);
    forge_survivor(&f, 1, 10, 0, MT_SURV_UNREACHABLE);
    forge_end(&f, SEC, 1, 0);
    load(&f, &m);
    ck_assert(!m.reachability);
    ck_assert_uint_eq(model_site_find(&m, 1)->end.unreachable_blocks, 0);
    model_free(&m);
    forge_free(&f);
}
END_TEST

START_TEST(test_timeline_points_only_on_change)
{
    struct forge f;
    struct model m;
    struct model_site *s;

    forge_init(&f, 1 << 14);
    forge_process(&f, 1, "/bin/p");
    forge_site(&f, 1, 1);
    forge_counters(&f, 1, 0, 1, 1);
    forge_snapshot(&f, 1 * SEC, 0);     /* 0 before the first point: none */
    forge_counters(&f, 1, 10, 2, 1);
    forge_snapshot(&f, 2 * SEC, 10);
    forge_counters(&f, 1, 10, 3, 2);
    forge_snapshot(&f, 3 * SEC, 10);    /* same level: no point */
    forge_snapshot(&f, 4 * SEC, 10);    /* site not included: no point */
    forge_counters(&f, 1, 0, 3, 3);
    forge_snapshot(&f, 5 * SEC, 0);
    forge_end(&f, 5 * SEC, 0, 0);
    load(&f, &m);
    s = model_site_find(&m, 1);
    ck_assert_uint_eq(m.ntimeline, 5);
    ck_assert_uint_eq(s->npoints, 2);
    ck_assert_uint_eq(s->timeline[0].t_ns, 2 * SEC);
    ck_assert_uint_eq(s->timeline[0].live_bytes, 10);
    ck_assert_uint_eq(s->timeline[1].t_ns, 5 * SEC);
    ck_assert_uint_eq(s->timeline[1].live_bytes, 0);
    ck_assert_uint_eq(s->counters.allocs, 3);
    ck_assert_uint_eq(s->counters.frees, 3);
    ck_assert_uint_eq(m.live_bytes_end, 0);
    ck_assert(!m.ages_estimated);
    model_free(&m);
    forge_free(&f);
}
END_TEST

START_TEST(test_births_sampled_beyond_cap)
{
    enum { N = MODEL_BIRTHS_CAP + 5000 };
    struct forge f;
    struct model m;
    struct model_site *s;
    struct mt_rec_survivors head = { .count = N / 2 };

    forge_init(&f, 64 + 4096 + (size_t)N * sizeof(struct mt_survivor) + 64);
    forge_process(&f, 1, "/bin/p");
    forge_site(&f, 1, 1);
    forge_counters(&f, 1, N, N, 0);
    forge_snapshot(&f, 100 * SEC, N);
    for (int chunk = 0; chunk < 2; chunk++) {
        ck_assert_int_eq(trace_record_begin(&f.buf, MT_REC_SURVIVORS), 0);
        ck_assert_int_eq(trace_record_put(&f.buf, &head, sizeof head), 0);
        for (uint32_t i = 0; i < N / 2; i++) {
            /* Births descending, so sorting is visible. */
            struct mt_survivor sv = { .site_id = 1, .size = 1,
                                      .birth_ns = (uint64_t)N * 2 -
                                                  (chunk * (N / 2) + i) };
            ck_assert_int_eq(trace_record_put(&f.buf, &sv, sizeof sv), 0);
        }
        trace_record_end(&f.buf);
    }
    forge_end(&f, 100 * SEC, N, 0);
    load(&f, &m);
    s = model_site_find(&m, 1);
    ck_assert_uint_eq(s->end.live_blocks, N);
    ck_assert_uint_eq(s->end.survivors_seen, N);
    ck_assert_uint_eq(s->end.nbirths, MODEL_BIRTHS_CAP);
    for (size_t i = 1; i < s->end.nbirths; i++)
        ck_assert_uint_le(s->end.births[i - 1], s->end.births[i]);
    ck_assert_uint_eq(s->end.oldest_birth_ns, (uint64_t)N * 2 - (N - 1));
    ck_assert_uint_eq(s->end.newest_birth_ns, (uint64_t)N * 2);
    model_free(&m);
    forge_free(&f);
}
END_TEST

/* Site 1 lives 100 B at 1 s, 50 B at 2 s, 300 B at 3 s; cut at 3.5 s.
 * The 50 B it never fell under again since 1 s are old; the 250 B above
 * them appeared at 3 s and are young. */
START_TEST(test_estimated_ages_from_timeline)
{
    struct forge f;
    struct model m;
    struct model_site *s;

    forge_init(&f, 1 << 14);
    forge_process(&f, 1, "/bin/p");
    forge_site(&f, 1, 1);
    forge_site(&f, 2, 1);
    forge_counters(&f, 1, 100, 2, 0);
    forge_counters(&f, 2, 400000, 2, 0);    /* 200000 B blocks: large */
    forge_snapshot(&f, 1 * SEC, 400100);
    forge_counters(&f, 1, 50, 2, 1);
    forge_snapshot(&f, 2 * SEC, 400050);
    forge_counters(&f, 1, 300, 6, 1);
    forge_snapshot(&f, 3 * SEC, 400300);
    forge_snapshot(&f, 3 * SEC + SEC / 2, 400300);
    load(&f, &m);
    ck_assert(m.truncated);
    ck_assert(m.ages_estimated);
    ck_assert_uint_eq(m.end_ns, 3 * SEC + SEC / 2);
    s = model_site_find(&m, 1);
    ck_assert_uint_eq(s->end.live_bytes, 300);
    ck_assert_uint_eq(s->end.live_blocks, 5);
    ck_assert_uint_eq(s->end.buckets.bytes[BUCKET_YOUNG], 250);
    ck_assert_uint_eq(s->end.buckets.bytes[BUCKET_OLD], 50);
    ck_assert_uint_eq(s->end.buckets.blocks[BUCKET_YOUNG], 4);
    ck_assert_uint_eq(s->end.buckets.blocks[BUCKET_OLD], 1);
    ck_assert(s->end.has_ages);
    ck_assert_uint_eq(s->end.oldest_birth_ns, 1 * SEC);
    ck_assert_uint_eq(s->end.newest_birth_ns, 3 * SEC);
    s = model_site_find(&m, 2);
    ck_assert_uint_eq(s->end.buckets.bytes[BUCKET_LARGE], 400000);
    ck_assert_uint_eq(s->end.buckets.blocks[BUCKET_LARGE], 2);
    ck_assert_uint_eq(m.buckets.bytes[BUCKET_LARGE], 400000);
    ck_assert_uint_eq(m.live_bytes_end, 400300);
    ck_assert_uint_eq(m.live_blocks_end, 7);
    model_free(&m);
    forge_free(&f);
}
END_TEST

/* One block grown by realloc: 100 B at 1 s, 300 B at 3 s, cut at 3.5 s.
 * It cannot be split between ages: it is as young as its last growth. */
START_TEST(test_estimated_single_block_not_split)
{
    struct forge f;
    struct model m;
    struct model_site *s;

    forge_init(&f, 1 << 14);
    forge_process(&f, 1, "/bin/p");
    forge_site(&f, 1, 1);
    forge_counters(&f, 1, 100, 1, 0);
    forge_snapshot(&f, 1 * SEC, 100);
    forge_counters(&f, 1, 300, 2, 1);
    forge_snapshot(&f, 3 * SEC, 300);
    forge_snapshot(&f, 3 * SEC + SEC / 2, 300);
    load(&f, &m);
    s = model_site_find(&m, 1);
    ck_assert_uint_eq(s->end.live_blocks, 1);
    ck_assert_uint_eq(s->end.buckets.bytes[BUCKET_YOUNG], 300);
    ck_assert_uint_eq(s->end.buckets.blocks[BUCKET_YOUNG], 1);
    ck_assert_uint_eq(s->end.buckets.bytes[BUCKET_OLD], 0);
    ck_assert_uint_eq(s->end.oldest_birth_ns, 3 * SEC);
    model_free(&m);
    forge_free(&f);
}
END_TEST

START_TEST(test_module_maps_by_generation)
{
    struct forge f;
    struct model m;

    forge_init(&f, 1 << 14);
    forge_process(&f, 1, "/bin/p");
    forge_site(&f, 1, 1);               /* before any MODULES */
    forge_modules(&f, 1, "/bin/p");
    forge_site(&f, 2, 1);
    forge_modules(&f, 2, "/lib/plugin.so");
    forge_site(&f, 3, 1);
    forge_snapshot(&f, SEC, 0);
    forge_end(&f, SEC, 0, 0);
    load(&f, &m);
    ck_assert_uint_eq(m.nmaps, 2);
    ck_assert_uint_eq(m.maps[1].generation, 2);
    ck_assert_str_eq(m.maps[1].modules[0].path, "/lib/plugin.so");
    ck_assert_uint_eq(m.maps[0].modules[0].build_id_len, 4);
    ck_assert_uint_eq(model_site_find(&m, 1)->module_map, MODEL_NO_MODULES);
    ck_assert_uint_eq(model_site_find(&m, 2)->module_map, 0);
    ck_assert_uint_eq(model_site_find(&m, 3)->module_map, 1);
    ck_assert_uint_eq(model_site_find(&m, 3)->frames[0], 0x401000 + 3);
    model_free(&m);
    forge_free(&f);
}
END_TEST

Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, test_survivors_per_site_and_bucket);
    tcase_add_test(tc, test_unreachable_ignored_without_scan);
    tcase_add_test(tc, test_timeline_points_only_on_change);
    tcase_add_test(tc, test_births_sampled_beyond_cap);
    tcase_add_test(tc, test_estimated_ages_from_timeline);
    tcase_add_test(tc, test_estimated_single_block_not_split);
    tcase_add_test(tc, test_module_maps_by_generation);
    suite_add_tcase(s, tc);
    return s;
}
