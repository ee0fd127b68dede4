# tests/e2e/lib.sh -- the parts of an end-to-end test of `followupd run`:
# a real redis-server (tests/integration/lib.sh), a librdkafka mock
# cluster in its own process (build/tests/tools/kmock, driven through a
# FIFO), daemons started from a generated config, events produced and
# outputs consumed with build/tests/tools/kafka_tool, and the oracle:
# `followupd simulate` over the same events and policy, compared with what
# came out of Kafka by build/tests/tools/e2e_check.
# Source after tests/cli/lib.sh and tests/integration/lib.sh.

TOOLS=$BUILD/tests/tools
KT=$TOOLS/kafka_tool
INPUT_TOPIC=wallet.events
OUTPUT_TOPICS=followup.tasks,followup.reminders,followup.decisions,followup.dead_letter,followup.messages
E2E_PIDS=""

e2e_cleanup() {
    for p in $E2E_PIDS; do kill -9 "$p" 2>/dev/null; done
    [ -n "${KMOCK_PID:-}" ] && kill "$KMOCK_PID" 2>/dev/null
    stop_redis 2>/dev/null
    stop_redis_cluster 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap e2e_cleanup EXIT

# ---- Kafka: the mock cluster ----

# start_kafka [BROKERS]: sets KBS (bootstrap list)
start_kafka() {
    trap e2e_cleanup EXIT # start_redis set its own
    mkfifo "$T/kmock.in"
    "$TOOLS/kmock" --brokers "${1:-3}" --partitions 4 \
        --topics "$INPUT_TOPIC,$OUTPUT_TOPICS" \
        <"$T/kmock.in" >"$T/kmock.out" 2>"$T/kmock.err" &
    KMOCK_PID=$!
    exec 7>"$T/kmock.in"
    for i in $(seq 100); do
        KBS=$(head -n 1 "$T/kmock.out" 2>/dev/null)
        [ -n "$KBS" ] && return 0
        sleep 0.05
    done
    echo "kmock did not start" >&2
    return 1
}

# kmock COMMAND...: send a command to the mock cluster, wait for "ok"
kmock() {
    before=$(wc -l <"$T/kmock.out")
    echo "$*" >&7
    for i in $(seq 100); do
        [ "$(wc -l <"$T/kmock.out")" -gt "$before" ] && break
        sleep 0.05
    done
    [ "$(tail -n 1 "$T/kmock.out")" = ok ]
}

# ---- Events ----

# produce FILE [DELAY_MS]
produce() {
    "$KT" produce "$KBS" "$INPUT_TOPIC" "$1" --delay-ms "${2:-0}" 2>>"$T/produce.err"
}

# consume_outputs FILE: everything on the output topics so far
consume_outputs() {
    "$KT" consume "$KBS" "$OUTPUT_TOPICS" --idle-ms 2000 --timeout-ms 60000 \
        >"$1" 2>>"$T/consume.err"
}

# live_policy DELAY_S [TEMPLATE]: the e2e policy (or TEMPLATE) with its
# delays in seconds from now (@DELAY@, @DELAY2@ = DELAY_S + 3)
live_policy() {
    sed "s/@DELAY@/$1/g; s/@DELAY2@/$(($1 + 3))/g" "${2:-tests/e2e/policy.yaml}" \
        >"$T/policy.yaml"
    POLICY=$T/policy.yaml
}

# ---- Daemons ----

# write_config NAME [PROPERTY=VALUE...]: $T/NAME.yaml for a daemon
# (CFG_BROKERS and CFG_REDIS_URL replace the real addresses,
# CFG_LOG_FORMAT=text the JSON log); HTTP on a free port (http_url)
write_config() {
    name=$1
    shift
    {
        echo "kafka:"
        echo "  brokers: \"${CFG_BROKERS:-$KBS}\""
        echo "  group_id: e2e"
        echo "  input_topics: [$INPUT_TOPIC]"
        echo "  topics: {tasks: followup.tasks, reminders: followup.reminders,"
        echo "           dead_letter: followup.dead_letter, decisions: followup.decisions,"
        echo "           messages: followup.messages}"
        echo "  properties:"
        for p in consumer.fetch.wait.max.ms=50 consumer.session.timeout.ms=6000 \
                 consumer.heartbeat.interval.ms=500 "$@"; do
            echo "$p"
        done | # a later PROPERTY=VALUE replaces an earlier one of that name
        awk -F= '{ v[$1] = substr($0, length($1) + 2); if (!($1 in seen)) { seen[$1] = 1; k[n++] = $1 } }
                       END { for (i = 0; i < n; i++) printf "    %s: \"%s\"\n", k[i], v[k[i]] }'
        echo "state: {backend: redis, redis_url: \"${CFG_REDIS_URL:-$REDIS_URL}\", key_prefix: \"e2e:\"}"
        echo "http: {listen: \"127.0.0.1:0\"}"
        echo "policy: $POLICY"
        echo "log: {level: info, format: ${CFG_LOG_FORMAT:-json}}"
    } >"$T/$name.yaml"
}

# start_daemon NAME: runs `followupd run -c $T/NAME.yaml`, log in
# $T/NAME.log (appended across restarts); waits until it is started
start_daemon() {
    $FU run -c "$T/$1.yaml" 2>>"$T/$1.log" &
    echo $! >"$T/$1.pid"
    E2E_PIDS="$E2E_PIDS $!"
    wait_log "$1" '"msg":"started"\| INFO  started ' 10
}

# wait_log NAME PATTERN SECONDS: until the daemon's log has PATTERN
wait_log() {
    for i in $(seq $(($3 * 20))); do
        grep -q "$2" "$T/$1.log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "no '$2' in $1's log after $3 s" >&2
    return 1
}

# stop_daemon NAME: SIGTERM; 0 when it exited 0 within 10 s
stop_daemon() {
    pid=$(cat "$T/$1.pid")
    start=$(date +%s)
    kill -TERM "$pid"
    wait "$pid"
    STOP_RC=$?
    STOP_SECONDS=$(( $(date +%s) - start ))
    [ "$STOP_RC" -eq 0 ] && [ "$STOP_SECONDS" -le 10 ]
}

# kill_daemon NAME: SIGKILL, no chance to finish anything
kill_daemon() {
    kill -9 "$(cat "$T/$1.pid")" 2>/dev/null
    wait "$(cat "$T/$1.pid")" 2>/dev/null
    return 0
}

# http_url NAME PATH: the URL of PATH on the daemon's HTTP endpoint
http_url() {
    port=$(sed -n 's/.*"msg":"http listening".*"port":\([0-9]*\).*/\1/p; s/.*http listening .*port=\([0-9]*\).*/\1/p' \
        "$T/$1.log" | tail -n 1)
    echo "http://127.0.0.1:$port$2"
}

# http_status NAME PATH [CURL ARGS...]: the status code, body in $T/body
http_status() {
    name=$1 path=$2
    shift 2
    curl -s -o "$T/body" -w '%{http_code}' "$@" "$(http_url "$name" "$path")"
}

# ---- Waiting and checking ----

# sleep_until EPOCH: sleep until that second has passed
sleep_until() {
    while [ "$(date +%s)" -le "$1" ]; do sleep 0.2; done
}

# oracle EVENTS OUT: what simulate says the daemon must produce
oracle() {
    $FU simulate --policy "$POLICY" "$1" >"$2" 2>"$T/simulate.err"
}

# e2e_check EXPECTED ACTUAL [OPTIONS...]: output in $T/check.out
e2e_check() {
    "$TOOLS/e2e_check" "$@" >"$T/check.out" 2>&1
    rc=$?
    cat "$T/check.out"
    return $rc
}

# no_personal_data LOG: no user id, phone number or planted amount
no_personal_data() {
    ! grep -E 'u-[0-9]+|13800138000|98765' "$1"
}

# committed_offsets: the sum of the group's committed input offsets
committed_offsets() {
    "$KT" offsets "$KBS" e2e "$INPUT_TOPIC" 2>>"$T/consume.err" |
        awk '$2 > 0 { s += $2 } END { print s + 0 }'
}

# wait_committed N SECONDS: until N input offsets are committed
wait_committed() {
    for i in $(seq $(($2 * 2))); do
        [ "$(committed_offsets)" -ge "$1" ] && return 0
        sleep 0.5
    done
    echo "committed $(committed_offsets) of $1 input offsets" >&2
    return 1
}

# ---- The common shape of a test ----

# e2e_setup DELAY_S [REDIS ARGS...]: redis-server with AOF (and the extra
# args), the mock cluster, the policy (E2E_POLICY, default
# tests/e2e/policy.yaml) with that delay, daemon d1 started and in the group
e2e_setup() {
    delay=$1
    shift
    check "redis-server starts with AOF" start_redis --appendonly yes "$@"
    check "mock cluster starts" start_kafka 3
    live_policy "$delay" "${E2E_POLICY:-}"
    write_config d1
    check "daemon starts" start_daemon d1
    check "daemon joins the group" wait_log d1 '"msg":"partition assigned"' 15
}

# check_committed EVENTS: every input line's offset is committed
check_committed() {
    c=$(committed_offsets)
    check "every input offset committed ($c of $(wc -l <"$1"))" \
        [ "$c" -eq "$(wc -l <"$1")" ]
}

# e2e_stop NAME: SIGTERM exits 0 within 10 s; the log is clean: no
# personal data, and (under `make asan`, where the daemon is built with
# ASan, LeakSanitizer and UBSan, and a finding makes it exit non-zero) no
# sanitizer report
e2e_stop() {
    check "SIGTERM: exit 0 within 10 s" stop_daemon "$1"
    check "no personal data in the log" no_personal_data "$T/$1.log"
    check "no sanitizer report in the log" sh -c \
        "! grep -Eq 'Sanitizer|runtime error:' '$T/$1.log'"
}

# check_schemas OUTPUTS: every message the daemon produced validates
# against its schema in docs/schemas
check_schemas() {
    check "every output message validates against its schema" \
        /usr/bin/python3 tests/tools/validate_schemas.py --outputs "$1"
}
