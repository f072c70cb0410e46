"""`make bench`'s LeakSanitizer comparison (LSAN=1) and its notes on the
machine's noise: the tables drawn from made-up measurements, and one real
run of a leaking program under the preloaded liblsan.so.0 as
scripts/bench.py starts it."""
import argparse
import importlib.util
import os
import shutil
import sys
import tempfile

from e2e_lib import ANALYZE, LIB, ROOT, check, compile_prog, eq, test

sys.path.insert(0, os.path.join(ROOT, "bench"))
import bench_report  # noqa: E402  (bench/bench_report.py)


def _load_script(name):
    """scripts/NAME.py as a module of its own."""
    spec = importlib.util.spec_from_file_location(
        name + "_script", os.path.join(ROOT, "scripts", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_bench_script():
    return _load_script("bench")


def _tool(median_s, cpu_ratio=1.0, rss_kib=1024, status=0, output_ok=True,
          statuses=None):
    statuses = statuses or [status] * 3
    failed = any(statuses)
    return {"median_s": median_s, "median_cpu_ratio": cpu_ratio,
            "median_maxrss_kib": rss_kib, "status": statuses,
            "failed": failed, "output_matches": output_ok and not failed,
            "trace_bytes": 0, "stderr_tail": ""}


def _workload(tools):
    return {"tools": tools, "analyze_s": 0.05, "analyze_ok": True,
            "peak_live_blocks": None}


def _results(with_lsan):
    results = {
        "cxx-containers": _workload({
            "native": _tool(0.5, rss_kib=3 * 1024),
            "mtrace": _tool(0.75, 1.48, 5 * 1024),
            "heaptrack": _tool(2.25, 4.4, 99 * 1024),
            "lsan": _tool(0.71, 1.40, 8 * 1024)}),
        "sqlite": _workload({
            "native": _tool(0.8),
            "mtrace": _tool(0.92, 1.19),
            "heaptrack": _tool(3.3, 4.1, statuses=[0, 1, 0]),
            "lsan": _tool(0.01, status=-11)}),
        "live-blocks": _workload({
            "native": _tool(0.2),
            "mtrace": _tool(0.8, 4.2),
            "heaptrack": _tool(0.9, 5.0),
            "lsan": _tool(0.4, 2.0)}),
    }
    if not with_lsan:
        for s in results.values():
            del s["tools"]["lsan"]
    return results


def _markdown(results):
    args = argparse.Namespace(quick=False, rounds=3)
    return bench_report.markdown(results, args,
                                 {"git": "test", "libmtrace_sha256": "0"})


@test
def bench_table_compares_leaksanitizer():
    text = _markdown(_results(with_lsan=True))
    lines = text.splitlines()
    check("| cxx-containers | 0.500 | 0.710 (1.42x) | 0.750 (1.50x) | "
          "1.40x / 1.48x | 3.0 / 8.0 / 5.0 | LeakSanitizer yes, mtrace yes |"
          in lines, "cxx-containers' LeakSanitizer row:\n" + text)
    # A crash is named by its signal, and its CPU ratio is not shown.
    check("| sqlite | 0.800 | FAIL (SIGSEGV in 3 of 3 rounds) | "
          "0.920 (1.15x) | - / 1.19x | 1.0 / 1.0 / 1.0 | "
          "LeakSanitizer NO, mtrace yes |" in lines,
          "sqlite's LeakSanitizer row:\n" + text)
    check("- (info) cxx-containers: 1.50x native under mtrace, 1.42x under "
          "LeakSanitizer" in lines, "the info line:\n" + text)
    # Mixed statuses, counted in the order first seen.
    check(any(line.startswith("| sqlite | 0.800 | 0.920 (1.15x) | FAIL (0 in "
                              "2, 1 in 1 of 3 rounds) | n/a |")
              for line in lines), "sqlite's heaptrack failure:\n" + text)
    check(any(line.startswith("sqlite under LeakSanitizer: status "
                              "[-11, -11, -11], output DIFFERS")
              for line in lines), "the crash's details:\n" + text)
    # Memory only: no speed comparison.
    eq([line for line in lines if line.startswith("| live-blocks |")
        and "LeakSanitizer" in line], [], "live-blocks in the LSan table")
    eq(sum(line.startswith("| workload |") for line in lines), 2,
       "tables with LeakSanitizer")


@test
def bench_table_without_leaksanitizer_is_unchanged():
    text = _markdown(_results(with_lsan=False))
    check("LeakSanitizer" not in text, "LeakSanitizer named:\n" + text)
    eq(sum(line.startswith("| workload |") for line in text.splitlines()), 1,
       "tables without LeakSanitizer")
    check("| cxx-containers | 0.500 | 0.750 (1.50x) | 2.250 (4.50x) | 0.14 |"
          in text, "the main row:\n" + text)


@test
def bench_shows_how_far_rounds_stray_from_the_median():
    results = _results(with_lsan=False)
    tools = results["cxx-containers"]["tools"]
    tools["native"]["wall_s"] = [0.5, 0.4, 0.8]
    tools["mtrace"]["wall_s"] = [0.75, 0.72, 0.8]
    lines = _markdown(results).splitlines()
    # Rounds 1.50x, 1.80x and 1.00x: the median hides a round at par.
    check("- (info) cxx-containers: mtrace's wall time per round 1.00x to "
          "1.80x native's of the same round" in lines,
          "the spread:\n" + "\n".join(lines))
    # Rounds not kept (older results.json): no line rather than a guess.
    eq([line for line in lines if "per round" in line and "sqlite" in line],
       [], "sqlite's spread without its rounds")


@test
def bench_workloads_run_without_settings_that_change_them():
    bench = _load_bench_script()
    env, dropped = bench.workload_environment({
        "PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8",
        "LD_PRELOAD": "/x/libmtrace.so", "MTRACE_OUT": "/tmp/t",
        "NODE_EXTRA_CA_CERTS": "/etc/ssl/certs/ca-certificates.crt",
        "NODE_OPTIONS": "--max-old-space-size=64", "PYTHONMALLOC": "malloc",
        "PYTHONDEVMODE": "1", "PYTHONTRACEMALLOC": "5",
        "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0",
        "MALLOC_ARENA_MAX": "1", "MALLOC_CHECK_": "3",
        "PYTHONUNBUFFERED": "1", "NODE_PATH": "/opt/lib",
        "MAKEFLAGS": " -- ONLY=node", "MAKELEVEL": "1", "MFLAGS": "",
        "MAKEOVERRIDES": "${-*-command-variables-*-}",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"})
    eq(env, {"PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8",
             "PYTHONUNBUFFERED": "1", "NODE_PATH": "/opt/lib",
             "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"},
       "what the workloads see")
    eq(dropped, ["GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_CHECK_",
                 "NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "PYTHONDEVMODE",
                 "PYTHONMALLOC", "PYTHONTRACEMALLOC"],
       "what is left out, named (the tracer's own and make's are not)")


@test
def bench_runs_leaksanitizer_preloaded_with_its_leak_check():
    bench = _load_bench_script()
    lsan = bench.find_lsan()
    check(lsan is not None and os.path.exists(lsan),
          "liblsan.so.0 found through gcc (Debian's liblsan0, which gcc "
          "depends on)")
    leaky = compile_prog("lost_blocks")
    build = tempfile.mkdtemp(prefix="mtrace-bench-")
    try:
        runner = bench.Bench(build, quick=True, rounds=1, timeout=60,
                             lsan=lsan)
        os.makedirs(runner.out)
        runner.spawn_rss = runner.compile_if_stale("spawn_rss.c",
                                                   "spawn_rss", "cc", [])
        eq(runner.tools, ("native", "heaptrack", "mtrace", "lsan"), "tools")
        native = runner.run_one("leaky", "native", [leaky])
        under_lsan = runner.run_one("leaky", "lsan", [leaky])
        # exitcode=0: found leaks do not fail the run, and the output is
        # the program's.
        eq(under_lsan["status"], 0, "status under LeakSanitizer")
        eq(under_lsan["output"], native["output"], "output")
        check("SUMMARY: LeakSanitizer:" in under_lsan["stderr_tail"],
              "LeakSanitizer's leak report: " + under_lsan["stderr_tail"])
        check("LeakSanitizer" not in native["stderr_tail"],
              "native run untouched: " + native["stderr_tail"])
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _load_instruction_bench():
    return _load_script("bench_instructions")


@test
def bench_instr_table_shows_added_instructions_per_call():
    instr = _load_instruction_bench()
    text = instr.markdown({
        "cxx-containers": {"native": 400e6, "mtrace": 650e6, "inside": 240e6,
                           "calls": 1000000, "output_matches": True},
        "python": {"native": 1000e6, "mtrace": 1100e6, "inside": 0,
                   "calls": 0, "output_matches": False}},
        {"git": "test", "libmtrace_sha256": "0"})
    lines = text.splitlines()
    check("| cxx-containers | 400.0 | 650.0 (1.62x) | 1,000,000 | 250 | 240 "
          "| yes |" in lines, "cxx-containers' row:\n" + text)
    # No call seen: no division, and a differing output is flagged.
    check("| python | 1000.0 | 1100.0 (1.10x) | 0 | n/a | n/a | NO |"
          in lines, "python's row:\n" + text)


@test
def bench_instr_reads_callgrind_totals_and_objects():
    instr = _load_instruction_bench()
    scratch = tempfile.mkdtemp(prefix="mtrace-instr-")
    head = "positions: line\nevents: Ir\n"
    # A program calling into a library twice: the line after calls= is the
    # call's inclusive cost, not the caller's own.
    body = ("ob=(1) /bin/prog\nfl=(1) ???\nfn=(1) main\n0 100\n"
            "cob=(2) /lib/libx.so\ncfi=(2) ???\ncfn=(2) f\n"
            "calls=2 0\n0 700\n+1 50\n\n"
            "ob=(2)\nfl=(2)\nfn=(2)\n0 600\n*  100\n")

    def counts(text):
        path = os.path.join(scratch, "out")
        with open(path, "w") as f:
            f.write(text)
        return instr.callgrind_counts(path)

    def refused(text, what):
        try:
            counts(text)
        except ValueError:
            return
        check(False, what + " was accepted")
    try:
        eq(counts(head + "summary: 1000\n\n" + body + "totals: 850\n"),
           (850, {"/bin/prog": 150, "/lib/libx.so": 700}),
           "totals and each object's own cost")
        # Two positions (instr line): the cost is the third field.
        eq(counts("positions: instr line\nevents: Ir\n" +
                  body.replace("\n0 ", "\n0x10 0 ").replace("+1 50",
                                                            "+1 +1 50")
                  .replace("*  100", "* * 100") + "totals: 850\n"),
           (850, {"/bin/prog": 150, "/lib/libx.so": 700}),
           "costs after two positions")
        refused(head + body, "a file without totals")
        refused(head + body + "totals: 900\n",
                "objects' costs that do not add up to the total")
        refused("positions: line\nevents: Ir Dr\n" + body +
                "totals: 850\n", "a file with other events")
        refused(head + body.replace("ob=(1) /bin/prog", "ob=/bin/prog") +
                "totals: 850\n", "uncompressed object names")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@test
def bench_instr_counts_a_program_natively_and_traced():
    instr = _load_instruction_bench()
    prog = compile_prog("lost_blocks")
    build = tempfile.mkdtemp(prefix="mtrace-bench-")
    try:
        bench = instr.InstructionBench(build, timeout=120)
        runner = bench.runner
        runner.preload, bench.analyzer = LIB, ANALYZE
        os.makedirs(runner.out)
        runner.spawn_rss = runner.compile_if_stale("spawn_rss.c",
                                                   "spawn_rss", "cc", [])
        native, calls, native_out, outside = bench.measure("lost", "native",
                                                           [prog])
        traced, traced_calls, traced_out, inside = bench.measure(
            "lost", "mtrace", [prog])
        eq((calls, outside), (None, 0), "native: calls and tracer's share")
        check(0 < inside < traced - native,
              "instructions inside libmtrace.so: %d of %d added" %
              (inside, traced - native))
        # 15 mallocs, and stdout's buffer; the launcher's and spawn_rss's
        # allocations are in traces of their own and not counted.
        eq(traced_calls, 16, "the program's allocator calls")
        eq((native_out, traced_out), (b"done\n", b"done\n"), "outputs")
        check(100000 < native < traced,
              "instructions: native %d, traced %d" % (native, traced))
        eq([f for f in os.listdir(runner.out) if f.endswith(".callgrind")],
           [], "callgrind files left behind")
    finally:
        shutil.rmtree(build, ignore_errors=True)
