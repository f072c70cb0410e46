"""The reachability scan (MTRACE_REACHABILITY=1): lost blocks found,
reachable ones kept, memory the program made unreadable never read, nor
memory that faults (past a file's end, unmapped by another thread),
sparse mappings read only where touched, real programs unchanged; with
glibc's allocator, jemalloc's and tcmalloc's."""
import subprocess

from e2e_lib import (Run, analyze, check, compile_prog,
                     compile_with_own_allocators, eq, test)
from tests_tracer import REAL_PROGRAMS


def expect_blocks(report, truth, what=""):
    """truth: function -> (live blocks, unreachable blocks[, unreachable
    bytes]) of the sites whose first frame it is, summed."""
    keys = ("live_blocks", "unreachable_blocks", "unreachable_bytes")
    for function, expect in truth.items():
        sites = [s for s in report["sites"]
                 if s["frames"][0]["function"] == function]
        eq(tuple(sum(s[k] for s in sites) for k in keys[:len(expect)]),
           tuple(expect), what + function)


@test
def reachability_scan_finds_lost_blocks():
    # With an allocator of its own too: jemalloc's thread caches keep
    # every address they handed out, in memory it maps itself, which read
    # as roots made every lost block look reachable.
    builds = ([("glibc", compile_prog("lost_blocks"))] +
              compile_with_own_allocators("lost_blocks"))
    for allocator, prog in builds:
        check_lost_blocks(prog, allocator)
    # Off by default: no unreachable counts at all.
    run = Run([builds[0][1]])
    try:
        report, _ = analyze(run.only_trace())
        check(all("unreachable_blocks" not in s for s in report["sites"]),
              "no scan unless asked")
    finally:
        run.cleanup()


def check_lost_blocks(prog, allocator):
    run = Run([prog], env={"MTRACE_REACHABILITY": "1"})
    try:
        eq((run.status, run.stdout), (0, b"done\n"),
           allocator + ": program ran")
        report, _ = analyze(run.only_trace())
        truth = {  # function: (live blocks, unreachable blocks, bytes)
            "lose_some": (3, 3, 192),
            "lose_child": (3, 3, 72),
            "keep_global": (4, 0, 0),
            "keep_interior": (2, 0, 0),
            "keep_chain": (3, 0, 0),
        }
        expect_blocks(report, truth, allocator + ": ")
        for function, (blocks, lost, lost_bytes) in truth.items():
            sites = [s for s in report["sites"]
                     if s["frames"][0]["function"] == function]
            if lost:
                check(all(s["verdict"] == "leak" for s in sites),
                      allocator + ": " + function + " judged leak")
                check(any("unreachable" in r for s in sites
                          for r in s["reasons"]),
                      allocator + ": " + function + " reason")
    finally:
        run.cleanup()


@test
def reachability_scan_skips_memory_the_program_made_unreadable():
    prog = compile_prog("unreadable_blocks")
    run = Run([prog], env={"MTRACE_REACHABILITY": "1", "MTRACE_MMAP": "1"})
    try:
        eq((run.status, run.stdout), (0, b"done\n"), "program ran")
        report, _ = analyze(run.only_trace())
        truth = {  # function: (live blocks, unreachable blocks)
            "map_readable": (1, 0),
            "keep_in_mapping": (1, 0),
            "map_unreadable": (1, 0),
            "guarded_block": (1, 0),
            "keep_in_guarded": (1, 0),
            "lose_one": (1, 1),
        }
        expect_blocks(report, truth)
    finally:
        run.cleanup()


@test
def reachability_scan_finds_roots_in_sparse_mappings():
    prog = compile_prog("sparse_roots")
    run = Run([prog], env={"MTRACE_REACHABILITY": "1"})
    try:
        eq((run.status, run.stdout), (0, b"done\n"), "program ran")
        report, _ = analyze(run.only_trace())
        truth = {"keep_far": (1, 0), "keep_shared": (1, 0), "lose_one": (1, 1)}
        expect_blocks(report, truth)
    finally:
        run.cleanup()


@test
def reachability_scan_skips_memory_that_faults():
    prog = compile_prog("faulting_roots")
    run = Run([prog], env={"MTRACE_REACHABILITY": "1"})
    try:
        eq((run.status, run.stdout), (0, b"done\n"), "program ran")
        report, _ = analyze(run.only_trace())
        eq(report["truncated"], False, "complete trace")
        truth = {"keep_global": (1, 0), "lose_one": (1, 1)}
        expect_blocks(report, truth)
    finally:
        run.cleanup()


@test
def reachability_scan_on_real_programs():
    for argv in REAL_PROGRAMS[:3]:
        native = subprocess.run(argv, stdout=subprocess.PIPE)
        run = Run(argv, env={"MTRACE_REACHABILITY": "1"})
        try:
            eq((run.status, run.stdout), (native.returncode, native.stdout),
               argv[0] + " unchanged")
            for t in run.traces():
                report, _ = analyze(t)
                check(all("unreachable_blocks" in s for s in report["sites"]),
                      argv[0] + " scanned")
        finally:
            run.cleanup()
