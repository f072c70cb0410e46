"""MTRACE_MMAP=1: anonymous mappings cut into pieces by munmap, MAP_FIXED
and mremap (progs/mmap_pieces.c), each case with its exact live bytes,
live blocks, allocations and frees, and a timeline that only ever shows
amounts the program really had mapped."""
from e2e_lib import Run, analyze, check, compile_prog, eq, test

MB = 1 << 20
ENV = {"MTRACE_MMAP": "1", "MTRACE_INTERVAL_MS": "1"}

# Per case: the mmap sites left with live blocks, by frames[0] function:
# (live_bytes, live_blocks, allocs, frees, bytes_allocated, peak); totals:
# (allocs, frees, bytes_allocated, live_bytes, live_blocks, peak); and the
# live bytes after each step the tracer counts, in order. The rule: a
# mapping is one alloc; a piece split off by an unmap in its middle (or by
# moving part of it away) one more; a piece unmapped whole one free; a
# piece trimmed none. Sites that end empty are not in the report: their
# allocs and frees are in the totals, the program's only memory.
CASES = {
    "head_trim": ({"map_traced": (3 * MB, 1, 1, 0, 4 * MB, 4 * MB)},
                  (1, 0, 4 * MB, 3 * MB, 1, 4 * MB), [4 * MB, 3 * MB]),
    "tail_trim": ({"map_traced": (3 * MB, 1, 1, 0, 4 * MB, 4 * MB)},
                  (1, 0, 4 * MB, 3 * MB, 1, 4 * MB), [4 * MB, 3 * MB]),
    "head_and_tail": ({"map_traced": (2 * MB, 1, 1, 0, 4 * MB, 4 * MB)},
                      (1, 0, 4 * MB, 2 * MB, 1, 4 * MB),
                      [4 * MB, 3 * MB, 2 * MB]),
    "head_then_rest": ({}, (1, 1, 4 * MB, 0, 0, 4 * MB),
                       [4 * MB, 3 * MB, 0]),
    "tail_then_head": ({}, (1, 1, 4 * MB, 0, 0, 4 * MB), [4 * MB, MB, 0]),
    "punch": ({"map_traced": (3 * MB, 2, 2, 0, 4 * MB, 4 * MB)},
              (2, 0, 4 * MB, 3 * MB, 2, 4 * MB), [4 * MB, 3 * MB]),
    "punch_then_all": ({}, (2, 2, 4 * MB, 0, 0, 4 * MB),
                       [4 * MB, 3 * MB, 0]),
    "span_two": ({"map_fixed": (2 * MB, 2, 2, 0, 4 * MB, 4 * MB)},
                 (2, 0, 4 * MB, 2 * MB, 2, 4 * MB),
                 [2 * MB, 4 * MB, 2 * MB]),
    "span_two_all": ({}, (2, 2, 4 * MB, 0, 0, 4 * MB),
                     [2 * MB, 4 * MB, 0]),
    "several": ({"map_fixed": (MB, 1, 4, 3, 5 * MB, 5 * MB)},
                (4, 3, 5 * MB, MB, 1, 5 * MB),
                [MB, 2 * MB, 3 * MB, 5 * MB, MB]),
    "fixed_middle": ({"map_traced": (2 * MB, 2, 2, 0, 4 * MB, 4 * MB),
                      "map_fixed": (2 * MB, 1, 1, 0, 2 * MB, 2 * MB)},
                     (3, 0, 6 * MB, 4 * MB, 3, 4 * MB), [4 * MB, 4 * MB]),
    "fixed_middle_all": ({}, (3, 3, 6 * MB, 0, 0, 4 * MB),
                         [4 * MB, 4 * MB, 0]),
    "remap_shrink": ({"map_traced": (MB, 1, 1, 0, 4 * MB, 4 * MB)},
                     (1, 0, 4 * MB, MB, 1, 4 * MB), [4 * MB, MB]),
    "remap_shrink_all": ({}, (1, 1, 4 * MB, 0, 0, 4 * MB),
                         [4 * MB, MB, 0]),
    "remap_grow_move": ({"map_traced": (2 * MB, 1, 1, 0, 8 * MB, 8 * MB)},
                        (1, 0, 8 * MB, 2 * MB, 1, 8 * MB),
                        [MB, 8 * MB, 8 * MB, 2 * MB]),
    "remap_over_traced": ({"map_traced": (2 * MB, 1, 1, 0, 2 * MB, 2 * MB),
                           "map_other": (6 * MB, 1, 1, 0, 8 * MB, 8 * MB)},
                          (2, 0, 10 * MB, 8 * MB, 2, 10 * MB),
                          [2 * MB, 10 * MB, 8 * MB]),
    "untraced": ({"map_traced": (MB, 1, 1, 0, MB, MB)},
                 (2, 1, 2 * MB, MB, 1, MB), [MB, 0, MB]),
    "sub_page": ({"map_traced": (904, 1, 1, 0, 5000, 5000)},
                 (1, 0, 5000, 904, 1, 5000), [5000, 904]),
}


def run_case(case):
    """The reports of the case's run, by pid (the program's first)."""
    prog = compile_prog("mmap_pieces")
    run = Run([prog, case], env=ENV)
    try:
        eq((run.status, run.stderr), (0, b""), case + ": status, stderr")
        reports = {}
        for trace in run.traces():
            report, _ = analyze(trace)
            reports[report["pid"]] = report
        check(run.proc.pid in reports, case + ": the program's own trace")
        return run.proc.pid, reports
    finally:
        run.cleanup()


