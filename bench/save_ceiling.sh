# bench/save_ceiling.sh -- sourced by the benchmarks.
# bench_redis_start: a redis-server of its own on a loopback port (no
# persistence: the CPU-bound case) in a new temporary directory $T, gone
# at exit; sets T, PORT and R (redis-cli for it).
bench_redis_start() {
    T=$(mktemp -d)
    PORT=$(( 21000 + $$ % 20000 ))
    redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$T" --daemonize yes --pidfile "$T/pid" --logfile "$T/log"
    trap 'kill $(cat "$T/pid") 2>/dev/null; rm -rf "$T"' EXIT
    until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.05; done
    R="redis-cli -p $PORT"
}

# save_ceiling PORT PREFIX REQUESTS: print the calls/s redis-server on PORT
# runs lib/lua/save.lua at, each call writing one new user of bucket 0
# under key prefix PREFIX (so every call runs the whole script),
# pipelined 64 deep over 4 clients.
save_ceiling() {
    sc_sha=$(redis-cli -p "$1" script load "$(cat lib/lua/save.lua)")
    sc_blob='{"v":1,"u":"u-1","tz":null,"cw":null,"oo":0,"co":[],"cd":[null,null,null],"s":[["e-1",1795136400]],"f":[],"r":[]}'
    redis-benchmark -p "$1" -q -n "$3" -r 100000000 -P 64 -c 4 \
        EVALSHA "$sc_sha" 5 "$2:{b00}:due" "$2:{b00}:ob" "$2:{b00}:om" \
        "$2:{b00}:oid" "$2:{b00}:u:__rand_int__" 0 "$sc_blob" 86400 \
        __rand_int__ 1795136400 0 2>/dev/null |
        tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -n 1 |
        cut -d' ' -f1
}
