#!/bin/sh
# bench/bench_cluster.sh -- the decision path (tests/tools/feed, the code
# `run` uses, minus Kafka) on one redis-server and on Redis Clusters of 1,
# 2 and 3 masters (no replicas), with 1 and 2 deciding processes (two
# instances, each its own users: its own key prefix). Prints events/s
# over all processes and each master's CPU per event. Figures, never
# assertions: docs/scaling.md. `make bench-cluster`.
set -eu
BUILD=${BUILD:-build}
N=${N:-200000}
T=$(mktemp -d)
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
BASE=$(( 22000 + $$ % 10000 ))

# node PORT [ARGS]: a redis-server of ours on PORT
node() {
    port=$1
    shift
    mkdir -p "$T/$port"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$T/$port" --daemonize yes --pidfile "$T/$port/pid" \
        --logfile "$T/$port/log" "$@" >/dev/null
    until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
    until [ -s "$T/$port/pid" ]; do sleep 0.05; done
    PIDS="$PIDS $(cat "$T/$port/pid")"
}

# stop every server and forget its cluster config (nodes.conf)
stop_all() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done
    rm -rf "$T"/[0-9]*
    PIDS=""
}

# cluster M: M cluster-enabled masters on BASE.., the slots split evenly
cluster() {
    i=0
    while [ "$i" -lt "$1" ]; do
        node $((BASE + i)) --cluster-enabled yes \
            --cluster-config-file "$T/$((BASE + i))/nodes.conf"
        i=$((i + 1))
    done
    i=0
    while [ "$i" -lt "$1" ]; do
        lo=$((16384 * i / $1)) hi=$((16384 * (i + 1) / $1 - 1))
        redis-cli -p $((BASE + i)) cluster addslotsrange "$lo" "$hi" >/dev/null
        [ "$i" -gt 0 ] && redis-cli -p $((BASE + i)) cluster meet 127.0.0.1 "$BASE" >/dev/null
        i=$((i + 1))
    done
    for p in $(seq "$BASE" $((BASE + $1 - 1))); do
        until redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok'; do sleep 0.1; done
    done
    sleep 1 # every node knows every other
}

cpu_of() { # PORT: used_cpu_sys + used_cpu_user
    redis-cli -p "$1" info cpu | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.3f", s}'
}

# run LABEL URL MASTERS PROCS
run() {
    before="" after=""
    for p in $(seq "$BASE" $((BASE + $3 - 1))); do before="$before $(cpu_of "$p")"; done
    t0=$(date +%s%N)
    k=0 fpids=""
    while [ "$k" -lt "$4" ]; do
        "$BUILD/tests/tools/feed" --state "$2" --policy bench/policy-e2e.yaml \
            --prefix "p$k:" --batch 2000 "$T/events.jsonl" 2>"$T/feed$k.err" >/dev/null &
        fpids="$fpids $!"
        k=$((k + 1))
    done
    for p in $fpids; do wait "$p"; done
    t1=$(date +%s%N)
    for p in $(seq "$BASE" $((BASE + $3 - 1))); do after="$after $(cpu_of "$p")"; done
    echo "$before|$after" | awk -v label="$1" -v n=$((N * $4)) -v ns=$((t1 - t0)) -F'|' '{
        m = split($1, b, " "); split($2, a, " "); line = ""
        for (i = 1; i <= m; i++) line = line sprintf(" %.1f", 1e6 * (a[i] - b[i]) / n)
        printf "%-34s %9.0f events/s   Redis CPU us/event per master:%s\n", label, n / (ns / 1e9), line
    }'
}

sh bench/gen_bench.sh "$N" 50000 1 1795136400000 3600000 >"$T/events.jsonl" 2>/dev/null
echo "bench_cluster: $N events of the bench mix per process (bench/gen_bench.sh),"
echo "batches of 2,000, $(nproc) cores, redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
for procs in 1 2; do
    node "$BASE"
    run "one server, $procs process(es)" "redis://127.0.0.1:$BASE/0" 1 "$procs"
    stop_all
    for m in 1 2 3; do
        cluster "$m"
        run "cluster of $m master(s), $procs process(es)" \
            "redis+cluster://127.0.0.1:$BASE" "$m" "$procs"
        stop_all
    done
done
