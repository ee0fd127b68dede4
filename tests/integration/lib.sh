# tests/integration/lib.sh -- a real redis-server for a test, on a free
# loopback port, in its own temporary directory; stopped on exit.
# Source after tests/cli/lib.sh. Sets REDIS_PORT and REDIS_URL.
# start_redis_cluster starts a 6-node Redis Cluster (3 masters, 3
# replicas) instead or as well: sets CLUSTER_PORTS and CLUSTER_URL.

# integ_cleanup: the EXIT trap of start_redis and start_redis_cluster:
# stops whatever they started, then removes $T (as tests/cli/lib.sh does).
# INT, TERM and HUP exit through it too (dash skips the EXIT trap on a
# signal it does not trap), so no daemonized server outlives the test.
integ_cleanup() {
    stop_redis_cluster
    [ -n "${RDIR:-}" ] && stop_redis
    rm -rf "$T"
}
integ_trap() {
    trap integ_cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# start_redis [EXTRA ARGS...]: tries ports until one binds.
start_redis() {
    RDIR="$T/redis"
    mkdir -p "$RDIR"
    for try in 1 2 3 4 5 6 7 8 9 10; do
        REDIS_PORT=$(( 20000 + ($$ * 7 + try * 1009 + $(date +%N | sed 's/^0*//;s/^$/0/') ) % 30000 ))
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
            --dir "$RDIR" --daemonize yes --pidfile "$RDIR/redis.pid" \
            --logfile "$RDIR/redis.log" "$@" >/dev/null 2>&1
        for wait in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
            if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
                REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
                integ_trap
                return 0
            fi
            [ -f "$RDIR/redis.pid" ] || sleep 0.05
            sleep 0.05
        done
        stop_redis
    done
    echo "cannot start redis-server" >&2
    return 1
}

stop_redis() {
    if [ -f "$RDIR/redis.pid" ]; then
        kill "$(cat "$RDIR/redis.pid")" 2>/dev/null
        for i in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$(cat "$RDIR/redis.pid" 2>/dev/null)" 2>/dev/null || break
            sleep 0.1
        done
        rm -f "$RDIR/redis.pid"
    fi
}

# restart_redis: stop and start again on the same port and directory
# (with the same extra args), e.g. to test recovery from the AOF.
restart_redis() {
    stop_redis
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
        --dir "$RDIR" --daemonize yes --pidfile "$RDIR/redis.pid" \
        --logfile "$RDIR/redis.log" "$@" >/dev/null 2>&1
    for wait in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    return 1
}

# ---- shared checks ----

# feeder_outcome_ok PID WHAT: the feeder PID (started as $FEED ...
# "$T/all.jsonl" 2>"$T/feed.err") finished after WHAT; then the outbox,
# drained to a far date and dumped, holds every event decided exactly
# once, caps held and no call lost (check_outbox.sh).
feeder_outcome_ok() {
    wait "$1"
    _fo_rc=$?
    cat "$T/feed.err"
    check "feeder finished after $2" [ "$_fo_rc" -eq 0 ]
    $FEED --drain 2027-06-01T00:00:00Z --dump /dev/null >"$T/outbox.jsonl" 2>"$T/d.err"
    check "drain and dump" [ $? -eq 0 ]
    sh tests/integration/check_outbox.sh "$T/outbox.jsonl" "$T/all.jsonl" >"$T/check" 2>&1
    _fo_rc=$?
    cat "$T/check"
    check "each event decided once, caps hold, no call lost" [ "$_fo_rc" -eq 0 ]
}


# simulate_stories_match URL [LABEL]: every simulate story (tests/sim/*/)
# run with --state URL gives byte-identical, non-empty output to the memory
# store. Two checks a story; on a mismatch the run's stderr is shown.
simulate_stories_match() {
    case $BUILD in
        /*) _ss_fu=$BUILD/followupd ;;
        *) _ss_fu=$PWD/$BUILD/followupd ;;
    esac
    for _ss_dir in tests/sim/*/; do
        _ss_name=$(basename "$_ss_dir")
        (cd "$_ss_dir" && "$_ss_fu" simulate --policy policy.yaml events.jsonl) \
            >"$T/mem" 2>/dev/null
        (cd "$_ss_dir" && ${VG:-} "$_ss_fu" simulate --policy policy.yaml \
            --state "$1" events.jsonl) >"$T/redis.out" 2>"$T/err"
        _ss_rc=$?
        check "$_ss_name: same output on ${2:-redis}" cmp -s "$T/mem" "$T/redis.out"
        check "$_ss_name: output is not empty" [ -s "$T/redis.out" ]
        if [ "$_ss_rc" -ne 0 ]; then
            echo "    simulate --state $1 exited $_ss_rc:"
            head -n 3 "$T/err" | sed 's/^/    /'
        fi
    done
}

# property_matches URL: the randomized property test (build/tests/
# test_property) with FOLLOWUPD_TEST_REDIS=URL: all invariants hold and the
# Redis store's output is byte-identical to the memory store's.
property_matches() {
    FOLLOWUPD_TEST_REDIS="$1" ${VG:-} "$BUILD/tests/test_property" 20261123 6000 \
        >"$T/out" 2>&1
    _pm_rc=$?
    grep -E 'redis store|passed' "$T/out"
    check "property test on both stores" [ "$_pm_rc" -eq 0 ]
    check "the redis run happened and matched" grep -q 'redis store: .* identical' "$T/out"
    if [ "$_pm_rc" -ne 0 ]; then
        echo "    test_property exited $_pm_rc:"
        tail -n 5 "$T/out" | sed 's/^/    /'
    fi
}

# ---- Redis Cluster: 6 nodes, 3 masters and 3 replicas ----
#
# start_redis_cluster [EXTRA ARGS...]: six redis-servers on free loopback
# ports, each in $T/cl-PORT/ (nodes.conf, redis.pid, redis.log; EXTRA ARGS
# given to each; --repl-diskless-sync-delay 0, or a replica's first sync
# waits 5 s for company), joined with
# `redis-cli --cluster create ... --cluster-replicas 1`; returns once every
# node says cluster_state:ok, sees 3 masters and 6 healthy nodes, and every
# replica's link to its master is up (20 s at most). Sets
#   CLUSTER_PORTS  all six ports, space-separated
#   CLUSTER_URL    redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
#   CLUSTER_DOWN   ports killed by cluster_kill_master (empty at first)
# All six are stopped on exit (integ_cleanup), or by stop_redis_cluster.
# cluster_reshard SLOTS: `redis-cli --cluster reshard` moves SLOTS slots
# from the first master to the second (MIGRATING, IMPORTING, MIGRATE: a
# client meets ASK and MOVED meanwhile); sets RESHARD_TO (the second's
# port). Its log in $T/reshard.log.
cluster_reshard() {
    _cr_from=$(cluster_masters | sed -n 1p | cut -d: -f2)
    RESHARD_TO=$(cluster_masters | sed -n 2p | cut -d: -f2)
    redis-cli --cluster reshard "127.0.0.1:$_cr_from" \
        --cluster-from "$(redis-cli -p "$_cr_from" cluster myid)" \
        --cluster-to "$(redis-cli -p "$RESHARD_TO" cluster myid)" \
        --cluster-slots "$1" --cluster-yes >"$T/reshard.log" 2>&1
}

# require_redis_cluster: start_redis_cluster as a check; on failure the
# test reports and exits.
require_redis_cluster() {
    check "redis cluster starts" start_redis_cluster
    [ -n "$CLUSTER_URL" ] && return 0
    report
    exit 1
}

start_redis_cluster() {
    CLUSTER_PORTS=""
    CLUSTER_URL=""
    CLUSTER_DOWN=""
    integ_trap
    for _cl_n in 1 2 3 4 5 6; do
        if ! cluster_start_node "$@"; then
            echo "cannot start redis-server (cluster node $_cl_n)" >&2
            return 1
        fi
    done
    _cl_addrs=""
    for _cl_p in $CLUSTER_PORTS; do
        _cl_addrs="$_cl_addrs 127.0.0.1:$_cl_p"
    done
    if ! redis-cli --cluster create $_cl_addrs --cluster-replicas 1 \
            --cluster-yes >"$T/cluster-create.log" 2>&1; then
        echo "redis-cli --cluster create failed:" >&2
        tail -n 20 "$T/cluster-create.log" >&2
        return 1
    fi
    if ! cluster_wait_ok 20; then
        echo "redis cluster not ok within 20 s:" >&2
        redis-cli -p "${CLUSTER_PORTS%% *}" cluster nodes >&2
        return 1
    fi
    set -- $CLUSTER_PORTS
    CLUSTER_URL="redis+cluster://127.0.0.1:$1,127.0.0.1:$2,127.0.0.1:$3"
}

# cluster_start_node [EXTRA ARGS...]: one cluster-enabled redis-server on a
# free port (its cluster bus, PORT+10000, free too), added to CLUSTER_PORTS.
# The server is ours once its pidfile exists and the process answering on
# PORT has that pid (not some other test's redis-server on the same port).
cluster_start_node() {
    for _cl_try in 1 2 3 4 5 6 7 8 9 10; do
        _cl_port=$(( 20000 + ($$ * 7 + _cl_try * 1009 + $(date +%N | sed 's/^0*//;s/^$/0/') ) % 30000 ))
        cluster_port_clashes "$_cl_port" && continue
        _cl_dir="$T/cl-$_cl_port"
        mkdir -p "$_cl_dir"
        redis-server --port "$_cl_port" --bind 127.0.0.1 \
            --cluster-enabled yes --cluster-config-file "$_cl_dir/nodes.conf" \
            --cluster-node-timeout 2000 --save "" --appendonly no \
            --repl-diskless-sync-delay 0 \
            --dir "$_cl_dir" --daemonize yes --pidfile "$_cl_dir/redis.pid" \
            --logfile "$_cl_dir/redis.log" "$@" >/dev/null 2>&1
        _cl_w=0
        while [ "$_cl_w" -lt 40 ]; do
            if [ -f "$_cl_dir/redis.pid" ] && [ "$(cluster_node_pid "$_cl_port")" = \
                    "$(redis-cli -p "$_cl_port" info server 2>/dev/null |
                       sed -n 's/^process_id:\([0-9]*\).*/\1/p')" ]; then
                CLUSTER_PORTS="${CLUSTER_PORTS:+$CLUSTER_PORTS }$_cl_port"
                return 0
            fi
            grep -q aborting "$_cl_dir/redis.log" 2>/dev/null && break
            sleep 0.05
            _cl_w=$((_cl_w + 1))
        done
        [ -f "$_cl_dir/redis.pid" ] && kill -9 "$(cluster_node_pid "$_cl_port")" 2>/dev/null
        rm -rf "$_cl_dir"
    done
    return 1
}

# cluster_port_clashes PORT: true when PORT, or its bus port, is one of the
# ports (or bus ports) already taken by this cluster or start_redis.
cluster_port_clashes() {
    for _cc_q in $CLUSTER_PORTS ${REDIS_PORT:-}; do
        [ "$1" -eq "$_cc_q" ] || [ "$1" -eq $((_cc_q + 10000)) ] ||
            [ $(($1 + 10000)) -eq "$_cc_q" ] && return 0
    done
    return 1
}

cluster_node_pid() { # PORT: the pid in its pidfile, or nothing
    cat "$T/cl-$1/redis.pid" 2>/dev/null
}

pid_alive() { # PID: running (a zombie, left to an init that never reaps, is not)
    kill -0 "$1" 2>/dev/null || return 1
    case $(ps -o stat= -p "$1" 2>/dev/null) in Z*) return 1 ;; esac
}

