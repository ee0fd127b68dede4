#!/bin/sh
# bench/bench_redis.sh [USERS] [EVENTS_PER_USER] [BATCH] -- decide events
# through lib/batch.c on a real redis-server (loopback, no persistence) and
# print: events/s, store round trips per event, conflicts, Redis bytes per
# user with state, and the ceiling: redis-benchmark running the save script
# pipelined on the same server. Figures only; nothing is asserted.
set -eu
BUILD=${BUILD:-build}
USERS=${1:-20000} PER=${2:-5} BATCH=${3:-500}
. bench/save_ceiling.sh
bench_redis_start

# events: user i, event j; one in five is a large transfer
awk -v users="$USERS" -v per="$PER" 'BEGIN {
    t = 1795136400; n = 0
    for (j = 0; j < per; j++) for (i = 0; i < users; i++) {
        amount = (n % 5 == 0) ? 6200 : 120; n++
        printf "{\"event_id\": \"e-%d-%d\", \"type\": \"transaction\", \"user_id\": \"u-%d\", \"occurred_at\": %.0f, \"data\": {\"amount\": %d, \"currency\": \"CNY\"}}\n", i, j, i, (t + n) * 1000, amount
    }
}' >"$T/events.jsonl"
N=$(wc -l <"$T/events.jsonl")
base=$($R info memory | awk -F: '/^used_memory:/ {print $2+0}')

start=$(date +%s%N)
"$BUILD/tests/tools/feed" --state "redis://127.0.0.1:$PORT/0" \
    --policy bench/policy.yaml --batch "$BATCH" --stats "$T/events.jsonl" \
    2>"$T/stats"
end=$(date +%s%N)

used=$($R info memory | awk -F: '/^used_memory:/ {print $2+0}')
states=$($R --scan --pattern 'fu:*:u:*' | wc -l)
outbox=$($R --scan --pattern 'fu:*:om' | while read -r k; do $R hlen "$k"; done |
         awk '{s += $1} END {print s + 0}')
cat "$T/stats"
awk -v n="$N" -v ns=$((end - start)) -v used="$used" -v base="$base" \
    -v states="$states" -v outbox="$outbox" -v batch="$BATCH" -f /dev/stdin "$T/stats" <<'AWK'
/^feed: [0-9]+ events/ { loads = $(NF-5); saves = $(NF-2) }
END {
    s = ns / 1e9
    printf "events decided:          %d in %.2f s = %.0f events/s (batch %d)\n", n, s, n / s, batch
    printf "store round trips/event: %.4f (%d load + %d save calls)\n", (loads + saves) / n, loads, saves
    printf "users with state:        %d\n", states
    printf "outbox messages queued:  %d\n", outbox
    printf "redis bytes per user:    %.0f (state, index and outbox; used_memory delta)\n", (used - base) / states
}
AWK

# the ceiling: the save script alone (bench/save_ceiling.sh)
rps=$(save_ceiling "$PORT" fu 200000)
awk -v rps="$rps" -v ns=$((end - start)) -f /dev/stdin "$T/stats" <<'AWK'
/^feed: [0-9]+ events/ { saved = $4 }
END {
    got = saved / (ns / 1e9)
    printf "save.lua ceiling:        %.0f calls/s of one user each (redis-benchmark -P 64 -c 4)\n", rps
    printf "users saved:             %.0f /s = %.2f of that (one call saves a bucket's users)\n", got, got / rps
}
AWK
