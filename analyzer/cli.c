/* cli.c - see cli.h. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "trace_format.h"
#include "units.h"

#define MTRACE_ANALYZE_VERSION "0.1.0"
#define OPTIONS_DEFAULT_TOP 10

enum long_only {
    OPT_FORMAT = 256, OPT_YOUNG, OPT_LARGE, OPT_TOP, OPT_MIN_BYTES, OPT_COST,
    OPT_FAIL_ON_LEAK, OPT_SUPPRESSIONS, OPT_DIFF,
};

static const struct option long_options[] = {
    { "format", required_argument, NULL, OPT_FORMAT },
    { "output", required_argument, NULL, 'o' },
    { "young", required_argument, NULL, OPT_YOUNG },
    { "large", required_argument, NULL, OPT_LARGE },
    { "top", required_argument, NULL, OPT_TOP },
    { "min-bytes", required_argument, NULL, OPT_MIN_BYTES },
    { "cost", required_argument, NULL, OPT_COST },
    { "fail-on-leak", no_argument, NULL, OPT_FAIL_ON_LEAK },
    { "suppressions", required_argument, NULL, OPT_SUPPRESSIONS },
    { "diff", no_argument, NULL, OPT_DIFF },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
    fputs(
"Usage: mtrace-analyze [OPTIONS] FILE.trace\n"
"       mtrace-analyze --diff [--format text|json] BEFORE.trace AFTER.trace\n"
"Reports on a trace recorded by LD_PRELOAD=libmtrace.so: who holds the\n"
"memory, how old it is, and which call sites leak.\n"
"\n"
"  --format FORMAT       text (default), json, html (one self-contained\n"
"                        page: charts, sortable table, flame graph) or\n"
"                        collapsed (stacks for flame graph tools)\n"
"  -o, --output FILE     write the report to FILE instead of stdout\n"
"  --young DURATION      survivors younger than this are young (default 1s;\n"
"                        units ns, us, ms, s, m, h: e.g. 500ms, 2s)\n"
"  --large BYTES         survivors at least this big are large (default\n"
"                        128K; K, M, G are powers of 1024: e.g. 64K, 1M)\n"
"  --top N               text: show the N sites with most live bytes\n"
"                        (default 10)\n"
"  --min-bytes BYTES     text: hide sites with fewer live bytes\n"
"  --cost COST           collapsed and html's flame graph: live (default),\n"
"                        allocs, bytes or peak\n"
"  --fail-on-leak        exit with status 3 when a site is judged a leak\n"
"  --suppressions FILE   LeakSanitizer-style file of leak:PATTERN lines\n"
"  --diff                compare two recordings of one program: live bytes\n"
"                        per call stack, matched by function and file\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"Exit status: 0 report written, 2 bad usage or a file that is not a\n"
"readable trace, 3 a leak was found with --fail-on-leak.\n", out);
}

static int parse_count(const char *text, size_t *out)
{
    char *end;
    unsigned long long v;

    if (!text || !*text || *text == '-' || *text == '+')
        return -1;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno || *end || v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_choice(const char *text, const char *const *names,
                        size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(text, names[i]) == 0)
            return (int)i;
    return -1;
}

/* One option's value; returns -1 after printing the error line. */
static int apply_option(int c, const char *arg, struct options *o, FILE *err)
{
    static const char *const formats[] = { "text", "json", "collapsed",
                                             "html" };
    static const char *const costs[] = { "live", "allocs", "bytes", "peak" };
    char why[200];
    int choice;

    switch (c) {
    case OPT_FORMAT:
        choice = parse_choice(arg, formats, 4);
        if (choice < 0) {
            fprintf(err, "mtrace-analyze: unknown --format '%s' (use text, "
                    "json, html or collapsed)\n", arg);
            return -1;
        }
        o->format = (enum options_format)choice;
        return 0;
    case OPT_COST:
        choice = parse_choice(arg, costs, 4);
        if (choice < 0) {
            fprintf(err, "mtrace-analyze: unknown --cost '%s' (use live, "
                    "allocs, bytes or peak)\n", arg);
            return -1;
        }
        o->report.cost = (enum report_cost)choice;
        return 0;
    case 'o':
        o->output = arg;
        return 0;
    case OPT_SUPPRESSIONS:
        o->suppressions = arg;
        return 0;
    case OPT_DIFF:
        o->diff = true;
        return 0;
    case OPT_FAIL_ON_LEAK:
        o->fail_on_leak = true;
        return 0;
    case OPT_YOUNG:
        if (units_parse_duration(arg, &o->report.thresholds.young_ns, why,
                                 sizeof why) == 0)
            return 0;
        fprintf(err, "mtrace-analyze: --young: %s\n", why);
        return -1;
    case OPT_LARGE:
    case OPT_MIN_BYTES:
        if (units_parse_size(arg, c == OPT_LARGE
                                      ? &o->report.thresholds.large_bytes
                                      : &o->report.min_bytes,
                             why, sizeof why) == 0)
            return 0;
        fprintf(err, "mtrace-analyze: %s: %s\n",
                c == OPT_LARGE ? "--large" : "--min-bytes", why);
        return -1;
    case OPT_TOP:
        if (parse_count(arg, &o->report.top) == 0)
            return 0;
        fprintf(err, "mtrace-analyze: --top: '%s' is not a count of sites\n",
                arg);
        return -1;
    }
    return -1;
}