cluster_live_ports() { # CLUSTER_PORTS less CLUSTER_DOWN
    for _cp in $CLUSTER_PORTS; do
        case " ${CLUSTER_DOWN:-} " in *" $_cp "*) ;; *) echo "$_cp" ;; esac
    done
}

# cluster_ok: true when every live node says cluster_state:ok, sees exactly
# 3 masters not failing and as many healthy (not fail/fail?) nodes as are
# live, and every live replica's link to its master is up.
cluster_ok() {
    _co_live=$(cluster_live_ports | wc -l)
    for _co_p in $(cluster_live_ports); do
        redis-cli -p "$_co_p" cluster info 2>/dev/null |
            grep -q '^cluster_state:ok' || return 1
        _co_nodes=$(redis-cli -p "$_co_p" cluster nodes 2>/dev/null) || return 1
        [ "$(echo "$_co_nodes" | awk '$3 !~ /fail/' | wc -l)" -eq "$_co_live" ] ||
            return 1
        [ "$(echo "$_co_nodes" | awk '$3 ~ /master/ && $3 !~ /fail/' | wc -l)" -eq 3 ] ||
            return 1
        _co_repl=$(redis-cli -p "$_co_p" info replication 2>/dev/null) || return 1
        case $_co_repl in
            *role:slave*)
                echo "$_co_repl" | grep -q '^master_link_status:up' || return 1 ;;
        esac
    done
}

