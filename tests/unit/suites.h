/* suites.h - every Check suite of the unit tests; main.c runs them all. */
#ifndef MTRACE_TEST_SUITES_H
#define MTRACE_TEST_SUITES_H

#include <check.h>

/* X-macro: add one line per suite, defined in its own test_*.c file. */
#define MTRACE_SUITES(X) \
    X(encode_suite) \
    X(progress_suite) \
    X(reader_suite) \
    X(reader_packed_suite) \
    X(truncation_suite) \
    X(units_suite) \
    X(buckets_suite) \
    X(model_suite) \
    X(json_write_suite) \
    X(live_suite) \
    X(live_layout_suite) \
    X(mmap_ranges_suite) \
    X(range_set_suite) \
    X(sites_suite) \
    X(options_suite) \
    X(symbols_suite) \
    X(verdicts_suite) \
    X(timeline_stats_suite) \
    X(suppressions_suite) \
    X(fuzz_regressions_suite) \
    X(analyze_damaged_suite) \
    X(cfi_suite) \
    X(eh_frame_suite) \
    X(unwind_synthetic_suite) \
    X(unwind_suite) \
    X(chain_memo_suite) \
    X(nursery_suite) \
    X(thinning_suite) \
    X(runtimes_suite)

#define MTRACE_DECLARE_SUITE(name) Suite *name(void);
MTRACE_SUITES(MTRACE_DECLARE_SUITE)

/* Scratch directory for tests that need files (created by main.c). */
const char *test_tmpdir(void);

#endif
