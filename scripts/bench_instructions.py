#!/usr/bin/python3
"""What tracing adds, counted in instructions: `make bench-instr`.

    scripts/bench_instructions.py --build DIR [--only NAME,...]

Runs each workload of `make bench` at its QUICK size (live-blocks aside: it
measures memory) under valgrind's callgrind, natively and with libmtrace.so
preloaded, and prints per workload the instructions each run executed,
their ratio, and the instructions tracing adds per allocator call (the
allocations and frees mtrace's trace counted). Wall times on a shared VM
move by a third between rounds; these counts move by under a percent
between runs of one tree but for node's (V8 compiles and collects on
threads of its own: the instructions inside libmtrace.so, printed too, are
steadier), so they show what a change to the allocation path is worth where the
benchmark's medians cannot. They are not speed: a cache miss counts as
one instruction. The table goes to stdout and to DIR/bench/instructions.md.

Standard library only; meant for Debian's /usr/bin/python3.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
# scripts/bench.py: its workloads, runner and build identity.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

# Memory, not speed (see bench.py).
SKIPPED = ("live-blocks",)


def log(message):
    print("bench-instr: " + message, file=sys.stderr, flush=True)


# The output format callgrind_counts reads, whatever VALGRIND_OPTS or a
# .valgrindrc would ask for: one event (Ir) and one position (the line),
# object names compressed, one file for all threads.
CALLGRIND_OPTIONS = ["--tool=callgrind", "--dump-line=no", "--dump-instr=no",
                     "--compress-strings=yes", "--compress-pos=yes",
                     "--cache-sim=no", "--branch-sim=no",
                     "--collect-jumps=no", "--separate-threads=no"]


def callgrind_counts(path):
    """(all instructions, instructions by object file) of a callgrind
    output file: its `totals:` line (or `summary:`, which older versions
    write instead), and each object's own (exclusive) cost lines, those not
    following a `calls=` line (that one is the callee's inclusive cost).
    ValueError for a file in another format or whose objects' costs do
    not add up to its total: a miscount would otherwise pass unseen."""
    total, by_object, names = None, {}, {}
    current, after_call, positions = None, False, 1
    with open(path) as f:
        for line in f:
            match = re.match(r"(?:totals|summary):\s+(\d+)", line)
            if match:
                total = int(match.group(1))
            elif line.startswith("events:"):
                if line.split()[1:] != ["Ir"]:
                    raise ValueError("%s: %s" % (path, line.strip()))
            elif line.startswith("positions:"):
                positions = len(line.split()) - 1
            elif line.startswith(("ob=", "cob=")):
                match = re.match(r"c?ob=\((\d+)\)(?: (.*))?", line.rstrip())
                if not match:
                    raise ValueError("%s: uncompressed %s" % (path,
                                                            line.strip()))
                if match.group(2):
                    names[match.group(1)] = match.group(2)
                if line.startswith("ob="):
                    current = names.get(match.group(1))
            elif line.startswith("calls="):
                after_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                fields = line.split()
                if not after_call and len(fields) > positions and current:
                    by_object[current] = (by_object.get(current, 0) +
                                          int(fields[positions]))
                after_call = False
    if total is None:
        raise ValueError("%s: no totals line" % path)
    if sum(by_object.values()) != total:
        raise ValueError("%s: objects' costs add up to %d, not %d" % (
            path, sum(by_object.values()), total))
    return total, by_object


def trace_calls(analyzer, trace_files, program, env):
    """Allocations plus frees of the traced program (not of spawn_rss,
    which starts it and is traced too), from mtrace-analyze's JSON."""
    calls = 0
    for path in trace_files:
        report = json.loads(subprocess.run(
            [analyzer, "--format", "json", path], check=True,
            capture_output=True, env=env).stdout)
        if os.path.realpath(report["program"]) == os.path.realpath(program):
            calls += report["totals"]["allocs"] + report["totals"]["frees"]
    return calls


class InstructionBench:
    def __init__(self, build, timeout):
        self.runner = bench.Bench(build, quick=True, rounds=1,
                                  timeout=timeout)
        self.analyzer = self.runner.analyzer
        # The programs get `make bench`'s environment (workload_environment)
        # but for VALGRIND_OPTS, which would change what callgrind writes.
        self.runner.env.pop("VALGRIND_OPTS", None)
        # spawn_rss execs without a path search.
        self.valgrind = shutil.which("valgrind") or "/usr/bin/valgrind"

    def measure(self, name, tool, argv):
        """(instructions, allocator calls or None, stdout, instructions
        inside libmtrace.so)."""
        out = os.path.join(self.runner.out, "%s.%s.callgrind" % (name, tool))
        # callgrind runs the program itself: spawn_rss would be what it
        # counts, and LD_PRELOAD reaches the program through valgrind.
        wrapped = ([self.valgrind] + CALLGRIND_OPTIONS +
                   ["--callgrind-out-file=" + out] + argv)
        try:
            r = self.runner.run_one(name, tool, wrapped)
            if r["status"] != 0 or r["timed_out"]:
                raise RuntimeError("%s under %s: status %d%s\n%s" % (
                    name, tool, r["status"], " (timed out)" if r["timed_out"]
                    else "", r["stderr_tail"]))
            instructions, by_object = callgrind_counts(out)
        finally:
            if os.path.exists(out):
                os.unlink(out)
        calls = None
        if tool == "mtrace":
            # valgrind's launcher execs its tool in the same process,
            # which then runs the program: its trace is the pid's second
            # or third.
            calls = trace_calls(self.analyzer, r["trace_files"], argv[0],
                                self.runner.env)
        preload = os.path.realpath(self.runner.preload)
        inside = sum(count for obj, count in by_object.items()
                     if os.path.realpath(obj) == preload)
        return instructions, calls, r["output"], inside

    def run(self, only):
        workloads = bench.select_workloads(
            {k: v for k, v in self.runner.workloads().items()
             if k not in SKIPPED}, only, "bench-instr")
        results = {}
        for name, argv in workloads.items():
            log("%s: %s" % (name, " ".join(argv)))
            native, _, native_out, _ = self.measure(name, "native", argv)
            traced, calls, traced_out, inside = self.measure(name, "mtrace",
                                                             argv)
            log("  native %d, mtrace %d instructions, %d in libmtrace.so" %
                (native, traced, inside))
            results[name] = {"native": native, "mtrace": traced,
                             "calls": calls, "inside": inside,
                             "output_matches": native_out == traced_out}
        return results


def markdown(results, identity):
    lines = ["mtrace instruction counts (valgrind --tool=callgrind), QUICK "
             "sizes, tree %s, libmtrace.so sha256 %s" % (
                 identity["git"], identity["libmtrace_sha256"]), "",
             "| workload | native Minstr | mtrace Minstr (x) | allocator "
             "calls | added instr per call | in libmtrace.so per call | "
             "output ok |",
             "|---|---|---|---|---|---|---|"]

    def per_call(count, r):
        return "%.0f" % (count / r["calls"]) if r["calls"] else "n/a"
    for name, r in results.items():
        lines.append("| %s | %.1f | %.1f (%.2fx) | %s | %s | %s | %s |" % (
            name, r["native"] / 1e6, r["mtrace"] / 1e6,
            r["mtrace"] / r["native"] if r["native"] else float("nan"),
            "{:,}".format(r["calls"]) if r["calls"] is not None else "n/a",
            per_call(r["mtrace"] - r["native"], r),
            per_call(r["inside"], r),
            "yes" if r["output_matches"] else "NO"))
    lines += ["", "An allocator call is an allocation or a free as the "
              "trace counts them (realloc counts as both when it moves). "
              "Added instructions include any the program and the C library "
              "spend differently under the tracer; node's own work moves by "
              "several percent between runs (V8 compiles and collects on "
              "threads of its own), so judge it by the instructions inside "
              "libmtrace.so.", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--only", help="comma-separated workloads to run")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds before a run is killed")
    args = parser.parse_args()
    started = time.perf_counter()
    counter = InstructionBench(args.build, args.timeout)
    for path in (counter.runner.preload, counter.analyzer,
                 counter.valgrind):
        if not os.path.exists(path):
            sys.exit("bench-instr: %s is missing (`make bench-instr` "
                     "builds mtrace; scripts/install-deps.sh installs "
                     "valgrind)" % path)
    identity = bench.build_identity(counter.runner.preload)
    try:
        results = counter.run(args.only.split(",") if args.only else None)
    except (RuntimeError, ValueError) as error:
        sys.exit("bench-instr: %s" % error)
    table = markdown(results, identity)
    sys.stdout.write(table)
    with open(os.path.join(counter.runner.out, "instructions.md"), "w") as f:
        f.write(table)
    log("done in %.0f s" % (time.perf_counter() - started))
    return 0 if all(r["output_matches"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
