#!/bin/sh
# The Redis store's own promises (tests/tools/store_check.c): conflicts,
# index, TTLs, outbox lease and confirm, NOSCRIPT, reconnect, bad URLs.
. tests/cli/lib.sh
. tests/integration/lib.sh
check "redis-server starts" start_redis
${VG:-} "$BUILD/tests/tools/store_check" "$REDIS_URL" "$REDIS_PORT" >"$T/out" 2>&1
rc=$?
cat "$T/out"
check "store checks pass" [ "$rc" -eq 0 ]
report
