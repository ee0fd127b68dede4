#!/bin/sh
# tests/soak/soak.sh -- `make soak`: the real daemon for SOAK_SECONDS under a
# steady load, with faults on a schedule, then every message of the input
# and output topics handed to the independent checker,
# tests/soak/soak_check.py. Minutes; not part of `make test` or CI.
#
# Parts (all on loopback): redis-server with AOF (appendfsync always, so a
# SIGKILL loses nothing), the librdkafka mock cluster (kmock, 3 brokers),
# `followupd run` with the decisions topic on, and from kafka_tool: the
# load (tests/soak/soak_util.py gen, produced at SOAK_RATE events/s), a
# recorder consuming every topic while the soak runs (the mock trims each
# partition's log at 5 MiB, so what is read only at the end may be gone),
# and a slow consumer of the tasks topic (tiny fetches, and paused by
# SIGSTOP for a while). Samplers: the daemon's VmRSS every second
# (rss.txt: `EPOCH_MS KIB`, `restart` when the daemon is restarted) and
# two gauges of its /metrics (metrics.txt: `EPOCH_MS OLDEST_DUE_AGE
# OUTBOX_DEPTH`). INPUT.jsonl and OUTPUTS.jsonl, the checker's input, are
# the recorder's (soak_util.py merge; every topic is read again from the
# start only if the recorder missed something).
#
# Faults, one every SOAK_SECONDS / (N + 1) seconds in the order of
# SOAK_FAULTS (the list again for long soaks, every 40 s or so), each
# logged on stdout. The daemon is restarted only in the first third of the
# run (a restart due later is skipped, and logged), so that the last two
# thirds of the RSS samples, which the checker compares, are one process's.
#   daemon-kill       the daemon SIGKILLed, started again 1 s later
#   daemon-term       the daemon stopped with SIGTERM (exit 0 within 10 s),
#                     started again
#   slow-consumer     the slow consumer SIGSTOPped for OUT s, then SIGCONT
#   reload-valid      a comment appended to the policy (a new version, the
#                     same rules), SIGHUP: "policy reloaded" with that version
#   reload-invalid    an unknown key appended, SIGHUP: refused with
#                     file:line:col, the old version still in force; the
#                     good file put back
#   redis-kill        redis-server SIGKILLed, down OUT s, started again on
#                     the same port from its AOF
#   redis-restart     redis-server stopped (SIGTERM) and started at once
#   broker-down       broker 2 down OUT s, then up
#   brokers-all-down  every broker down OUT s, then up
# (OUT = a third of the interval, 2 to 8 s.) Once the load has been
# produced (END_MS, the checker's --end-ms: what fell due before it must
# have left): every input offset committed, SOAK_DRAIN s more, until the
# daemon's outbox and due backlog are empty; SIGTERM; collect what the
# recorder read; print the soak's own figures; run the checker on the
# policy as it was at the start (reloads only added comments) and print
# its report. Exit status: the checker's (1 when it passes but the soak
# itself saw a failure: a crash, a hang, a reload not handled, a lost
# record); while the checker does not exist it is skipped, with a
# message. Every process started here is stopped on exit; the work dir is
# kept (its path is printed).
#
# Environment: BUILD (build), SOAK_SECONDS (300), SOAK_RATE (300
# events/s), SOAK_USERS (3000), SOAK_SEED (1), SOAK_POLICY
# (tests/soak/policy.yaml),
# SOAK_FAULTS (the list above, in that order), SOAK_DIR (a new
# directory under ${TMPDIR:-/tmp}), SOAK_DRAIN (20: seconds after the end
# of the load before the daemon is stopped), SOAK_CHECKER
# (tests/soak/soak_check.py).
set -eu
BUILD=${BUILD:-build}
SOAK_SECONDS=${SOAK_SECONDS:-300}
SOAK_RATE=${SOAK_RATE:-300}
SOAK_USERS=${SOAK_USERS:-3000}
SOAK_SEED=${SOAK_SEED:-1}
SOAK_DRAIN=${SOAK_DRAIN:-20}
SOAK_FAULTS=${SOAK_FAULTS:-"daemon-kill reload-valid daemon-term slow-consumer redis-kill broker-down reload-invalid brokers-all-down redis-restart reload-valid"}
SOAK_POLICY=${SOAK_POLICY:-tests/soak/policy.yaml}
for _f in $SOAK_FAULTS; do
    case $_f in
        slow-consumer | reload-valid | reload-invalid | redis-kill | redis-restart | \
            broker-down | brokers-all-down | daemon-kill | daemon-term) ;;
        *) echo "soak: unknown fault '$_f' in SOAK_FAULTS" >&2; exit 2 ;;
    esac
