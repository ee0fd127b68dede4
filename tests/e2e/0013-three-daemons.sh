#!/bin/sh
# Three daemons in one consumer group share the input partitions and the
# due work. Under normal operation no message is produced twice (the
# outbox lease: one instance claims a message at a time). Then one is
# killed with SIGKILL and a fourth joins: partitions move, the dead
# one's leases run out and are taken over, and the outputs of both
# streams equal simulate's (nothing lost, no cap broken; repeats of a
# killed instance's messages carry the same ids).
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
check "redis-server starts with AOF" start_redis --appendonly yes --appendfsync always
check "mock cluster starts" start_kafka 3
live_policy 20
for d in d1 d2 d3 d4; do write_config "$d"; done
for d in d1 d2 d3; do
    check "$d starts" start_daemon "$d"
done
for d in d1 d2 d3; do
    check "$d gets partitions" wait_log "$d" '"msg":"partition assigned"' 30
done
sleep 1
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 600 "$start" 23 >"$T/a.jsonl"
produce "$T/a.jsonl" 5
check "stream A produced" [ $? -eq 0 ]
oracle "$T/a.jsonl" "$T/expected-a.jsonl"
sleep_until $((start + 20 + 3 + 3))
consume_outputs "$T/out-a.jsonl"
check "stream A: simulate's outputs, no duplicate record" \
    e2e_check "$T/expected-a.jsonl" "$T/out-a.jsonl" --late-max-ms 3000
# "tasks: expected N got N (copies C)": under normal operation C = N
for kind in tasks cancels reminders; do
    check "stream A: no $kind produced twice" awk -v k="$kind:" \
        '$1 == k { got = $5; c = $7; sub(/\)/, "", c) } END { exit !(got != "" && got == c) }' \
        "$T/check.out"
done

a1=$(grep -c '"msg":"partition assigned"' "$T/d1.log")
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 600 "$start" 29 b 1000 >"$T/b.jsonl"
produce "$T/b.jsonl" 8 & ppid=$!
sleep 1.5
kill_daemon d2
check "d4 starts" start_daemon d4
check "d4 gets partitions" wait_log d4 '"msg":"partition assigned"' 30
wait $ppid
check "stream B produced" [ $? -eq 0 ]
check "the others' assignments changed" \
    [ "$(grep -c '"msg":"partition assigned"' "$T/d1.log")" -gt "$a1" ]
cat "$T/a.jsonl" "$T/b.jsonl" >"$T/all.jsonl"
oracle "$T/all.jsonl" "$T/expected.jsonl"
sleep_until $((start + 20 + 5 + 16 + 3))
consume_outputs "$T/out.jsonl"
check "both streams: simulate's outputs after a member died and one joined" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --allow-redelivery \
    --late-max-ms 20000
check_committed "$T/all.jsonl"
for d in d1 d3 d4; do e2e_stop "$d"; done
report
