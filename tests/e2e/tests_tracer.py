"""The tracer's ground truth: exact counts per entry point, threads, fork
and exec, options, and transparency on real programs (the ways a process
ends: tests_endings.py; the reachability scan: tests_reachability.py)."""
import os
import shutil
import subprocess

from e2e_lib import (Failure, Run, analyze, check, collapsed_cost,
                     compile_lib, compile_prog, eq, sites_calling, test)


def live_site(report, function):
    """The sites with live blocks whose first frame is `function`, summed:
    the compiler may unroll a loop into several call sites."""
    found = [s for s in report["sites"] if s["live_blocks"] > 0 and
             s["frames"] and s["frames"][0]["function"] == function]
    check(found, "a live site with frames[0] == %s" % function)
    total = dict(found[0])
    for key in ("live_bytes", "live_blocks", "allocs", "peak_live_bytes"):
        total[key] = sum(s[key] for s in found)
    total["buckets"] = {b: sum(s["buckets"][b] for s in found)
                        for b in ("young", "old", "large")}
    return total


@test
def entry_points_exact_counts():
    prog = compile_prog("entry_points")
    run = Run([prog])
    try:
        eq(run.status, 0, "exit status")
        eq(run.stdout, b"kept 25 blocks\n", "stdout")
        report, _ = analyze(run.only_trace(), "--young", "1h")
        eq(report["truncated"], False, "truncated")
        truth = {
            "use_malloc": (700, 7, 7),
            "use_calloc": (240, 5, 5),
            "use_reallocarray": (100, 1, 1),
            "use_posix_memalign": (600, 3, 3),
            "use_aligned_alloc": (512, 2, 2),
            "use_memalign": (96, 1, 1),
            "use_valloc": (1000, 1, 1),
            "use_pvalloc": (1000, 1, 1),
            "use_large": (200000, 1, 1),
        }
        source = os.path.join(os.path.dirname(__file__), "progs",
                              "entry_points.c")
        with open(source) as f:
            lines = f.read().splitlines()
        for function, (live, blocks, allocs) in truth.items():
            site = live_site(report, function)
            # One-line functions: the call is on the definition's line.
            defined = [i + 1 for i, text in enumerate(lines)
                       if " %s(void)" % function in text and "alloc(" in text]
            if defined:
                eq(site["frames"][0]["line"], defined[0], function + " line")
            eq((site["live_bytes"], site["live_blocks"], site["allocs"]),
               (live, blocks, allocs), function + " live/blocks/allocs")
            eq(site["peak_live_bytes"], live, function + " peak")
            eq(site["frames"][0]["file"].split("/")[-1], "entry_points.c",
               function + " file")
            check(site["frames"][0]["line"] > 0, function + " has a line")
        # realloc: the block that survives belongs to the last realloc.
        grow = [s for s in sites_calling(report, "use_realloc_grow")
                if s["live_blocks"]]
        eq([(s["live_bytes"], s["live_blocks"]) for s in grow], [(5000, 1)],
           "realloc grow survivors")
        shrink = [s for s in sites_calling(report, "use_realloc_shrink")
                  if s["live_blocks"]]
        eq([(s["live_bytes"], s["live_blocks"]) for s in shrink], [(40, 1)],
           "realloc shrink survivors")
        eq([s for s in sites_calling(report, "use_realloc_zero")
            if s["live_blocks"]], [], "realloc(p, 0) frees p")
        strdup_sites = [s for s in sites_calling(report, "use_strdup")
                        if s["live_blocks"]]
        eq(len(strdup_sites), 1, "strdup sites")
        eq(strdup_sites[0]["live_bytes"], 13, "strdup bytes")
        eq(strdup_sites[0]["frames"][0]["function"].lstrip("_"), "strdup",
           "wrapper stands in frames[0]")
        eq(strdup_sites[0]["frames"][1]["function"], "use_strdup",
           "its caller follows")
        # Buckets: --young 1h makes every small survivor young.
        large = live_site(report, "use_large")
        eq(large["buckets"], {"young": 0, "old": 0, "large": 200000},
           "large bucket")
        small = live_site(report, "use_malloc")
        eq(small["buckets"], {"young": 700, "old": 0, "large": 0},
           "young bucket")
        totals = report["totals"]
        eq(totals["allocs"] - totals["frees"], totals["live_blocks"],
           "totals: allocs - frees == live blocks")
        # 25 kept, 3 freed by realloc, 1000 churned, 1 stdout buffer.
        eq(totals["allocs"], 1029, "every call counted")
        eq(collapsed_cost(run.only_trace(), "allocs", "churn"), 1000,
           "churn allocations")
    finally:
        run.cleanup()


