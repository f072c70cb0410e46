"""The tracer's own unwinder against libunwind on real programs: with
MTRACE_CHECK_UNWIND=1 every stack found without libunwind (by our walk or
by the stack cache) is compared with libunwind's, and each traced process
prints one line of counts on stderr when it exits. The programs must run
unchanged, and no stack may differ."""
import os
import re
import shutil
import subprocess
import tempfile

from e2e_lib import (ANALYZE, BIN, HERE, Failure, Run, analyze, check,
                     compile_prog, eq, test)

CHECKED = {"MTRACE_CHECK_UNWIND": "1"}
CHECK_LINE = re.compile(
    rb"^mtrace: unwind check: (\d+) walks, (\d+) differ from libunwind; "
    rb"(\d+) cache hits, (\d+) differ; (\d+) stacks left to libunwind$")
CHECK_FIELDS = ("walks", "walks_differ", "hits", "hits_differ", "left")


def unwind_checks(stderr):
    """The check lines in a run's stderr, one dict per process."""
    return [dict(zip(CHECK_FIELDS, map(int, m.groups())))
            for m in map(CHECK_LINE.match, stderr.splitlines()) if m]


def without_checks(stderr):
    """stderr without the check lines: what the program itself wrote."""
    return b"".join(line for line in stderr.splitlines(keepends=True)
                    if not CHECK_LINE.match(line.rstrip(b"\n")))


def assert_stacks_agree(stderr, what, processes=1):
    """At least `processes` check lines, none with a stack that differs,
    and some stacks walked without libunwind. Returns the lines."""
    checks = unwind_checks(stderr)
    check(len(checks) >= processes,
          "%s: %d unwind check lines, expected %d or more; stderr: %r" %
          (what, len(checks), processes, stderr[-600:]))
    for c in checks:
        eq((c["walks_differ"], c["hits_differ"]), (0, 0),
           "%s: stacks differing from libunwind (walks, cache hits) in %r"
           % (what, c))
    check(sum(c["walks"] for c in checks) > 0,
          "%s: no stack walked by our unwinder: %r" % (what, checks))
    return checks


def native_run(argv, cwd=None, env=None):
    """The program without the tracer, in a directory of its own."""
    own = cwd is None
    cwd = cwd or tempfile.mkdtemp(prefix="mtrace-e2e-native-")
    env = dict({k: v for k, v in os.environ.items()
                if not k.startswith("MTRACE_") and k != "LD_PRELOAD"},
               **(env or {}))
    try:
        return subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)
    finally:
        if own:
            shutil.rmtree(cwd, ignore_errors=True)


def checked_run_unchanged(argv, what, env=None):
    """Runs argv untraced, then traced with the unwind check: same exit
    status, stdout and stderr (but for the check line), and every stack
    agrees. Returns the traced Run (the caller cleans it up) and its
    check lines."""
    native = native_run(argv, env=env)
    run = Run(argv, env=dict(CHECKED, **(env or {})))
    try:
        eq((run.status, run.stdout, without_checks(run.stderr)),
           (native.returncode, native.stdout, native.stderr),
           what + ": status, stdout and stderr, traced and not")
        checks = assert_stacks_agree(run.stderr, what)
    except BaseException:
        run.cleanup()
        raise
    return run, checks


def require(program):
    if not shutil.which(program):
        raise Failure("%s is not installed" % program)


def compile_optimized(name):
    """tests/e2e/progs/NAME built like compile_prog does but with -O2 and
    no frame pointer, so that most frames are addressed from rsp (cached
    in BUILD/e2e/NAME-O2)."""
    os.makedirs(BIN, exist_ok=True)
    out = os.path.join(BIN, name + "-O2")
    for ext, cc in ((".c", "gcc"), (".cpp", "g++")):
        src = os.path.join(HERE, "progs", name + ext)
        if os.path.exists(src):
            if (not os.path.exists(out) or
                    os.path.getmtime(out) < os.path.getmtime(src)):
                subprocess.run([cc, "-O2", "-g", "-fomit-frame-pointer",
                                "-pthread", "-o", out, src], check=True)
            return out
    raise Failure("no program " + name)


def functions(site):
    return [f["function"] for f in site["frames"]]


def collapsed_stacks(trace, cost):
    """(functions outermost first, value) for each stack of the trace."""
    out = subprocess.run([ANALYZE, "--format", "collapsed", "--cost", cost,
                          trace], stdout=subprocess.PIPE, check=True)
    stacks = []
    for line in out.stdout.decode().splitlines():
        stack, value = line.rsplit(" ", 1)
        stacks.append((stack.split(";"), int(value)))
    return stacks


