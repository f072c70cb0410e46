/* test_reader.c - the trace reader: every record decoded, every kind of
 * damage reported as such, and a trace cut at every byte read as cut. */
#include "suites.h"
#include "trace_forge.h"

#include <string.h>

#include "model.h"
#include "reader.h"
#include "trace_load.h"

START_TEST(test_every_record_decoded)
{
    struct forge f;
    struct reader_record rec;
    struct mt_site_counters c;
    struct mt_survivor s;
    struct trace_reader *r;
    char err[256];

    forge_begin(&f);
    forge_site(&f, 1, 3);
    forge_counters(&f, 1, 300, 5, 2);
    forge_snapshot(&f, 1000, 300);
    forge_survivor(&f, 1, 100, 500, MT_SURV_UNREACHABLE);
    forge_end(&f, 2000, 1, MT_END_REACHABILITY_DONE);
    r = reader_open(forge_write(&f, "all.trace", SIZE_MAX), err, sizeof err);
    ck_assert_ptr_nonnull(r);

    ck_assert_int_eq(reader_next(r, &rec), READER_RECORD);
    ck_assert_uint_eq(rec.type, MT_REC_PROCESS);
    ck_assert_uint_eq(rec.offset, sizeof(struct mt_file_header));
    ck_assert_uint_eq(rec.u.process.info.pid, 4242);
    ck_assert_uint_eq(rec.u.process.info.exe_len, 13);
    ck_assert_int_eq(memcmp(rec.u.process.exe, "/usr/bin/prog", 13), 0);
    ck_assert_int_eq(memcmp(rec.u.process.cmdline, "prog\0--flag", 12), 0);

    ck_assert_int_eq(reader_next(r, &rec), READER_RECORD);
    ck_assert_uint_eq(rec.type, MT_REC_MODULES);
    ck_assert_uint_eq(rec.u.modules.generation, 1);
    ck_assert_uint_eq(rec.u.modules.count, 1);
    ck_assert_uint_eq(rec.u.modules.modules[0].info.start, 0x400000);
    ck_assert_uint_eq(rec.u.modules.modules[0].info.build_id_len, 4);
    ck_assert_uint_eq(rec.u.modules.modules[0].build_id[0], 0xde);
    ck_assert_int_eq(memcmp(rec.u.modules.modules[0].path, "/usr/bin/prog",
                            13), 0);

    ck_assert_int_eq(reader_next(r, &rec), READER_RECORD);
    ck_assert_uint_eq(rec.type, MT_REC_SITE);
    ck_assert_uint_eq(rec.u.site.info.site_id, 1);
    ck_assert_uint_eq(rec.u.site.info.nframes, 3);
    ck_assert_uint_eq(rec.u.site.frames[2], 0x401000 + 0x20 + 1);

    ck_assert_int_eq(reader_next(r, &rec), READER_RECORD);
    ck_assert_uint_eq(rec.type, MT_REC_SITE_COUNTERS);
    ck_assert_uint_eq(rec.u.counters.count, 1);
    reader_counters_at(&rec, 0, &c);
    ck_assert_uint_eq(c.site_id, 1);
    ck_assert_uint_eq(c.live_bytes, 300);
    ck_assert_uint_eq(c.allocs, 5);
    ck_assert_uint_eq(c.frees, 2);

    ck_assert_int_eq(reader_next(r, &rec), READER_RECORD);
    ck_assert_uint_eq(rec.type, MT_REC_SNAPSHOT);
    ck_assert_uint_eq(rec.u.snapshot.t_ns, 1000);
    ck_assert_uint_eq(rec.u.snapshot.live_bytes, 300);

    ck_assert_int_eq(reader_next(r, &rec), READER_RECORD);
    ck_assert_uint_eq(rec.type, MT_REC_SURVIVORS);
    ck_assert_uint_eq(rec.u.survivors.count, 1);
    reader_survivor_at(&rec, 0, &s);
    ck_assert_uint_eq(s.site_id, 1);
    ck_assert_uint_eq(s.size, 100);
    ck_assert_uint_eq(s.birth_ns, 500);
    ck_assert_uint_eq(s.flags, MT_SURV_UNREACHABLE);

    ck_assert_int_eq(reader_next(r, &rec), READER_RECORD);
    ck_assert_uint_eq(rec.type, MT_REC_END);
    ck_assert_uint_eq(rec.u.end.t_ns, 2000);
    ck_assert_uint_eq(rec.u.end.survivors, 1);
    ck_assert_uint_eq(rec.u.end.flags, MT_END_REACHABILITY_DONE);

    ck_assert_int_eq(reader_next(r, &rec), READER_EOF);
    reader_close(r);
    forge_free(&f);
}
END_TEST

