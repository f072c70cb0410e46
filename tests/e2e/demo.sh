#!/bin/sh
# make demo: the interval leak of the mission, traced and reported.
# usage: demo.sh BUILD_DIR
set -eu
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/demo"
cc -O1 -g -o "$build/demo/interval_leak" "$here/progs/interval_leak.c"
out=$(mktemp -d "${TMPDIR:-/tmp}/mtrace-demo.XXXXXX")
echo "== running tests/e2e/progs/interval_leak.c under libmtrace.so (3 s) ==" >&2
(cd "$out" && LD_PRELOAD="$build/libmtrace.so" "$build/demo/interval_leak")
echo "== mtrace-analyze $out/mtrace.*.trace ==" >&2
"$build/mtrace-analyze" --top 5 "$out"/mtrace.*.trace
echo "== the trace is kept in $out ==" >&2
