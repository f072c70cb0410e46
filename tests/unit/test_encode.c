/* test_encode.c - the trace encoder: framing, lengths, room, chunk limits. */
#include "suites.h"
#include "trace_encode.h"

#include <string.h>

static uint8_t mem[4096];

START_TEST(test_file_header)
{
    struct trace_buf b;
    struct mt_file_header h;
    trace_buf_init(&b, mem, sizeof mem);
    ck_assert_int_eq(trace_put_file_header(&b), 0);
    ck_assert_uint_eq(b.len, sizeof h);
    memcpy(&h, mem, sizeof h);
    ck_assert_int_eq(memcmp(h.magic, MT_MAGIC, MT_MAGIC_LEN), 0);
    ck_assert_uint_eq(h.version, MT_FORMAT_VERSION);
    ck_assert_uint_eq(h.endian_check, MT_ENDIAN_CHECK);
    ck_assert_uint_eq(h.pointer_size, 8);
}
END_TEST

START_TEST(test_record_length_patched)
{
    struct trace_buf b;
    struct mt_record_header h;
    uint64_t a = 1, c = 2;
    trace_buf_init(&b, mem, sizeof mem);
    ck_assert_int_eq(trace_record_begin(&b, MT_REC_SITE), 0);
    ck_assert_int_eq(trace_record_begin(&b, MT_REC_SITE), -1); /* one open */
    ck_assert_int_eq(trace_record_put(&b, &a, sizeof a), 0);
    ck_assert_int_eq(trace_record_put(&b, &c, sizeof c), 0);
    trace_record_end(&b);
    memcpy(&h, mem, sizeof h);
    ck_assert_uint_eq(h.type, MT_REC_SITE);
    ck_assert_uint_eq(h.length, 16);
    ck_assert_uint_eq(b.len, 24);
    ck_assert_uint_eq(trace_record_room(&b), 0); /* nothing open */
}
END_TEST

START_TEST(test_no_room_appends_nothing)
{
    struct trace_buf b;
    uint8_t payload[64] = { 0 };
    trace_buf_init(&b, mem, 40);
    ck_assert_int_eq(trace_put_record(&b, MT_REC_END, payload, 32), 0);
    ck_assert_uint_eq(b.len, 40);
    ck_assert_int_eq(trace_put_record(&b, MT_REC_END, payload, 1), -1);
    ck_assert_uint_eq(b.len, 40);
    ck_assert_uint_eq(b.open, SIZE_MAX);
}
END_TEST

START_TEST(test_abandon_restores_length)
{
    struct trace_buf b;
    uint32_t x = 7;
    trace_buf_init(&b, mem, sizeof mem);
    ck_assert_int_eq(trace_put_record(&b, MT_REC_END, &x, sizeof x), 0);
    ck_assert_int_eq(trace_record_begin(&b, MT_REC_SURVIVORS), 0);
    ck_assert_int_eq(trace_record_put(&b, &x, sizeof x), 0);
    trace_record_abandon(&b);
    ck_assert_uint_eq(b.len, 12);
    ck_assert_uint_eq(b.open, SIZE_MAX);
}
END_TEST

START_TEST(test_room_respects_record_max)
{
    /* The payload has its own buffer: copying `big` into itself would
     * overlap, which memcpy does not allow (ASan reports it). */
    static uint8_t big[2 * MT_RECORD_MAX], payload[MT_RECORD_MAX];
    struct trace_buf b;
    trace_buf_init(&b, big, sizeof big);
    ck_assert_int_eq(trace_record_begin(&b, MT_REC_SURVIVORS), 0);
    ck_assert_uint_eq(trace_record_room(&b), MT_RECORD_MAX);
    ck_assert_int_eq(trace_record_put(&b, payload, MT_RECORD_MAX), 0);
    ck_assert_uint_eq(trace_record_room(&b), 0);
    ck_assert_int_eq(trace_record_put(&b, payload, 1), -1);
}
END_TEST

Suite *encode_suite(void)
{
    Suite *s = suite_create("encode");
    TCase *tc = tcase_create("encode");
    tcase_add_test(tc, test_file_header);
    tcase_add_test(tc, test_record_length_patched);
    tcase_add_test(tc, test_no_room_appends_nothing);
    tcase_add_test(tc, test_abandon_restores_length);
    tcase_add_test(tc, test_room_respects_record_max);
    suite_add_tcase(s, tc);
    return s;
}