PYTHON_JSON = (
    "import collections, json\n"
    "d = {str(i): {'v': [i, str(i) * 3], 'f': i / 7} for i in range(20000)}\n"
    "s = json.dumps(d, sort_keys=True)\n"
    "lengths = collections.Counter(len(k) for k in json.loads(s))\n"
    "print(len(s), sorted(lengths.items()))\n")


@test
def unwind_check_python():
    """Every object from malloc, not from Python's own arenas: each
    allocation has the interpreter's deep C stack."""
    run, checks = checked_run_unchanged(["python3", "-c", PYTHON_JSON],
                                        "python3",
                                        env={"PYTHONMALLOC": "malloc"})
    run.cleanup()
    check(sum(c["walks"] + c["hits"] for c in checks) > 50000,
          "python3: stacks checked %r" % checks)


SQLITE_SQL = (
    "create table t(id integer primary key, name text, score real);" +
    "".join("insert into t(name, score) values('n%d', %d.5);" %
            (i, i * 37 % 101) for i in range(400)) +
    "create index t_score on t(score);"
    "select count(*), sum(score), max(name) from t where score > 50;"
    "select name from t order by score desc, id limit 3;")


@test
def unwind_check_sqlite():
    require("sqlite3")
    run, _ = checked_run_unchanged(["sqlite3", ":memory:", SQLITE_SQL],
                                   "sqlite3")
    try:
        eq(run.stdout, b"201|15191.5|n98\nn30\nn131\nn232\n", "sqlite3 answer")
    finally:
        run.cleanup()


