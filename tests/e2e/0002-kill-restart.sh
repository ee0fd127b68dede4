#!/bin/sh
# SIGKILL of the daemon in the middle of a stream, restart: nothing is
# lost (every task and reminder simulate decides comes out), nothing is
# counted twice (caps hold: outputs equal simulate's), repeats carry the
# same ids. Events read again after the restart give only `duplicate`
# records; messages leased by the killed daemon leave when the lease ends.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
e2e_setup 25 --appendfsync always
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 600 "$start" 22 >"$T/events.jsonl"
produce "$T/events.jsonl" 8 & ppid=$!
sleep 2
check "daemon was deciding when killed" grep -q '"msg":"dead letter"' "$T/d1.log"
kill_daemon d1
sleep 1
check "daemon restarts" start_daemon d1
check "restarted daemon gets the partitions" wait_log d1 '"msg":"partition assigned"' 20
wait $ppid
check "events produced" [ $? -eq 0 ]
oracle "$T/events.jsonl" "$T/expected.jsonl"
sleep_until $((start + 5 + 28 + 3))
consume_outputs "$T/out.jsonl"
check "outputs are simulate's: nothing lost, nothing twice" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --allow-redelivery \
    --late-max-ms 20000
e2e_stop d1
report
