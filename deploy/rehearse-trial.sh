#!/bin/sh
# deploy/rehearse-trial.sh -- the compose trial of docs/deploy.md without
# Docker: the real `followupd run` on deploy/docker/followupd.yaml and
# deploy/docker/policy.yaml, with librdkafka's mock cluster for Kafka
# (build/tests/tools/kmock, the trial's topics, 4 partitions) and a local
# redis-server with AOF for Redis, addresses given by FOLLOWUPD_* variables
# as an operator would. It produces the trial's event (plus a small
# transaction and a line that is not JSON) and checks:
#   /healthz and /readyz answer 200;
#   the decision, the reminder (+5 s) and the call task (+15 s) come out,
#   and the bad line becomes a dead letter;
#   /metrics passes `promtool check metrics` and declares exactly the
#   families of deploy/prometheus/metrics.txt, with the same types;
#   SIGHUP reloads the policy; SIGTERM exits 0 within 10 s.
# Needs `make` (daemon and test tools), redis-server, curl, promtool.
# Ends with "N passed, N failed"; about 25 s.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
FU=$BUILD/followupd
TOOLS=$BUILD/tests/tools
T=$(mktemp -d)
passed=0
failed=0
KPID='' DPID=''

cleanup() {
    [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
    [ -n "$KPID" ] && kill "$KPID" 2>/dev/null
    [ -f "$T/redis.pid" ] && kill "$(cat "$T/redis.pid")" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

check() { # check NAME COMMAND...
    name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok    $name"
    else
        failed=$((failed + 1))
        echo "FAIL  $name"
    fi
}

for need in "$FU" "$TOOLS/kmock" "$TOOLS/kafka_tool"; do
    [ -x "$need" ] || { echo "no $need: run make first"; exit 1; }
done
for need in redis-server redis-cli curl promtool; do
    command -v "$need" >/dev/null 2>&1 || { echo "no $need: make deps"; exit 1; }
done

# Redis on a free loopback port, AOF on
for try in 1 2 3 4 5; do
    RP=$((20000 + ($$ * 13 + try * 997) % 30000))
    redis-server --port "$RP" --bind 127.0.0.1 --appendonly yes --save "" \
        --dir "$T" --daemonize yes --pidfile "$T/redis.pid" \
        --logfile "$T/redis.log" >/dev/null 2>&1
    for _ in $(seq 40); do
        redis-cli -p "$RP" ping 2>/dev/null | grep -q PONG && break 2
        sleep 0.05
    done
done
redis-cli -p "$RP" ping 2>/dev/null | grep -q PONG || { echo "redis-server did not start"; exit 1; }

# The mock cluster, kept alive by an open FIFO
mkfifo "$T/kin"
"$TOOLS/kmock" --brokers 1 --partitions 4 \
    --topics wallet.events,followup.tasks,followup.reminders,followup.dead_letter,followup.decisions,followup.messages \
    <"$T/kin" >"$T/kmock.out" 2>"$T/kmock.err" &
KPID=$!
exec 7>"$T/kin"
KBS=
for _ in $(seq 100); do
    KBS=$(head -n 1 "$T/kmock.out" 2>/dev/null)
    [ -n "$KBS" ] && break
    sleep 0.05
done
[ -n "$KBS" ] || { echo "kmock did not start"; exit 1; }

# The daemon, as deploy/docker/ configures it, addresses from the environment
HP=$((RP + 1))
FOLLOWUPD_KAFKA_BROKERS=$KBS FOLLOWUPD_REDIS_URL=redis://127.0.0.1:$RP/0 \
    FOLLOWUPD_HTTP_LISTEN=127.0.0.1:$HP \
    "$FU" run -c deploy/docker/followupd.yaml 2>"$T/daemon.log" &
DPID=$!
URL=http://127.0.0.1:$HP
for _ in $(seq 150); do
    curl -fs "$URL/readyz" >/dev/null 2>&1 && grep -q '"msg":"partition assigned"' "$T/daemon.log" && break
    sleep 0.1
done
status() { curl -s -o /dev/null -w '%{http_code}' "$URL$1"; }
check "/healthz answers 200" [ "$(status /healthz)" = 200 ]
check "/readyz answers 200" [ "$(status /readyz)" = 200 ]

# The trial's event, a transaction no rule matches, a line that is not JSON
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
start=$(date +%s)
{
    echo "{\"event_id\":\"trial-1\",\"type\":\"transaction\",\"user_id\":\"u-1001\",\"occurred_at\":\"$now\",\"timezone\":\"Asia/Shanghai\",\"data\":{\"amount\":6200,\"currency\":\"CNY\",\"status\":\"succeeded\",\"kind\":\"transfer\"}}"
    echo "{\"event_id\":\"trial-2\",\"type\":\"transaction\",\"user_id\":\"u-1002\",\"occurred_at\":\"$now\",\"data\":{\"amount\":12,\"currency\":\"CNY\",\"status\":\"succeeded\"}}"
    echo 'not json'
} >"$T/events.jsonl"
check "events produced" "$TOOLS/kafka_tool" produce "$KBS" wallet.events "$T/events.jsonl" 2>/dev/null
while [ "$(date +%s)" -le $((start + 18)) ]; do sleep 0.5; done
"$TOOLS/kafka_tool" consume "$KBS" followup.tasks,followup.reminders,followup.decisions,followup.dead_letter \
    --idle-ms 2000 --timeout-ms 10000 >"$T/out.jsonl" 2>/dev/null
has() { grep "\"topic\": \"$1\"" "$T/out.jsonl" | grep -q "$2"; }
check "decision: scheduled, large-transfer" has followup.decisions '"decision": "scheduled"'
check "reminder: sms" has followup.reminders '"channel": "sms"'
check "task: call, large-transfer" has followup.tasks '"action": "call"'
check "dead letter: invalid JSON" has followup.dead_letter 'invalid JSON'
check "nothing else came out (4 messages)" [ "$(wc -l <"$T/out.jsonl")" -eq 4 ]

curl -s "$URL/metrics" >"$T/metrics.txt"
check "promtool check metrics" sh -c "promtool check metrics <'$T/metrics.txt'"
grep '^# TYPE followupd_' "$T/metrics.txt" | awk '{print $3, $4}' | sort >"$T/exported"
grep -v '^#' deploy/prometheus/metrics.txt | awk 'NF {print $1, $2}' | sort >"$T/expected"
check "exported families = deploy/prometheus/metrics.txt" diff "$T/expected" "$T/exported"
check "counters moved" grep -q '^followupd_tasks_produced_total{action="call"} 1$' "$T/metrics.txt"

kill -HUP "$DPID"
for _ in $(seq 40); do grep -q '"msg":"policy reloaded"' "$T/daemon.log" && break; sleep 0.05; done
check "SIGHUP reloads the policy" grep -q '"msg":"policy reloaded"' "$T/daemon.log"

t0=$(date +%s)
kill -TERM "$DPID"
wait "$DPID"
rc=$?
DPID=
took=$(($(date +%s) - t0))
stopped() { [ "$rc" -eq 0 ] && [ "$took" -le 10 ]; }
check "SIGTERM: exit 0 within 10 s (took ${took} s)" stopped
[ "$failed" -eq 0 ] || { echo "--- daemon log"; tail -n 20 "$T/daemon.log"; }
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