enum options_result options_parse(int argc, char **argv, struct options *o,
                                  FILE *out, FILE *err)
{
    int c;

    memset(o, 0, sizeof *o);
    o->format = FORMAT_TEXT;
    o->report.thresholds.young_ns = BUCKETS_DEFAULT_YOUNG_NS;
    o->report.thresholds.large_bytes = BUCKETS_DEFAULT_LARGE_BYTES;
    o->report.top = OPTIONS_DEFAULT_TOP;
    o->report.cost = REPORT_COST_LIVE;
    opterr = 0;     /* getopt's own messages take two lines; ours one */
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:hV", long_options, NULL)) != -1) {
        if (c == 'h') {
            usage(out);
            return OPTIONS_EXIT_OK;
        }
        if (c == 'V') {
            fprintf(out, "mtrace-analyze %s (trace format version %d)\n",
                    MTRACE_ANALYZE_VERSION, MT_FORMAT_VERSION);
            return OPTIONS_EXIT_OK;
        }
        if (c == '?' || c == ':') {
            char short_name[3] = { '-', (char)optopt, '\0' };
            /* Long options report their val in optopt, not a letter. */
            const char *name = optopt > 0 && optopt < 256 ? short_name
                                                          : argv[optind - 1];
            fprintf(err, c == '?'
                             ? "mtrace-analyze: unknown option '%s' (see "
                               "--help)\n"
                             : "mtrace-analyze: option '%s' needs a value "
                               "(see --help)\n", name);
            return OPTIONS_EXIT_USAGE;
        }
        if (apply_option(c, optarg, o, err) < 0)
            return OPTIONS_EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(err, "mtrace-analyze: no trace file given (see --help)\n");
        return OPTIONS_EXIT_USAGE;
    }
    if (o->diff) {
        if (optind + 2 != argc) {
            fprintf(err, "mtrace-analyze: --diff takes two trace files, "
                    "BEFORE and AFTER\n");
            return OPTIONS_EXIT_USAGE;
        }
        if (o->format != FORMAT_TEXT && o->format != FORMAT_JSON) {
            fprintf(err, "mtrace-analyze: --diff writes text or json\n");
            return OPTIONS_EXIT_USAGE;
        }
        o->diff_before = argv[optind];
        o->trace = argv[optind + 1];
        return OPTIONS_RUN;
    }
    if (optind + 1 < argc) {
        fprintf(err, "mtrace-analyze: one trace file at a time ('%s' is one "
                "too many)\n", argv[optind + 1]);
        return OPTIONS_EXIT_USAGE;
    }
    o->trace = argv[optind];
    return OPTIONS_RUN;
}
