#!/bin/sh
# tests/sim_story.sh DIR -- run a simulate story and compare with its
# hand-written expectation. DIR holds policy.yaml, events.jsonl and
# expected.jsonl (the exact output lines). Runs under $VG when set.
set -u
dir=${1%/}
BUILD=${BUILD:-build}
got=$(mktemp)
trap 'rm -f "$got"' EXIT
(cd "$dir" && ${VG:-} "$OLDPWD/$BUILD/followupd" simulate --policy policy.yaml events.jsonl) >"$got" 2>"$got.err"
rc=$?
if [ $rc -ne 0 ]; then
    echo "simulate exited $rc"; cat "$got.err"; rm -f "$got.err"; exit 1
fi
rm -f "$got.err"
if ! "$BUILD/tests/tools/jsonl_match" "$dir/expected.jsonl" "$got"; then
    echo "--- full output:"; cat "$got"
    exit 1
fi
