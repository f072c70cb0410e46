#!/usr/bin/python3
"""mtrace's benchmark: `make bench` (full) and `make bench QUICK=1`.

    scripts/bench.py --build DIR [--quick] [--rounds N] [--only NAME,...]
                     [--lsan]

For each workload, runs it natively, under heaptrack and under mtrace,
alternating the three in every round so that a change in the machine's
load hits all of them alike, and reports per workload the median wall time,
the slowdowns against native, peak RSS, trace sizes, the time
mtrace-analyze takes to read the trace, and whether each traced run printed
what the native run printed. The table goes to stdout and to
DIR/bench/results.md, every measurement to DIR/bench/results.json.

With --lsan (`make bench LSAN=1`), each round also runs the workload under
LeakSanitizer as people use it on a program they cannot rebuild: GCC's
liblsan.so.0 preloaded, which brings its own allocator, with its leak check
at exit on (exitcode=0, so that leaks found do not count as a failure); a
second table compares it with mtrace.

What is measured, exactly:
- wall time: time.perf_counter around spawning the command and reaping it
  with os.wait4, so it includes start-up and, for heaptrack, the wrapper
  script, heaptrack_interpret and zstd finishing the file: the time until
  the user has a result.
- peak RSS: ru_maxrss of wait4 on the command, taken by bench/spawn_rss
  (a small C program that forks and execs it: a process spawned from
  Python directly would carry the interpreter's peak RSS through exec).
  Linux reports the maximum of that process and of every descendant it
  waited for, not a sum. For native and mtrace the command is the program
  itself. For heaptrack it is the wrapper shell, so the figure is the
  largest of the traced program, heaptrack_interpret and zstd.
- trace size: mtrace's files as written (uncompressed); heaptrack's .zst
  file as written (zstd-compressed, after heaptrack_interpret).
- output: the program's stdout, byte for byte, with the lines heaptrack's
  wrapper adds before and after it removed; and the exit status.

Standard library only; meant for Debian's /usr/bin/python3.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/inputs.py is imported from the source tree: leave no __pycache__.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "bench"))
import inputs  # noqa: E402  (bench/inputs.py, found through the path above)
from bench_report import markdown, ratio  # noqa: E402  (bench/bench_report.py)

TOOLS = ("native", "heaptrack", "mtrace")
# Found leaks must not change the exit status the output check compares.
LSAN_OPTIONS = "detect_leaks=1:exitcode=0"

# Program sizes: (full, quick). Full sizes make each program run about one
# second natively on the machine this was written on; quick ones about a
# fifth of that, so that three rounds of everything stay under a minute
# even with heaptrack's slowdown.
SIZES = {
    "alloc-churn": (5000000, 600000),
    "alloc-threads": (5000000, 600000),
    "cxx-containers": (170, 25),
    "python": (36, 6),
    "sqlite": (20000, 3000),
    "node": (210, 30),
    "compile": (40, 10),
    "live-blocks": (2000000, 300000),
}


# Lines heaptrack 1.4's wrapper script prints around the program's own
# output (it shares the program's stdout).
HEAPTRACK_HEAD = (
    re.compile(rb'^heaptrack output will be written to ".*"$'),
    re.compile(rb"^/.*libheaptrack_(preload|inject)\.so$"),
    re.compile(rb"^starting application, this might take some time\.\.\.$"),
)
HEAPTRACK_TAIL = (b"Heaptrack finished! Now run the following to investigate"
                  b" the data:\n")


def log(message):
    print("bench: " + message, file=sys.stderr, flush=True)


# Settings that change what a workload does rather than how it is measured,
# so that every machine runs the same workloads. NODE_EXTRA_CA_CERTS makes
# node parse a certificate bundle before the script runs: on one machine
# here that was 430,000 of node_work.js 30's 553,000 allocations. The
# others swap or retune Python's or the C library's allocator.
WORKLOAD_ALTERING = ("NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "PYTHONMALLOC",
                     "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "GLIBC_TUNABLES")
WORKLOAD_ALTERING_PREFIXES = ("MALLOC_",)   # glibc's MALLOC_ARENA_MAX ...
# How the bench itself was started, left out without a word: make's own
# (MAKEFLAGS holds ONLY=), so that the workloads see the same environment
# whether run through make or not.
HOW_STARTED = ("LD_PRELOAD", "MAKEFLAGS", "MFLAGS", "MAKELEVEL",
               "MAKEOVERRIDES")


def workload_environment(environ):
    """(the environment the workloads run in, the names left out of it):
    no tracer inherited from the shell that started us, nothing that
    changes a workload, nothing make added."""
    env, dropped = {}, []
    for name, value in environ.items():
        if name in HOW_STARTED or name.startswith("MTRACE_"):
            continue
        if (name in WORKLOAD_ALTERING or
                name.startswith(WORKLOAD_ALTERING_PREFIXES)):
            dropped.append(name)
            continue
        env[name] = value
    return env, sorted(dropped)


class Bench:
    def __init__(self, build, quick, rounds, timeout, lsan=None):
        self.build = os.path.abspath(build)
        # liblsan.so.0's path, when LeakSanitizer runs too.
        self.lsan = lsan
        self.tools = TOOLS + (("lsan",) if lsan else ())
        self.out = os.path.join(self.build, "bench")
        self.quick = quick
        self.rounds = rounds
        self.timeout = timeout
        self.preload = os.path.join(self.build, "libmtrace.so")
        self.analyzer = os.path.join(self.build, "mtrace-analyze")
        self.env, dropped = workload_environment(os.environ)
        if dropped:
            log("not passed to the workloads: " + ", ".join(dropped))

    # --- preparing the workloads ------------------------------------------

    def compile_if_stale(self, source, target, compiler, extra):
        source = os.path.join(ROOT, "bench", source)
        target = os.path.join(self.out, target)
        if (not os.path.exists(target) or
                os.path.getmtime(target) < os.path.getmtime(source)):
            # -O2 -g and no -fno-omit-frame-pointer: what real binaries are.
            cmd = [compiler, "-O2", "-g", "-Wall", "-Wextra", "-o", target,
                   source] + extra
            log(" ".join(cmd))
            subprocess.run(cmd, check=True)
        return target

    def write_input(self, name, text):
        """Writes a generated input unless identical bytes are there already
        (so its mtime, and cc1's view of it, stay put between runs)."""
        path = os.path.join(self.out, name)
        try:
            with open(path) as f:
                if f.read() == text:
                    return path
        except FileNotFoundError:
            pass
        with open(path, "w") as f:
            f.write(text)
        return path

    def workloads(self):
        """name -> argv; compiles and generates what they need."""
        os.makedirs(self.out, exist_ok=True)
        size = {name: sizes[1 if self.quick else 0]
                for name, sizes in SIZES.items()}
        cc = os.environ.get("CC", "gcc")
        cxx = os.environ.get("CXX", "g++")
        self.spawn_rss = self.compile_if_stale("spawn_rss.c", "spawn_rss",
                                               cc, [])
        churn = self.compile_if_stale("alloc_churn.c", "alloc_churn", cc,
                                      ["-pthread"])
        holder = self.compile_if_stale("live_blocks.c", "live_blocks", cc, [])
        containers = self.compile_if_stale("cxx_containers.cpp",
                                           "cxx_containers", cxx,
                                           ["-std=c++17"])
        sql = self.write_input("sqlite-%d.sql" % size["sqlite"],
                               inputs.sqlite_script(size["sqlite"]))
        csrc = self.write_input("compile-%d.c" % size["compile"],
                                inputs.compile_source(size["compile"]))
        cc1 = subprocess.run(["gcc", "-print-prog-name=cc1"], check=True,
                             capture_output=True, text=True).stdout.strip()
        node = shutil.which("node") or "/usr/bin/node"
        return {
            "alloc-churn": [churn, str(size["alloc-churn"]), "1"],
            "alloc-threads": [churn, str(size["alloc-threads"]), "4"],
            "cxx-containers": [containers, str(size["cxx-containers"])],
            "python": ["/usr/bin/python3",
                       os.path.join(ROOT, "bench", "python_work.py"),
                       str(size["python"])],
            "sqlite": [shutil.which("sqlite3") or "/usr/bin/sqlite3",
                       "-batch", ":memory:", ".read " + sql],
            "node": [node, os.path.join(ROOT, "bench", "node_work.js"),
                     str(size["node"])],
            # cc1 itself, not the gcc driver, so that both tracers trace the
            # process that does the work. The assembly goes to stdout: it
            # is the output compared between runs.
            "compile": [cc1, "-quiet", "-O2", csrc, "-o", "-"],
            # Memory, not speed: every block live at once.
            "live-blocks": [holder, str(size["live-blocks"])],
        }

    # --- running ------------------------------------------------------------

    def spawn_and_wait(self, argv, env, stdout_path, stderr_path):
        """Runs argv to completion under spawn_rss: (wall seconds, CPU
        seconds, peak RSS KiB, exit status, timed out). In its own session,
        so that a timeout kills heaptrack's helpers too. The CPU time, user
        and system, is the whole tree's that spawn_rss waited for: the
        program's threads, and heaptrack's interpreter."""
        result_path = stdout_path + ".rusage"
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, stdout_path,
             os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_OPEN, 2, stderr_path,
             os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        ]
        timed_out = threading.Event()
        start = time.perf_counter()
        pid = os.posix_spawn(self.spawn_rss,
                             [self.spawn_rss, result_path] + argv, env,
                             file_actions=actions, setsid=True)

        def kill():
            timed_out.set()
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(self.timeout, kill)
        timer.start()
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        cpu = usage.ru_utime + usage.ru_stime
        timer.cancel()
        try:
            with open(result_path) as f:
                child_status, maxrss = (int(v) for v in f.read().split())
            os.unlink(result_path)
            status = child_status
        except (OSError, ValueError):
            maxrss = 0      # killed by the timeout before it could write
        return (wall, cpu, maxrss, os.waitstatus_to_exitcode(status),
                timed_out.is_set())

    def run_one(self, name, tool, argv):
        stdout_path = os.path.join(self.out, "%s.%s.stdout" % (name, tool))
        stderr_path = os.path.join(self.out, "%s.%s.stderr" % (name, tool))
        env = dict(self.env)
        trace_files = []
        if tool == "heaptrack":
            base = os.path.join(self.out, name + ".heaptrack")
            trace_files = [base + ".zst"]
            for path in trace_files + [base + ".gz"]:
                if os.path.exists(path):
                    os.unlink(path)
            argv = ["/usr/bin/heaptrack", "-o", base] + argv
        elif tool == "mtrace":
            self.remove_mtrace_files(name)
            env["LD_PRELOAD"] = self.preload
            env["MTRACE_OUT"] = os.path.join(self.out, name + ".%p.trace")
        elif tool == "lsan":
            env["LD_PRELOAD"] = self.lsan
            env["LSAN_OPTIONS"] = LSAN_OPTIONS
        wall, cpu, maxrss, status, timed_out = self.spawn_and_wait(
            argv, env, stdout_path, stderr_path)
        with open(stdout_path, "rb") as f:
            output = f.read()
        if tool == "heaptrack":
            output = strip_heaptrack_lines(output)
            if not os.path.exists(trace_files[0]):     # no zstd: gzip
                trace_files = [trace_files[0][:-4] + ".gz"]
        elif tool == "mtrace":
            trace_files = self.mtrace_files(name)
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "maxrss_kib": maxrss,
            "status": status,
            "timed_out": timed_out,
            "output": output,
            "trace_bytes": sum(os.path.getsize(p) for p in trace_files
                               if os.path.exists(p)),
            "trace_files": trace_files,
            "stderr_tail": tail_of(stderr_path),
        }

    def mtrace_files(self, name):
        """NAME.PID.trace, and NAME.PID.N.trace: a process that execs
        keeps its pid, and the traces after its first take a number."""
        pattern = re.compile(re.escape(name) + r"\.\d+(\.\d+)?\.trace$")
        return sorted(os.path.join(self.out, f) for f in os.listdir(self.out)
                      if pattern.match(f))

    def remove_mtrace_files(self, name):
        for path in self.mtrace_files(name):
            os.unlink(path)

    def time_analyzer(self, trace_files):
        """Median of three runs of mtrace-analyze over each file (one run
        with --quick, to stay within its minute); the slowest file counts (a
        program that forks leaves several)."""
        worst, ok = None, True
        for path in trace_files:
            times = []
            for _ in range(1 if self.quick else 3):
                start = time.perf_counter()
                rc = subprocess.run([self.analyzer, path],
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL,
                                    env=self.env).returncode
                times.append(time.perf_counter() - start)
                ok = ok and rc == 0
            median = statistics.median(times)
            worst = median if worst is None else max(worst, median)
        return worst, ok

    def run(self, only):
        workloads = select_workloads(self.workloads(), only, "bench")
        results = {}
        for name, argv in workloads.items():
            log("%s: %s" % (name, " ".join(argv)))
            runs = {tool: [] for tool in self.tools}
            for round_no in range(self.rounds):
                for tool in self.tools:
                    r = self.run_one(name, tool, argv)
                    runs[tool].append(r)
                    log("  round %d %-9s %7.3f s %8d KiB status %d%s" % (
                        round_no + 1, tool, r["wall_s"], r["maxrss_kib"],
                        r["status"], " TIMEOUT" if r["timed_out"] else ""))
            results[name] = self.summarise(name, argv, runs)
        return results

    def summarise(self, name, argv, runs):
        reference = runs["native"][0]
        summary = {"argv": argv, "tools": {}}
        for tool in self.tools:
            rs = runs[tool]
            # Every workload exits 0 when it works.
            failed = [r for r in rs if r["status"] != 0 or r["timed_out"]]
            summary["tools"][tool] = {
                "wall_s": [r["wall_s"] for r in rs],
                "median_s": statistics.median(r["wall_s"] for r in rs),
                "cpu_s": [r["cpu_s"] for r in rs],
                # Each round's CPU time against that round's native run:
                # on a shared VM a slow spell slows the runs of one round
                # alike, so the ratio moves less than either time.
                "median_cpu_ratio": statistics.median(
                    ratio(r["cpu_s"], n["cpu_s"])
                    for r, n in zip(rs, runs["native"])),
                "maxrss_kib": [r["maxrss_kib"] for r in rs],
                "median_maxrss_kib": statistics.median(r["maxrss_kib"]
                                                       for r in rs),
                "status": [r["status"] for r in rs],
                "timed_out": any(r["timed_out"] for r in rs),
                "failed": bool(failed),
                "output_matches": all(r["output"] == reference["output"] and
                                      r["status"] == reference["status"]
                                      for r in rs),
                "trace_bytes": rs[-1]["trace_bytes"],
                "stderr_tail": failed[0]["stderr_tail"] if failed else "",
            }
        summary["output_first_line"] = reference["output"].split(b"\n", 1)[0] \
            .decode("utf-8", "replace")[:200]
        summary["output_bytes"] = len(reference["output"])
        match = re.search(rb"peak_live=(\d+)", reference["output"])
        summary["peak_live_blocks"] = int(match.group(1)) if match else None
        mtrace_files = self.mtrace_files(name)
        analyze_s, analyze_ok = (self.time_analyzer(mtrace_files)
                                 if mtrace_files else (None, False))
        summary["analyze_s"] = analyze_s
        summary["analyze_ok"] = analyze_ok
        summary["mtrace_trace_files"] = len(mtrace_files)
        return summary