done
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
UTIL=tests/soak/soak_util.py
CHECKER=${SOAK_CHECKER:-tests/soak/soak_check.py}
AOF="--appendonly yes --appendfsync always"

# The libraries of the end-to-end tests: check/report, redis-server on a
# free loopback port (start_redis, restart_redis, stop_redis), the mock
# cluster (start_kafka, kmock), write_config, http_url, committed_offsets.
# They are written for `sh` without -e: every call that may fail is made
# where a failure is tested (if, ||, &&). Their EXIT traps remove the work
# dir; the soak keeps it, so its own trap replaces theirs.
# shellcheck source=tests/cli/lib.sh disable=SC1091 # followed with shellcheck -x
. tests/cli/lib.sh
# shellcheck source=tests/integration/lib.sh disable=SC1091 # followed with shellcheck -x
. tests/integration/lib.sh
# shellcheck source=tests/e2e/lib.sh disable=SC1091 # followed with shellcheck -x
. tests/e2e/lib.sh
rmdir "$T"
if [ -n "${SOAK_DIR:-}" ]; then
    T=$SOAK_DIR
    mkdir -p "$T"
else
    T=$(mktemp -d "${TMPDIR:-/tmp}/followupd-soak.XXXXXX")
fi
# shellcheck disable=SC2317 # called by the libraries
integ_trap() { soak_trap; }     # what start_redis installs
# shellcheck disable=SC2317 # called by the libraries
e2e_cleanup() { soak_cleanup; } # what start_kafka installs

SOAK_PIDS=""   # background processes of ours other than daemons and kmock
DPID=""        # the daemon running now
FAILS=0
FAULTS_DONE=0
RESTARTS=0
CRASHES=0
T0=$(date +%s)

now_ms() { date +%s%3N; }
say() { printf '%s +%ss  %s\n' "$(date -u +%H:%M:%S)" "$(($(date +%s) - T0))" "$*"; }
fail() {
    FAILS=$((FAILS + 1))
    say "FAIL: $*"
}

