#!/bin/sh
# bench/bench_e2e.sh [EVENTS] [USERS] -- `make bench`: the real daemon end
# to end on this machine, with its limits measured in the same run.
#
# Parts (all on loopback): redis-server (no persistence: the CPU-bound
# case), a librdkafka mock cluster in its own process (kmock, 1 broker,
# 4 partitions), `build/followupd run`. The mock keeps a bounded log, so
# every producer here runs at most 60,000 messages ahead of the consumer
# it feeds (kafka_tool --max-ahead). Prints, never asserts:
#   1. the bare consumer (librdkafka + jansson parse + one condition) on
#      the same stream: the input-side ceiling;
#   2. the daemon: events/s end to end (produce start -> every offset
#      committed), decisions/s, store round trips per event, peak RSS,
#      Redis bytes per user with state; ratios to 1 and to 3;
#   3. save.lua through redis-benchmark (pipelined): the Redis ceiling;
#   4. at a fixed 10,000 events/s: event-to-durable p50/p99 (the daemon's
#      histogram; over the whole run and over its steady state, after
#      the first 5 s) and due-to-produced lateness of the calls.
set -u
BUILD=${BUILD:-build}
N=${1:-1000000} USERS=${2:-100000}
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
. bench/save_ceiling.sh
AHEAD=60000
FAST="consumer.auto.commit.interval.ms=100"