cluster_wait_ok() { # [SECONDS]: polls cluster_ok every 0.1 s, 20 s at most
    _cw_i=0
    while [ "$_cw_i" -lt $((${1:-20} * 10)) ]; do
        cluster_ok && return 0
        sleep 0.1
        _cw_i=$((_cw_i + 1))
    done
    return 1
}

# cluster_nodes_role master|slave: host:port of the healthy nodes in that
# role, by port, as the first live node that answers sees them.
cluster_nodes_role() {
    for _cn_p in $(cluster_live_ports); do
        _cn_nodes=$(redis-cli -p "$_cn_p" cluster nodes 2>/dev/null) || continue
        [ -n "$_cn_nodes" ] || continue
        echo "$_cn_nodes" | awk -v role="$1" \
            '$3 ~ role && $3 !~ /fail/ { sub(/@.*/, "", $2); print $2 }' |
            sort -t: -k2n
        return 0
    done
    return 1
}
cluster_masters() { cluster_nodes_role master; }   # host:port, one a line
cluster_replicas() { cluster_nodes_role slave; }   # host:port, one a line

# cluster_dbsize: keys in the cluster (the sum over its masters).
cluster_dbsize() {
    _cd_n=0
    for _cd_m in $(cluster_masters); do
        _cd_n=$((_cd_n + $(redis-cli -p "${_cd_m##*:}" dbsize)))
    done
    echo "$_cd_n"
}

