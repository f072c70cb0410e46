/*
 * cli.h - the command line of mtrace-analyze.
 */
#ifndef MTRACE_CLI_H
#define MTRACE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "report.h"

enum options_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_COLLAPSED, FORMAT_HTML };

struct options {
    enum options_format format;
    const char *output;             /* -o FILE, or NULL for stdout */
    const char *suppressions;       /* --suppressions FILE, or NULL */
    bool fail_on_leak;
    struct report_options report;
    const char *trace;
    bool diff;                      /* --diff BEFORE AFTER */
    const char *diff_before;        /* BEFORE; trace is then AFTER */
};

enum options_result {
    OPTIONS_RUN,                    /* analyse opts->trace */
    OPTIONS_EXIT_OK,                /* --help or --version was printed */
    OPTIONS_EXIT_USAGE,             /* the error line was printed */
};

/* Usage and version go to `out`, errors (one line each) to `err`. */
enum options_result options_parse(int argc, char **argv, struct options *opts,
                                  FILE *out, FILE *err);

#endif
