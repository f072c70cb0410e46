#!/bin/sh
# Installs the Debian packages that building and testing mtrace need, and
# nothing else. Silent and quick when they are all present already.
set -eu

packages="gcc g++ make pkg-config libunwind-dev uthash-dev check libsubunit-dev libdw-dev libelf-dev"
# The end-to-end tests trace real programs.
packages="$packages python3 sqlite3 nodejs"
# ... and ones linked with an allocator of their own.
packages="$packages libjemalloc-dev libtcmalloc-minimal4"
# ... and one that loads CPython late, as PyInstaller's bootloader does.
packages="$packages libpython3.11"
# ... and one runs a program under valgrind's callgrind, as make
# bench-instr does.
packages="$packages valgrind"
# make fuzz and make check: clang with its libFuzzer and sanitizer runtimes.
packages="$packages clang libclang-rt-dev"
# Extra packages a target asks for, e.g. "heaptrack" for the benchmark.
packages="$packages ${MTRACE_EXTRA_PACKAGES:-}"

missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "mtrace: missing packages:$missing" >&2
    echo "mtrace: run: sudo apt-get install -y$missing" >&2
    exit 1
fi

echo "mtrace: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; refresh them once if install fails.
if ! apt-get install -y -qq $missing >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq $missing >/dev/null
fi