START_TEST(test_bad_magic)
{
    struct forge f;
    forge_init(&f, 4096);
    f.buf.data[0] = 'X';
    forge_expect(&f, "not an mtrace trace (bad magic)");
}
END_TEST

START_TEST(test_empty_file)
{
    struct forge f;
    forge_init_raw(&f, 16);
    forge_expect(&f, "not an mtrace trace (the file is empty)");
}
END_TEST

START_TEST(test_newer_version)
{
    struct forge f;
    uint32_t version = MT_FORMAT_VERSION + 1;
    forge_init(&f, 4096);
    memcpy(f.buf.data + offsetof(struct mt_file_header, version), &version, 4);
    forge_expect(&f, "trace format version 3 is newer than this "
                     "mtrace-analyze (supports 2)");
}
END_TEST

START_TEST(test_bad_endian_check)
{
    struct forge f;
    uint32_t swapped = __builtin_bswap32(MT_ENDIAN_CHECK), junk = 0x11223344;
    size_t at = offsetof(struct mt_file_header, endian_check);

    forge_init(&f, 4096);
    memcpy(f.buf.data + at, &swapped, 4);
    forge_expect(&f, "damaged trace: written with the other byte order");
    forge_init(&f, 4096);
    memcpy(f.buf.data + at, &junk, 4);
    forge_expect(&f, "damaged trace: bad endian check 0x11223344");
}
END_TEST

START_TEST(test_record_longer_than_max)
{
    struct forge f;
    forge_begin(&f);
    forge_raw_record(&f, MT_REC_SNAPSHOT, MT_RECORD_MAX + 1, NULL, 0);
    forge_expect(&f, "SNAPSHOT record at offset 202 is 1048577 bytes long "
                     "(at most 1048576)");
}
END_TEST

START_TEST(test_length_not_matching_count)
{
    struct forge f;
    struct { struct mt_rec_site_counters head; struct mt_site_counters c; }
        p = { .head = { .count = 2 }, .c = { .site_id = 1 } };
    forge_begin_v1(&f);
    forge_site(&f, 1, 1);
    forge_raw_record(&f, MT_REC_SITE_COUNTERS, sizeof p, &p, sizeof p);
    forge_expect(&f, "SITE_COUNTERS record at offset 234 is 56 bytes long, "
                     "but 2 entries need 104");
}
END_TEST

START_TEST(test_survivors_length_not_matching_count)
{
    struct forge f;
    struct { struct mt_rec_survivors head; struct mt_survivor s; uint8_t x; }
        p = { .head = { .count = 1 }, .s = { .site_id = 1 } };
    forge_begin(&f);
    forge_site(&f, 1, 1);
    forge_raw_record(&f, MT_REC_SURVIVORS, 33, &p, 33);
    forge_expect(&f, "is 33 bytes long, but 1 entries need 32");
}
END_TEST

