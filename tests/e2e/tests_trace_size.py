"""Trace size and memory on long and allocation-heavy runs. The tracer
writes per-site counters at fewer snapshots as a run goes on
(preload/snapshot.h), so a steady 10-minute run stays under 10 MB; these
tests check that nothing the report needs is lost on the way (exact totals,
every site's end state and peak, a leak's verdict and rate), and that
millions of distinct block sizes cost neither trace nor memory."""
import atexit
import os
import shutil
import struct
import subprocess
import tempfile

from e2e_lib import (BIN, LIB, ROOT, Failure, Run, analyze, check,
                     compile_prog, eq, site_by_function, test)

MB = 1000 * 1000
MIB = 1024 * 1024

# 6000 snapshots are what a 10-minute run takes at the default 100 ms: at
# 1 ms, a run of 6.2 s of CPU time has about as many (snapshots come with
# allocations, and this program allocates all the time).
STEADY = {"MTRACE_INTERVAL_MS": "1"}
STEADY_SECONDS = "6.2"
STEADY_MIN_SNAPSHOTS = 5000
STEADY_SITES = 150
LEAK_BYTES = 4096

REC_SITE = 3
REC_SITE_COUNTERS = 4
SITE_HEADER = 16
REC_SNAPSHOT = 5
FILE_HEADER = 24

_runs = {}


def _cleanup_runs():
    for run in _runs.values():
        run.cleanup()


atexit.register(_cleanup_runs)


def steady_run():
    """One steady run with a leaking site, shared by the tests that read
    it; returns (trace, truth from the program's own output)."""
    if "steady" not in _runs:
        run = Run([compile_prog("steady_churn"), STEADY_SECONDS, "leak"],
                  env=STEADY)
        _runs["steady"] = run
        eq(run.status, 0, "steady_churn exit status")
    run = _runs["steady"]
    truth = {"sites": {}}
    for line in run.stdout.decode().splitlines():
        words = line.split()
        # "key value key value ..." after the line's one or two labels
        if words[0] == "site":
            truth["sites"][words[1]] = dict(
                (k, int(v)) for k, v in zip(words[2::2], words[3::2]))
        else:
            truth[words[0]] = dict(
                (k, int(v)) for k, v in zip(words[1::2], words[2::2]))
    eq(len(truth["sites"]), STEADY_SITES, "sites the program reported")
    return run.only_trace(), truth


def record_counts(trace):
    """SNAPSHOT records; SITE_COUNTERS entries and the bytes of their
    records, headers included; SITE frames and the bytes they take."""
    with open(trace, "rb") as f:
        data = f.read()
    offset, snapshots, entries, entry_bytes = FILE_HEADER, 0, 0, 0
    frames, frame_bytes = 0, 0
    while offset + 8 <= len(data):
        kind, length = struct.unpack_from("<II", data, offset)
        if kind == REC_SNAPSHOT:
            snapshots += 1
        elif kind == REC_SITE_COUNTERS:
            entries += struct.unpack_from("<I", data, offset + 8)[0]
            entry_bytes += 8 + length
        elif kind == REC_SITE:
            frames += struct.unpack_from("<I", data, offset + 8 + 8)[0]
            frame_bytes += length - SITE_HEADER
        offset += 8 + length
    return snapshots, entries, entry_bytes, frames, frame_bytes


@test
def steady_run_trace_stays_small_and_exact():
    trace, truth = steady_run()
    size = os.path.getsize(trace)
    snapshots, entries, entry_bytes, frames, frame_bytes = \
        record_counts(trace)
    check(snapshots >= STEADY_MIN_SNAPSHOTS,
          "only %d snapshots: the run does not stand for 10 minutes"
          % snapshots)
    check(size < 10 * MB, "trace of %d snapshots is %.1f MB" %
          (snapshots, size / MB))
    # Every site changes between any two snapshots: without thinning there
    # would be an entry per site per snapshot.
    check(entries < 0.2 * snapshots * (STEADY_SITES + 1),
          "%d site counter entries over %d snapshots" % (entries, snapshots))
    # Packed (format 2): counters were two thirds of a 10-minute Node.js
    # trace at 48 bytes an entry, and took it past 10 MB.
    check(entry_bytes < 20 * entries,
          "%d bytes for %d site counter entries" % (entry_bytes, entries))
    # Packed too: the frames of one stack lie in a few objects.
    check(frames > 0 and frame_bytes < 6 * frames,
          "%d bytes for %d frames" % (frame_bytes, frames))
    report, _ = analyze(trace)
    eq(report["truncated"], False, "truncated")
    totals = report["totals"]
    eq((totals["allocs"], totals["frees"]),
       (truth["totals"]["allocs"], truth["totals"]["frees"]),
       "total allocs, frees")
    for name, want in sorted(truth["sites"].items()):
        site = site_by_function(report, name)
        eq((site["live_bytes"], site["live_blocks"], site["allocs"],
            site["peak_live_bytes"]),
           (want["live"], want["blocks"], want["allocs"], want["peak"]),
           name + " live bytes, blocks, allocs, peak")


