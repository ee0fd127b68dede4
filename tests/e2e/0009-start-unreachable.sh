#!/bin/sh
# The daemon starts while Redis is not running and every broker is down:
# it waits, saying so in its log, and starts working when they come up;
# events produced meanwhile are decided as simulate decides them. The
# config names wrong addresses: FOLLOWUPD_KAFKA_BROKERS and
# FOLLOWUPD_REDIS_URL (spec 3.2) put the right ones in.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
check "redis-server starts with AOF" start_redis --appendonly yes
stop_redis
check "mock cluster starts" start_kafka 3
check "all brokers down" kmock down all
live_policy 15
CFG_BROKERS=127.0.0.1:1 CFG_REDIS_URL=redis://127.0.0.1:1/0 write_config d1
FOLLOWUPD_KAFKA_BROKERS=$KBS FOLLOWUPD_REDIS_URL=$REDIS_URL \
    $FU run -c "$T/d1.yaml" 2>>"$T/d1.log" &
echo $! >"$T/d1.pid"
E2E_PIDS="$E2E_PIDS $!"
check "waits for Redis, saying so" wait_log d1 '"msg":"redis unreachable, retrying"' 10
sleep 2
check "still running" kill -0 "$(cat "$T/d1.pid")"
check "redis-server comes up" restart_redis --appendonly yes
check "starts once Redis is there" wait_log d1 '"msg":"started"' 10
sleep 2
check "still running with every broker down" kill -0 "$(cat "$T/d1.pid")"
check "all brokers up" kmock up all
start=$(date +%s)
sh tests/e2e/gen_events.sh 30 150 "$start" 99 >"$T/events.jsonl"
check "events produced" produce "$T/events.jsonl" 5
check "joins the group" wait_log d1 '"msg":"partition assigned"' 15
oracle "$T/events.jsonl" "$T/expected.jsonl"
sleep_until $((start + 3 + 18 + 2))
consume_outputs "$T/out.jsonl"
check "outputs are simulate's" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --late-max-ms 2000
e2e_stop d1
check_committed "$T/events.jsonl"
report