START_TEST(test_too_many_frames)
{
    struct forge f;
    static uint8_t p[16 + 8 * (MT_MAX_FRAMES + 1)];
    struct mt_rec_site s = { .site_id = 1, .nframes = MT_MAX_FRAMES + 1 };
    memcpy(p, &s, sizeof s);
    forge_begin(&f);
    forge_raw_record(&f, MT_REC_SITE, sizeof p, p, sizeof p);
    forge_expect(&f, "SITE record at offset 202 has 129 frames (at most 128)");
}
END_TEST

START_TEST(test_site_length_not_matching_frames)
{
    struct forge f;
    uint8_t p[16 + 8] = { 0 };
    struct mt_rec_site s = { .site_id = 1, .nframes = 2 };
    memcpy(p, &s, sizeof s);
    forge_begin_v1(&f);
    forge_raw_record(&f, MT_REC_SITE, sizeof p, p, sizeof p);
    forge_expect(&f, "is 24 bytes long, but 2 frames need 32");
}
END_TEST

START_TEST(test_counters_undefined_site)
{
    struct forge f;
    forge_begin(&f);
    forge_site(&f, 1, 1);
    forge_counters(&f, 99, 10, 1, 0);
    forge_expect(&f, "damaged trace: SITE_COUNTERS record at offset 230 "
                     "references undefined site 99");
}
END_TEST

START_TEST(test_survivors_undefined_site)
{
    struct forge f;
    forge_begin(&f);
    forge_site(&f, 1, 1);
    forge_snapshot(&f, 10, 0);
    forge_survivor(&f, 7, 10, 1, 0);
    forge_end(&f, 20, 1, 0);
    forge_expect(&f, "SURVIVORS record at offset 318 references undefined "
                     "site 7");
}
END_TEST

START_TEST(test_duplicate_site)
{
    struct forge f;
    forge_begin(&f);
    forge_site(&f, 1, 1);
    forge_snapshot(&f, 10, 0);
    forge_site(&f, 1, 2);
    forge_expect(&f, "defines site 1 a second time");
}
END_TEST

START_TEST(test_site_id_zero_and_far)
{
    struct forge f;
    forge_begin(&f);
    forge_site(&f, 0, 1);
    forge_expect(&f, "defines site 0 (site ids start at 1)");
    forge_begin(&f);
    forge_site(&f, 4000000000u, 1);
    forge_expect(&f, "defines site 4000000000, far beyond the 0 sites");
}
END_TEST

START_TEST(test_unknown_type)
{
    struct forge f;
    forge_begin(&f);
    forge_raw_record(&f, 42, 0, NULL, 0);
    forge_expect(&f, "damaged trace: unknown record type 42 at offset 202");
}
END_TEST

START_TEST(test_process_strings_out_of_range)
{
    struct forge f;
    struct mt_rec_process p = { .exe_len = 100, .cmdline_len = 0 };
    forge_init(&f, 4096);
    forge_raw_record(&f, MT_REC_PROCESS, sizeof p + 4, &p, sizeof p);
    memcpy(f.buf.data + f.buf.len, "abcd", 4);
    f.buf.len += 4;
    forge_expect(&f, "PROCESS record at offset 24 is 52 bytes long, but its "
                     "strings of 100 and 0 bytes need 148");
}
END_TEST

START_TEST(test_module_strings_out_of_range)
{
    struct forge f;
    struct { struct mt_rec_modules head; struct mt_module m; } p;
    memset(&p, 0, sizeof p);
    p.head.generation = 1;
    p.head.count = 1;
    p.m.path_len = 10;
    forge_init(&f, 4096);
    forge_process(&f, 1, "x");
    forge_raw_record(&f, MT_REC_MODULES, sizeof p, &p, sizeof p);
    forge_expect(&f, "MODULES record at offset 93 has module 1 of 1 whose "
                     "strings (0 + 10 bytes) run past its end");
}
END_TEST

START_TEST(test_module_count_too_large)
{
    struct forge f;
    struct mt_rec_modules head = { .generation = 1, .count = 1000 };
    forge_init(&f, 4096);
    forge_process(&f, 1, "x");
    forge_raw_record(&f, MT_REC_MODULES, sizeof head, &head, sizeof head);
    forge_expect(&f, "claims 1000 modules in 8 bytes");
}
END_TEST

