/* test_json_write.c - JSON strings for any bytes, numbers always valid;
 * the same strings made safe for HTML (html_write.h). */
#include "suites.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html_write.h"
#include "json_write.h"

static char *capture_string(const char *s, size_t n)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(out);
    json_string_n(out, s, n);
    fclose(out);
    return text;
}

static void expect(const char *s, size_t n, const char *json)
{
    char *got = capture_string(s, n);
    ck_assert_str_eq(got, json);
    free(got);
}

START_TEST(test_escapes)
{
    expect("plain", 5, "\"plain\"");
    expect("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    expect("\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\"");
    expect("\x01\x1f", 2, "\"\\u0001\\u001f\"");
    expect("a\0b", 3, "\"a\\u0000b\"");
}
END_TEST

START_TEST(test_utf8)
{
    expect("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");               /* valid */
    expect("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"");             /* euro */
    expect("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");     /* emoji */
    expect("\xff", 1, "\"\\ufffd\"");                          /* never */
    expect("\xc3", 1, "\"\\ufffd\"");                          /* cut */
    expect("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");               /* overlong */
    expect("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");    /* surrogate */
    expect("\xf4\x90\x80\x80", 4,
           "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");                /* > 10FFFF */
}
END_TEST

START_TEST(test_numbers_and_null)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    json_string(out, NULL);
    fputc(' ', out);
    json_double(out, NAN);
    fputc(' ', out);
    json_double(out, INFINITY);
    fputc(' ', out);
    json_double(out, 0.1);
    fputc(' ', out);
    json_u64(out, UINT64_MAX);
    fputc(' ', out);
    json_bool(out, 1);
    fclose(out);
    ck_assert_str_eq(text, "null 0 0 0.10000000000000001 "
                           "18446744073709551615 true");
    free(text);
}
END_TEST

/* What one writer makes of s. */
static void expect_written(void (*write)(FILE *, const char *), const char *s,
                           const char *expected)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(out);
    write(out, s);
    fclose(out);
    ck_assert_str_eq(text, expected);
    free(text);
}

static void html_cut_5(FILE *out, const char *s)
{
    html_text_cut(out, s, 5);
}

START_TEST(test_script_safe)
{
    /* Inside <script>, neither "</script>" nor "<!--" may survive. */
    expect_written(json_string_script, "</script><!--&",
                   "\"\\u003c/script\\u003e\\u003c!--\\u0026\"");
    expect_written(json_string_script, "tick\xff",
                   "\"tick\\ufffd\"");
    expect_written(json_string_script, NULL, "null");
}
END_TEST

START_TEST(test_html_text)
{
    expect_written(html_text, "<img src=x onerror='a(1)'>&\"",
                   "&lt;img src=x onerror=&#39;a(1)&#39;&gt;&amp;&quot;");
    expect_written(html_text, "caf\xc3\xa9\xff\x01",
                   "caf\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd");
    expect_written(html_text, NULL, "");
    /* Cut by characters, never inside one; escapes count as one. */
    expect_written(html_cut_5, "\xc3\xa9<abcdef", "\xc3\xa9&lt;abc..");
    expect_written(html_cut_5, "abcde", "abcde");
}
END_TEST

Suite *json_write_suite(void)
{
    Suite *s = suite_create("json_write");
    TCase *tc = tcase_create("json_write");
    tcase_add_test(tc, test_escapes);
    tcase_add_test(tc, test_utf8);
    tcase_add_test(tc, test_numbers_and_null);
    tcase_add_test(tc, test_script_safe);
    tcase_add_test(tc, test_html_text);
    suite_add_tcase(s, tc);
    return s;
}
