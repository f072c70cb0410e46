/* options.c - see options.h. One table: name, kind, range, default. */
#include "options.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "trace_format.h"

struct mt_options mt_opt;

int options_parse_uint(const char *text, uint64_t min, uint64_t max,
                       uint64_t *value)
{
    uint64_t v = 0;
    if (!text || !*text)
        return -1;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        if (v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    if (v < min || v > max)
        return -1;
    *value = v;
    return 0;
}

int options_parse_bool(const char *text, bool *value)
{
    static const char *const yes[] = { "1", "yes", "true", "on" };
    static const char *const no[] = { "0", "no", "false", "off", "" };
    if (!text)
        return -1;
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(text, yes[i]) == 0)
            return *value = true, 0;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(text, no[i]) == 0)
            return *value = false, 0;
    return -1;
}

int options_parse_signal(const char *text, int *signo)
{
    static const struct { const char *name; int signo; } names[] = {
        { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP },
        { "WINCH", SIGWINCH }, { "PROF", SIGPROF }, { "URG", SIGURG },
    };
    uint64_t n;
    if (!text)
        return -1;
    if (strncasecmp(text, "SIG", 3) == 0)
        text += 3;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(text, names[i].name) == 0)
            return *signo = names[i].signo, 0;
    if (options_parse_uint(text, 1, (uint64_t)SIGRTMAX, &n) < 0)
        return -1;
    /* Signals whose default action or meaning we must not take over. */
    if (n == SIGKILL || n == SIGSTOP || n == SIGSEGV || n == SIGBUS ||
        n == SIGFPE || n == SIGILL || n == SIGABRT)
        return -1;
    *signo = (int)n;
    return 0;
}

enum option_kind { OPT_PATH, OPT_UINT32, OPT_BOOL, OPT_SIGNAL };

struct option_spec {
    const char *name;
    enum option_kind kind;
    void *target;              /* field of mt_opt */
    uint64_t min, max;         /* OPT_UINT32 only */
    const char *expect;        /* for the message about a bad value */
};

static const struct option_spec option_table[] = {
    { "MTRACE_OUT", OPT_PATH, mt_opt.out, 0, 0, "a path" },
    { "MTRACE_INTERVAL_MS", OPT_UINT32, &mt_opt.interval_ms, 1, 3600000,
      "a number of milliseconds from 1 to 3600000" },
    { "MTRACE_DEPTH", OPT_UINT32, &mt_opt.depth, 1, MT_MAX_FRAMES,
      "a number of frames from 1 to 128" },
    { "MTRACE_MMAP", OPT_BOOL, &mt_opt.mmap, 0, 0, "0 or 1" },
    { "MTRACE_REACHABILITY", OPT_BOOL, &mt_opt.reachability, 0, 0, "0 or 1" },
    { "MTRACE_DISABLE", OPT_BOOL, &mt_opt.disable, 0, 0, "0 or 1" },
    { "MTRACE_VERBOSE", OPT_BOOL, &mt_opt.verbose, 0, 0, "0 or 1" },
    { "MTRACE_SNAPSHOT_SIGNAL", OPT_SIGNAL, &mt_opt.snapshot_signal, 0, 0,
      "a signal such as USR2 or 12" },
    { "MTRACE_CHECK_UNWIND", OPT_BOOL, &mt_opt.check_unwind, 0, 0, "0 or 1" },
};

static void option_store(const struct option_spec *spec, const char *text)
{
    uint64_t number;
    int bad = 0;

    switch (spec->kind) {
    case OPT_PATH:
        bad = !*text || strlen(text) >= sizeof mt_opt.out;
        if (!bad)
            strcpy(spec->target, text);
        break;
    case OPT_UINT32:
        bad = options_parse_uint(text, spec->min, spec->max, &number) < 0;
        if (!bad)
            *(uint32_t *)spec->target = (uint32_t)number;
        break;
    case OPT_BOOL:
        bad = options_parse_bool(text, spec->target) < 0;
        break;
    case OPT_SIGNAL:
        bad = options_parse_signal(text, spec->target) < 0;
        break;
    }
    if (bad)
        mt_log("%s=%.64s is not %s; using the default", spec->name, text,
               spec->expect);
}

void options_load(void)
{
    memset(&mt_opt, 0, sizeof mt_opt);
    strcpy(mt_opt.out, "mtrace.%p.trace");
    mt_opt.interval_ms = 100;
    mt_opt.depth = 32;
    for (size_t i = 0; i < sizeof option_table / sizeof *option_table; i++) {
        const char *text = getenv(option_table[i].name);
        if (text)
            option_store(&option_table[i], text);
    }
}
