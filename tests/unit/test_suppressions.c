/* test_suppressions.c - LeakSanitizer-format files: parsing (comments,
 * blanks, bad lines with their numbers) and matching (substring, `*`,
 * `^` and `$` anchors) against function, file and module. */
#include "suites.h"
#include "suppressions.h"

#include <stdio.h>
#include <string.h>

static char path[512];
static char err[256];

static const char *write_file(const char *name, const char *text)
{
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static struct sym_frame frame(const char *function, const char *file,
                              const char *module)
{
    struct sym_frame f;
    memset(&f, 0, sizeof f);
    f.function = function;
    f.file = file;
    f.module = module;
    return f;
}

START_TEST(test_parse_good_file)
{
    struct suppressions *sup;
    sup = suppressions_load(write_file("good.supp",
                                       "# third-party leaks\n"
                                       "\n"
                                       "leak:libfoo.so\n"
                                       "   leak:  ^init_tables$  \r\n"
                                       "\t# indented comment\n"
                                       "leak:cache_*_insert"),
                            err, sizeof err);
    ck_assert_msg(sup != NULL, "%s", err);
    ck_assert_uint_eq(suppressions_count(sup), 3);
    ck_assert_str_eq(suppressions_pattern(sup, 0), "libfoo.so");
    ck_assert_str_eq(suppressions_pattern(sup, 1), "^init_tables$");
    ck_assert_str_eq(suppressions_pattern(sup, 2), "cache_*_insert");
    ck_assert_ptr_null(suppressions_pattern(sup, 3));
    ck_assert_uint_eq(suppressions_hits(sup, 0), 0);
    suppressions_free(sup);
}
END_TEST

START_TEST(test_parse_empty_file)
{
    struct suppressions *sup;
    struct sym_frame f = frame("main", "main.c", "/bin/app");
    sup = suppressions_load(write_file("empty.supp", "# nothing\n\n"), err,
                            sizeof err);
    ck_assert_ptr_nonnull(sup);
    ck_assert_uint_eq(suppressions_count(sup), 0);
    ck_assert_ptr_null(suppressions_match(sup, &f, 1));
    suppressions_free(sup);
}
END_TEST

START_TEST(test_unknown_type_names_line)
{
    ck_assert_ptr_null(suppressions_load(
        write_file("race.supp", "leak:ok\n# fine\nrace:worker\n"), err,
        sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "race.supp:3:"));
    ck_assert_ptr_nonnull(strstr(err, "unknown suppression type 'race'"));
    ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(test_missing_colon_names_line)
{
    ck_assert_ptr_null(suppressions_load(
        write_file("nocolon.supp", "\n\nleak foo\n"), err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "nocolon.supp:3:"));
    ck_assert_ptr_nonnull(strstr(err, "expected leak:PATTERN"));
}
END_TEST

START_TEST(test_empty_pattern_names_line)
{
    ck_assert_ptr_null(suppressions_load(
        write_file("emptypat.supp", "leak:a\nleak:   \n"), err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "emptypat.supp:2:"));
    ck_assert_ptr_nonnull(strstr(err, "empty pattern"));
}
END_TEST

START_TEST(test_missing_file)
{
    snprintf(path, sizeof path, "%s/does-not-exist.supp", test_tmpdir());
    ck_assert_ptr_null(suppressions_load(path, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "does-not-exist.supp: cannot open"));
}
END_TEST

START_TEST(test_directory_is_an_error)
{
    ck_assert_ptr_null(suppressions_load(test_tmpdir(), err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, test_tmpdir()));
}
END_TEST

START_TEST(test_match_function_file_module)
{
    struct suppressions *sup;
    struct sym_frame by_module[] = {
        frame("xmalloc", "util.c", "/usr/lib/libfoo.so.1"),
    };
    struct sym_frame by_file[] = {
        frame("make", "/src/vendor/zlib/inflate.c", "/bin/app"),
    };
    struct sym_frame by_function[] = {
        frame("strdup", NULL, "/lib/libc.so.6"),
        frame(NULL, NULL, NULL),
        frame("init_tables", "tables.c", "/bin/app"),
    };
    sup = suppressions_load(write_file("match.supp",
                                       "leak:libfoo.so\n"
                                       "leak:vendor/zlib/\n"
                                       "leak:^init_tables$\n"),
                            err, sizeof err);
    ck_assert_msg(sup != NULL, "%s", err);
    ck_assert_str_eq(suppressions_match(sup, by_module, 1), "libfoo.so");
    ck_assert_str_eq(suppressions_match(sup, by_file, 1), "vendor/zlib/");
    ck_assert_str_eq(suppressions_match(sup, by_function, 3), "^init_tables$");
    ck_assert_str_eq(suppressions_match(sup, by_function, 3), "^init_tables$");
    ck_assert_uint_eq(suppressions_hits(sup, 0), 1);
    ck_assert_uint_eq(suppressions_hits(sup, 1), 1);
    ck_assert_uint_eq(suppressions_hits(sup, 2), 2);
    /* Only the first frame given: init_tables is beyond it. */
    ck_assert_ptr_null(suppressions_match(sup, by_function, 1));
    ck_assert_ptr_null(suppressions_match(NULL, by_function, 3));
    suppressions_free(sup);
}
END_TEST

START_TEST(test_anchors_and_wildcards)
{
    struct suppressions *sup;
    struct sym_frame f;
    sup = suppressions_load(write_file("glob.supp",
                                       "leak:^start_*\n"
                                       "leak:_end$\n"
                                       "leak:a*b*c\n"
                                       "leak:^exact$\n"),
                            err, sizeof err);
    ck_assert_msg(sup != NULL, "%s", err);

    f = frame("start_worker_thread", NULL, NULL);
    ck_assert_str_eq(suppressions_match(sup, &f, 1), "^start_*");
    f = frame("restart_worker", NULL, NULL);  /* ^ anchors */
    ck_assert_ptr_null(suppressions_match(sup, &f, 1));
    f = frame("buffer_end", NULL, NULL);
    ck_assert_str_eq(suppressions_match(sup, &f, 1), "_end$");
    f = frame("buffer_end_mark", NULL, NULL);  /* $ anchors */
    ck_assert_ptr_null(suppressions_match(sup, &f, 1));
    f = frame("xxaxxbxxcxx", NULL, NULL);  /* unanchored: substring */
    ck_assert_str_eq(suppressions_match(sup, &f, 1), "a*b*c");
    f = frame("cba", NULL, NULL);
    ck_assert_ptr_null(suppressions_match(sup, &f, 1));
    f = frame("exact", NULL, NULL);
    ck_assert_str_eq(suppressions_match(sup, &f, 1), "^exact$");
    f = frame("exactly", NULL, NULL);
    ck_assert_ptr_null(suppressions_match(sup, &f, 1));
    f = frame("inexact", NULL, NULL);
    ck_assert_ptr_null(suppressions_match(sup, &f, 1));
    suppressions_free(sup);
}
END_TEST

START_TEST(test_no_match)
{
    struct suppressions *sup;
    struct sym_frame frames[] = {
        frame("tick", "leak.c", "/tmp/app"),
        frame("uv__run_timers", "timer.c", "/usr/lib/libuv.so.1"),
    };
    sup = suppressions_load(write_file("none.supp", "leak:libssl\n"), err,
                            sizeof err);
    ck_assert_msg(sup != NULL, "%s", err);
    ck_assert_ptr_null(suppressions_match(sup, frames, 2));
    ck_assert_ptr_null(suppressions_match(sup, frames, 0));
    ck_assert_uint_eq(suppressions_hits(sup, 0), 0);
    suppressions_free(sup);
    suppressions_free(NULL);
}
END_TEST

Suite *suppressions_suite(void)
{
    Suite *s = suite_create("suppressions");
    TCase *parse = tcase_create("parse");
    TCase *match = tcase_create("match");

    tcase_add_test(parse, test_parse_good_file);
    tcase_add_test(parse, test_parse_empty_file);
    tcase_add_test(parse, test_unknown_type_names_line);
    tcase_add_test(parse, test_missing_colon_names_line);
    tcase_add_test(parse, test_empty_pattern_names_line);
    tcase_add_test(parse, test_missing_file);
    tcase_add_test(parse, test_directory_is_an_error);
    tcase_add_test(match, test_match_function_file_module);
    tcase_add_test(match, test_anchors_and_wildcards);
    tcase_add_test(match, test_no_match);
    suite_add_tcase(s, parse);
    suite_add_tcase(s, match);
    return s;
}
