#!/bin/sh
# The daemon on a Redis Cluster (3 masters, 3 replicas; redis_url
# redis+cluster://): in the middle of the stream a third of one master's
# slots move to another (`redis-cli --cluster reshard`: MIGRATING,
# IMPORTING, MIGRATE, so the daemon meets ASK and MOVED), then that master
# is killed and its replica takes over. The daemon never exits, and its
# outputs equal simulate's: nothing lost, no cap broken, nothing counted
# twice.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
require_redis_cluster
check "mock cluster starts" start_kafka 3
live_policy 25
CFG_REDIS_URL=$CLUSTER_URL write_config d1
check "daemon starts on the cluster" start_daemon d1
check "daemon joins the group" wait_log d1 '"msg":"partition assigned"' 15
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 600 "$start" 91 >"$T/events.jsonl"
produce "$T/events.jsonl" 8 & ppid=$!
sleep 1.5
check "5,000 slots resharded during the stream" cluster_reshard 5000
check "a master killed; its replica takes over" cluster_kill_master "$RESHARD_TO"
check "daemon survives the moves and the failover" kill -0 "$(cat "$T/d1.pid")"
wait $ppid
check "events produced" [ $? -eq 0 ]
oracle "$T/events.jsonl" "$T/expected.jsonl"
sleep_until $((start + 5 + 28 + 3))
consume_outputs "$T/out.jsonl"
check "outputs are simulate's after the moves and the failover" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --allow-redelivery \
    --late-max-ms 10000
check_committed "$T/events.jsonl"
e2e_stop d1
report
