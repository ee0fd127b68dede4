#!/bin/sh
# Every broker goes down for 5 s while reminders fall due and comes back;
# then more events arrive (of other users, so when they are decided does
# not matter): the daemon keeps running, outputs are delayed,
# none is lost or doubled (outputs equal simulate's; repeats are the same
# messages), and every input offset ends up committed.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
e2e_setup 25
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 200 "$start" 33 a >"$T/part1.jsonl"
check "first part produced" produce "$T/part1.jsonl" 2
sleep_until $((start + 17))
check "all brokers down" kmock down all
sleep 5
check "daemon survives the outage" kill -0 "$(cat "$T/d1.pid")"
check "all brokers up" kmock up all
start2=$(date +%s)
sh tests/e2e/gen_events.sh 40 200 "$start2" 34 b 100 >"$T/part2.jsonl"
check "second part produced" produce "$T/part2.jsonl" 2
cat "$T/part1.jsonl" "$T/part2.jsonl" >"$T/events.jsonl"
oracle "$T/events.jsonl" "$T/expected.jsonl"
sleep_until $((start2 + 3 + 28 + 3))
consume_outputs "$T/out.jsonl"
check "outputs are simulate's after the outage" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --allow-redelivery \
    --late-max-ms 10000
e2e_stop d1
check_committed "$T/events.jsonl"
report
