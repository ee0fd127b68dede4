#!/bin/sh
# The randomized property test's final input, run on the Redis store too,
# gives byte-identical output to the memory store (and all invariants hold).
. tests/cli/lib.sh
. tests/integration/lib.sh
check "redis-server starts" start_redis
FOLLOWUPD_TEST_REDIS="$REDIS_URL" ${VG:-} "$BUILD/tests/test_property" 20261123 6000 >"$T/out" 2>&1
rc=$?
grep -E 'redis store|passed' "$T/out"
check "property test on both stores" [ "$rc" -eq 0 ]
check "the redis run happened and matched" grep -q 'redis store: .* identical' "$T/out"
check "no keys left behind" [ "$(redis-cli -p "$REDIS_PORT" dbsize)" = 0 ]
report
