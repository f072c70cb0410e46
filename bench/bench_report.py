"""The tables and target checks of `make bench` (scripts/bench.py), from
the measurements it took: pure functions of its results, so that they can
be tested on made-up ones (tests/e2e/tests_bench.py)."""
import signal
import time

# "Real programs" for the targets; the others are the synthetic stress.
REAL_PROGRAMS = ("cxx-containers", "python", "sqlite", "node", "compile")
# Workloads measured for memory only: the speed targets name the others.
MEMORY_ONLY = ("live-blocks",)


def ratio(tool, native):
    return tool / native if native else float("nan")


def mib(kib):
    return kib / 1024.0


# What the tables call each tool.
TOOL_NAMES = {"mtrace": "mtrace", "heaptrack": "heaptrack",
              "lsan": "LeakSanitizer"}


def failed_status(info):
    """A failed tool's statuses, each with the rounds that ended so: exit
    codes, or the signals that killed it (negative, as
    os.waitstatus_to_exitcode gives them)."""
    def name(v):
        try:
            return signal.Signals(-v).name if v < 0 else str(v)
        except ValueError:
            return str(v)
    statuses = info["status"]
    counts = {}
    for v in statuses:
        counts[v] = counts.get(v, 0) + 1
    return "FAIL (%s of %d rounds)" % (
        ", ".join("%s in %d" % (name(v), n) for v, n in counts.items()),
        len(statuses))


def timing(t, tool, native):
    """A tool's median wall time and its ratio to native's."""
    if t[tool]["failed"]:
        return failed_status(t[tool])
    return "%.3f (%.2fx)" % (t[tool]["median_s"],
                             ratio(t[tool]["median_s"], native))


def round_ratios(t, tool):
    """Each round's wall time against that round's native run, lowest
    and highest; None when the rounds were not kept (or not paired)."""
    runs, natives = t[tool].get("wall_s"), t["native"].get("wall_s")
    if not runs or not natives or len(runs) != len(natives):
        return None
    ratios = [ratio(r, n) for r, n in zip(runs, natives)]
    return min(ratios), max(ratios)


def outputs_ok(t, tools):
    return ", ".join("%s %s" % (TOOL_NAMES[tool],
                                "yes" if t[tool]["output_matches"] else "NO")
                     for tool in tools)


def row_for(name, s):
    t = s["tools"]
    native = t["native"]["median_s"]
    mx = ratio(t["mtrace"]["median_s"], native)
    hx = ratio(t["heaptrack"]["median_s"], native)

    if t["mtrace"]["failed"] or t["heaptrack"]["failed"] or hx <= 1:
        overhead = "n/a"
    else:
        overhead = "%.2f" % ((mx - 1) / (hx - 1))
    rss = "%.1f / %.1f / %.1f" % tuple(mib(t[k]["median_maxrss_kib"])
                                       for k in ("native", "mtrace",
                                                 "heaptrack"))
    traces = "%.2f / %.2f" % (t["mtrace"]["trace_bytes"] / 1e6,
                              t["heaptrack"]["trace_bytes"] / 1e6)
    analyze = "%.3f" % s["analyze_s"] if s["analyze_s"] is not None else "-"
    if not s["analyze_ok"]:
        analyze += " (FAIL)"
    return [name, "%.3f" % native, timing(t, "mtrace", native),
            timing(t, "heaptrack", native), overhead, rss, traces, analyze,
            outputs_ok(t, ("mtrace", "heaptrack"))]


HEADER = ["workload", "native s", "mtrace s (x)", "heaptrack s (x)",
          "mtrace/heaptrack overhead ratio", "RSS native/mtrace/heaptrack MiB",
          "trace MB mtrace/heaptrack", "analyze s", "output ok"]


def lsan_row_for(name, s):
    t = s["tools"]
    native = t["native"]["median_s"]
    cpu = " / ".join("-" if t[k]["failed"] else
                     "%.2fx" % t[k]["median_cpu_ratio"]
                     for k in ("lsan", "mtrace"))
    rss = "%.1f / %.1f / %.1f" % tuple(mib(t[k]["median_maxrss_kib"])
                                       for k in ("native", "lsan", "mtrace"))
    return [name, "%.3f" % native, timing(t, "lsan", native),
            timing(t, "mtrace", native), cpu, rss,
            outputs_ok(t, ("lsan", "mtrace"))]


LSAN_HEADER = ["workload", "native s", "LeakSanitizer s (x)", "mtrace s (x)",
               "CPU time x LeakSanitizer / mtrace",
               "RSS native/LeakSanitizer/mtrace MiB", "output ok"]


def with_lsan(results):
    return any("lsan" in s["tools"] for s in results.values())


def table(header, rows):
    return (["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"] +
            ["| " + " | ".join(row) + " |" for row in rows])


