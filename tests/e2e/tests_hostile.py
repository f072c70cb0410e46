"""Hostile programs under the tracer: many threads freeing each other's
blocks, spawn and vfork children, a program's own SIGSEGV handler, a
program linked with its own allocator (jemalloc) and one that defines
malloc itself, a program that closes every descriptor (and one that then
opens its files again while libunwind needs its pipe), one that forbids
new files, and kills at random moments. Each keeps its output and status,
and leaves a readable trace."""
import os
import random
import subprocess

from e2e_lib import Run, analyze, check, compile_prog, eq, test


def same_as_native(argv, env=None, timeout=120):
    native = subprocess.run(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=timeout)
    run = Run(argv, env=env, timeout=timeout)
    eq((run.status, run.stdout), (native.returncode, native.stdout),
       "%s: status and stdout as without mtrace" % " ".join(argv[1:]))
    return run


@test
def sixteen_threads_freeing_each_others_blocks():
    prog = compile_prog("hostile")
    run = same_as_native([prog, "threads16", "10"])
    try:
        report, _ = analyze(run.only_trace())
        totals = report["totals"]
        eq(report["truncated"], False, "complete")
        check(totals["allocs"] > 100000, "allocations: %d" % totals["allocs"])
        eq(totals["allocs"] - totals["frees"], totals["live_blocks"],
           "allocs - frees == live blocks with 16 threads")
        hammer = [s for s in report["sites"]
                  if any(f["function"] == "hammer" for f in s["frames"])]
        eq(hammer, [], "every mailbox block was freed")
    finally:
        run.cleanup()


@test
def posix_spawn_and_vfork_children():
    prog = compile_prog("hostile")
    run = same_as_native([prog, "spawn"])
    try:
        eq(run.stdout, b"spawned 10 of 10\n", "children ran")
        traces = run.traces()
        eq(len(traces), 11, "the parent and its 10 children each traced")
        programs = {}
        for t in traces:
            report, _ = analyze(t)
            eq(report["truncated"], False, "complete " + t)
            name = os.path.basename(report["program"])
            programs[name] = programs.get(name, 0) + 1
        eq(programs, {"hostile": 1, "true": 10}, "programs traced")
    finally:
        run.cleanup()


@test
def program_with_its_own_sigsegv_handler():
    prog = compile_prog("hostile")
    run = same_as_native([prog, "segv_handler"])
    try:
        eq(run.stdout, b"recovered 3\n", "the program's handler ran")
        report, _ = analyze(run.only_trace())
        eq(report["truncated"], False, "complete")
    finally:
        run.cleanup()


@test
def program_that_closes_every_descriptor():
    prog = compile_prog("hostile")
    run = Run([prog, "close_all", "own.txt"])
    try:
        eq((run.status, run.stdout), (0, b"close_all done\n"), "program ran")
        with open(os.path.join(run.dir, "own.txt"), "rb") as f:
            eq(f.read(), b"the program's own data\n",
               "nothing of ours in the program's file")
        report, _ = analyze(run.only_trace())
        eq(report["truncated"], False, "the trace was reopened by path")
        check(report["totals"]["allocs"] >= 800, "allocations after the close")
    finally:
        run.cleanup()


@test
def descriptors_numbered_as_without_the_tracer():
    # libunwind's pipe must not take the program's lowest numbers.
    prog = compile_prog("hostile")
    run = same_as_native([prog, "first_fd"])
    run.cleanup()


@test
def files_reopened_after_closing_everything_stay_the_programs():
    # Stacks through code without unwind tables make libunwind check
    # addresses with its pipe, which it reopens (closing its old numbers)
    # when the program closed it: those numbers must not be the program's
    # files, whether they are the lowest (3, 4) or, with 500 descriptors
    # open, the ones the tracer moved the pipe to.
    prog = compile_prog("hostile")
    for mode, fds, walked in (("reopen_files", b"3 and 4", 50),
                              ("reopen_many", b"500 and 501", 0)):
        run = Run([prog, mode, "a.txt", "b.txt"])
        try:
            eq((run.status, run.stdout),
               (0, b"reopen_files done: " + fds + b", allocated\n"),
               mode + " ran")
            for name in ("a.txt", "b.txt"):
                with open(os.path.join(run.dir, name), "rb") as f:
                    eq(f.read(), b"the program's own data\n",
                       mode + ": " + name + " intact")
            report, _ = analyze(run.only_trace())
            eq(report["truncated"], False, "complete trace")
            # With its pipe's numbers the program's, libunwind is not
            # asked: those 50 blocks have no stack rather than a byte
            # read from the program's file.
            found = [[f["function"] for f in site["frames"][:3]]
                     for site in report["sites"] if site["live_blocks"] == 50]
            expect = [["allocate_without_cfi", "reopen_files", "main"]]
            eq(found, expect if walked else [[]], mode + ": their stack")
        finally:
            run.cleanup()