@test
def entry_points_unchanged_without_tracer():
    prog = compile_prog("entry_points")
    native = subprocess.run([prog], stdout=subprocess.PIPE)
    run = Run([prog])
    try:
        eq((run.status, run.stdout), (native.returncode, native.stdout),
           "status and stdout")
        eq(run.stderr, b"", "stderr")
    finally:
        run.cleanup()


@test
def threads_exact_totals():
    prog = compile_prog("threads")
    run = Run([prog])
    try:
        eq(run.status, 0, "exit status")
        report, _ = analyze(run.only_trace())
        eq(collapsed_cost(run.only_trace(), "allocs", "worker"),
           4 * 100000 + 4 * 1000, "allocations in worker")
        eq(sites_calling(report, "worker"), [],
           "no worker block survives (main freed the handoff)")
        totals = report["totals"]
        eq(totals["allocs"] - totals["frees"], totals["live_blocks"],
           "allocs - frees == live blocks")
        check(totals["allocs"] >= 404000, "totals include every thread")
    finally:
        run.cleanup()


@test
def fork_and_exec_children_get_their_own_traces():
    prog = compile_prog("fork_exec")
    run = Run([prog])
    try:
        eq(run.status, 0, "exit status")
        pids = {line.split()[0]: int(line.split()[-1])
                for line in run.stdout.decode().splitlines()}
        eq(sorted(pids), ["exec", "fork", "parent"], "processes reported")
        names = sorted(os.path.basename(t) for t in run.traces())
        eq(names, sorted("mtrace.%d.trace" % p for p in pids.values()),
           "one trace per process, named by pid")
        by_pid = {}
        for t in run.traces():
            report, _ = analyze(t)
            by_pid[report["pid"]] = report
            eq(report["truncated"], False, "complete trace " + t)
        parent = by_pid[pids["parent"]]
        eq(live_site(parent, "parent_keeps")["live_bytes"], 900, "parent")
        eq(sites_calling(parent, "child_keeps"), [], "child not in parent")
        child = by_pid[pids["fork"]]
        eq(live_site(child, "child_keeps")["live_bytes"], 2500, "fork child")
        execd = by_pid[pids["exec"]]
        eq(live_site(execd, "exec_child_keeps")["live_bytes"], 1400,
           "exec'd program")
        eq(sites_calling(execd, "parent_keeps"), [],
           "exec'd image starts empty")
    finally:
        run.cleanup()


@test
def cxx_operator_new_is_traced():
    prog = compile_prog("cxx_new")
    run = Run([prog])
    try:
        eq(run.status, 0, "exit status")
        report, _ = analyze(run.only_trace())
        site = [s for s in sites_calling(report, "make_widgets()")
                if s["live_blocks"]]
        eq(len(site), 1, "make_widgets sites")
        eq((site[0]["live_bytes"], site[0]["live_blocks"]), (480, 10),
           "widgets")
        # Recorded in operator new (tests_cxx.py), so the caller of new
        # comes first, as the caller of malloc does.
        eq(site[0]["frames"][0]["function"], "make_widgets()",
           "demangled caller in frames[0]")
    finally:
        run.cleanup()