# kill_wait PID [SIGNAL]: signal (TERM), then SIGKILL after 5 s; reaped
kill_wait() {
    kill "-${2:-TERM}" "$1" 2>/dev/null || return 0
    _kw=0
    while pid_alive "$1" && [ "$_kw" -lt 50 ]; do
        sleep 0.1
        _kw=$((_kw + 1))
    done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# forget PID: it was reaped, so never signal that number again
forget() {
    _fl=""
    for _p in $SOAK_PIDS; do [ "$_p" = "$1" ] || _fl="$_fl $_p"; done
    SOAK_PIDS=$_fl
}

# shellcheck disable=SC2317 # the EXIT trap
soak_cleanup() {
    _rc=$?
    set +e
    trap - EXIT HUP INT TERM
    case " $SOAK_PIDS " in
        *" ${SLOW_PID:-x} "*) kill -CONT "$SLOW_PID" 2>/dev/null ;;
    esac
    for _p in $SOAK_PIDS; do kill_wait "$_p"; done
    [ -n "$DPID" ] && kill_wait "$DPID" KILL
    if [ -n "${KMOCK_PID:-}" ]; then
        exec 7>&-
        kill_wait "$KMOCK_PID"
    fi
    [ -n "${RDIR:-}" ] && stop_redis
    echo "soak work dir (kept): $T"
    exit "$_rc"
}
soak_trap() {
    trap soak_cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
soak_trap

# ---- the daemon ----

log_lines() {
    if [ -f "$T/d1.log" ]; then wc -l <"$T/d1.log"; else echo 0; fi
}

# wait_log_since LINE PATTERN SECONDS: PATTERN in the log after line LINE
wait_log_since() {
    _ws=0
    while [ "$_ws" -lt $(($3 * 10)) ]; do
        tail -n "+$(($1 + 1))" "$T/d1.log" 2>/dev/null | grep -q "$2" && return 0
        sleep 0.1
        _ws=$((_ws + 1))
    done
    return 1
}

daemon_start() {
    _l=$(log_lines)
    # shellcheck disable=SC2086 # FU is "[VALGRIND...] BUILD/followupd"
    $FU run -c "$T/d1.yaml" 2>>"$T/d1.log" &
    DPID=$!
    echo "$DPID" >"$T/d1.pid"
    E2E_PIDS="$E2E_PIDS $DPID"
    wait_log_since "$_l" '"msg":"started"' 10 || fail "daemon not started within 10 s"
    wait_log_since "$_l" '"msg":"partition assigned"' 30 ||
        fail "restarted daemon got no partitions within 30 s"
}

daemon_alive() { [ -n "$DPID" ] && pid_alive "$DPID"; }

# check_daemon: an exit nobody asked for is a crash: reported, restarted
check_daemon() {
    daemon_alive && return 0
    _st=0
    wait "$DPID" || _st=$?
    CRASHES=$((CRASHES + 1))
    fail "the daemon (pid $DPID) exited by itself, status $_st: see $T/d1.log"
    DPID=""
    echo restart >>"$T/rss.txt"
    RESTARTS=$((RESTARTS + 1))
    daemon_start
}

# sleep_to EPOCH: sleep until then, watching the daemon every second
sleep_to() {
    while [ "$(date +%s)" -lt "$1" ]; do
        check_daemon
        sleep 1
    done
}

metric() { # NAME: its value (the first sample) on /metrics, empty if none
    curl -s -m 2 "$(http_url d1 /metrics)" 2>/dev/null |
        awk -v n="$1" '$1 == n || index($1, n "{") == 1 { print $2; exit }'
}

policy_version() { # the version of the policy file now (followupd check)
    $FU check -c "$T/d1.yaml" 2>/dev/null | sed -n 's/.*policy version //p'
}

# ---- the samplers ----

rss_sampler() {
    _sp=""
    trap 'kill "$_sp" 2>/dev/null; exit 0' TERM
    while :; do
        _pid=$(cat "$T/d1.pid" 2>/dev/null || true)
        _r=""
        [ -n "$_pid" ] &&
            _r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$_pid/status" 2>/dev/null || true)
        [ -n "$_r" ] && echo "$(now_ms) $_r" >>"$T/rss.txt"
        _m=$(curl -s -m 1 "$(http_url d1 /metrics)" 2>/dev/null |
            awk '$1 == "followupd_oldest_due_age_seconds" { a = $2 }
                 $1 == "followupd_outbox_depth" { b = $2 }
                 END { if (a != "") print a, b }' || true)
        [ -n "$_m" ] && echo "$(now_ms) $_m" >>"$T/metrics.txt"
        sleep 1 &
        _sp=$!
        wait "$_sp" || true
    done
}

# ---- the faults ----

OUT=2 # seconds an outage lasts (set from the interval below)

fault_slow_consumer() {
    if ! kill -STOP "$SLOW_PID"; then
        fail "the slow consumer is gone: $T/slow.err"
        return 0
    fi
    say "  slow consumer stopped for $OUT s"
    sleep_to $(($(date +%s) + OUT))
    kill -CONT "$SLOW_PID" || true
}

fault_reload_valid() {
    _l=$(log_lines)
    cp "$POLICY" "$T/policy.new"
    printf '# soak reload at %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$T/policy.new"
    mv "$T/policy.new" "$POLICY"
    _v=$(policy_version)
    kill -HUP "$DPID"
    if wait_log_since "$_l" "\"msg\":\"policy reloaded\",\"version\":\"$_v\"" 10; then
        say "  policy reloaded, version $_v"
        VERSIONS="$VERSIONS $_v"
    else
        fail "valid policy (version $_v) not reloaded within 10 s"
    fi
}

fault_reload_invalid() {
    _l=$(log_lines)
    _v=$(policy_version)
    cp "$POLICY" "$T/policy.good"
    { cat "$T/policy.good"; echo "soak_unknown_key: 1"; } >"$T/policy.new"
    mv "$T/policy.new" "$POLICY"
    kill -HUP "$DPID"
    if wait_log_since "$_l" 'policy reload failed, keeping the current policy.*policy.yaml:[0-9]*:[0-9]*: ' 10; then
        say "  refused: $(tail -n "+$((_l + 1))" "$T/d1.log" | grep 'policy reload failed' |
            sed -n 's/.*"problem":"\([^"]*\)".*/\1/p' | head -n 1)"
    else
        fail "invalid policy not refused with file:line:col within 10 s"
    fi
    sleep 1
    _in=$(curl -s -m 2 "$(http_url d1 /metrics)" | grep '^followupd_policy_info' || true)
    case $_in in
        *"version=\"$_v\"} 1"*) ;;
        *) fail "after the refused reload the policy in force is not $_v: $_in" ;;
    esac
    mv "$T/policy.good" "$POLICY"
}