say() { printf '%s\n' "$*"; }
# utime + stime of a process, or of one of its threads, in clock ticks
cpu_ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1${2:+/task/$2}/stat"
}
# "busy total" clock ticks of the whole machine, all cores
machine_ticks() {
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# the id of process $1's thread named $2
thread_id() {
    grep -lx "$2" /proc/"$1"/task/*/comm 2>/dev/null | head -n 1 | cut -d/ -f5
}

start_redis --appendonly no >/dev/null || exit 1
start_kafka 1 >/dev/null || exit 1
R="redis-cli -p $REDIS_PORT"
say "machine: $(nproc) cores, $(uname -r); librdkafka mock cluster, redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
say "generating $N events over $USERS users (bench/gen_bench.sh)..."
sh bench/gen_bench.sh "$N" "$USERS" 1 "$(now_ms)" 600000 >"$T/events.jsonl" 2>"$T/mix"
sed 's/^/    /' "$T/mix"

# ONLY_LATENCY=1 runs phase 4 alone; ONLY_DAEMON=1 phase 2 alone
if [ -z "${ONLY_LATENCY:-}" ]; then
if [ -z "${ONLY_DAEMON:-}" ]; then
# ---- 1. the bare consumer ----
kmock topic bench.bare 4
"$KT" consume-bench "$KBS" bench.bare g-bare --count "$N" \
    -X auto.commit.interval.ms=100 >"$T/bare" 2>&1 &
cpid=$!
"$KT" produce "$KBS" bench.bare "$T/events.jsonl" --max-ahead $AHEAD \
    --group g-bare --stats 2>"$T/bare.produce"
wait $cpid
bare=$(sed -n 's/.* = \([0-9]*\) events\/s.*/\1/p' "$T/bare")
say ""
say "1. $(cat "$T/bare")"
fi # ONLY_DAEMON

# ---- 2. the daemon ----
INPUT_TOPIC=bench.in
kmock topic "$INPUT_TOPIC" 4
POLICY=$PWD/bench/policy-e2e.yaml
write_config d1 $FAST
start_daemon d1 >/dev/null 2>&1 || { say "daemon did not start"; cat "$T/d1.log"; exit 1; }
pid=$(cat "$T/d1.pid")
# PERF=FILE records the daemon's profile during this phase (perf report -i FILE)
[ -n "${PERF:-}" ] && { perf record -q ${PERF_ARGS:---call-graph dwarf} -p "$pid" -o "$PERF" 2>/dev/null & perfpid=$!; }
base=$($R info memory | awk -F: '/^used_memory:/ {print $2+0}')
$R config resetstat >/dev/null
wait_log d1 '"msg":"partition assigned"' 20 >/dev/null
t0=$(now_ms)
etid=$(thread_id "$pid" fu-emitter)
cpu0=$(cpu_ticks "$pid") main0=$(cpu_ticks "$pid" "$pid") emit0=$(cpu_ticks "$pid" "$etid")
rpid=$(cat "$RDIR/redis.pid")
redis0=$(cpu_ticks "$rpid") kmock0=$(cpu_ticks "$KMOCK_PID") busy0=$(machine_ticks)
"$KT" produce "$KBS" "$INPUT_TOPIC" "$T/events.jsonl" --max-ahead $AHEAD \
    --group e2e --stats 2>"$T/d1.produce"
while [ "$(committed_offsets)" -lt "$N" ]; do sleep 0.1; done
t1=$(now_ms)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
cpu1=$(cpu_ticks "$pid") main1=$(cpu_ticks "$pid" "$pid") emit1=$(cpu_ticks "$pid" "$etid")
redis1=$(cpu_ticks "$rpid") kmock1=$(cpu_ticks "$KMOCK_PID") busy1=$(machine_ticks)
[ -n "${PERF:-}" ] && { kill -INT "$perfpid"; wait "$perfpid"; }
curl -s "$(http_url d1 /metrics)" >"$T/m1"
used=$($R info memory | awk -F: '/^used_memory:/ {print $2+0}')
states=$($R --scan --pattern 'e2e:*:u:*' | wc -l)
stop_daemon d1
awk -v n="$N" -v ms=$((t1 - t0)) -v bare="${bare:-0}" -v rss="$rss" \
    -v used="$used" -v base="$base" -v states="$states" \
    -v cpu=$((cpu1 - cpu0)) -v main=$((main1 - main0)) -v emit=$((emit1 - emit0)) \
    -v hz="$(getconf CLK_TCK)" \
    -v redis=$((redis1 - redis0)) -v kmock=$((kmock1 - kmock0)) \
    -v busy="$(echo "$busy0 $busy1" | awk '{ printf "%.0f", 100 * ($3 - $1) / ($4 - $2) }')" '
/^followupd_decisions_total/ { dec += $NF }
/^followupd_events_untouched_total/ { untouched = $NF }
/^followupd_store_call_duration_seconds_count/ { calls += $NF }
/^followupd_batch_decide_duration_seconds_count/ { batches = $NF }
/^followupd_batch_decide_duration_seconds_sum/ { decide_s = $NF }
/^followupd_store_call_duration_seconds_sum/ {
    op = $1; sub(/.*op="/, "", op); sub(/".*/, "", op); store[op] = $NF
}
END {
    s = ms / 1000; eps = n / s
    printf "2. daemon: %d events in %.2f s = %.0f events/s end to end (%.2f of the bare consumer)\n", n, s, eps, bare ? eps / bare : 0
    printf "   decisions: %d = %.0f /s; untouched events (no Redis work): %d (%.1f %%)\n", dec, dec / s, untouched, 100 * untouched / n
    printf "   store round trips per event: %.4f (%d calls, %d batches)\n", calls / n, calls, batches
    split("", parts); line = ""
    for (op in store) if (store[op] >= 0.005) line = line sprintf(" %s %.2f", op, store[op])
    printf "   intake deciding batches: %.2f s; store calls of both threads:%s s\n", decide_s, line
    printf "   daemon CPU: %.2f s (main thread %.2f s = %.0f %% of the run, emitter thread %.2f s; librdkafka threads the rest)\n", cpu / hz, main / hz, 100 * main / hz / s, emit / hz
    printf "   CPU of the parts: redis-server %.2f s, mock broker %.2f s; the machine was %d %% busy (all cores)\n", redis / hz, kmock / hz, busy
    printf "   daemon peak RSS: %.1f MiB; Redis bytes per user with state: %.0f (%d users)\n", rss / 1024, (used - base) / (states ? states : 1), states
}' "$T/m1" | tee "$T/r2"
eps=$(sed -n 's/.* = \([0-9]*\) events\/s end to end.*/\1/p' "$T/r2")
# where Redis spent its time (commands inside scripts count on their own too)
$R info commandstats | tr -d '\r' | awk -F'[:=,]' -v n="$N" '
/^cmdstat_/ { sub(/^cmdstat_/, "", $1); printf "%s %d %.0f %.2f\n", $1, $3, $5, $7 }' |
    sort -k3 -n -r | head -n 8 | awk -v n="$N" '
BEGIN { printf "   Redis time by command (calls, total ms, us/call):" }
{ printf "%s %s %d %.0f %.1f", NR % 3 == 1 ? "\n    " : ";", $1, $2, $3 / 1000, $4 }
END { print "" }'

[ -n "${ONLY_DAEMON:-}" ] && exit 0

# ---- 3. the Redis ceiling: save.lua pipelined ----
rps=$(save_ceiling "$REDIS_PORT" b 300000)
awk -v rps="${rps:-0}" -v eps="${eps:-0}" -v n="$N" -f /dev/stdin "$T/m1" <<'AWK'
/^followupd_state_writes_total/ { writes = $NF }
END {
    per = writes / n; limit = per > 0 ? rps / per : 0
    printf "3. save.lua ceiling: %.0f calls/s of one user each (redis-benchmark -P 64 -c 4; the daemon saves a bucket's users in one call); the daemon ran %.3f state writes per event,\n", rps, per
    printf "   so Redis alone allows %.0f events/s at this mix; the daemon reached %.2f of that\n", limit, limit ? eps / limit : 0
}
AWK

fi # ONLY_LATENCY

# ---- 4. latency at a fixed 10,000 events/s ----
$R flushall >/dev/null
INPUT_TOPIC=bench.lat
kmock topic "$INPUT_TOPIC" 4
LAT_N=$((10000 * 30))
sed "s/delay: 1h/delay: 20s/; s/lead: 30m/lead: 10s/" "$PWD/bench/policy-e2e.yaml" >"$T/policy-lat.yaml"
POLICY=$T/policy-lat.yaml
# the mock broker answers a fetch only when fetch.wait.max.ms runs out,
# even when data arrives meanwhile (a real broker answers at once with
# fetch.min.bytes=1), so a short wait stands in for a real broker here
write_config d2 $FAST consumer.fetch.wait.max.ms=5
start_daemon d2 >/dev/null 2>&1 || exit 1
wait_log d2 '"msg":"partition assigned"' 20 >/dev/null
# read the calls while they come: the mock trims its log (5 MiB a partition)
"$KT" consume "$KBS" followup.tasks --timeout-ms 90000 >"$T/tasks" 2>/dev/null &
tpid=$!
lat0=$(now_ms)
sh bench/gen_bench.sh "$LAT_N" "$USERS" 2 "$lat0" 30000 >"$T/lat.jsonl" 2>/dev/null
"$KT" produce "$KBS" "$INPUT_TOPIC" "$T/lat.jsonl" --rate 10000 --max-ahead $AHEAD \
    --group e2e --stats 2>"$T/d2.produce" &
ppid=$!
# the first seconds hold the consumer's start (group join, fetch
# positions, the first fetches): the steady state is what follows
sleep 5
curl -s "$(http_url d2 /metrics)" >"$T/m2a"
wait "$ppid"
sleep 25 # the last calls fall due 20 s after their event
curl -s "$(http_url d2 /metrics)" >"$T/m2"
kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null
stop_daemon d2
/usr/bin/python3 - "$T/m2" "$T/tasks" "$T/m2a" <<'PY'
import json, sys, datetime
def histogram(path):
    buckets, count = [], 0
    for line in open(path):
        if line.startswith('followupd_event_durable_latency_seconds_bucket'):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float('inf') if le == '+Inf' else float(le), float(line.split()[-1])))
        if line.startswith('followupd_event_durable_latency_seconds_count'):
            count = float(line.split()[-1])
    return buckets, count
