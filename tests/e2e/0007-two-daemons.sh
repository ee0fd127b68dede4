#!/bin/sh
# Two daemons in one consumer group share the input partitions; one is
# killed with SIGKILL in the middle of the stream and the other takes its
# partitions over: outputs equal simulate's (nothing lost, no cap
# broken), the survivor's log shows the new assignment.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
check "redis-server starts with AOF" start_redis --appendonly yes --appendfsync always
check "mock cluster starts" start_kafka 3
live_policy 30
write_config d1
write_config d2
check "first daemon starts" start_daemon d1
check "first daemon joins the group" wait_log d1 '"msg":"partition assigned"' 15
check "second daemon starts" start_daemon d2
check "second daemon gets partitions" wait_log d2 '"msg":"partition assigned"' 20
sleep 1
a1=$(grep -c '"msg":"partition assigned"' "$T/d1.log")
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 600 "$start" 77 >"$T/events.jsonl"
produce "$T/events.jsonl" 8 & ppid=$!
sleep 2
check "second daemon was deciding" grep -q '"msg":"dead letter"' "$T/d2.log"
kill_daemon d2
wait $ppid
check "events produced" [ $? -eq 0 ]
check "first daemon takes the partitions over" sh -c \
    "for i in \$(seq 200); do [ \$(grep -c '\"msg\":\"partition assigned\"' '$T/d1.log') -gt $a1 ] && exit 0; sleep 0.1; done; exit 1"
oracle "$T/events.jsonl" "$T/expected.jsonl"
sleep_until $((start + 5 + 33 + 3))
consume_outputs "$T/out.jsonl"
check "outputs are simulate's: nothing lost when a member dies" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --allow-redelivery \
    --late-max-ms 20000
e2e_stop d1
check "no personal data in the killed daemon's log" no_personal_data "$T/d2.log"
report