def markdown(results, args, identity):
    lines = []
    lines.append("mtrace benchmark, %s, %d rounds, %s, tree %s, "
                 "libmtrace.so sha256 %s" % (
                     "QUICK" if args.quick else "full", args.rounds,
                     time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                     identity["git"], identity["libmtrace_sha256"]))
    lines.append("")
    lines += table(HEADER, [row_for(name, s) for name, s in results.items()])
    lines.append("")
    lines.append("Times are medians over the rounds; (x) is the ratio to "
                 "native; overhead ratio is (mtrace x - 1) / "
                 "(heaptrack x - 1). "
                 "heaptrack's RSS is the largest process of its tree and its "
                 "trace is zstd-compressed; mtrace's trace is as written.")
    lines.append("")
    if with_lsan(results):
        lines += table(LSAN_HEADER, [lsan_row_for(name, s)
                                     for name, s in results.items()
                                     if name not in MEMORY_ONLY])
        lines.append("")
        lines.append("LeakSanitizer: GCC's liblsan.so.0 preloaded (its own "
                     "allocator; stacks by frame pointers), leak check at "
                     "exit on; CPU time x are medians of per-round ratios "
                     "to native.")
        lines.append("")
    lines += targets(results)
    return "\n".join(lines) + "\n"


def targets(results):
    """The goals of the optimisation work, checked against this run."""
    out = ["Targets:", ""]

    def check(ok, text):
        out.append("- [%s] %s" % ("x" if ok else " ", text))

    for name, s in results.items():
        t = s["tools"]
        if t["mtrace"]["failed"] or t["native"]["failed"]:
            check(False, "%s: mtrace run failed" % name)
            continue
        native = t["native"]["median_s"]
        mx = ratio(t["mtrace"]["median_s"], native)
        hx = ratio(t["heaptrack"]["median_s"], native)
        limit = 0.25 if name == "alloc-threads" else 0.5
        if not t["heaptrack"]["failed"] and hx > 1 and \
                name not in MEMORY_ONLY:
            got = (mx - 1) / (hx - 1)
            check(got <= limit, "%s: overhead %.2f of heaptrack's (<= %.2f)"
                  % (name, got, limit))
        slow_limit = {"alloc-churn": 1.8, "alloc-threads": 2.0}.get(
            name, 1.3 if name in REAL_PROGRAMS else None)
        if slow_limit:
            check(mx <= slow_limit, "%s: %.2fx native (<= %.1fx)"
                  % (name, mx, slow_limit))
        extra_kib = (t["mtrace"]["median_maxrss_kib"] -
                     t["native"]["median_maxrss_kib"])
        if s["peak_live_blocks"] and name in MEMORY_ONLY:
            # Millions of blocks and four sites: the tracer's fixed costs
            # (its code, libunwind, fixed tables) are a fraction of a byte
            # a block here, so this is the per-block cost itself.
            per_block = extra_kib * 1024.0 / s["peak_live_blocks"]
            check(per_block <= 32, "live-blocks: RSS +%.1f MiB over native "
                  "= %.1f B per live block (%d blocks; <= 32 B)" % (
                      mib(extra_kib), per_block, s["peak_live_blocks"]))
        elif s["peak_live_blocks"]:
            # Not a pass/fail: the extra RSS also holds libunwind, the
            # tracer's code and its fixed tables, which the limit allows.
            out.append("- (info) %s: RSS +%.1f MiB over native = %.0f B per "
                       "peak live block (%d blocks; goal: 32 B a block plus "
                       "the site table)" % (
                           name, mib(extra_kib),
                           extra_kib * 1024.0 / s["peak_live_blocks"],
                           s["peak_live_blocks"]))
        # Not a pass/fail (the targets are wall times): a steadier figure
        # for telling a change from the machine's noise, which mtrace's
        # needs whether or not heaptrack ran.
        heaptrack_cpu = ("" if t["heaptrack"]["failed"] else
                         ", %.2fx under heaptrack"
                         % t["heaptrack"]["median_cpu_ratio"])
        out.append("- (info) %s: CPU time %.2fx native under mtrace%s "
                   "(medians of per-round ratios)"
                   % (name, t["mtrace"]["median_cpu_ratio"], heaptrack_cpu))
        # How far one round can stray from the median: a goal missed by
        # less than that is the machine's noise as much as the tracer's.
        spread = round_ratios(t, "mtrace")
        if spread and name not in MEMORY_ONLY:
            out.append("- (info) %s: mtrace's wall time per round %.2fx to "
                       "%.2fx native's of the same round" % ((name,) + spread))
        if "lsan" in t and name not in MEMORY_ONLY:
            # The speed goals are meant to put mtrace ahead of it.
            out.append("- (info) %s: %.2fx native under mtrace, %s under "
                       "LeakSanitizer" % (
                           name, mx, failed_status(t["lsan"])
                           if t["lsan"]["failed"] else
                           "%.2fx" % ratio(t["lsan"]["median_s"], native)))
        if name == "alloc-churn":
            size = t["mtrace"]["trace_bytes"]
            check(size <= 1e6, "alloc-churn: trace %.2f MB (<= 1 MB)"
                  % (size / 1e6))
        if s["analyze_s"] is not None:
            check(s["analyze_ok"] and s["analyze_s"] < 1.0,
                  "%s: mtrace-analyze %.3f s (< 1 s)" % (name, s["analyze_s"]))
    for name, s in results.items():
        for tool in ("mtrace", "heaptrack", "lsan"):
            if tool not in s["tools"]:
                continue
            info = s["tools"][tool]
            if info["failed"] or not info["output_matches"]:
                out.append("")
                out.append("%s under %s: status %s, output %s; stderr ends: %s"
                           % (name, TOOL_NAMES[tool], info["status"],
                              ("matches" if info["output_matches"]
                               else "DIFFERS"),
                              info["stderr_tail"].strip()[-300:] or "(empty)"))
    return out
