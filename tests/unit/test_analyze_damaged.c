/* test_analyze_damaged.c - mtrace-analyze run (fork and exec) on a real
 * trace cut at many offsets and with bytes flipped at many offsets. Each
 * run must end by itself, within a time limit, with either status 2 and
 * exactly one line on stderr, or status 0 and a report; a trace cut after
 * its file header must load and say it was cut. Never a signal, never a
 * hang, never a sanitizer report (that exits 1).
 *
 * The trace comes from running $MTRACE_TEST_BUILD/progs/interval_leak
 * under $MTRACE_TEST_BUILD/libmtrace.so (MTRACE_TEST_BUILD defaults to
 * "build"); the analyzer run is $MTRACE_TEST_ANALYZE, by default the one
 * in that directory (the Makefile points the ASan build at its own). */
#include "suites.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace_format.h"

/* Seconds one analyzer run may take before it counts as a hang; a run
 * takes milliseconds, this leaves room for a loaded machine and ASan. */
#define RUN_TIMEOUT_S 20
/* Runs per test: enough to cut or flip inside every record of the trace
 * at least once, few enough to keep the ASan run to seconds. */
#define MAX_RUNS 120

struct trace_bytes {
    uint8_t *data;
    size_t len;
};

struct outcome {
    int exit_status;            /* -1 when killed by a signal */
    int signal;
    size_t stderr_lines;
    char *out, *err;            /* NUL-terminated, owned */
};

static const char *build_dir(void)
{
    const char *dir = getenv("MTRACE_TEST_BUILD");
    return dir && *dir ? dir : "build";
}

static const char *analyzer_path(void)
{
    static char path[4096];
    const char *set = getenv("MTRACE_TEST_ANALYZE");

    if (set && *set)
        return set;
    snprintf(path, sizeof path, "%s/mtrace-analyze", build_dir());
    return path;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long size;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    ck_assert_int_ge(size, 0);
    rewind(f);
    data = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(fread(data, 1, (size_t)size, f), (size_t)size);
    data[size] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)size;
    return data;
}

