"""The ways a process ends, each recorded in its trace with its status:
exit and its variants, _exit, fatal signals, SIGKILL, quick_exit (even
from a signal handler), a process that never allocates, and frees in the
destructors of the libraries it linked."""
import subprocess

from e2e_lib import (BIN, Run, analyze, check, compile_lib, compile_prog,
                     eq, sites_calling, test)
from tests_tracer import live_site


def ending(how, expect_status, reason, kill_after=None):
    prog = compile_prog("endings")
    if kill_after is None:
        native = subprocess.run([prog, how], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        eq(native.returncode, expect_status, "native exit status")
    run = Run([prog, how], kill_after=kill_after)
    try:
        eq(run.status, expect_status, "traced exit status")
        report, stderr = analyze(run.only_trace())
        if reason is not None:
            # The trace says how and with what status the process ended.
            eq((report["end_reason"], report["end_status"]),
               (reason, abs(expect_status)), how + ": recorded end")
        return report, stderr
    finally:
        run.cleanup()


@test
def exit_status_and_final_records_on_exit():
    report, _ = ending("exit", 0, "exit")
    eq(report["truncated"], False, "truncated")
    eq(live_site(report, "keep_four")["live_bytes"], 4000, "survivors")


@test
def every_way_to_exit_records_its_status():
    for how, status in (("return3", 3), ("exit4", 4), ("exit_minus1", 255),
                        ("errx5", 5)):
        report, _ = ending(how, status, "exit")
        eq(report["truncated"], False, how + ": complete")
        eq(live_site(report, "keep_four")["live_bytes"], 4000, "survivors")
    # quick_exit runs no destructor: the trace still ends, after the
    # program's own at_quick_exit handlers.
    report, _ = ending("quick_exit6", 6, "exit")
    eq(report["truncated"], False, "quick_exit: complete")
    eq(live_site(report, "keep_at_quick_exit")["live_bytes"], 1000,
       "the block its handler kept")


@test
def quick_exit_from_a_signal_handler_never_hangs():
    # The timer's handler calls quick_exit wherever the program is, often
    # inside the tracer holding one of its locks: the trace must end
    # without waiting for them (it may then be cut short).
    prog = compile_prog("endings")
    for usec in range(200, 6200, 300):
        run = Run([prog, "quick_exit_from_handler", str(usec)], timeout=20)
        try:
            eq(run.status, 9, "status after %d us" % usec)
            analyze(run.only_trace())
        finally:
            run.cleanup()


@test
def underscore_exit_is_flushed():
    report, _ = ending("_exit", 7, "_exit")
    eq(report["truncated"], False, "truncated")
    eq(live_site(report, "keep_four")["live_bytes"], 4000, "survivors")


@test
def abort_keeps_its_signal_and_trace():
    report, _ = ending("abort", -6, "signal")
    eq(report["truncated"], False, "truncated")
    eq(live_site(report, "keep_four")["live_bytes"], 4000, "survivors")


@test
def segv_keeps_its_signal_and_trace():
    report, _ = ending("segv", -11, "signal")
    eq(report["truncated"], False, "truncated")
    eq(live_site(report, "keep_four")["live_bytes"], 4000, "survivors")


@test
def sigkill_leaves_a_readable_truncated_trace():
    report, stderr = ending("sleep", -9, None, kill_after=0.6)
    eq(report["truncated"], True, "truncated")
    check("cut short" in stderr or "truncated" in stderr,
          "warning on stderr: %r" % stderr)
    ticks = [s for s in report["sites"] if s["frames"] and
             s["frames"][0]["function"] == "tick"]
    eq(len(ticks), 1, "tick site")
    # ~1 ms per tick for 0.6 s, minus start-up; at most one interval lost.
    check(100 < ticks[0]["allocs"] < 700, "tick allocs %d" % ticks[0]["allocs"])


@test
def process_that_never_allocates_writes_a_trace():
    report, _ = ending("none", 0, "exit")
    eq(report["truncated"], False, "truncated")
    eq(sites_calling(report, "main"), [], "no allocation from main")


@test
def python_os_exit_is_flushed():
    argv = ["python3", "-c", "import os; keep = [bytearray(5000) for _ in "
            "range(20)]; os._exit(5)"]
    run = Run(argv)
    try:
        eq(run.status, 5, "exit status")
        report, _ = analyze(run.only_trace())
        eq(report["truncated"], False, "complete trace")
        eq(report["end_reason"], "_exit", "ended by _exit")
        # bytearray(5000) asks for 5001 bytes (room for a NUL).
        big = [s for s in report["sites"] if s["live_blocks"] >= 20 and
               s["live_bytes"] >= 20 * 5000]
        check(big, "the 20 bytearrays are survivors")
    finally:
        run.cleanup()


@test
def library_constructors_and_destructors_are_seen():
    # A library the program links, which does not depend on libmtrace.so,
    # is initialized before it and finalized after it: its constructor's
    # blocks came before the start of the trace, its destructor's frees
    # after the end, and its 20 blocks showed as live at exit.
    compile_lib("teardown.c")
    prog = compile_prog("teardown_main", libs=["-L" + BIN, "-lteardown",
                                               "-Wl,-rpath," + BIN])
    run = Run([prog])
    try:
        eq((run.status, run.stdout), (7, b"kept 20 in the library\n"),
           "status and output")
        report, _ = analyze(run.only_trace())
        eq((report["end_reason"], report["end_status"]), ("exit", 7),
           "recorded end")
        eq([(s["live_blocks"], s["live_bytes"])
            for s in sites_calling(report, "keep_in_library")
            if s["live_blocks"]], [], "the library's blocks were freed")
        for function, expected in (("leak_three", (3, 150)),
                                   ("leak_at_load", (2, 140))):
            eq((sum(s["live_blocks"]
                    for s in sites_calling(report, function)),
                sum(s["live_bytes"] for s in sites_calling(report, function))),
               expected, "the leaks of " + function)
        # The constructor's 6, main's 23 and stdout's buffer; the
        # destructor's 24 frees.
        totals = report["totals"]
        eq((totals["allocs"], totals["frees"]), (30, 24),
           "every call seen")
    finally:
        run.cleanup()
