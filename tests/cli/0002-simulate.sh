#!/bin/sh
# followupd simulate as a rule author runs it: example stories, stdin,
# determinism, bad input going on, exit codes.
. tests/cli/lib.sh

run $FU simulate -c config/followupd.yaml config/examples/transfer.jsonl
check "transfer story exits 0" [ "$rc" -eq 0 ]
check "transfer story emits a reminder, calls and a retry" sh -c "
    grep -c '\"topic\": \"tasks\"' '$T/out' | grep -qx 2 &&
    grep -c '\"topic\": \"reminders\"' '$T/out' | grep -qx 1 &&
    grep -q '\"attempt\": 2' '$T/out' &&
    grep -q '\"reason\": \"cooldown\"' '$T/out'"
cp "$T/out" "$T/first"

run sh -c "$FU simulate --policy config/policy.yaml - < config/examples/transfer.jsonl"
check "stdin gives the same output" cmp -s "$T/out" "$T/first"

run $FU simulate --policy config/policy.yaml config/examples/bad-lines.jsonl
check "bad lines do not stop the run" [ "$rc" -eq 0 ]
check "four dead letters" sh -c "grep -c '\"topic\": \"dead_letter\"' '$T/out' | grep -qx 4"
check "valid event after bad lines is decided" grep -q '"event_id": "e-4004"' "$T/out"
check "dead letter names its line" grep -q '"offset": 5' "$T/out"
check "no personal data on stderr" sh -c "! grep -q '9000\\|u-9' '$T/err'"

run $FU simulate --policy config/policy.yaml "$T/missing.jsonl"
check "missing events file exits 1" [ "$rc" -eq 1 ]

report
