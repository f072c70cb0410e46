/*
 * diff.h - mtrace-analyze --diff BEFORE.trace AFTER.trace: how the memory
 * each call site holds at the end changed between two recordings of one
 * program (two versions, two inputs). Sites are matched by their
 * symbolized stacks (function names and source files), never by address,
 * so a rebuilt binary or a different load address still matches.
 */
#ifndef MTRACE_DIFF_H
#define MTRACE_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "buckets.h"

struct diff_options {
    struct bucket_thresholds thresholds;
    bool json;
    size_t top;                 /* text: rows shown */
};

/* Loads both traces and writes the comparison to out. Returns 0, or -1
 * with one line (naming the file) in err. */
int diff_report(FILE *out, const char *before, const char *after,
                const struct diff_options *o, char *err, size_t errlen);

#endif
