#!/bin/sh
# Usage: real_seeds.sh BUILD_DIR SEED_DIR
# Real traces as fuzzing seeds: a few of the end-to-end programs (the
# Makefile builds them into BUILD_DIR/progs), each run once under
# BUILD_DIR/libmtrace.so with a short snapshot interval (many snapshots in
# a short run) and the options that add record kinds (mmap sites, reachability flags, module
# generations from dlopen, an END after a signal). Traces stay under
# BUILD_DIR: they hold paths of this machine and are never committed.
set -eu

build=$1
seeds=$2
progs=$(cd "$build/progs" && pwd)
lib=$(cd "$build" && pwd)/libmtrace.so

mkdir -p "$seeds"
# The run that aborts must not leave a core file behind.
ulimit -c 0

# trace NAME [VAR=VALUE...] ARGV...: one run, its trace kept as
# SEED_DIR/real-NAME.trace. A program that ends by a signal is expected.
trace() {
    name=$1
    shift
    rm -f "$seeds/real-$name.trace"
    env MTRACE_OUT="$seeds/real-$name.trace" MTRACE_INTERVAL_MS=20 \
        LD_PRELOAD="$lib" "$@" >/dev/null 2>&1 || true
    if [ ! -s "$seeds/real-$name.trace" ]; then
        echo "real_seeds.sh: no trace from $name" >&2
        exit 1
    fi
}

trace interval_leak "$progs/interval_leak" 8
trace lost_blocks MTRACE_REACHABILITY=1 "$progs/lost_blocks"
trace mmap_anon MTRACE_MMAP=1 "$progs/mmap_anon"
trace dl_host "$progs/dl_host" "$progs/libdl_plugin.so"
trace abort "$progs/endings" abort
trace stack_reuse MTRACE_DEPTH=8 "$progs/stack_reuse"