START_TEST(test_order_rules)
{
    struct forge f;
    forge_init(&f, 4096);
    forge_snapshot(&f, 1, 0);
    forge_expect(&f, "SNAPSHOT record at offset 24 comes before the PROCESS");
    forge_begin(&f);
    forge_process(&f, 1, "again");
    forge_expect(&f, "is a second PROCESS record");
    forge_begin(&f);
    forge_snapshot(&f, 1, 0);
    forge_end(&f, 2, 0, 0);
    forge_snapshot(&f, 3, 0);
    forge_expect(&f, "follows the END record");
    forge_begin(&f);
    forge_end(&f, 2, 0, 0);
    f.buf.data[f.buf.len++] = 0;
    forge_expect(&f, "1 stray bytes after the END record");
    forge_begin(&f);
    forge_modules(&f, 1, "/again");
    forge_expect(&f, "has generation 1 after generation 1");
}
END_TEST

START_TEST(test_end_survivor_count_mismatch)
{
    struct forge f;
    forge_begin(&f);
    forge_site(&f, 1, 1);
    forge_snapshot(&f, 10, 0);
    forge_survivor(&f, 1, 10, 1, 0);
    forge_end(&f, 20, 3, 0);
    forge_expect(&f, "counts 3 survivors, but the SURVIVORS records hold 1");
}
END_TEST

START_TEST(test_wrong_fixed_lengths)
{
    struct forge f;
    uint8_t p[40] = { 0 };
    forge_begin(&f);
    forge_raw_record(&f, MT_REC_SNAPSHOT, 40, p, 40);
    forge_expect(&f, "SNAPSHOT record at offset 202 is 40 bytes long "
                     "(expected 80)");
    forge_begin(&f);
    forge_raw_record(&f, MT_REC_END, 8, p, 8);
    forge_expect(&f, "END record at offset 202 is 8 bytes long (expected 32)");
}
END_TEST

START_TEST(test_not_a_regular_file)
{
    struct model m;
    struct bucket_thresholds th = { 1, 1 };
    char err[256];
    model_init(&m, &th);
    ck_assert_int_eq(trace_load(test_tmpdir(), &m, err, sizeof err), -1);
    ck_assert_str_eq(err, "not a regular file");
    ck_assert_int_eq(trace_load("/nonexistent/x.trace", &m, err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "No such file or directory");
    model_free(&m);
}
END_TEST

Suite *reader_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, test_every_record_decoded);
    tcase_add_test(tc, test_bad_magic);
    tcase_add_test(tc, test_empty_file);
    tcase_add_test(tc, test_newer_version);
    tcase_add_test(tc, test_bad_endian_check);
    tcase_add_test(tc, test_record_longer_than_max);
    tcase_add_test(tc, test_length_not_matching_count);
    tcase_add_test(tc, test_survivors_length_not_matching_count);
    tcase_add_test(tc, test_too_many_frames);
    tcase_add_test(tc, test_site_length_not_matching_frames);
    tcase_add_test(tc, test_counters_undefined_site);
    tcase_add_test(tc, test_survivors_undefined_site);
    tcase_add_test(tc, test_duplicate_site);
    tcase_add_test(tc, test_site_id_zero_and_far);
    tcase_add_test(tc, test_unknown_type);
    tcase_add_test(tc, test_process_strings_out_of_range);
    tcase_add_test(tc, test_module_strings_out_of_range);
    tcase_add_test(tc, test_module_count_too_large);
    tcase_add_test(tc, test_order_rules);
    tcase_add_test(tc, test_end_survivor_count_mismatch);
    tcase_add_test(tc, test_wrong_fixed_lengths);
    tcase_add_test(tc, test_not_a_regular_file);
    suite_add_tcase(s, tc);
    return s;
}