/* interval_leak for 6 ticks of 50 ms, a snapshot every 20 ms. */
static void record_real_trace(struct trace_bytes *t)
{
    char prog[4096], lib[4096], out[4096];
    int status;
    pid_t pid;

    snprintf(prog, sizeof prog, "%s/progs/interval_leak", build_dir());
    snprintf(lib, sizeof lib, "%s/libmtrace.so", build_dir());
    snprintf(out, sizeof out, "%s/real.trace", test_tmpdir());
    ck_assert_msg(access(prog, X_OK) == 0 && access(lib, R_OK) == 0,
                  "%s or %s missing: run through make", prog, lib);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        setenv("LD_PRELOAD", lib, 1);
        setenv("MTRACE_OUT", out, 1);
        setenv("MTRACE_INTERVAL_MS", "20", 1);
        execl(prog, prog, "6", (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "interval_leak under the tracer: status 0x%x", status);
    t->data = (uint8_t *)read_file(out, &t->len);
    ck_assert_uint_gt(t->len, sizeof(struct mt_file_header));
}

static void write_trace(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* mtrace-analyze --format json TRACE, stdout and stderr into files; an
 * alarm (kept across exec) turns a hang into SIGALRM. */
static void run_analyzer(const char *trace, struct outcome *o)
{
    char out_path[4096], err_path[4096];
    int status;
    pid_t pid;

    snprintf(out_path, sizeof out_path, "%s/analyze.out", test_tmpdir());
    snprintf(err_path, sizeof err_path, "%s/analyze.err", test_tmpdir());
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 ||
            dup2(err, STDERR_FILENO) < 0)
            _exit(126);
        alarm(RUN_TIMEOUT_S);
        execl(analyzer_path(), "mtrace-analyze", "--format", "json", trace,
              (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    memset(o, 0, sizeof *o);
    o->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    o->out = read_file(out_path, NULL);
    o->err = read_file(err_path, NULL);
    for (const char *c = o->err; *c; c++)
        o->stderr_lines += *c == '\n';
}

static void outcome_free(struct outcome *o)
{
    free(o->out);
    free(o->err);
}

/* The rules every run obeys; `what` says which damage, for messages. */
static void check_outcome(const struct outcome *o, const char *what)
{
    ck_assert_msg(o->signal == 0, "%s: killed by signal %d (%s)%s", what,
                  o->signal, strsignal(o->signal),
                  o->signal == SIGALRM ? ": a hang" : "");
    ck_assert_msg(o->exit_status == 0 || o->exit_status == 2,
                  "%s: exit status %d, stderr: %.2000s", what,
                  o->exit_status, o->err);
    if (o->exit_status == 2) {
        ck_assert_msg(o->stderr_lines == 1 &&
                      o->err[strlen(o->err) - 1] == '\n' &&
                      strncmp(o->err, "mtrace-analyze: ", 16) == 0,
                      "%s: status 2 wants one stderr line, got: %.2000s",
                      what, o->err);
    } else {
        ck_assert_msg(o->out[0] == '{' && strstr(o->out, "\"truncated\": "),
                      "%s: status 0 without a JSON report: %.200s", what,
                      o->out);
    }
}

/* Offsets of every record header, in file order; returns how many. */
static size_t record_offsets(const struct trace_bytes *t, size_t *offsets,
                             size_t max)
{
    size_t n = 0, at = sizeof(struct mt_file_header);
    struct mt_record_header h;

    while (at + sizeof h <= t->len && n < max) {
        memcpy(&h, t->data + at, sizeof h);
        offsets[n++] = at;
        at += sizeof h + h.length;
    }
    return n;
}

/* Every byte of the file header, a cut one byte into and one byte before
 * the end of every record, and an even spread over the rest. */
START_TEST(test_cut_real_trace)
{
    struct trace_bytes t;
    size_t offsets[MAX_RUNS], cuts[MAX_RUNS * 3], ncuts = 0, nrec;
    char path[4096], what[128];

    record_real_trace(&t);
    snprintf(path, sizeof path, "%s/cut.trace", test_tmpdir());
    for (size_t len = 0; len < sizeof(struct mt_file_header) + 2; len++)
        cuts[ncuts++] = len;
    nrec = record_offsets(&t, offsets, MAX_RUNS / 3);
    for (size_t i = 0; i < nrec; i++) {
        cuts[ncuts++] = offsets[i] + 1;
        if (offsets[i] > sizeof(struct mt_file_header))
            cuts[ncuts++] = offsets[i] - 1;
    }
    for (size_t k = 1; ncuts < MAX_RUNS; k++)
        cuts[ncuts++] = t.len * k / (MAX_RUNS / 3 + 1);
    cuts[ncuts++] = t.len;
    for (size_t i = 0; i < ncuts; i++) {
        struct outcome o;
        size_t len = cuts[i] < t.len ? cuts[i] : t.len;

        snprintf(what, sizeof what, "cut at %zu of %zu", len, t.len);
        write_trace(path, t.data, len);
        run_analyzer(path, &o);
        check_outcome(&o, what);
        if (len < sizeof(struct mt_file_header)) {
            ck_assert_msg(o.exit_status == 2, "%s: read as a trace", what);
        } else {
            ck_assert_msg(o.exit_status == 0, "%s: %s", what, o.err);
            ck_assert_msg(strstr(o.out, len < t.len ? "\"truncated\": true"
                                                    : "\"truncated\": false"),
                          "%s: truncated not flagged right", what);
        }
        outcome_free(&o);
    }
    free(t.data);
}
END_TEST

/* xorshift64: the same flips on every run. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* In every record the type, the low and high bytes of its length and one
 * payload byte; then random offsets. Flipped bytes are XORed with a random
 * non-zero value, one flip per run. */
START_TEST(test_flip_real_trace)
{
    struct trace_bytes t;
    size_t offsets[MAX_RUNS], flips[MAX_RUNS + 8], nflips = 0, nrec;
    uint64_t state = 0x9e3779b97f4a7c15ull;
    char path[4096], what[128];

    record_real_trace(&t);
    snprintf(path, sizeof path, "%s/flip.trace", test_tmpdir());
    flips[nflips++] = 8;        /* version */
    flips[nflips++] = 12;       /* endian check */
    flips[nflips++] = 16;       /* pointer size */
    nrec = record_offsets(&t, offsets, MAX_RUNS / 5);
    for (size_t i = 0; i < nrec; i++) {
        flips[nflips++] = offsets[i];
        flips[nflips++] = offsets[i] + 4;
        flips[nflips++] = offsets[i] + 7;
        flips[nflips++] = offsets[i] + 8 + next_random(&state) % 16;
    }
    while (nflips < MAX_RUNS)
        flips[nflips++] = next_random(&state) % t.len;
    for (size_t i = 0; i < nflips; i++) {
        struct outcome o;
        size_t at = flips[i] < t.len ? flips[i] : t.len - 1;
        uint8_t saved = t.data[at];
        uint8_t mask = (uint8_t)(next_random(&state) % 255 + 1);

        snprintf(what, sizeof what, "byte %zu of %zu xor 0x%02x", at, t.len,
                 mask);
        t.data[at] ^= mask;
        write_trace(path, t.data, t.len);
        t.data[at] = saved;
        run_analyzer(path, &o);
        check_outcome(&o, what);
        outcome_free(&o);
    }
    free(t.data);
}
END_TEST

Suite *analyze_damaged_suite(void)
{
    Suite *s = suite_create("analyze_damaged");
    TCase *tc = tcase_create("analyze_damaged");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_cut_real_trace);
    tcase_add_test(tc, test_flip_real_trace);
    suite_add_tcase(s, tc);
    return s;
}
