# tests/integration/lib.sh -- a real redis-server for a test, on a free
# loopback port, in its own temporary directory; stopped on exit.
# Source after tests/cli/lib.sh. Sets REDIS_PORT and REDIS_URL.

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
                trap 'stop_redis; rm -rf "$T"' EXIT
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
