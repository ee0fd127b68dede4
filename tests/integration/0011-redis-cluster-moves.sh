#!/bin/sh
# The Redis store while the cluster changes under it. First
# tests/tools/cluster_check: a moved slot is followed (MOVED), a slot
# half-way through a migration is read where each key is (ASK) and a save
# across both sides fails as transient (TRYAGAIN) and writes nothing, and
# a replica taking over its master (CLUSTER FAILOVER) stops nothing. Then
# the feeder decides events while `redis-cli --cluster reshard` moves
# slots and a master is killed (its replica takes over): afterwards every
# event was decided exactly once, caps hold and no call is lost.
. tests/cli/lib.sh
. tests/integration/lib.sh
require_redis_cluster
seed=${CLUSTER_PORTS%% *}
replica=$(cluster_replicas | head -n 1 | cut -d: -f2)
${VG:-} "$BUILD/tests/tools/cluster_check" "$seed" "$replica" >"$T/cc" 2>&1
ok=$?
cat "$T/cc"
check "moves, migrations and a failover (cluster_check)" [ "$ok" -eq 0 ]
check "the cluster is healthy again" cluster_wait_ok 20

P=tests/integration/data/policy.yaml
FEED="${VG:-} $BUILD/tests/tools/feed --state $CLUSTER_URL --policy $P"
sh tests/integration/gen_events.sh 40 30 >"$T/all.jsonl"
$FEED --batch 10 --pause-ms 40 --stats "$T/all.jsonl" 2>"$T/feed.err" & pf=$!
sleep 0.5
check "3,000 slots resharded while the feeder runs" cluster_reshard 3000
check "the feeder is still running" kill -0 "$pf"
check "a master killed; its replica takes over" cluster_kill_master "$RESHARD_TO"
feeder_outcome_ok "$pf" "the moves and the failover"
report
