#!/bin/sh
# Every simulate story on the Redis store gives byte-identical output to
# the memory store; the dry run leaves no key behind.
. tests/cli/lib.sh
. tests/integration/lib.sh
check "redis-server starts" start_redis
simulate_stories_match "$REDIS_URL"
check "no keys left behind" [ "$(redis-cli -p "$REDIS_PORT" dbsize)" = 0 ]

run $FU simulate --policy config/policy.yaml --state redis://127.0.0.1:1/0 \
    config/examples/transfer.jsonl
check "unreachable redis exits 3" [ "$rc" -eq 3 ]
check "unreachable redis says why" grep -q "redis: cannot connect" "$T/err"
run $FU simulate --policy config/policy.yaml --state http://x config/examples/transfer.jsonl
check "bad redis url exits 2" [ "$rc" -eq 2 ]
report