def select_workloads(workloads, only, who):
    """workloads (name -> argv), only those named in `only` when given;
    exits naming any unknown."""
    if not only:
        return workloads
    unknown = set(only) - set(workloads)
    if unknown:
        sys.exit("%s: unknown workload(s): %s" % (who,
                                                  ", ".join(sorted(unknown))))
    return {k: v for k, v in workloads.items() if k in only}


def strip_heaptrack_lines(output):
    """The program's own stdout out of heaptrack's wrapper's: its three
    opening lines and everything from its closing message on."""
    lines = output.split(b"\n")
    for pattern in HEAPTRACK_HEAD:
        if lines and pattern.match(lines[0]):
            lines.pop(0)
    text = b"\n".join(lines)
    cut = text.rfind(HEAPTRACK_TAIL)
    return text[:cut] if cut >= 0 else text


def tail_of(path, limit=400):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace")


# --- reporting (the tables themselves: bench/bench_report.py) ---------------

def find_lsan():
    """GCC's LeakSanitizer runtime (Debian's liblsan0), or None."""
    found = subprocess.run(["gcc", "-print-file-name=liblsan.so.0"],
                           capture_output=True, text=True).stdout.strip()
    return os.path.realpath(found) if os.path.isabs(found) and \
        os.path.exists(found) else None


