#!/bin/sh
# Two processes decide events of the same users at once on one Redis
# (each half of the events, plus a shared tenth that both see, as during a
# consumer-group rebalance): caps hold, every event is decided exactly
# once, every scheduled call is emitted.
. tests/cli/lib.sh
. tests/integration/lib.sh
check "redis-server starts" start_redis
P=tests/integration/data/policy.yaml
FEED="${VG:-} $BUILD/tests/tools/feed --state $REDIS_URL --policy $P --batch 50"
sh tests/integration/gen_events.sh 40 25 >"$T/all.jsonl"
awk 'NR % 2 == 0 || NR % 10 == 1' "$T/all.jsonl" >"$T/a.jsonl"
awk 'NR % 2 == 1 || NR % 10 == 2' "$T/all.jsonl" >"$T/b.jsonl"
$FEED --stats "$T/a.jsonl" 2>"$T/a.err" & pa=$!
$FEED --stats "$T/b.jsonl" 2>"$T/b.err" & pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
check "feeder A finished" [ "$ra" -eq 0 ]
check "feeder B finished" [ "$rb" -eq 0 ]
cat "$T/a.err" "$T/b.err"
$FEED --drain 2027-06-01T00:00:00Z --dump /dev/null >"$T/outbox.jsonl" 2>"$T/d.err"
check "drain and dump" [ $? -eq 0 ]
check "outbox holds decisions and tasks" grep -q '"topic": "tasks"' "$T/outbox.jsonl"
sh tests/integration/check_outbox.sh "$T/outbox.jsonl" "$T/all.jsonl" >"$T/check" 2>&1
ok=$?
cat "$T/check"
check "caps hold, each event decided once, every call emitted" [ "$ok" -eq 0 ]
check "shared events show up as duplicates" grep -q '"decision": "duplicate"' "$T/outbox.jsonl"
report