@test
def program_linked_with_its_own_allocator_keeps_it():
    # jemalloc's malloc_usable_size on a block glibc gave (the tracer
    # called glibc's allocator) crashed the program. With MTRACE_MMAP=1,
    # jemalloc's own mappings (it maps through mmap's PLT entry) must not
    # count as blocks around the blocks in them.
    prog = compile_prog("own_allocator", libs=["-ljemalloc"])
    for env in ({}, {"MTRACE_MMAP": "1", "MTRACE_REACHABILITY": "1"}):
        run = same_as_native([prog], env=env)
        try:
            eq(run.stdout,
               b"own allocator: 1400 of 1400 blocks as big as asked\n",
               "output")
            report, _ = analyze(run.only_trace())
            kept = [s for s in report["sites"]
                    if s["frames"][0]["function"] == "keep_one"]
            eq([(s["live_blocks"], s["live_bytes"]) for s in kept],
               [(1, 1000)], "the block kept")
            # main's 1608 (8 a round: realloc counts as one more; 8 of
            # 1 MiB), keep_one's, stdout's buffer, and the emergency pool
            # for exceptions of libstdc++ (jemalloc's dependency), made in
            # its constructor; all of main's freed.
            totals = report["totals"]
            eq((totals["allocs"], totals["frees"], totals["live_blocks"]),
               (1611, 1608, 3), "every call seen, nothing else %r" % env)
        finally:
            run.cleanup()


@test
def program_with_malloc_in_its_executable_runs_untraced_with_one_line():
    # No call of its malloc family reaches ours; those it leaves to us
    # would be recorded without their frees. Told, and left alone.
    prog = compile_prog("malloc_in_program")
    run = same_as_native([prog])
    try:
        eq(run.stdout, b"its own malloc: 101 calls\n", "its malloc ran")
        lines = run.stderr.decode().splitlines()
        eq(len(lines), 1, "one line on stderr")
        check("has its own malloc" in lines[0] and prog in lines[0],
              "naming the executable: " + lines[0])
        eq(run.traces(), [], "no trace")
    finally:
        run.cleanup()
    # Started under another name (Chromium starts its helpers as
    # /proc/self/exe): still named by its file.
    run = Run(["bash", "-c", "exec -a /proc/self/exe " + prog])
    try:
        eq(run.stdout, b"its own malloc: 101 calls\n", "its malloc ran")
        check(prog + " has its own malloc" in run.stderr.decode(),
              "naming the executable's file: " + run.stderr.decode())
    finally:
        run.cleanup()


@test
def program_that_forbids_new_files():
    prog = compile_prog("hostile")
    run = same_as_native([prog, "no_files"])
    try:
        # The trace cannot be reopened: what was written before stays
        # readable, reported as cut short.
        report, stderr = analyze(run.only_trace())
        eq(report["truncated"], True, "cut short")
    finally:
        run.cleanup()


@test
def sigkill_at_random_moments_never_overcounts():
    prog = compile_prog("endings")
    rng = random.Random(1234)
    for _ in range(20):
        after = rng.uniform(0.05, 0.5)
        run = Run([prog, "sleep"], kill_after=after)
        try:
            eq(run.status, -9, "killed")
            report, _ = analyze(run.only_trace())
            eq(report["truncated"], True, "cut short")
            ticks = sum(s["allocs"] for s in report["sites"]
                        if s["frames"] and s["frames"][0]["function"] == "tick")
            # At most one tick per millisecond of life.
            check(ticks <= after * 1000 + 10,
                  "ticks %d after %.3f s" % (ticks, after))
            totals = report["totals"]
            check(totals["frees"] <= totals["allocs"], "frees <= allocs")
        finally:
            run.cleanup()