# cluster_kill_master PORT [nowait]: SIGKILL the master on PORT (fails if
# it is not a healthy master), add PORT to CLUSTER_DOWN, then wait (20 s
# at most) until its replica has taken over and cluster_ok holds again on
# the live nodes -- unless `nowait`, to act during the outage.
cluster_kill_master() {
    cluster_masters | grep -q ":$1\$" || {
        echo "cluster_kill_master: $1 is not a master" >&2
        return 1
    }
    _ck_pid=$(cluster_node_pid "$1")
    [ -n "$_ck_pid" ] || return 1
    kill -9 "$_ck_pid"
    _ck_i=0
    while pid_alive "$_ck_pid" && [ "$_ck_i" -lt 100 ]; do
        sleep 0.05
        _ck_i=$((_ck_i + 1))
    done
    rm -f "$T/cl-$1/redis.pid"
    CLUSTER_DOWN="${CLUSTER_DOWN:+$CLUSTER_DOWN }$1"
    [ "${2:-}" = nowait ] && return 0
    cluster_wait_ok 20
}

# stop_redis_cluster: SIGTERM to every node still running, SIGKILL to any
# left after 3 s.
stop_redis_cluster() {
    _cs_pids=""
    for _cs_p in ${CLUSTER_PORTS:-}; do
        _cs_pid=$(cluster_node_pid "$_cs_p")
        [ -n "$_cs_pid" ] && kill "$_cs_pid" 2>/dev/null &&
            _cs_pids="$_cs_pids $_cs_pid"
        rm -f "$T/cl-$_cs_p/redis.pid"
    done
    [ -n "$_cs_pids" ] || return 0
    _cs_i=0
    while [ "$_cs_i" -lt 30 ]; do
        _cs_alive=""
        for _cs_pid in $_cs_pids; do
            pid_alive "$_cs_pid" && _cs_alive="$_cs_alive $_cs_pid"
        done
        [ -z "$_cs_alive" ] && return 0
        _cs_pids=$_cs_alive
        sleep 0.1
        _cs_i=$((_cs_i + 1))
    done
    for _cs_pid in $_cs_pids; do kill -9 "$_cs_pid" 2>/dev/null; done
    return 0
}
