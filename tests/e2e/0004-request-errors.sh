#!/bin/sh
# Produce and offset-commit requests fail for a while (errors pushed into
# the mock cluster) while reminders and tasks fall due: the failed
# produces are retried (idempotent producer, then the outbox lease), the
# commits are retried, and the outputs still equal simulate's.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
e2e_setup 15
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 300 "$start" 44 >"$T/events.jsonl"
check "events produced" produce "$T/events.jsonl" 5
oracle "$T/events.jsonl" "$T/expected.jsonl"
sleep_until $((start + 10))
check "commits fail" kmock errors OffsetCommit 20 REQUEST_TIMED_OUT
check "produces fail" kmock errors Produce 30 NOT_LEADER_FOR_PARTITION
sleep_until $((start + 14))
check "produces fail with a timeout" kmock errors Produce 30 REQUEST_TIMED_OUT
sleep_until $((start + 3 + 18 + 3))
consume_outputs "$T/out.jsonl"
check "outputs are simulate's despite the failed requests" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --late-max-ms 10000
e2e_stop d1
check_committed "$T/events.jsonl"
report