@test
def mmap_is_traced_only_when_asked():
    prog = compile_prog("mmap_anon")
    for env, expect in (({}, []), ({"MTRACE_MMAP": "1"}, [(196608, 3)])):
        run = Run([prog], env=env)
        try:
            eq(run.status, 0, "exit status")
            report, _ = analyze(run.only_trace())
            got = [(s["live_bytes"], s["live_blocks"])
                   for s in sites_calling(report, "map_some")
                   if s["live_blocks"]]
            eq(got, expect, "mmap sites with %r" % env)
            if expect:
                site = sites_calling(report, "map_some")[0]
                eq(site.get("kind"), "mmap", "kind")
                eq(site["allocs"], 3, "mappings kept")
        finally:
            run.cleanup()


@test
def disable_is_pure_pass_through():
    prog = compile_prog("entry_points")
    run = Run([prog], env={"MTRACE_DISABLE": "1"})
    try:
        eq((run.status, run.stdout, run.stderr), (0, b"kept 25 blocks\n", b""),
           "status, stdout, stderr")
        eq(run.traces(), [], "no trace")
    finally:
        run.cleanup()


@test
def bad_option_values_warn_once_and_keep_defaults():
    prog = compile_prog("entry_points")
    run = Run([prog], env={"MTRACE_DEPTH": "lots", "MTRACE_INTERVAL_MS": "-5"})
    try:
        eq((run.status, run.stdout), (0, b"kept 25 blocks\n"), "program ran")
        lines = run.stderr.decode().splitlines()
        eq(len(lines), 2, "one line per bad value: %r" % lines)
        check(any("MTRACE_DEPTH=lots" in line for line in lines) and
              any("MTRACE_INTERVAL_MS=-5" in line for line in lines),
              "lines name the variables and values: %r" % lines)
        report, _ = analyze(run.only_trace())
        eq(live_site(report, "use_malloc")["live_bytes"], 700, "still traced")
    finally:
        run.cleanup()


@test
def depth_limits_frames():
    prog = compile_prog("entry_points")
    run = Run([prog], env={"MTRACE_DEPTH": "2"})
    try:
        report, _ = analyze(run.only_trace())
        eq([f["function"] for f in live_site(report, "use_malloc")["frames"]],
           ["use_malloc", "main"], "the 2 frames nearest the allocation")
    finally:
        run.cleanup()


@test
def unwritable_output_runs_untraced_with_one_line():
    prog = compile_prog("entry_points")
    run = Run([prog], env={"MTRACE_OUT": "/nonexistent/dir/x.trace"})
    try:
        eq((run.status, run.stdout), (0, b"kept 25 blocks\n"), "program ran")
        eq(len(run.stderr.decode().splitlines()), 1, "one stderr line")
        check(b"/nonexistent/dir/x.trace" in run.stderr, "names the path")
    finally:
        run.cleanup()


@test
def errno_is_the_programs_even_when_the_trace_cannot_grow():
    prog = compile_prog("errno_kept")
    kept = b"163840 calls checked, 0 changed errno\n"
    # New stacks walked, tables grown, a snapshot every millisecond.
    run = Run([prog, "5"], env={"MTRACE_INTERVAL_MS": "1"})
    try:
        eq((run.status, run.stdout), (0, kept), "errno kept while tracing")
        report, _ = analyze(run.only_trace())
        eq(report["truncated"], False, "complete")
        check(report["totals"]["allocs"] > 5 * 5 * 4096,
              "allocations: %d" % report["totals"]["allocs"])
    finally:
        run.cleanup()
    # The trace's writes fail with EFBIG inside a malloc or free.
    run = Run([prog, "5", "full"], env={"MTRACE_INTERVAL_MS": "1"})
    try:
        eq((run.status, run.stdout), (0, kept), "errno kept after EFBIG")
        check(b"lost the trace file" in run.stderr, "says why tracing stops")
    finally:
        run.cleanup()


