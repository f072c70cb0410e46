"""C++ operator new and delete, every form, under the three ways the
tracer meets them: the C++ runtime's (which calls malloc), an allocator's
own (jemalloc's and tcmalloc's, which never do) and a library's own (which
must keep running); and a C++ library loaded RTLD_LOCAL by a C program.
Each program keeps its output and status, and every block is counted
once, recorded where new was called."""
import os
import subprocess

from e2e_lib import (BIN, analyze, check, collapsed_cost, compile_lib,
                     compile_prog, compile_with_own_allocators, eq,
                     sites_calling, test)
from tests_hostile import same_as_native

# cxx_new_forms.cpp's survivors, by the function that made them.
KEPT = {"keep_widgets()": (10, 480), "keep_arrays()": (5, 500),
        "keep_aligned()": (3, 384), "keep_nothrow()": (2, 96),
        "after_bad_alloc()": (7, 336)}

RUNTIMES = ("libstdc++", "libjemalloc", "libtcmalloc")


def live_by_function(report, function):
    sites = [s for s in sites_calling(report, function)
             if s.get("kind") != "failed"]
    return (sum(s["live_blocks"] for s in sites),
            sum(s["live_bytes"] for s in sites))


def check_every_form(prog, what):
    run = same_as_native([prog])
    try:
        eq(run.stdout, b"churn 1000, refused 2\n", what + ": output")
        report, _ = analyze(run.only_trace())
        for function, expected in KEPT.items():
            eq(live_by_function(report, function), expected,
               "%s: blocks and bytes kept by %s" % (what, function))
            # Recorded in operator new, any form: where it was called
            # comes first, as the caller of malloc does.
            eq(set(s["frames"][0]["function"]
                   for s in sites_calling(report, function)),
               {function}, "%s: frames[0] of %s's sites" % (what, function))
        # The survivors and stdout's buffer; besides, what the runtime
        # and the allocator keep for themselves from their constructors
        # (libstdc++'s emergency pool for exceptions, tcmalloc's guard).
        eq(sum(s["live_blocks"] for s in report["sites"]
               if not os.path.basename(s["frames"][0]["module"] or "")
               .startswith(RUNTIMES)), 28,
           what + ": blocks live at exit")
        # 1000 widgets, 1000 arrays, 100 over-aligned blocks, 100 arrays
        # of them, 100 nothrow widgets: each made and freed once.
        eq(collapsed_cost(run.only_trace(), "allocs", "churn()"), 2300,
           what + ": allocations in churn")
        eq(live_by_function(report, "churn()"), (0, 0),
           what + ": all of churn's freed")
        refused = [s for s in sites_calling(report, "ask_too_much()")
                   if s.get("kind") == "failed"]
        eq(sum(s["allocs"] for s in refused), 2,
           what + ": the two refused requests")
    finally:
        run.cleanup()


@test
def cxx_runtime_new_every_form_counted_once():
    check_every_form(compile_prog("cxx_new_forms"), "libstdc++")


@test
def allocator_new_every_form_counted_once():
    # jemalloc's and tcmalloc's operator new and delete never call malloc
    # and free: their whole C++ heap went unseen. A bad_alloc thrown
    # through the tracer must leave the thread traced (after_bad_alloc).
    # tcmalloc also defines __libc_malloc, which hid that it was not
    # glibc's allocator.
    for name, prog in compile_with_own_allocators("cxx_new_forms"):
        needed = subprocess.run(["ldd", prog], stdout=subprocess.PIPE,
                                check=True).stdout.decode()
        check("lib" + name in needed, "linked with %s: %s" % (name, needed))
        check_every_form(prog, name)


def check_its_own_new_first(report, function):
    check(all(s["frames"][0]["function"] == "operator new(unsigned long)"
              for s in sites_calling(report, function)),
          "its operator new stands in frames[0] of %s's sites" % function)


@test
def library_with_its_own_new_keeps_it():
    compile_lib("counting_new.cpp")
    prog = compile_prog("counting_new_main",
                        libs=["-L" + BIN, "-lcounting_new",
                              "-Wl,-rpath," + BIN])
    run = same_as_native([prog])
    try:
        eq(run.stdout, b"its operator new ran 540 times, delete 500\n",
           "the library's operator new and delete ran")
        report, _ = analyze(run.only_trace())
        eq(live_by_function(report, "keep_nodes()"), (40, 1280),
           "its blocks, through its malloc calls")
        eq(collapsed_cost(run.only_trace(), "allocs", "churn_nodes()"), 500,
           "churned nodes")
        check_its_own_new_first(report, "keep_nodes()")
    finally:
        run.cleanup()


@test
def cxx_extension_loaded_locally_by_a_c_program():
    # The C++ runtime came with a library loaded RTLD_LOCAL (a Python
    # extension's way): dlsym(RTLD_NEXT) cannot see its operator new, yet
    # the library's calls reach ours first.
    host = compile_prog("cxx_extension_host")
    ext = compile_lib("cxx_extension.cpp")
    needed = subprocess.run(["ldd", host], stdout=subprocess.PIPE,
                            check=True).stdout.decode()
    check("libstdc++" not in needed, "the host is C only: " + needed)
    run = same_as_native([host, ext])
    try:
        eq(run.stdout, b"extension kept 12\n", "output")
        report, _ = analyze(run.only_trace())
        eq(live_by_function(report, "extension_work"), (12, 480),
           "the things kept")
        eq([s["frames"][0]["function"]
            for s in sites_calling(report, "extension_work")],
           ["extension_work"], "recorded in operator new")
        eq(collapsed_cost(run.only_trace(), "allocs", "extension_work"), 112,
           "every new")
    finally:
        run.cleanup()


@test
def library_with_its_own_new_loaded_locally_keeps_it():
    # The same C program and RTLD_LOCAL load, of a library that defines
    # operator new: its own calls reach ours first, and must still get
    # its own (it counts them), not the C++ runtime's.
    host = compile_prog("cxx_extension_host")
    lib = compile_lib("counting_new.cpp")
    run = same_as_native([host, lib])
    try:
        eq(run.stdout, b"extension kept 112\n",
           "its operator new ran for every new")
        report, _ = analyze(run.only_trace())
        eq(live_by_function(report, "extension_work"), (12, 480),
           "its blocks, through its malloc calls")
        check_its_own_new_first(report, "extension_work")
    finally:
        run.cleanup()


@test
def new_handler_runs_as_often_and_is_seen():
    # jemalloc's and tcmalloc's operator new run the new-handler even in
    # their nothrow form, which the tracer tried first: the handler ran
    # three times instead of two, the first under the guard, unseen.
    builds = ([("libstdc++", compile_prog("new_handler"))] +
              compile_with_own_allocators("new_handler"))
    for name, prog in builds:
        run = same_as_native([prog])
        try:
            eq(run.stdout, b"bad_alloc after 2 handler calls\n",
               name + ": the handler's calls")
            report, _ = analyze(run.only_trace())
            eq(live_by_function(report, "in_handler()"), (2, 200),
               name + ": what the handler allocated")
        finally:
            run.cleanup()


@test
def alignment_zero_is_refused_as_by_the_runtime():
    run = same_as_native([compile_prog("align_zero")])
    try:
        eq(run.stdout, b"bad_alloc\nnothrow: null\n", "refused both times")
    finally:
        run.cleanup()
