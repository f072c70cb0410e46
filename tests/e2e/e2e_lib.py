"""Helpers of the end-to-end tests (see run.py): building the programs,
running them under the tracer, reading mtrace-analyze's JSON."""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
ONLY = sys.argv[2:]
LIB = os.path.join(BUILD, "libmtrace.so")
ANALYZE = os.path.join(BUILD, "mtrace-analyze")
BIN = os.path.join(BUILD, "e2e")

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def eq(actual, expected, what):
    if actual != expected:
        raise Failure("%s: expected %.300r, got %.300r" %
                      (what, expected, actual))


def compile_prog(name, libs=(), out_name=None):
    """Builds tests/e2e/progs/NAME.{c,cpp} into BUILD/e2e/OUT_NAME (NAME by
    default; cached), linked with LIBS (e.g. ["-ljemalloc"])."""
    os.makedirs(BIN, exist_ok=True)
    out = os.path.join(BIN, out_name or name)
    for ext, cc, extra in ((".c", "gcc", ["-pthread"]), (".cpp", "g++", [])):
        src = os.path.join(HERE, "progs", name + ext)
        if os.path.exists(src):
            if (not os.path.exists(out) or
                    os.path.getmtime(out) < os.path.getmtime(src)):
                subprocess.run([cc, "-O1", "-g", "-fno-omit-frame-pointer",
                                "-fno-optimize-sibling-calls", "-o", out, src]
                               + extra + list(libs), check=True)
            return out
    raise Failure("no program " + name)


# Allocators of their own a program may be linked with (install-deps.sh
# installs them), by name: what to link.
OWN_ALLOCATORS = (("jemalloc", "-ljemalloc"),
                  ("tcmalloc",
                   "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"))


def compile_with_own_allocators(name):
    """(allocator, path) of NAME built once per OWN_ALLOCATORS entry."""
    return [(allocator, compile_prog(name, libs=[lib],
                                     out_name=name + "_" + allocator))
            for allocator, lib in OWN_ALLOCATORS]


def compile_lib(source):
    """Builds tests/e2e/progs/SOURCE (.c or .cpp) into BUILD/e2e as the
    shared library libNAME.so, NAME being SOURCE's stem; returns its path."""
    stem, ext = os.path.splitext(source)
    os.makedirs(BIN, exist_ok=True)
    out = os.path.join(BIN, "lib%s.so" % stem)
    subprocess.run(["g++" if ext == ".cpp" else "gcc", "-O1", "-g", "-shared",
                    "-fPIC", "-o", out, os.path.join(HERE, "progs", source)],
                   check=True)
    return out


class Run:
    """A program run under the tracer in a fresh directory."""

    def __init__(self, argv, env=None, timeout=60, kill_after=None,
                 preload=True, before=None, signal_after=None):
        self.dir = tempfile.mkdtemp(prefix="mtrace-e2e-")
        if before:
            before(self.dir)
        full_env = dict(os.environ)
        for k in list(full_env):
            if k.startswith("MTRACE_"):
                del full_env[k]
        if preload:
            full_env["LD_PRELOAD"] = LIB
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, cwd=self.dir, env=full_env,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        if kill_after is not None:
            time.sleep(kill_after)
            self.proc.send_signal(signal.SIGKILL)
        if signal_after is not None:
            time.sleep(signal_after[0])
            self.proc.send_signal(signal_after[1])
        try:
            self.stdout, self.stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # A hung program must not outlive its test (and eat a core).
            self.proc.kill()
            self.proc.communicate()
            raise Failure("%s did not end within %s s" % (argv[0], timeout))
        self.status = self.proc.returncode

    def traces(self):
        return sorted(glob.glob(os.path.join(self.dir, "*.trace")))

    def only_trace(self):
        t = self.traces()
        eq(len(t), 1, "number of trace files %s" % t)
        return t[0]

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def analyze(trace, *args, expect_status=0):
    p = subprocess.run([ANALYZE, "--format", "json", *args, trace],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != expect_status:
        raise Failure("mtrace-analyze exit %d (expected %d): %s" %
                      (p.returncode, expect_status, p.stderr.decode()[-500:]))
    return json.loads(p.stdout), p.stderr.decode()


def collapsed_cost(trace, cost, function):
    """Sum of --format collapsed values over stacks through `function`."""
    out = subprocess.run([ANALYZE, "--format", "collapsed", "--cost", cost,
                          trace], stdout=subprocess.PIPE, check=True)
    total = 0
    for line in out.stdout.decode().splitlines():
        stack, value = line.rsplit(" ", 1)
        if function in stack.split(";"):
            total += int(value)
    return total


def site_by_function(report, function):
    """The one site whose first frame is `function`."""
    found = [s for s in report["sites"]
             if s["frames"] and s["frames"][0]["function"] == function]
    eq(len(found), 1, "sites with frames[0] == %s" % function)
    return found[0]


def sites_calling(report, function):
    """Sites with `function` anywhere in their stack."""
    return [s for s in report["sites"]
            if any(f["function"] == function for f in s["frames"])]


def main():
    passed = failed = 0
    for fn in TESTS:
        if ONLY and not any(o in fn.__name__ for o in ONLY):
            continue
        started = time.time()
        try:
            fn()
            passed += 1
            print("PASS %s (%.1fs)" % (fn.__name__, time.time() - started))
        except Failure as e:
            failed += 1
            print("FAIL %s: %s" % (fn.__name__, e))
        except Exception:
            failed += 1
            print("FAIL %s: exception\n%s" % (fn.__name__,
                                              traceback.format_exc()))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


