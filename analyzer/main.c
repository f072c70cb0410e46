/* main.c - mtrace-analyze: reads a trace, judges its call sites, writes a
 * report. Exit status: 0, 2 bad usage or input, 3 leak with --fail-on-leak. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "diff.h"
#include "model.h"
#include "cli.h"
#include "report.h"
#include "stacks.h"
#include "suppressions.h"
#include "trace_load.h"

#define EXIT_USAGE 2
#define EXIT_LEAK 3

static int write_report(FILE *out, const struct options *o,
                        struct analysis *a)
{
    switch (o->format) {
    case FORMAT_TEXT:
        return report_text(out, a, &o->report);
    case FORMAT_JSON:
        return report_json(out, a, &o->report);
    case FORMAT_COLLAPSED:
        return report_collapsed(out, a, &o->report);
    case FORMAT_HTML:
        return report_html(out, a, &o->report);
    }
    return -1;
}

/* Writes to -o FILE or stdout; one line on stderr when that fails. */
static int emit(const struct options *o, struct analysis *a)
{
    FILE *out = stdout;
    const char *name = o->output ? o->output : "standard output";

    if (o->output && !(out = fopen(o->output, "w"))) {
        fprintf(stderr, "mtrace-analyze: %s: %s\n", o->output,
                strerror(errno));
        return -1;
    }
    errno = 0;
    if (write_report(out, o, a) < 0 || fflush(out) != 0) {
        fprintf(stderr, "mtrace-analyze: writing %s: %s\n", name,
                strerror(errno ? errno : EIO));
        if (out != stdout)
            fclose(out);
        return -1;
    }
    if (out != stdout && fclose(out) != 0) {
        fprintf(stderr, "mtrace-analyze: writing %s: %s\n", name,
                strerror(errno));
        return -1;
    }
    return 0;
}

static void warn_about_cut(const struct options *o, const struct model *m)
{
    if (m->truncated)
        fprintf(stderr,
                "mtrace-analyze: warning: %s was cut short (the program was "
                "probably killed): reporting up to its last complete "
                "snapshot; ages are estimates\n", o->trace);
}

static int run_diff(const struct options *o)
{
    struct diff_options d = {
        .thresholds = o->report.thresholds,
        .json = o->format == FORMAT_JSON,
        .top = o->report.top,
    };
    FILE *out = stdout;
    char err[700];
    int rc;

    if (o->output && !(out = fopen(o->output, "w"))) {
        fprintf(stderr, "mtrace-analyze: %s: %s\n", o->output, strerror(errno));
        return EXIT_USAGE;
    }
    rc = diff_report(out, o->diff_before, o->trace, &d, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "mtrace-analyze: %s\n", err);
    if ((out != stdout && fclose(out) != 0) || fflush(stdout) != 0) {
        fprintf(stderr, "mtrace-analyze: writing the report: %s\n",
                strerror(errno));
        return EXIT_USAGE;
    }
    return rc < 0 ? EXIT_USAGE : 0;
}

int main(int argc, char **argv)
{
    struct options opts;
    struct model model;
    struct analysis analysis;
    struct suppressions *sup = NULL;
    struct stacks *stacks;
    char err[600];
    int status;

    switch (options_parse(argc, argv, &opts, stdout, stderr)) {
    case OPTIONS_EXIT_OK:
        return 0;
    case OPTIONS_EXIT_USAGE:
        return EXIT_USAGE;
    case OPTIONS_RUN:
        break;
    }
    if (opts.diff)
        return run_diff(&opts);
    if (opts.suppressions) {
        sup = suppressions_load(opts.suppressions, err, sizeof err);
        if (!sup) {
            fprintf(stderr, "mtrace-analyze: %s\n", err);
            return EXIT_USAGE;
        }
    }
    model_init(&model, &opts.report.thresholds);
    if (trace_load(opts.trace, &model, err, sizeof err) < 0) {
        fprintf(stderr, "mtrace-analyze: %s: %s\n", opts.trace, err);
        model_free(&model);
        suppressions_free(sup);
        return EXIT_USAGE;
    }
    warn_about_cut(&opts, &model);
    stacks = stacks_new(&model, stderr);
    analysis_run(&analysis, &model, stacks, sup);
    status = emit(&opts, &analysis) < 0 ? EXIT_USAGE : 0;
    if (status == 0 && opts.fail_on_leak && analysis.nleak > 0)
        status = EXIT_LEAK;
    analysis_free(&analysis);
    stacks_free(stacks);
    model_free(&model);
    suppressions_free(sup);
    return status;
}