SMALL_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; char name[24]; };
static struct node *push(struct node *head, const char *name)
{
    struct node *n = malloc(sizeof *n);
    n->next = head;
    strncpy(n->name, name, sizeof n->name - 1);
    n->name[sizeof n->name - 1] = 0;
    return n;
}
int main(int argc, char **argv)
{
    struct node *head = NULL;
    for (int i = 1; i < argc; i++)
        head = push(head, argv[i]);
    for (; head; head = head->next)
        puts(head->name);
    return 0;
}
"""


@test
def unwind_check_gcc_and_its_children():
    """gcc -O2 runs cc1 and as: each is traced and reports its own line,
    and the object it writes is byte for byte the untraced one."""
    require("gcc")
    work = tempfile.mkdtemp(prefix="mtrace-e2e-gcc-")
    try:
        source = os.path.join(work, "small.c")
        with open(source, "w") as f:
            f.write(SMALL_C)
        argv = ["gcc", "-O2", "-c", source, "-o", "small.o"]
        native_dir = os.path.join(work, "native")
        os.mkdir(native_dir)
        native = native_run(argv, cwd=native_dir)
        eq(native.returncode, 0, "untraced gcc: " + native.stderr.decode())
        run = Run(argv, env=CHECKED)
        try:
            eq((run.status, run.stdout, without_checks(run.stderr)),
               (0, b"", b""), "traced gcc: status, stdout, stderr")
            # The driver, cc1 and as.
            checks = assert_stacks_agree(run.stderr, "gcc", processes=3)
            check(max(c["walks"] for c in checks) > 100,
                  "cc1 walked stacks: %r" % checks)
            with open(os.path.join(native_dir, "small.o"), "rb") as f:
                expected = f.read()
            with open(os.path.join(run.dir, "small.o"), "rb") as f:
                eq(f.read(), expected, "object file, traced and not")
        finally:
            run.cleanup()
    finally:
        shutil.rmtree(work, ignore_errors=True)


NODE_JSON_BUFFERS = (
    "const items = [];"
    "for (let i = 0; i < 20000; i++)"
    "  items.push({i, s: 'x' + i, b: Buffer.alloc(16 + i % 64, i % 256)});"
    "const json = JSON.stringify(items.map("
    "  o => ({i: o.i, s: o.s, b: o.b.toString('base64')})));"
    "const back = JSON.parse(json);"
    "const joined = Buffer.concat("
    "  back.slice(0, 2000).map(o => Buffer.from(o.b, 'base64')));"
    "console.log(json.length, back.length, joined.length);")


@test
def unwind_check_node():
    """V8's JIT code has no unwind information: those stacks are left to
    libunwind, but none of the rest may differ."""
    require("node")
    argv = ["node", "-e", NODE_JSON_BUFFERS]
    native = native_run(argv)
    run = Run(argv, env=CHECKED)
    try:
        eq((run.status, run.stdout, without_checks(run.stderr)),
           (native.returncode, native.stdout, native.stderr),
           "node: status, stdout and stderr, traced and not")
        checks = unwind_checks(run.stderr)
        check(checks, "node: no unwind check line: %r" % run.stderr[-600:])
        for c in checks:
            eq((c["walks_differ"], c["hits_differ"]), (0, 0),
               "node: stacks differing from libunwind in %r" % c)
        check(sum(c["walks"] + c["left"] for c in checks) > 0,
              "node: stacks were checked at all: %r" % checks)
    finally:
        run.cleanup()


@test
def unwind_check_cxx_exceptions():
    """Allocations in destructors run while an exception unwinds, in catch
    blocks and around rethrows, built with and without frame pointers."""
    for prog in (compile_prog("unwind_exceptions"),
                 compile_optimized("unwind_exceptions")):
        name = os.path.basename(prog)
        run, _ = checked_run_unchanged([prog], name)
        try:
            eq(run.stdout, b"total 16762, rethrown 400, destructor blocks "
               b"6150, kept 64\n", name + " stdout")
            # Every block the destructor allocates (while an exception
            # unwinds) has its whole stack, down to _start; operator new
            # records where it was called (tests_cxx.py).
            in_destructor = [
                (stack, allocs)
                for stack, allocs in collapsed_stacks(run.only_trace(),
                                                      "allocs")
                if stack[-1] == "AllocatesOnUnwind::~AllocatesOnUnwind()"]
            eq(sum(allocs for _, allocs in in_destructor), 6150,
               name + ": allocations in the destructor")
            check(all(stack[0] == "_start" and "main" in stack
                      for stack, _ in in_destructor),
                  name + ": destructor stacks reach _start: %r" %
                  [stack for stack, _ in in_destructor])
        finally:
            run.cleanup()


@test
def unwind_check_signals_alloca_recursion():
    """Signal handlers (on the thread's stack and on an alternate one),
    alloca, variable-length arrays and recursion deeper than the stack
    depth, with and without frame pointers, at the default depth and at
    128 frames."""
    for prog in (compile_prog("unwind_shapes"),
                 compile_optimized("unwind_shapes")):
        name = os.path.basename(prog)
        for depth in (None, 128):
            env = {"MTRACE_DEPTH": str(depth)} if depth else {}
            what = "%s depth %s" % (name, depth or "default")
            run, _ = checked_run_unchanged([prog], what, env=env)
            try:
                report, _ = analyze(run.only_trace())
                handler = [s for s in report["sites"]
                           if s["frames"] and
                           s["frames"][0]["function"] == "on_alarm"]
                check(handler, what + ": a site in the signal handler")
                # The kernel's signal frame was crossed up to main.
                check(all("main" in functions(s) for s in handler),
                      what + ": handler stacks reach main: %r" %
                      [functions(s) for s in handler])
                deepest = max(len(s["frames"]) for s in report["sites"]
                              if functions(s)[:2] == ["recurse", "recurse"])
                eq(deepest, depth or 32, what + ": recursion cut at depth")
            finally:
                run.cleanup()


def build_dl_library(variant):
    """libunwind_dl_<variant>.so from progs/unwind_dl_lib.c."""
    out = os.path.join(BIN, "libunwind_dl_%s.so" % variant)
    src = os.path.join(HERE, "progs", "unwind_dl_lib.c")
    defines = ["-DUNWIND_DL_ALPHA"] if variant == "alpha" else []
    subprocess.run(["gcc", "-O2", "-g", "-shared", "-fPIC", "-o", out, src]
                   + defines, check=True)
    return out


def symbol_offset(library, name):
    out = subprocess.run(["nm", "-D", "--defined-only", library],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    for line in out.splitlines():
        fields = line.split()
        if fields[-1] == name:
            return int(fields[0], 16)
    raise Failure("%s not in %s" % (name, library))


def run_dl_host():
    """unwind_dl_host with its two libraries, traced with the unwind
    check; the caller cleans the run up."""
    host = compile_prog("unwind_dl_host")
    alpha = build_dl_library("alpha")
    omega = build_dl_library("omega")
    eq(symbol_offset(alpha, "alpha_alloc"), symbol_offset(omega, "omega_alloc"),
       "both allocating functions at the same offset")
    run = Run([host, alpha, omega], env=CHECKED)
    try:
        eq(run.status, 0, "dlopen host exit status; stderr %r" % run.stderr)
        m = re.match(rb"^20 rounds, (\d+) at the previous library's address\n$",
                     run.stdout)
        check(m, "host output %r" % run.stdout)
        check(int(m.group(1)) > 0,
              "the loader never reused an address, nothing was tested")
    except BaseException:
        run.cleanup()
        raise
    return run, {"alpha": alpha, "omega": omega}


@test
def unwind_library_replaced_at_same_address_frames_named():
    """Two libraries loaded in turn at the same address, whose allocating
    functions return from malloc to the same address with different frame
    layouts: no rule of one may be used for the other, and each
    allocation's frames name the library loaded at the time, its function
    and the caller that called it. (libunwind cannot be the judge here: its
    unw_backtrace keeps the first library's rules, and skips via_omega.)"""
    run, libraries = run_dl_host()
    try:
        report, _ = analyze(run.only_trace())
        # Survivors: the first block of each round, 100 + round bytes.
        for variant, size in (("alpha", 1090), ("omega", 1100)):
            sites = [s for s in report["sites"]
                     if "via_" + variant in functions(s)]
            eq([functions(s)[:3] for s in sites],
               [[variant + "_alloc", "via_" + variant, "main"]],
               variant + " sites' frames")
            eq(sites[0]["frames"][0]["module"], libraries[variant],
               variant + " module")
            eq((sites[0]["live_blocks"], sites[0]["live_bytes"],
                sites[0]["allocs"]), (10, size, 500),
               variant + " live blocks, bytes, allocations")
    finally:
        run.cleanup()


@test
def unwind_many_chains_through_one_wrapper():
    """24 call sites reach malloc through one wrapper at the same stack
    depth, 200 rounds: more chains meeting malloc at one slot from one
    return address than a stack-cache set holds (cc1's xmalloc, sqlite's
    sqlite3Malloc). Each chain is walked until learned, then found in the
    set or, pushed out of it, among the chains told apart by their second
    return address: 4,800 allocations, at most a few walks per chain (one
    walk each for all of them before this), every stack agreeing with
    libunwind and every site counted exactly, with and without frame
    pointers. Then again with a dlclose each round that unloads nothing
    (a library held open): the learned chains must survive it (before,
    every dlclose emptied the cache)."""
    callers, rounds = 24, 200
    prog_o1 = compile_prog("wrapper_callers")
    runs = [(prog_o1, []), (compile_optimized("wrapper_callers"), []),
            (prog_o1, ["libm.so.6"])]
    for prog, extra in runs:
        name = " ".join([os.path.basename(prog)] + extra)
        run, checks = checked_run_unchanged([prog, str(rounds)] + extra, name)
        try:
            eq(run.stdout, b"%d\n" % (rounds * sum(16 + i for i in
                                                    range(callers))),
               name + ": program output")
            if not extra:
                # And stdio's buffer for the output.
                eq(checks[0]["walks"] + checks[0]["hits"],
                   callers * rounds + 1, name + ": stacks found")
            # The library's own allocations when it is first opened: 7.
            check(checks[0]["walks"] <= 3 * callers + (10 if extra else 0),
                  "%s: %d walks for %d chains" %
                  (name, checks[0]["walks"], callers))
            allocs = {stack[-2]: n for stack, n in
                      collapsed_stacks(run.only_trace(), "allocs")
                      if stack[-1] == "wrapper_alloc"}
            eq(allocs, {"caller_%d" % i: rounds for i in range(callers)},
               name + ": allocations per caller")
        finally:
            run.cleanup()


@test
def unwind_more_chains_than_the_cache_holds():
    """1,024 chains (32 functions, each calling one wrapper from 32 call
    sites), 20 rounds: far more than a thread's stack cache holds, as in
    cc1. Before the chain memo every allocation was walked (20,481 walks);
    now the memo is mapped after MEMO_AFTER_WALKS (4,096) walks and every
    chain is walked at most once more, then proved from its slots. Every
    stack agrees with libunwind and every function's allocations are
    counted exactly, with and without frame pointers."""
    functions_n, sites, rounds, memo_after = 32, 32, 20, 4096
    for prog in (compile_prog("many_chains"),
                 compile_optimized("many_chains")):
        name = os.path.basename(prog)
        run, checks = checked_run_unchanged([prog, str(rounds)], name)
        try:
            eq(run.stdout, b"%d\n" % (rounds * functions_n *
                                      sum(16 + k * 8 for k in range(sites))),
               name + ": program output")
            # And stdio's buffer for the output.
            eq(checks[0]["walks"] + checks[0]["hits"],
               functions_n * sites * rounds + 1, name + ": stacks found")
            check(checks[0]["walks"] <= memo_after + functions_n * sites + 8,
                  "%s: %d walks for %d chains" %
                  (name, checks[0]["walks"], functions_n * sites))
            allocs = {}
            for stack, n in collapsed_stacks(run.only_trace(), "allocs"):
                if stack[-1] == "wrapper_alloc":
                    allocs[stack[-2]] = allocs.get(stack[-2], 0) + n
            eq(allocs, {"callers_%d" % j: sites * rounds
                        for j in range(functions_n)},
               name + ": allocations per function")
        finally:
            run.cleanup()
