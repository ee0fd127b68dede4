#!/bin/sh
# bench/bench_curves.sh -- how the cost of deciding grows (issue 13 point
# 4): with the batch size, the number of users, the number of rules, and
# the events and pending follow-ups each user carries. Each row runs the
# decision path (tests/tools/feed: lib/batch.c, the code `run` uses) on a
# real redis-server over the bench stream (bench/gen_bench.sh), and
# prints per event: the deciding process's CPU, Redis's CPU, and the wall
# time, with the Redis bytes and pending follow-ups per user with state.
# Then the daemon end to end (bench/bench_e2e.sh, phase 2) at 10,000,
# 100,000 and 1,000,000 users: events/s and peak RSS.
# Figures, never assertions. `make bench-curves`; SKIP_E2E=1 skips the
# daemon rows.
set -eu
BUILD=${BUILD:-build}
N=${N:-300000}
. bench/save_ceiling.sh
bench_redis_start

redis_cpu() {
    $R info cpu | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.3f", s}'
}

# policy_with_rules K: bench/policy-e2e.yaml plus K rules on transactions
# whose condition every event is tested against and none meets
policy_with_rules() {
    cat bench/policy-e2e.yaml
    i=0
    while [ "$i" -lt "$1" ]; do
        i=$((i + 1))
        printf '  - id: extra-%d\n    on: [transaction]\n' "$i"
        printf '    when: [data.amount >= %d, data.status == "succeeded"]\n' $((200000 + i))
        printf '    callback: {delay: 1h, expires_after: 1d}\n'
    done
}

# pending_policy: no caps, a month's delay, no supersedes: every large
# transfer stays a pending follow-up of its user
pending_policy() {
    sed -e '/^caps:/,/^rules:/{/^caps:/d;/^  - {id:/d}' -e '/^    cap:/d' \
        -e 's/delay: 1h, expires_after: 72h/delay: 30d, expires_after: 60d/' \
        -e '/^    supersedes:/d' bench/policy-e2e.yaml
}

# row LABEL EVENTS POLICY BATCH
row() {
    $R flushall >/dev/null
    base=$($R info memory | awk -F: '/^used_memory:/ {print $2+0}')
    r0=$(redis_cpu)
    "$BUILD/tests/tools/feed" --state "redis://127.0.0.1:$PORT/0" \
        --policy "$3" --batch "$4" --stats "$2" 2>"$T/stats" >/dev/null
    r1=$(redis_cpu)
    used=$($R info memory | awk -F: '/^used_memory:/ {print $2+0}')
    states=$($R --scan --pattern 'fu:*:u:*' | wc -l)
    pending=$($R --scan --pattern 'fu:*:u:*' | head -n 200 |
        while read -r k; do $R hget "$k" s; done |
        python3 -c 'import sys, json
n = t = 0
for line in sys.stdin:
    line = line.strip()
    if not line: continue
    st = json.loads(line)
    t += len(st.get("f") or [])
    n += 1
print("%.1f" % (t / n if n else 0))' 2>/dev/null || echo "?")
    awk -v label="$1" -v rcpu="$(echo "$r0 $r1" | awk '{print $2 - $1}')" \
        -v used=$((used - base)) -v states="$states" -v pending="$pending" '
/^feed: [0-9]+ events/ { n = $2; saves = $(NF - 2) }
/^feed: decided in/ { wall = $4; cpu = $7 }
END {
    printf "%-26s %8.0f %9.2f %9.2f %9.2f %8d %7.0f %7s\n", label, n / wall,
        1e6 * cpu / n, 1e6 * rcpu / n, 1e6 * wall / n, states,
        used / (states ? states : 1), pending
}' "$T/stats"
}

header() {
    printf '\n%s\n' "$1"
    printf "%-26s %8s %9s %9s %9s %8s %7s %7s\n" "" "events/s" "cpu us/ev" \
        "redis us" "wall us" "users" "B/user" "f-ups"
}

say() { printf '%s\n' "$*"; }
say "cost curves: $N events of the bench mix per row (bench/gen_bench.sh),"
say "decided by tests/tools/feed on redis-server $(redis-server --version |
    sed 's/.*v=\([^ ]*\).*/\1/') (loopback, no persistence); $(nproc) cores"
say "cpu us/ev: the deciding process; redis us: redis-server's CPU; wall us:"
say "the deciding wall time; B/user: Redis used memory per user with state;"
say "f-ups: follow-ups kept per user (pending or recently done; a sample"
say "of 200 users)"

policy_with_rules 0 >"$T/p0.yaml"
sh bench/gen_bench.sh "$N" 30000 1 1795136400000 3600000 >"$T/e30k.jsonl" 2>/dev/null

header "batch size (30,000 users, 3 rules)"
for b in 100 500 2000 5000; do row "batch $b" "$T/e30k.jsonl" "$T/p0.yaml" "$b"; done

header "users (batch 2000, 3 rules)"
for u in 10000 100000 1000000; do
    sh bench/gen_bench.sh "$N" "$u" 1 1795136400000 3600000 >"$T/eu.jsonl" 2>/dev/null
    row "users $u" "$T/eu.jsonl" "$T/p0.yaml" 2000
done

header "rules (30,000 users, batch 2000; extra rules tested, never met)"
for k in 0 7 27 97; do
    policy_with_rules "$k" >"$T/pk.yaml"
    row "rules $((3 + k))" "$T/e30k.jsonl" "$T/pk.yaml" 2000
done

header "events and pending follow-ups per user (no caps, 30-day delay; batch 2000)"
pending_policy >"$T/pp.yaml"
for u in 60000 12000 3000; do
    sh bench/gen_bench.sh "$N" "$u" 1 1795136400000 3600000 >"$T/ep.jsonl" 2>/dev/null
    row "$((N / u)) events/user" "$T/ep.jsonl" "$T/pp.yaml" 2000
done

[ -n "${SKIP_E2E:-}" ] && exit 0
say ""
say "the daemon end to end (bench/bench_e2e.sh phase 2; the events are the"
say "larger of 300,000 and the number of users, so every user has state)"
for u in 10000 100000 1000000; do
    n=$(( u > 300000 ? u : 300000 ))
    ONLY_DAEMON=1 BUILD=$BUILD sh bench/bench_e2e.sh "$n" "$u" 2>&1 |
        awk -v u="$u" '/^2\. daemon/ { eps = $0; sub(/.* = /, "", eps); sub(/ events.*/, "", eps) }
            /peak RSS/ { rss = $0; sub(/.*RSS: /, "", rss); sub(/;.*/, "", rss) }
            END { printf "users %-8d %8s events/s  peak RSS %s\n", u, eps, rss }'
done