fault_redis_kill() {
    _l=$(log_lines)
    if ! kill -9 "$(cat "$RDIR/redis.pid")"; then
        fail "redis-server is not running"
        return 0
    fi
    rm -f "$RDIR/redis.pid"
    say "  redis-server killed, down $OUT s"
    sleep_to $(($(date +%s) + OUT))
    # shellcheck disable=SC2086 # AOF is a list of arguments
    restart_redis $AOF || fail "redis-server did not start again"
    wait_log_since "$_l" '"msg":"store available again"' 20 ||
        fail "no 'store available again' within 20 s of the restart"
}

fault_redis_restart() {
    # shellcheck disable=SC2086 # AOF is a list of arguments
    restart_redis $AOF || fail "redis-server did not start again"
    say "  redis-server stopped and started"
}

fault_broker_down() {
    kmock down 2 || fail "kmock down 2"
    sleep_to $(($(date +%s) + OUT))
    kmock up 2 || fail "kmock up 2"
}

fault_brokers_all_down() {
    kmock down all || fail "kmock down all"
    sleep_to $(($(date +%s) + OUT))
    kmock up all || fail "kmock up all"
}

fault_daemon_kill() {
    kill -9 "$DPID"
    wait "$DPID" 2>/dev/null || true
    DPID=""
    echo restart >>"$T/rss.txt"
    RESTARTS=$((RESTARTS + 1))
    sleep 1
    daemon_start
    say "  daemon restarted, pid $DPID"
}

fault_daemon_term() {
    _s=$(date +%s)
    kill -TERM "$DPID"
    _st=0
    wait "$DPID" || _st=$?
    _s=$(($(date +%s) - _s))
    if [ "$_st" -ne 0 ] || [ "$_s" -gt 10 ]; then
        fail "SIGTERM: daemon exited $_st after $_s s (want 0 within 10 s)"
    fi
    echo restart >>"$T/rss.txt"
    RESTARTS=$((RESTARTS + 1))
    daemon_start
    say "  daemon stopped (exit $_st, $_s s) and restarted, pid $DPID"
}

# ---- setup ----

if [ ! -x "$BUILD/followupd" ] || [ ! -x "$KT" ] || [ ! -x "$TOOLS/kmock" ]; then
    echo "soak: build first: make BUILD=$BUILD all" >&2
    exit 2
fi
say "soak: ${SOAK_SECONDS} s at $SOAK_RATE events/s over $SOAK_USERS users; work dir $T"
say "policy: $SOAK_POLICY"
# shellcheck disable=SC2086 # AOF is a list of arguments
start_redis $AOF || { echo "soak: cannot start redis-server" >&2; exit 1; }
say "redis-server on port $REDIS_PORT (AOF, appendfsync always)"
start_kafka 3 || { echo "soak: cannot start the mock cluster" >&2; exit 1; }
say "mock cluster, 3 brokers: $KBS"
cp "$SOAK_POLICY" "$T/policy.orig.yaml" # what the checker gets
cp "$SOAK_POLICY" "$T/policy.yaml"      # what reloads change
POLICY=$T/policy.yaml
write_config d1
VERSIONS=$(policy_version)
[ -n "$VERSIONS" ] || { echo "soak: the policy or config is invalid:" >&2; $FU check -c "$T/d1.yaml" >&2; exit 1; }
: >"$T/rss.txt"
: >"$T/metrics.txt"
daemon_start
[ "$FAILS" -eq 0 ] || { echo "soak: the daemon did not start: $T/d1.log" >&2; exit 1; }
say "daemon pid $DPID, policy version $VERSIONS, $(http_url d1 /metrics)"
rss_sampler &
SOAK_PIDS="$SOAK_PIDS $!"