@test
def output_pattern_and_no_overwrite():
    prog = compile_prog("entry_points")
    run = Run([prog], env={"MTRACE_OUT": "custom-%p.trace"})
    try:
        eq([os.path.basename(t) for t in run.traces()],
           ["custom-%d.trace" % run.proc.pid], "pattern expanded")
    finally:
        run.cleanup()
    run = Run(["sh", "-c", "exec " + prog], env={"MTRACE_OUT": "fixed.trace"},
              before=lambda d: open(os.path.join(d, "fixed.trace"),
                                    "w").write("keep\n"))
    try:
        names = sorted(os.path.basename(t) for t in run.traces())
        check("fixed.2.trace" in names, "second name used: %r" % names)
        with open(os.path.join(run.dir, "fixed.trace"), "rb") as f:
            eq(f.read(), b"keep\n", "existing file untouched")
    finally:
        run.cleanup()


REAL_PROGRAMS = [
    ["python3", "-c", "import json; d={str(i): [i]*3 for i in range(20000)};"
     " print(len(json.dumps(d)))"],
    ["node", "-e", "const a=[]; for (let i=0;i<50000;i++) a.push({i, s:'x'+i});"
     " console.log(JSON.stringify(a).length)"],
    ["sqlite3", ":memory:", "create table t(a,b); "
     "with recursive c(x) as (select 1 union all select x+1 from c "
     "where x<20000) insert into t select x, hex(x) from c; "
     "create index ti on t(b); select count(*), sum(a) from t;"],
    ["git", "--version"],
    ["sort", "-r", "/etc/services"],
]


