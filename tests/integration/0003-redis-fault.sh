#!/bin/sh
# redis-server (AOF on, fsync always) is killed with SIGKILL in the middle
# of a run and started again: the feeder's batches fail, are retried and
# go through; afterwards every event was decided exactly once, caps hold
# and no scheduled call is lost.
. tests/cli/lib.sh
. tests/integration/lib.sh
AOF="--appendonly yes --appendfsync always"
check "redis-server starts with AOF" start_redis $AOF
P=tests/integration/data/policy.yaml
FEED="${VG:-} $BUILD/tests/tools/feed --state $REDIS_URL --policy $P"
sh tests/integration/gen_events.sh 40 30 >"$T/all.jsonl"
$FEED --batch 10 --pause-ms 5 --stats "$T/all.jsonl" 2>"$T/feed.err" & pf=$!
# wait until the feeder is under way (some users written), then crash redis
for i in $(seq 1 200); do
    [ "$(redis-cli -p "$REDIS_PORT" dbsize 2>/dev/null)" -gt 20 ] 2>/dev/null && break
    sleep 0.05
done
kill -9 "$(cat "$RDIR/redis.pid")"
rm -f "$RDIR/redis.pid"
sleep 1
check "feeder still running while redis is down" kill -0 "$pf"
check "redis-server restarts from its AOF" restart_redis $AOF
check "state survived the crash" sh -c "[ \"\$(redis-cli -p $REDIS_PORT dbsize)\" -gt 0 ]"
feeder_outcome_ok "$pf" "the outage"
report