"$KT" consume "$KBS" "$INPUT_TOPIC,$OUTPUT_TOPICS" --timeout-ms 2147483647 \
    >"$T/recorder.jsonl" 2>"$T/recorder.err" &
RECORDER_PID=$!
SOAK_PIDS="$SOAK_PIDS $RECORDER_PID"
"$KT" consume "$KBS" followup.tasks --timeout-ms 2147483647 \
    -X message.max.bytes=1000 -X fetch.max.bytes=1000 -X max.partition.fetch.bytes=256 \
    -X fetch.wait.max.ms=500 -X queued.max.messages.kbytes=1 \
    >"$T/slow.jsonl" 2>"$T/slow.err" &
SLOW_PID=$!
SOAK_PIDS="$SOAK_PIDS $SLOW_PID"
sleep 1
for _p in $RECORDER_PID $SLOW_PID; do
    pid_alive "$_p" || {
        cat "$T/recorder.err" "$T/slow.err" >&2
        echo "soak: a consumer did not start" >&2
        exit 1
    }
done

START_MS=$(($(now_ms) + 1000))
"$PY" "$UTIL" gen --policy "$T/policy.orig.yaml" --users "$SOAK_USERS" --rate "$SOAK_RATE" \
    --seconds "$SOAK_SECONDS" --start-ms "$START_MS" --seed "$SOAK_SEED" \
    >"$T/events.jsonl" 2>"$T/gen.txt"
say "load: $(cat "$T/gen.txt")"
while [ "$(now_ms)" -lt "$START_MS" ]; do sleep 0.05; done
T0=$(date +%s)
"$KT" produce "$KBS" "$INPUT_TOPIC" "$T/events.jsonl" --rate "$SOAK_RATE" --stats \
    2>"$T/produce.err" &
PRODUCER_PID=$!
SOAK_PIDS="$SOAK_PIDS $PRODUCER_PID"
say "load started"

# ---- the schedule ----

# shellcheck disable=SC2086 # a list of names
set -- $SOAK_FAULTS
NF=$#
NSLOTS=$((SOAK_SECONDS / 40))
[ "$NSLOTS" -ge "$NF" ] || NSLOTS=$NF
INTERVAL=$((SOAK_SECONDS / (NSLOTS + 1)))
OUT=$((INTERVAL / 3))
[ "$OUT" -le 8 ] || OUT=8
[ "$OUT" -ge 2 ] || OUT=2
say "schedule: $NSLOTS faults, one every $INTERVAL s, outages of $OUT s"
: >"$T/faults.txt"
k=0
while [ "$k" -lt "$NSLOTS" ]; do
    sleep_to $((T0 + (k + 1) * SOAK_SECONDS / (NSLOTS + 1)))
    shift $((k % NF))
    f=$1
    # shellcheck disable=SC2086 # a list of names
    set -- $SOAK_FAULTS
    k=$((k + 1))
    case $f in
        daemon-*) if [ "$(date +%s)" -gt $((T0 + SOAK_SECONDS / 3)) ]; then
            say "fault $k/$NSLOTS: $f skipped (restarts only in the first third)"
            continue
        fi ;;
    esac
    say "fault $k/$NSLOTS: $f"
    echo "$(now_ms) $f" >>"$T/faults.txt"
    check_daemon
    case $f in
        slow-consumer) fault_slow_consumer ;;
        reload-valid) fault_reload_valid ;;
        reload-invalid) fault_reload_invalid ;;
        redis-kill) fault_redis_kill ;;
        redis-restart) fault_redis_restart ;;
        broker-down) fault_broker_down ;;
        brokers-all-down) fault_brokers_all_down ;;
        daemon-kill) fault_daemon_kill ;;
        daemon-term) fault_daemon_term ;;
    esac
    FAULTS_DONE=$((FAULTS_DONE + 1))
    _h=$(http_status d1 /healthz || true)
    [ "$_h" = 200 ] || fail "/healthz answered '$_h' after $f"
