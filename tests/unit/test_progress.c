/* test_progress.c - the progress line: drawn on a terminal, never on a
 * file or pipe, never for small traces, erased at the end. */
#include "suites.h"
#include "progress.h"

#include <pty.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_terminal_gets_a_line_then_erased)
{
    int master, slave;
    char seen[4096];
    ssize_t n = 0, got;
    FILE *tty;
    struct progress p;

    ck_assert_int_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
    tty = fdopen(slave, "w");
    ck_assert_ptr_nonnull(tty);
    progress_start(&p, tty, "big.trace", 64u << 20);
    progress_update(&p, 32u << 20);
    progress_update(&p, (32u << 20) + 1);   /* too soon: not redrawn */
    progress_finish(&p);
    fclose(tty);
    /* A pty hands its data over in pieces: read until the closed slave
     * side makes read fail (EIO), or one read saw only the first line. */
    while (n < (ssize_t)sizeof seen - 1 &&
           (got = read(master, seen + n, sizeof seen - 1 - (size_t)n)) > 0)
        n += got;
    close(master);
    ck_assert_int_gt(n, 0);
    seen[n] = '\0';
    ck_assert_ptr_nonnull(strstr(seen, "reading big.trace:  50% (32.0 MiB of 64.0 MiB)"));
    ck_assert_ptr_null(strstr(strstr(seen, "64.0 MiB)") + 1, "reading"));
    ck_assert_ptr_nonnull(strstr(seen, "\r\033[K"));
}
END_TEST

START_TEST(test_silent_on_files_and_small_traces)
{
    char path[512];
    FILE *file;
    struct progress p;
    long size;

    snprintf(path, sizeof path, "%s/progress.txt", test_tmpdir());
    file = fopen(path, "w+");
    ck_assert_ptr_nonnull(file);
    progress_start(&p, file, "big.trace", 64u << 20);
    progress_update(&p, 32u << 20);
    progress_finish(&p);
    size = ftell(file);
    fclose(file);
    ck_assert_int_eq(size, 0);
    progress_start(&p, stderr, "small.trace", PROGRESS_MIN_BYTES - 1);
    ck_assert_ptr_null(p.out);
}
END_TEST

Suite *progress_suite(void)
{
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("progress");
    tcase_add_test(tc, test_terminal_gets_a_line_then_erased);
    tcase_add_test(tc, test_silent_on_files_and_small_traces);
    suite_add_tcase(s, tc);
    return s;
}