def q(p, buckets, count):
    want, prev_le, prev_c = p * count, 0.0, 0.0
    for le, c in buckets:
        if c >= want:
            if le == float('inf'): return prev_le
            return prev_le + (le - prev_le) * (want - prev_c) / max(c - prev_c, 1)
        prev_le, prev_c = le, c
    return float('nan')
all_b, all_n = histogram(sys.argv[1])
warm_b, warm_n = histogram(sys.argv[3])
steady_b = [(le, c - w) for (le, c), (_, w) in zip(all_b, warm_b)]
print("4. at 10,000 events/s: event-to-durable p50 %.1f ms, p99 %.1f ms (%d events; histogram buckets, interpolated)"
      % (q(0.5, all_b, all_n) * 1000, q(0.99, all_b, all_n) * 1000, all_n))
print("   steady state (after the first 5 s): p50 %.1f ms, p99 %.1f ms (%d events)"
      % (q(0.5, steady_b, all_n - warm_n) * 1000, q(0.99, steady_b, all_n - warm_n) * 1000,
         all_n - warm_n))
late = []
for line in open(sys.argv[2]):
    m = json.loads(line)
    v = m['value']
    if not isinstance(v, dict) or v.get('action') != 'call': continue
    due = datetime.datetime.strptime(v['due_at'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    late.append(m['ts_ms'] - due.timestamp() * 1000)
late.sort()
if late:
    print("   due-to-produced lateness of %d calls: p50 %.0f ms, p99 %.0f ms, max %.0f ms, min %.0f ms"
          % (len(late), late[len(late) // 2], late[int(len(late) * 0.99)], late[-1], late[0]))
PY