done

# ---- the end of the load ----

while pid_alive "$PRODUCER_PID"; do
    check_daemon
    sleep 0.2
done
PRODUCE_RC=0
wait "$PRODUCER_PID" || PRODUCE_RC=$?
forget "$PRODUCER_PID"
END_MS=$(now_ms)
PRODUCED=$(sed -n 's/^produced \([0-9]*\).*/\1/p' "$T/produce.err" | tail -n 1)
PRODUCED=${PRODUCED:-0}
say "load stopped: $(grep '^produced' "$T/produce.err" || echo 'no figures') (exit $PRODUCE_RC)"
[ "$PRODUCE_RC" -eq 0 ] || fail "kafka_tool produce exited $PRODUCE_RC: $T/produce.err"

# every input offset committed (the producer may have written a record
# twice, retrying through a broker outage: counted once it is collected)
_dl=$(($(date +%s) + 180))
while [ "$(committed_offsets)" -lt "$PRODUCED" ] && [ "$(date +%s)" -lt "$_dl" ]; do
    check_daemon
    sleep 1
done
COMMITTED=$(committed_offsets)
say "input offsets committed: $COMMITTED ($PRODUCED produced)"
[ "$COMMITTED" -ge "$PRODUCED" ] || fail "only $COMMITTED input offsets committed ($PRODUCED produced) within 180 s"

# until SOAK_DRAIN s after the end of the load (what fell due before the
# end has left by then, even what a killed daemon had leased: 15 s) and
# nothing due waits in the outbox or the due index
sleep_to $((END_MS / 1000 + SOAK_DRAIN))
_cap=$(($(date +%s) + 120))
while :; do
    check_daemon
    _age=$(metric followupd_oldest_due_age_seconds)
    _depth=$(metric followupd_outbox_depth)
    [ "${_age:-x}" = 0 ] && [ "${_depth:-x}" = 0 ] && break
    if [ "$(date +%s)" -ge "$_cap" ]; then
        fail "due work still waiting 120 s after the drain: oldest due age ${_age:-?} s, outbox ${_depth:-?}"
        break
    fi
    sleep 1
done
say "drained: $SOAK_DRAIN s after the load, nothing due waiting (oldest due age ${_age:-?} s, outbox ${_depth:-?})"
FINAL_RSS=$(awk 'NF == 2 { r = $2 } END { print r + 0 }' "$T/rss.txt")

_s=$(date +%s)
kill -TERM "$DPID"
_st=0
wait "$DPID" || _st=$?
_s=$(($(date +%s) - _s))
DPID=""
say "daemon stopped with SIGTERM: exit $_st in $_s s"
if [ "$_st" -ne 0 ] || [ "$_s" -gt 10 ]; then
    fail "SIGTERM: exit $_st after $_s s (want 0 within 10 s)"
fi
grep -q '"msg":"stopped"' "$T/d1.log" || fail "no 'stopped' in the log"
! grep -Eq 'Sanitizer|runtime error:' "$T/d1.log" || fail "sanitizer report in $T/d1.log"

# ---- collect ----

# The recorder read every topic while the soak ran: once it has been idle
# for 3 s it has everything. Every topic is read again from the start
# only when its record has a hole or the input topic has more records than
# it read (the mock scans a partition's log for each fetch, so reading
# 150,000 small records from the start takes it minutes).
kill -CONT "$SLOW_PID" 2>/dev/null || true
kill_wait "$SLOW_PID"
forget "$SLOW_PID"
_sz=-1
_dl=$(($(date +%s) + 120))
while [ "$(wc -c <"$T/recorder.jsonl")" != "$_sz" ] && [ "$(date +%s)" -lt "$_dl" ]; do
    _sz=$(wc -c <"$T/recorder.jsonl")
    sleep 3