@test
def steady_leak_still_judged_after_6000_snapshots():
    trace, truth = steady_run()
    report, _ = analyze(trace)
    leak = site_by_function(report, "leak_tick")
    eq(leak["verdict"], "leak", "leak_tick verdict (reasons %r)"
       % leak["reasons"])
    eq((leak["live_bytes"], leak["live_blocks"]),
       (truth["leak"]["live"], truth["leak"]["blocks"]),
       "leak_tick live bytes, blocks")
    rate = LEAK_BYTES / (truth["leak"]["period_ns"] / 1e9)
    check(abs(leak["growth_bytes_per_s"] - rate) <= 0.25 * rate,
          "leak_tick growth %r not within 25%% of %r"
          % (leak["growth_bytes_per_s"], rate))
    flagged = [(s["frames"][0]["function"], s["verdict"]) for s in
               report["sites"] if s["verdict"] != "ok" and s is not leak]
    eq(flagged, [], "churning sites flagged")


def spawn_rss_tool():
    """bench/spawn_rss.c built into BUILD/e2e: a child's exact peak RSS,
    not inflated by the Python that starts it."""
    os.makedirs(BIN, exist_ok=True)
    out = os.path.join(BIN, "spawn_rss")
    src = os.path.join(ROOT, "bench", "spawn_rss.c")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        subprocess.run(["gcc", "-O2", "-o", out, src], check=True)
    return out


def peak_rss(argv, cwd, preload):
    """(stdout, peak RSS in bytes) of argv; env(1) sets LD_PRELOAD for the
    program alone, so spawn_rss is not traced itself."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MTRACE_") and k != "LD_PRELOAD"}
    result = os.path.join(cwd, "rss.result")
    prefix = ["/usr/bin/env", "LD_PRELOAD=" + LIB] if preload else []
    p = subprocess.run([spawn_rss_tool(), result] + prefix + argv, cwd=cwd,
                       env=env, stdout=subprocess.PIPE, timeout=120)
    eq(p.returncode, 0, "%s exit status" % argv[0])
    with open(result) as f:
        status, maxrss_kib = f.read().split()
    os.unlink(result)
    return p.stdout, int(maxrss_kib) * 1024


@test
def millions_of_distinct_sizes_cost_nothing():
    prog = compile_prog("distinct_sizes")
    count = 3000000
    work = tempfile.mkdtemp(prefix="mtrace-e2e-")
    try:
        native_out, native_rss = peak_rss([prog, str(count)], work, False)
        traced_out, traced_rss = peak_rss([prog, str(count)], work, True)
        eq(traced_out, native_out, "stdout")
        eq(native_out.split()[:4],
           [b"allocs", str(count).encode(), b"frees", str(count).encode()],
           "the program's own counts")
        traces = [os.path.join(work, n) for n in os.listdir(work)
                  if n.endswith(".trace")]
        eq(len(traces), 1, "trace files %r" % traces)
        size = os.path.getsize(traces[0])
        check(size < 1 * MB, "trace is %d bytes" % size)
        report, _ = analyze(traces[0])
        eq((report["totals"]["allocs"], report["totals"]["frees"]),
           (count, count), "total allocs, frees")
        check(traced_rss - native_rss <= 4 * MIB,
              "peak RSS %.1f MiB traced, %.1f MiB native"
              % (traced_rss / MIB, native_rss / MIB))
    except subprocess.TimeoutExpired as e:
        raise Failure("timed out: %s" % e)
    finally:
        shutil.rmtree(work, ignore_errors=True)
