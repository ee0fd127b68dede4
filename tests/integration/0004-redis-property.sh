#!/bin/sh
# The randomized property test's final input, run on the Redis store too,
# gives byte-identical output to the memory store (and all invariants hold).
. tests/cli/lib.sh
. tests/integration/lib.sh
check "redis-server starts" start_redis
property_matches "$REDIS_URL"
check "no keys left behind" [ "$(redis-cli -p "$REDIS_PORT" dbsize)" = 0 ]
report
