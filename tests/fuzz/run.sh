#!/bin/sh
# Usage: run.sh FUZZ_DIR SECONDS
# Runs FUZZ_DIR/fuzz-trace for SECONDS over the corpus FUZZ_DIR/corpus
# (new finds are kept there) and the seeds FUZZ_DIR/seeds. The full log
# goes to FUZZ_DIR/fuzz.log; on a crash, a hang (5 s for one input), a
# leak or any sanitizer report it is shown and the run fails, with the
# input saved under FUZZ_DIR/artifacts/.
set -eu

dir=$1
seconds=$2
mkdir -p "$dir/corpus" "$dir/artifacts"

# Inputs past 256 KiB only slow the mutations down: a trace's records are
# small, and the seeds cut there still hold every record kind.
status=0
UBSAN_OPTIONS=print_stacktrace=1 "$dir/fuzz-trace" \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
    -max_len=262144 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" "$dir/seeds" >"$dir/fuzz.log" 2>&1 || status=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log")
corpus=$(ls "$dir/corpus" | wc -l)
if [ "$status" -ne 0 ]; then
    tail -n 60 "$dir/fuzz.log" >&2
    echo "fuzz: FAILED after ${runs:-?} inputs (log: $dir/fuzz.log," \
         "inputs: $dir/artifacts/)" >&2
    exit 1
fi
echo "fuzz: ${runs:-?} inputs in ${seconds} s, no crash, hang or" \
     "sanitizer report; corpus of $corpus inputs in $dir/corpus"
