#!/usr/bin/env python3
"""End-to-end tests: small programs with known ground truth run under
libmtrace.so, then mtrace-analyze's JSON is checked against that truth.

usage: run.py BUILD_DIR [TEST_NAME_SUBSTRING...]
Prints one line per test and a final "N passed, M failed"; exits 1 when
any test failed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e_lib  # noqa: E402
# Each module registers its tests with @e2e_lib.test when imported.
import tests_tracer  # noqa: E402,F401
import tests_endings  # noqa: E402,F401
import tests_reachability  # noqa: E402,F401
import tests_hostile  # noqa: E402,F401
import tests_verdicts  # noqa: E402,F401
import tests_reports  # noqa: E402,F401
import tests_unwind  # noqa: E402,F401
import tests_trace_size  # noqa: E402,F401
import tests_mmap  # noqa: E402,F401
import tests_cxx  # noqa: E402,F401
import tests_bench  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(e2e_lib.main())
