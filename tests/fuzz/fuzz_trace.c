/*
 * fuzz_trace.c - libFuzzer harness over what mtrace-analyze does with a
 * trace file: the reader and the model (trace_load_memory), then the
 * analysis, the stacks and the reports (text, JSON, collapsed stacks
 * under each cost), written to /dev/null. The input
 * is exactly a trace file, so a crashing input reproduces with
 * `mtrace-analyze CRASH-FILE`.
 *
 * The symbolizer opens the module paths a trace names; a fuzzed trace must
 * not make the harness open arbitrary files on this machine (devices,
 * FIFOs), so every module path is cut to its last component first. Paths
 * without a slash are pseudo modules the symbolizer never opens, and the
 * last component still tells libc and libmtrace apart for the analysis.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "buckets.h"
#include "model.h"
#include "report.h"
#include "stacks.h"
#include "trace_load.h"

/* cli.c's OPTIONS_DEFAULT_TOP; small enough to keep each run fast. */
#define FUZZ_REPORT_TOP 10

static FILE *devnull;

static void sandbox_module_paths(struct model *m)
{
    for (size_t i = 0; i < m->nmaps; i++) {
        for (size_t j = 0; j < m->maps[i].count; j++) {
            struct sym_module *mod = &m->maps[i].modules[j];
            const char *slash = strrchr(mod->path, '/');
            if (slash)
                memmove((char *)mod->path, slash + 1, strlen(slash + 1) + 1);
        }
    }
}

/* An error is one line, as mtrace-analyze prints it. */
static void check_error_line(const char *err)
{
    if (err[0] == '\0' || strchr(err, '\n')) {
        fprintf(stderr, "fuzz_trace: bad error message '%s'\n", err);
        abort();
    }
}

static void write_reports(struct analysis *a)
{
    struct report_options o;

    memset(&o, 0, sizeof o);
    o.thresholds = a->model->thresholds;
    o.top = FUZZ_REPORT_TOP;
    for (int cost = REPORT_COST_LIVE; cost <= REPORT_COST_PEAK; cost++) {
        o.cost = (enum report_cost)cost;
        report_collapsed(devnull, a, &o);
    }
    report_text(devnull, a, &o);
    report_json(devnull, a, &o);
    report_html(devnull, a, &o);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    if (!devnull) {
        perror("fuzz_trace: /dev/null");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bucket_thresholds th = { BUCKETS_DEFAULT_YOUNG_NS,
                                    BUCKETS_DEFAULT_LARGE_BYTES };
    struct model m;
    struct analysis a;
    struct stacks *stacks;
    char err[600] = "";

    model_init(&m, &th);
    if (trace_load_memory(data, size, &m, err, sizeof err) < 0) {
        check_error_line(err);
        model_free(&m);
        return 0;
    }
    sandbox_module_paths(&m);
    stacks = stacks_new(&m, devnull);
    analysis_run(&a, &m, stacks, NULL);
    write_reports(&a);
    analysis_free(&a);
    stacks_free(stacks);
    model_free(&m);
    return 0;
}
