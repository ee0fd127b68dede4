#!/bin/sh
# redis-server is killed with SIGKILL in the middle of a stream and
# started again from its AOF 3 s later: batches and due work wait and are
# retried, the daemon never exits, and the outputs equal simulate's
# (nothing lost, no cap broken, nothing counted twice).
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
AOF="--appendonly yes --appendfsync always"
e2e_setup 25 --appendfsync always
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 600 "$start" 55 >"$T/events.jsonl"
produce "$T/events.jsonl" 8 & ppid=$!
sleep 2
kill -9 "$(cat "$RDIR/redis.pid")"
rm -f "$RDIR/redis.pid"
sleep 3
check "daemon survives the outage" kill -0 "$(cat "$T/d1.pid")"
check "redis-server restarts from its AOF" restart_redis $AOF
wait $ppid
check "events produced" [ $? -eq 0 ]
oracle "$T/events.jsonl" "$T/expected.jsonl"
sleep_until $((start + 5 + 28 + 3))
consume_outputs "$T/out.jsonl"
check "outputs are simulate's after the outage" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --allow-redelivery \
    --late-max-ms 3000
check "the outage was logged once, with its end" \
    [ "$(grep -c '"msg":"store unavailable' "$T/d1.log")" -eq 1 ] 
check "the end of the outage was logged" grep -q '"msg":"store available again"' "$T/d1.log"
e2e_stop d1
report