def check_sane(report, what):
    """What holds whatever the program did: no counter wrapped, allocs and
    frees agree with the live blocks, nothing above its peak."""
    totals = report["totals"]
    for key, value in totals.items():
        check(0 <= value < 1 << 62, "%s: totals %s = %d" % (what, key, value))
    eq(totals["allocs"] - totals["frees"], totals["live_blocks"],
       what + ": totals allocs - frees == live blocks")
    check(totals["live_bytes"] <= totals["peak_live_bytes"],
          what + ": live bytes within the peak")
    for point in report["timeline"]:
        check(point["live_bytes"] <= totals["peak_live_bytes"],
              "%s: timeline %d above the peak %d" %
              (what, point["live_bytes"], totals["peak_live_bytes"]))
    for site in report["sites"]:
        check(site["frees"] <= site["allocs"],
              "%s: site %d frees %d > allocs %d" %
              (what, site["id"], site["frees"], site["allocs"]))
        eq(site["allocs"] - site["frees"], site["live_blocks"],
           "%s: site %d allocs - frees == live blocks" % (what, site["id"]))
        check(site["live_bytes"] <= site["peak_live_bytes"] <
              totals["peak_live_bytes"] + 1,
              "%s: site %d live within its peak, within the total's" %
              (what, site["id"]))


def mmap_sites(report, what):
    found = {}
    for site in report["sites"]:
        if site["kind"] != "mmap":
            continue
        function = site["frames"][0]["function"]
        check(function not in found,
              "%s: one site for %s: %r" % (what, function, report["sites"]))
        found[function] = (site["live_bytes"], site["live_blocks"],
                           site["allocs"], site["frees"],
                           site["bytes_allocated"], site["peak_live_bytes"])
    return found


def check_case(case):
    sites, totals, states = CASES[case]
    pid, reports = run_case(case)
    report = reports[pid]
    eq(len(reports), 1, case + ": one trace")
    check_sane(report, case)
    eq(mmap_sites(report, case), sites, case + ": mmap sites")
    eq([s["kind"] for s in report["sites"]], ["mmap"] * len(sites),
       case + ": no other memory")
    t = report["totals"]
    eq((t["allocs"], t["frees"], t["bytes_allocated"], t["live_bytes"],
        t["live_blocks"], t["peak_live_bytes"]), totals, case + ": totals")
    eq(t["peak_live_bytes"], max(states), case + ": the true peak")
    timeline = [p["live_bytes"] for p in report["timeline"]]
    check(set(timeline) <= set(states) | {0},
          "%s: timeline %r holds only states %r" % (case, timeline, states))
    eq(timeline[-1], states[-1], case + ": timeline ends at the last state")
    buckets = report["buckets"]
    big = sum(s[0] for s in sites.values() if s[0] >= 131072)
    eq(buckets["large"]["bytes"], big, case + ": large bucket")
    eq(sum(b["bytes"] for b in buckets.values()), t["live_bytes"],
       case + ": every live byte in a bucket")


def make_case_test(case):
    def run():
        check_case(case)
    run.__name__ = "mmap_pieces_" + case
    return run


for _case in CASES:
    test(make_case_test(_case))


@test
def mmap_pieces_fork_child_unmaps_its_copy():
    pid, reports = run_case("forked")
    eq(len(reports), 2, "parent and child traces")
    child = [p for p in reports if p != pid][0]
    for who, report, live in (("parent", reports[pid], 4 * MB),
                              ("child", reports[child], 3 * MB)):
        check_sane(report, who)
        eq(mmap_sites(report, who),
           {"map_traced": (live, 1, 1, 0, 4 * MB, 4 * MB)}, who + " site")
        eq(report["totals"]["live_bytes"], live, who + " live bytes")


@test
def mmap_pieces_fork_while_another_thread_maps():
    # A child forked while the other thread held the pieces' lock would
    # hang in its munmap; run_case's timeout would end the test.
    pid, reports = run_case("fork_busy")
    eq(len(reports), 21, "parent and 20 children traces")
    for p, report in reports.items():
        who = "parent" if p == pid else "child %d" % p
        check_sane(report, who)
        sites = mmap_sites(report, who)
        check(all(s[0] <= 4 * MB for f, s in sites.items() if f == "churn"),
              who + ": at most one churn mapping live: %r" % sites)
        if p == pid:
            eq(sites.get("map_traced"), (MB, 1, 1, 0, MB, MB),
               "parent: the kept mapping")
            eq(sites.get("churn", (0,))[0], 0,
               "parent: churn unmapped everything")
            check(report["totals"]["frees"] >= 6000,
                  "parent: 3000 mappings, each split then freed")
        else:
            check("map_traced" not in sites, who + ": unmapped its copy")


@test
def mmap_reservations_count_only_what_is_committed():
    # V8 and the JVM reserve address space PROT_NONE and commit it a part
    # at a time: the reservation is no memory (node showed 529 MiB live at
    # a peak RSS of 64 MiB), what is committed is, at the committing site.
    prog = compile_prog("mmap_reserve")
    run = Run([prog], env=ENV)
    try:
        eq((run.status, run.stdout), (0, b"committed 3 MiB of 64\n"),
           "program ran")
        report, _ = analyze(run.only_trace())
        check_sane(report, "mmap_reserve")
        mib = 1 << 20
        # live bytes, live blocks, allocs, frees, bytes allocated, peak
        eq(mmap_sites(report, "mmap_reserve"),
           {"commit": (3 * mib, 3, 4, 1, 4 * mib, 3 * mib),
            "commit_by_mapping": (mib, 1, 1, 0, mib, mib)},
           "mmap sites")
    finally:
        run.cleanup()
