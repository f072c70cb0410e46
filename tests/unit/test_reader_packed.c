/* test_reader_packed.c - trace format 2's packed numbers (trace_format.h)
 * through the reader: counters and frames read back as written, at every
 * width, their size, damage reported as such, and version 1 still read. */
#include "suites.h"
#include "trace_forge.h"

#include <stdio.h>
#include <string.h>

#include "reader.h"

/* f's trace opened and read up to its first record of `type`, in rec. */
static struct trace_reader *open_at_first(struct forge *f, uint32_t type,
                                          struct reader_record *rec)
{
    char err[256];
    struct trace_reader *r =
        reader_open(forge_write(f, "first.trace", SIZE_MAX), err, sizeof err);

    ck_assert_ptr_nonnull(r);
    do
        ck_assert_int_eq(reader_next(r, rec), READER_RECORD);
    while (rec->type != type);
    return r;
}

/* The counters a trace of either version holds, read back. */
static void read_counters(struct forge *f, struct mt_site_counters *out)
{
    struct reader_record rec;
    struct trace_reader *r = open_at_first(f, MT_REC_SITE_COUNTERS, &rec);

    ck_assert_uint_eq(rec.u.counters.count, 1);
    reader_counters_at(&rec, 0, out);
    reader_close(r);
    forge_free(f);
}

START_TEST(test_version_1_counters_still_read)
{
    struct forge f;
    struct mt_site_counters c;
    forge_begin_v1(&f);
    forge_site(&f, 1, 1);
    forge_counters(&f, 1, 300, 5, 2);
    read_counters(&f, &c);
    ck_assert_uint_eq(c.site_id, 1);
    ck_assert_uint_eq(c.live_bytes, 300);
    ck_assert_uint_eq(c.allocs, 5);
    ck_assert_uint_eq(c.frees, 2);
    ck_assert_uint_eq(c.bytes_allocated, 600);
    ck_assert_uint_eq(c.peak_live_bytes, 300);
}
END_TEST

/* Every width a packed number takes, up to all 64 bits. */
START_TEST(test_packed_counters_round_trip)
{
    static const uint64_t values[] = { 0, 1, 127, 128, 16383, 16384,
                                       UINT64_C(1) << 35, UINT64_MAX - 1,
                                       UINT64_MAX };
    const size_t n = sizeof values / sizeof values[0];
    for (size_t i = 0; i < n; i++) {
        struct forge f;
        struct mt_site_counters in = {
            .site_id = 1u << 20, .live_bytes = values[i],
            .allocs = values[(i + 1) % n], .frees = values[(i + 2) % n],
            .bytes_allocated = values[(i + 3) % n],
            .peak_live_bytes = values[(i + 4) % n],
        }, out;
        uint8_t packed[MT_PACKED_COUNTERS_MAX],
            p[8 + MT_PACKED_COUNTERS_MAX] = { 1 };   /* count 1 */
        size_t len = trace_pack_counters(&in, packed);

        ck_assert_uint_le(len, MT_PACKED_COUNTERS_MAX);
        memcpy(p + 8, packed, len);
        forge_begin(&f);
        forge_site(&f, 1u << 20, 1);
        forge_raw_record(&f, MT_REC_SITE_COUNTERS, (uint32_t)(8 + len), p,
                         8 + len);
        read_counters(&f, &out);
        ck_assert_int_eq(memcmp(&in, &out, sizeof in), 0);
    }
}
END_TEST

/* What a SITE_COUNTERS record of small counters takes: the reason for
 * version 2 (48 bytes an entry in version 1). */
START_TEST(test_packed_counters_are_small)
{
    struct mt_site_counters c = {
        .site_id = 12000, .live_bytes = 300000, .allocs = 70000,
        .frees = 69000, .bytes_allocated = 20000000, .peak_live_bytes = 400000,
    };
    uint8_t packed[MT_PACKED_COUNTERS_MAX];
    /* 2 + 3 + 3 + 3 + 4 + 3 bytes */
    ck_assert_uint_eq(trace_pack_counters(&c, packed), 18);
    ck_assert_uint_eq(packed[0], (12000 & 0x7f) | 0x80);
    ck_assert_uint_eq(packed[1], 12000 >> 7);
}
END_TEST