@test
def real_programs_are_unchanged():
    for argv in REAL_PROGRAMS:
        if not shutil.which(argv[0]):
            raise Failure("%s is not installed" % argv[0])
        native = subprocess.run(argv, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        run = Run(argv)
        try:
            eq((run.status, run.stdout), (native.returncode, native.stdout),
               "%s: status and stdout" % argv[0])
            check(run.traces(), "%s wrote a trace" % argv[0])
            for t in run.traces():
                report, _ = analyze(t)
                eq(report["truncated"], False, argv[0] + " trace complete")
                check(report["totals"]["allocs"] > 0, argv[0] + " allocs")
        finally:
            run.cleanup()


@test
def dlopened_module_frames_survive_dlclose():
    host = compile_prog("dl_host")
    plugin = compile_lib("dl_plugin.c")
    run = Run([host, plugin])
    try:
        eq((run.status, run.stdout), (0, b"unloaded\n"), "program ran")
        report, stderr = analyze(run.only_trace())
        site = live_site(report, "plugin_alloc")
        eq((site["live_bytes"], site["live_blocks"]), (600, 3), "survivors")
        eq(site["frames"][0]["module"], plugin, "module path")
        eq(site["frames"][0]["file"].split("/")[-1], "dl_plugin.c", "file")
        eq(collapsed_cost(run.only_trace(), "allocs", "plugin_alloc"), 30,
           "allocations over 10 loads")
    finally:
        run.cleanup()


@test
def fork_while_threads_allocate_never_deadlocks():
    prog = compile_prog("fork_threads")
    run = Run([prog], timeout=60)
    try:
        eq((run.status, run.stdout), (0, b"0 failures\n"), "all children ran")
        traces = run.traces()
        eq(len(traces), 101, "parent and 100 children traced")
        for t in traces:
            report, _ = analyze(t)
            eq(report["truncated"], False, "complete " + t)
    finally:
        run.cleanup()


@test
def stack_cache_never_confuses_call_chains():
    prog = compile_prog("stack_reuse")
    run = Run([prog])
    try:
        eq((run.status, run.stdout), (0, b"1260\n"), "program ran")
        report, _ = analyze(run.only_trace())
        leaf = [s for s in report["sites"] if s["frames"][0]["function"] == "leaf"]
        by_caller = {}
        for s in leaf:
            caller = s["frames"][1]["function"]
            by_caller[caller] = by_caller.get(caller, 0) + s["live_blocks"]
        eq(by_caller, {"via_a": 500, "via_b": 500}, "leaf's blocks by caller")
        depths = {}
        for s in report["sites"]:
            names = [f["function"] for f in s["frames"]]
            if names and names[0] == "recurse":
                d = names.index("main") - 1
                depths[d] = depths.get(d, 0) + s["live_blocks"]
        eq(depths, {d: 20 for d in range(1, 9)}, "recursion depth per block")
        eq(live_site(report, "deep_then_jump")["live_blocks"], 50, "deep")
        after = live_site(report, "after_jump")
        eq(after["live_blocks"], 50, "after the longjmp")
        eq([f["function"] for f in after["frames"][:2]], ["after_jump", "main"],
           "after_jump's own chain")
    finally:
        run.cleanup()


@test
def verbose_monitor_prints_a_line_per_interval():
    import re
    prog = compile_prog("interval_leak")
    native = subprocess.run([prog, "20"], stdout=subprocess.PIPE)
    run = Run([prog, "20"], env={"MTRACE_VERBOSE": "1"})
    try:
        eq((run.status, run.stdout), (0, native.stdout), "program unchanged")
        pattern = re.compile(
            r"^mtrace\[(\d+)\]: (\d+\.\d\d) s live (\S+ \S+) \(([+-])(\S+ \S+)\)"
            r" young \S+ \S+ old \S+ \S+ large \S+ \S+ top growth (.*)$")
        lines = run.stderr.decode().splitlines()
        matches = [pattern.match(line) for line in lines]
        check(all(matches), "every stderr line is a monitor line: %r" % lines)
        # 20 ticks of 50 ms: about 10 snapshots at 100 ms.
        check(7 <= len(lines) <= 13, "lines per interval: %d" % len(lines))
        eq({int(m.group(1)) for m in matches}, {run.proc.pid}, "pid")
        times = [float(m.group(2)) for m in matches]
        check(times == sorted(times), "time goes forward")
        report, _ = analyze(run.only_trace())
        tick = live_site(report, "tick")
        growing = [m.group(6) for m in matches[1:-1]]
        check(all(g.startswith("tick+0x") and ("site #%d " % tick["id"]) in g
                  for g in growing),
              "tick's site grows most, named: %r" % growing)
    finally:
        run.cleanup()


@test
def snapshot_signal_writes_a_complete_copy_and_the_program_runs_on():
    import signal as signals
    prog = compile_prog("interval_leak")
    run = Run([prog, "30"], env={"MTRACE_SNAPSHOT_SIGNAL": "USR2"},
              signal_after=(0.8, signals.SIGUSR2))
    try:
        eq(run.status, 0, "the program ran on")
        check(run.stdout.startswith(b"30 ticks, 30 buffers"), "output")
        pid = run.proc.pid
        names = sorted(os.path.basename(t) for t in run.traces())
        eq(names, ["mtrace.%d.snap1.trace" % pid, "mtrace.%d.trace" % pid],
           "the trace and its on-demand copy")
        eq(run.stderr.decode().strip(), "mtrace: wrote mtrace.%d.snap1.trace" % pid,
           "one line names the copy")
        copy, _ = analyze(os.path.join(run.dir, names[0]))
        eq((copy["truncated"], copy["end_reason"]), (False, "snapshot"),
           "a complete trace")
        ticks_then = live_site(copy, "tick")["live_blocks"]
        # About 16 ticks of 50 ms before the signal at 0.8 s.
        check(8 <= ticks_then <= 24, "survivors at the signal: %d" % ticks_then)
        final, _ = analyze(os.path.join(run.dir, names[1]))
        eq(live_site(final, "tick")["live_blocks"], 30, "the main trace goes on")
    finally:
        run.cleanup()


@test
def young_blocks_exact_through_the_nursery():
    """Blocks freed young, blocks that outlive the nursery, a phase that
    rests it and one that wakes it, blocks too large for its slots, young
    blocks freed by a thread started after them, and a fork child freeing
    young blocks it inherited: every count exact (preload/nursery.h)."""
    prog = compile_prog("young_blocks")
    run = Run([prog])
    try:
        eq(run.status, 0, "exit status")
        pids = {line.split()[0]: int(line.split()[1])
                for line in run.stdout.decode().splitlines()}
        by_pid = {}
        for t in run.traces():
            report, _ = analyze(t)
            by_pid[report["pid"]] = (report, t)
        eq(sorted(by_pid), sorted(pids.values()), "a trace per process")
        parent, trace = by_pid[pids["parent"]]
        kept = live_site(parent, "keep_long")
        eq((kept["live_blocks"], kept["live_bytes"], kept["allocs"]),
           (100, 4800, 100000), "keep_long: 100 of 100,000 leaked")
        for function, allocs in (("churn_short", 400000),
                                 ("churn_long", 200000),
                                 ("young_handoff", 50), ("before_fork", 20),
                                 ("too_large", 4)):
            eq(collapsed_cost(trace, "allocs", function), allocs,
               "allocations in " + function)
            eq(sites_calling(parent, function), [],
               function + ": every block freed")
        totals = parent["totals"]
        eq(totals["allocs"] - totals["frees"], totals["live_blocks"],
           "allocs - frees == live blocks")
        child, _ = by_pid[pids["child"]]
        forked = live_site(child, "before_fork")
        eq((forked["live_blocks"], forked["live_bytes"]), (10, 400),
           "fork child freed 10 of its 20 inherited young blocks")
        eq(live_site(child, "churn_long")["live_blocks"], 100000,
           "fork child: the ring, live")
        huge = live_site(child, "too_large")
        eq((huge["live_blocks"], huge["live_bytes"], huge["allocs"]),
           (2, 2 * (17 << 20), 4), "fork child: 2 of 4 blocks of 17 MiB")
    finally:
        run.cleanup()


@test
def unseen_free_counted_when_its_address_returns():
    """A free the tracer cannot see (__libc_free), then a block at the same
    address: the old block is counted freed, whether the new one takes a
    nursery slot (48 bytes) or is too large for one (17 MiB where a freed
    megabyte was); neither old block stays live in the report."""
    run = Run([compile_prog("unseen_free_reused")])
    try:
        eq(run.status, 0, "exit status")
        eq(run.stdout.decode().split(), ["small", "same", "large", "same"],
           "each address came back (else the test proves nothing)")
        trace = run.only_trace()
        report, _ = analyze(trace)
        for function, allocs in (("first_small", 1), ("again_small", 1),
                                 ("first_megabyte", 1), ("again_large", 1)):
            eq(collapsed_cost(trace, "allocs", function), allocs,
               "allocations in " + function)
        for function in ("first_small", "first_megabyte"):
            eq(sites_calling(report, function), [],
               function + ": counted freed when its address came back")
        small = live_site(report, "again_small")
        eq((small["live_blocks"], small["live_bytes"]), (1, 48),
           "again_small: live")
        large = live_site(report, "again_large")
        eq((large["live_blocks"], large["live_bytes"]), (1, 17 << 20),
           "again_large: live")
    finally:
        run.cleanup()


@test
def frees_on_a_thread_the_c_library_started_are_seen():
    """A SIGEV_THREAD timer's thread, which our pthread_create never sees,
    frees the young blocks of a process that had one thread."""
    prog = compile_prog("unannounced_thread")
    run = Run([prog])
    try:
        eq((run.status, run.stdout), (0, b"done\n"), "status and output")
        report, _ = analyze(run.only_trace())
        eq(collapsed_cost(run.only_trace(), "allocs", "young_for_timer"),
           200, "allocations")
        eq(sites_calling(report, "young_for_timer"), [],
           "every block freed by the timer's thread")
    finally:
        run.cleanup()