def build_identity(preload):
    """Which tracer was measured: the commit and the library's own hash
    (the working tree may differ from the commit while people work)."""
    head = subprocess.run(["git", "-C", ROOT, "describe", "--always",
                           "--dirty"], capture_output=True, text=True)
    with open(preload, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    return {"git": head.stdout.strip() or "unknown",
            "libmtrace_sha256": digest}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build",
                        help="build directory with libmtrace.so and "
                             "mtrace-analyze")
    parser.add_argument("--quick", action="store_true",
                        help="smaller workloads and 3 rounds: under a minute")
    parser.add_argument("--rounds", type=int,
                        help="rounds (default 9, or 3 with --quick)")
    parser.add_argument("--only", help="comma-separated workloads to run")
    parser.add_argument("--lsan", action="store_true",
                        help="also run each workload under LeakSanitizer "
                             "(liblsan.so.0 preloaded)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds before a run is killed "
                             "(default 300, or 60 with --quick)")
    args = parser.parse_args()
    # Nine: on a shared VM one run of a workload can take half again as
    # long as the next; the median of five still moved by 0.1x between
    # runs of the same tree, more than the differences measured.
    if args.rounds is None:
        args.rounds = 3 if args.quick else 9
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    timeout = args.timeout or (60.0 if args.quick else 300.0)

    lsan = find_lsan() if args.lsan else None
    if args.lsan and not lsan:
        sys.exit("bench: liblsan.so.0 is missing (run `make bench LSAN=1`, "
                 "which installs liblsan0)")
    bench = Bench(args.build, args.quick, args.rounds, timeout, lsan)
    for path in (bench.preload, bench.analyzer, "/usr/bin/heaptrack"):
        if not os.path.exists(path):
            sys.exit("bench: %s is missing (run `make bench`, which builds "
                     "mtrace and installs heaptrack)" % path)
    started = time.perf_counter()
    identity = build_identity(bench.preload)
    results = bench.run(args.only.split(",") if args.only else None)
    table = markdown(results, args, identity)
    sys.stdout.write(table)
    with open(os.path.join(bench.out, "results.md"), "w") as f:
        f.write(table)
    with open(os.path.join(bench.out, "results.json"), "w") as f:
        json.dump({"quick": args.quick, "rounds": args.rounds,
                   "build": identity,
                   "elapsed_s": time.perf_counter() - started,
                   "workloads": results}, f, indent=2)
        f.write("\n")
    log("done in %.0f s; results in %s" % (time.perf_counter() - started,
                                          bench.out))
    failed = [n for n, s in results.items()
              if s["tools"]["native"]["failed"] or
              s["tools"]["mtrace"]["failed"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