START_TEST(test_packed_counters_damaged)
{
    /* count, reserved, then the entries' bytes. */
    static const struct {
        uint8_t bytes[24];
        uint32_t len;
        const char *error;
    } cases[] = {
        { { 1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0x86 }, 14,
          "has entry 1 of 1 cut short or overflowing" },
        { { 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0x02, 3, 4, 5, 6 }, 23,
          "has entry 1 of 1 cut short or overflowing" },
        { { 1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 }, 16,
          "has 2 bytes after its 1 entries" },
        { { 2, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 1, 2, 3 }, 17,
          "is 17 bytes long, too short for 2 entries" },
        { { 1, 0, 0, 0, 0, 0, 0, 0, 9, 2, 3, 4, 5, 6 }, 14,
          "references undefined site 9" },
        { { 1, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 2, 3, 4,
            5, 6 }, 18, "references undefined site 4294967296" },
        { { 0 }, 4, "is 4 bytes long (at least 8)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct forge f;
        char want[160];
        forge_begin(&f);
        forge_site(&f, 1, 1);
        forge_raw_record(&f, MT_REC_SITE_COUNTERS, cases[i].len,
                         cases[i].bytes, cases[i].len);
        snprintf(want, sizeof want, "SITE_COUNTERS record at offset 230 %s",
                 cases[i].error);
        forge_expect(&f, want);
    }
}
END_TEST

/* The frames of a SITE record of this format, read back. */
static void read_frames(struct forge *f, uint32_t nframes, uint64_t *out)
{
    struct reader_record rec;
    struct trace_reader *r = open_at_first(f, MT_REC_SITE, &rec);

    ck_assert_uint_eq(rec.u.site.info.nframes, nframes);
    memcpy(out, rec.u.site.frames, nframes * sizeof *out);
    reader_close(r);
    forge_free(f);
}

/* Steps up and down, small and across the whole address space. */
START_TEST(test_packed_frames_round_trip)
{
    static const uint64_t frames[] = {
        0, 0x401136, 0x401100, 0x7f3a12345678, 0x401000, UINT64_MAX, 1,
        UINT64_MAX - 1, 0x8000000000000000ull, 0x7fffffffffffffffull,
        0x7fffffffffffffffull,
    };
    const uint32_t n = sizeof frames / sizeof frames[0];
    struct mt_rec_site s = { .site_id = 1, .nframes = n };
    uint8_t p[sizeof s + sizeof frames * 2];
    uint64_t out[sizeof frames / sizeof frames[0]];
    size_t len;
    struct forge f;

    memcpy(p, &s, sizeof s);
    len = trace_pack_frames(frames, n, p + sizeof s);
    ck_assert_uint_le(len, n * MT_PACKED_FRAME_MAX);
    forge_begin(&f);
    forge_raw_record(&f, MT_REC_SITE, (uint32_t)(sizeof s + len), p,
                     sizeof s + len);
    read_frames(&f, n, out);
    ck_assert_int_eq(memcmp(out, frames, sizeof frames), 0);
}
END_TEST

/* A stack within one object: 3 bytes a frame where version 1 took 8. */
START_TEST(test_packed_frames_are_small)
{
    static const uint64_t frames[] = { 0x401136, 0x401f20, 0x402b04,
                                       0x401200 };
    uint8_t packed[4 * MT_PACKED_FRAME_MAX];
    /* 0x401136 zigzagged is 23 bits: 4 bytes; then steps of 3.5 KiB and
     * less, 2 bytes each. */
    ck_assert_uint_eq(trace_pack_frames(frames, 4, packed), 4 + 2 + 2 + 2);
}
END_TEST

START_TEST(test_packed_frames_damaged)
{
    static const struct {
        uint8_t frames[16];
        uint32_t nframes, len;
        const char *error;
    } cases[] = {
        { { 0x02, 0x84 }, 2, 2, "has frame 2 of 2 cut short or overflowing" },
        { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f }, 1,
          10, "has frame 1 of 1 cut short or overflowing" },
        { { 0x02, 0x04, 0x06 }, 2, 3, "has 1 bytes after its 2 frames" },
        { { 0 }, 1, 0, "has frame 1 of 1 cut short or overflowing" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mt_rec_site s = { .site_id = 1,
                                 .nframes = cases[i].nframes };
        uint8_t p[sizeof s + 16];
        char want[160];
        struct forge f;
        memcpy(p, &s, sizeof s);
        memcpy(p + sizeof s, cases[i].frames, cases[i].len);
        forge_begin(&f);
        forge_raw_record(&f, MT_REC_SITE, (uint32_t)(sizeof s + cases[i].len),
                         p, sizeof s + cases[i].len);
        snprintf(want, sizeof want, "SITE record at offset 202 %s",
                 cases[i].error);
        forge_expect(&f, want);
    }
}
END_TEST

Suite *reader_packed_suite(void)
{
    Suite *s = suite_create("reader_packed");
    TCase *tc = tcase_create("reader_packed");
    tcase_add_test(tc, test_version_1_counters_still_read);
    tcase_add_test(tc, test_packed_counters_round_trip);
    tcase_add_test(tc, test_packed_counters_are_small);
    tcase_add_test(tc, test_packed_counters_damaged);
    tcase_add_test(tc, test_packed_frames_round_trip);
    tcase_add_test(tc, test_packed_frames_are_small);
    tcase_add_test(tc, test_packed_frames_damaged);
    suite_add_tcase(s, tc);
    return s;
}