done
kill_wait "$RECORDER_PID"
forget "$RECORDER_PID"
COMMITTED=$(committed_offsets)
merge() {
    "$PY" "$UTIL" merge --input-topic "$INPUT_TOPIC" --out-topics "$OUTPUT_TOPICS" \
        --input "$T/INPUT.jsonl" --outputs "$T/OUTPUTS.jsonl" "$@" >"$T/merge.txt"
}
if ! merge "$T/recorder.jsonl" || [ "$(wc -l <"$T/INPUT.jsonl")" -ne "$COMMITTED" ]; then
    say "the recorder missed records ($(tr '\n' ';' <"$T/merge.txt")): every topic read again"
    _s=$(date +%s)
    "$KT" consume "$KBS" "$INPUT_TOPIC,$OUTPUT_TOPICS" --idle-ms 5000 --timeout-ms 3600000 \
        >"$T/final.jsonl" 2>"$T/final.err" || fail "final consume failed: $T/final.err"
    say "every topic read again in $(($(date +%s) - _s)) s"
    merge "$T/recorder.jsonl" "$T/final.jsonl" ||
        fail "records the mock trimmed before they were read (holes in offsets): $T/merge.txt"
fi
INPUT_RECORDS=$(wc -l <"$T/INPUT.jsonl")
if [ "$INPUT_RECORDS" -lt "$PRODUCED" ]; then
    fail "the input topic holds $INPUT_RECORDS records, $PRODUCED were produced"
elif [ "$INPUT_RECORDS" -gt "$PRODUCED" ]; then
    say "the input topic holds $((INPUT_RECORDS - PRODUCED)) record(s) more than produced: the producer's retries through an outage (the same event twice)"
fi
[ "$COMMITTED" -eq "$INPUT_RECORDS" ] ||
    fail "$COMMITTED input offsets committed at the end, the topic holds $INPUT_RECORDS records"

# ---- figures ----

MAX_AGE=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$T/metrics.txt")
PEAK_RSS=$(awk 'NF == 2 && $2 > m { m = $2 } END { print m + 0 }' "$T/rss.txt")
SAMPLES=$(awk 'NF == 2' "$T/rss.txt" | wc -l)
echo
echo "== soak figures =="
echo "events produced     $PRODUCED in $(((END_MS - START_MS) / 1000)) s (target $SOAK_SECONDS s at $SOAK_RATE/s); $INPUT_RECORDS input records, $COMMITTED committed"
echo "faults applied      $FAULTS_DONE: $(awk '{ print $2 }' "$T/faults.txt" | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')"
echo "daemon restarts     $RESTARTS ($CRASHES by itself)"
echo "RSS                 peak $((PEAK_RSS / 1024)) MiB, final $((FINAL_RSS / 1024)) MiB ($SAMPLES samples; final = before the last SIGTERM)"
echo "oldest due age      at most $MAX_AGE s (the daemon's gauge, sampled every second)"
echo "policy versions     $VERSIONS"
sed 's/^/topic               /' "$T/merge.txt"
echo "slow consumer       $(grep -c . "$T/slow.jsonl" || true) tasks read"
echo "failures            $FAILS"
echo "files               $T/INPUT.jsonl $T/OUTPUTS.jsonl $T/rss.txt $T/d1.log"

# ---- the checker ----

echo
if [ ! -f "$CHECKER" ]; then
    echo "== check SKIPPED: $CHECKER does not exist yet =="
    echo "   (run it by hand later on the files in $T)"
    RC=0
else
    echo "== $CHECKER =="
    RC=0
    "$PY" "$CHECKER" --policy "$T/policy.orig.yaml" --input "$T/INPUT.jsonl" \
        --outputs "$T/OUTPUTS.jsonl" --end-ms "$END_MS" --rss "$T/rss.txt" \
        --topics tasks=followup.tasks,reminders=followup.reminders,decisions=followup.decisions,dead_letter=followup.dead_letter,messages=followup.messages \
        --input-topic "$INPUT_TOPIC" || RC=$?
    echo "checker exit status: $RC"
fi
if [ "$RC" -eq 0 ] && [ "$FAILS" -gt 0 ]; then
    echo "soak: FAILED ($FAILS failures above)"
    RC=1
elif [ "$RC" -eq 0 ]; then
    echo "soak: passed"
else
    echo "soak: FAILED"
fi
exit "$RC"