@test
def setuid_program_is_never_traced():
    import shutil
    import tempfile
    if os.geteuid() != 0 or not shutil.which("su"):
        print("SKIP setuid_program_is_never_traced: needs root and su")
        return
    prog = compile_prog("entry_points")
    where = tempfile.mkdtemp(prefix="mtrace-setuid-")
    try:
        os.chmod(where, 0o777)
        copy = os.path.join(where, "setuid_prog")
        shutil.copy(prog, copy)
        lib = os.path.join(where, "libmtrace.so")
        shutil.copy(os.path.join(os.path.dirname(os.path.dirname(prog)),
                                 "libmtrace.so"), lib)

        def run_as_nobody():
            return subprocess.run(
                ["su", "nobody", "-s", "/bin/sh", "-c",
                 "cd %s && LD_PRELOAD=%s ./setuid_prog" % (where, lib)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)

        def traces():
            return [n for n in os.listdir(where) if n.endswith(".trace")]

        # Control: without the setuid bit, nobody's run is traced.
        result = run_as_nobody()
        eq((result.returncode, result.stdout), (0, b"kept 25 blocks\n"),
           "the program ran")
        eq(len(traces()), 1, "traced without the setuid bit")
        for name in traces():
            os.unlink(os.path.join(where, name))
        os.chmod(copy, 0o4755)          # setuid root, run by nobody
        result = run_as_nobody()
        eq((result.returncode, result.stdout), (0, b"kept 25 blocks\n"),
           "the setuid program ran")
        eq(traces(), [], "never traced when setuid")
    finally:
        shutil.rmtree(where, ignore_errors=True)


@test
def planted_symlink_is_never_followed_and_traces_are_private():
    import stat
    prog = compile_prog("entry_points")
    victim_dir = __import__("tempfile").mkdtemp(prefix="mtrace-victim-")
    victim = os.path.join(victim_dir, "victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    run = Run([prog], env={"MTRACE_OUT": "shared.trace"},
              before=lambda d: os.symlink(victim,
                                          os.path.join(d, "shared.trace")))
    try:
        eq((run.status, run.stdout), (0, b"kept 25 blocks\n"), "program ran")
        with open(victim) as f:
            eq(f.read(), "precious\n", "the symlink's target is untouched")
        written = os.path.join(run.dir, "shared.2.trace")
        check(os.path.isfile(written) and not os.path.islink(written),
              "the trace went to a fresh name")
        eq(stat.S_IMODE(os.stat(written).st_mode), 0o600, "mode 0600")
        report, _ = analyze(written)
        eq(report["truncated"], False, "complete")
    finally:
        run.cleanup()
        __import__("shutil").rmtree(victim_dir, ignore_errors=True)


@test
def out_of_memory_sees_the_same_null_and_the_trace_names_the_site():
    prog = compile_prog("out_of_memory")
    run = same_as_native([prog])
    try:
        eq(run.stdout, b"refused after 100-255 blocks, errno ENOMEM; "
           b"3 absurd requests refused\n", "the program saw its NULL")
        report, _ = analyze(run.only_trace())
        failed = [s for s in report["sites"] if s.get("kind") == "failed"]
        grow = [s for s in failed
                if s["frames"][0]["function"] == "grow_until_refused"]
        check(grow, "the site where the request was refused is reported")
        eq(grow[0]["allocs"], 1, "one refused request")
        check(any("failed here" in r for r in grow[0]["reasons"]),
              "the reason says so")
        eq(grow[0]["live_bytes"], 0, "refused memory is never live")
        # Three requests of SIZE_MAX / 2: what was asked, saturated, not
        # wrapped; and nothing of it among the bytes allocated.
        absurd = [s for s in failed
                  if s["frames"][0]["function"] == "ask_absurdly"]
        eq([(s["allocs"], s["bytes_allocated"]) for s in absurd],
           [(3, 2 ** 64 - 1)], "the absurd requests")
        check(report["totals"]["bytes_allocated"] < 2 ** 40,
              "bytes allocated: %d" % report["totals"]["bytes_allocated"])
    finally:
        run.cleanup()


@test
def thousands_of_short_lived_threads():
    """Each thread's stack cache goes to the next thread when it exits:
    2,000 threads cost the memory of one or two, and every block is
    counted."""
    from tests_trace_size import peak_rss
    import tempfile
    import shutil
    prog = compile_prog("thread_churn")
    threads = 2000
    run = same_as_native([prog, str(threads)])
    work = tempfile.mkdtemp(prefix="mtrace-e2e-")
    try:
        eq(run.stdout, b"threads 2000 kept 2000\n", "program ran")
        report, _ = analyze(run.only_trace())
        ours = [s for s in report["sites"]
                if any(f["function"] == "thread_body" for f in s["frames"])]
        eq(sum(s["live_blocks"] for s in ours), threads, "kept blocks")
        eq(sum(s["allocs"] for s in ours), threads * 10, "allocations")
        _, native = peak_rss([prog, str(threads)], work, preload=False)
        _, traced = peak_rss([prog, str(threads)], work, preload=True)
        # Measured: +0.8 MB; with a fresh cache for every thread, +9.2 MB.
        check(traced - native < 4 << 20,
              "peak RSS %d traced vs %d native" % (traced, native))
    finally:
        run.cleanup()
        shutil.rmtree(work, ignore_errors=True)


@test
def threads_with_the_smallest_stack():
    """PTHREAD_STACK_MIN (16 KiB) threads: the tracer's static TLS comes
    out of their stacks, and its walk runs on them."""
    prog = compile_prog("thread_churn")
    run = same_as_native([prog, "200", "small"])
    try:
        eq(run.stdout, b"threads 200 kept 200\n", "program ran")
        report, _ = analyze(run.only_trace())
        ours = [s for s in report["sites"]
                if any(f["function"] == "thread_body" for f in s["frames"])]
        eq(sum(s["live_blocks"] for s in ours), 200, "kept blocks")
    finally:
        run.cleanup()
