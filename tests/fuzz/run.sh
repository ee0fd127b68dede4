#!/bin/sh
# tests/fuzz/run.sh BUILD TARGET... -- `make fuzz`: each libFuzzer target
# for FUZZ_SECONDS (default 60) from tests/fuzz/corpus/TARGET (new inputs
# kept in BUILD/corpus/TARGET), then its executions, coverage and corpus
# size. A crash, a leak, a timeout or a failed property stops the run:
# the input is in BUILD/crashes/; copy it to tests/fuzz/regress/TARGET/
# with the fix, and `make test` replays it from then on.
set -u
B=$1
shift
S=${FUZZ_SECONDS:-60}
mkdir -p "$B/crashes"
failed=0
for t in "$@"; do
    mkdir -p "$B/corpus/$t"
    "$B/fuzz/$t" -max_total_time="$S" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$B/crashes/$t-" \
        "$B/corpus/$t" "tests/fuzz/corpus/$t" >"$B/$t.log" 2>&1
    rc=$?
    awk -v t="$t" -v s="$S" '
/^#[0-9]+.*(DONE|pulse|NEW|REDUCE)/ { for (i = 1; i <= NF; i++) { if ($i == "cov:") cov = $(i + 1); if ($i == "corp:") corp = $(i + 1) } }
/stat::number_of_executed_units:/ { execs = $2 }
END { printf "%-14s %ds: %d executions, coverage %s edges, corpus %s\n", t, s, execs, cov, corp }' "$B/$t.log"
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + 1))
        echo "FAIL $t (exit $rc): see $B/$t.log and $B/crashes/"
        grep -E "ERROR|property failed|SUMMARY" "$B/$t.log" | head -5
    fi
done
echo "$(( $# - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
