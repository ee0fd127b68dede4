#!/bin/sh
# Pacing to dialer capacity (spec 4.3) with two daemons on one Redis: 15
# calls of 15 users fall due together 5 s before a minute starts, under a
# budget of 6 calls a minute. Checked from the Kafka timestamps: no UTC
# minute holds more than 6 calls, every call simulate decides arrives once
# (none before its due_at), each in the minute simulate serves it (6 at
# the instant they fall due, the next 6 at the minute start, the last 3 a
# minute later: highest priority first), reminders are not held back, and
# the pacing gauges show the waiting calls.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
check "redis-server starts with AOF" start_redis --appendonly yes --appendfsync always
check "mock cluster starts" start_kafka 3
now=$(date +%s)
minute=$(( (now / 60 + 1) * 60 ))
[ $((minute - now)) -lt 25 ] && minute=$((minute + 60))
due=$((minute - 5))
live_policy $((due - now)) tests/e2e/policy-pacing.yaml
write_config d1
write_config d2
check "first daemon starts" start_daemon d1
check "second daemon starts" start_daemon d2
check "first daemon joins the group" wait_log d1 '"msg":"partition assigned"' 15
check "second daemon gets partitions" wait_log d2 '"msg":"partition assigned"' 20
i=0
while [ $i -lt 15 ]; do
    # priorities 0..98 in a scrambled order, two of them equal
    p=$(( (i * 37) % 99 ))
    [ $i -eq 14 ] && p=37
    printf '{"event_id": "o-%d", "type": "order", "user_id": "u-%d", "occurred_at": %d000, "data": {"p": %d}}\n' \
        $i $((100 + i)) "$now" $p
    i=$((i + 1))
done >"$T/events.jsonl"
check "events produced" produce "$T/events.jsonl"
oracle "$T/events.jsonl" "$T/expected.jsonl"
check "simulate serves 6, 6 and 3 calls in three minutes" sh -c \
    "[ \$(grep -c '\"action\": \"call\"' '$T/expected.jsonl') -eq 15 ]"
sleep_until $((minute + 30)) # 3 calls wait; the gauges refresh every 5 s
check "/metrics answers" [ "$(http_status d1 /metrics)" = 200 ]
cp "$T/body" "$T/metrics1.txt"
sleep_until $((minute + 60 + 4))
check "/metrics answers again" [ "$(http_status d2 /metrics)" = 200 ]
cp "$T/body" "$T/metrics2.txt"
consume_outputs "$T/out.jsonl"
check "paced as simulate paces, across both daemons" \
    python3 - "$T/expected.jsonl" "$T/out.jsonl" 6 <<'PY'
import json, sys
exp = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
limit = int(sys.argv[3])
def utc(s):
    import datetime
    return int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp())
want = {r["value"]["task_id"]: r for r in exp
        if r["topic"] == "tasks" and r["value"]["action"] == "call"}
got, problems, per_minute = {}, [], {}
for r in out:
    v = r["value"]
    if r["topic"] == "followup.tasks" and v.get("action") == "call":
        if v["task_id"] in got:
            continue  # a redelivered copy: same id
        got[v["task_id"]] = r
        m = r["ts_ms"] // 60000
        per_minute[m] = per_minute.get(m, 0) + 1
        if r["ts_ms"] < utc(v["due_at"]) * 1000:
            problems.append("%s left before its due_at" % v["task_id"])
        if r["key"] != v["user_id"]:
            problems.append("%s keyed %s" % (v["task_id"], r["key"]))
for m, n in sorted(per_minute.items()):
    print("minute %d: %d calls" % (m * 60, n))
    if n > limit:
        problems.append("minute %d holds %d calls, more than %d" % (m * 60, n, limit))
if set(got) != set(want):
    problems.append("calls differ: missing %s, extra %s" %
                    (sorted(set(want) - set(got)), sorted(set(got) - set(want))))
for tid, e in want.items():
    if tid in got and got[tid]["ts_ms"] // 60000 != utc(e["at"]) // 60:
        problems.append("%s (priority %d) left in minute %d, simulate serves it in %d" %
                        (tid, e["value"]["priority"], got[tid]["ts_ms"] // 60000 * 60,
                         utc(e["at"]) // 60 * 60))
rem = sum(1 for r in out if r["topic"] == "followup.reminders")
if rem != 15:
    problems.append("%d reminders, want 15" % rem)
for p in problems:
    print("problem:", p)
sys.exit(1 if problems else 0)
PY
metric() { awk -v n="$1" '$1 == n { print $2 }' "$2"; }
check "the pacing budget is on /metrics (6)" \
    [ "$(metric followupd_pacing_calls_per_minute "$T/metrics1.txt")" = 6 ]
check "3 calls wait for the last minute ($(metric followupd_calls_waiting "$T/metrics1.txt"))" \
    [ "$(metric followupd_calls_waiting "$T/metrics1.txt")" = 3 ]
age=$(metric followupd_oldest_waiting_call_age_seconds "$T/metrics1.txt")
check "the oldest has waited since it fell due ($age s)" \
    sh -c "[ ${age:-0} -ge 25 ] && [ ${age:-0} -le 95 ]"
check "none wait at the end" [ "$(metric followupd_calls_waiting "$T/metrics2.txt")" = 0 ]
e2e_stop d1
e2e_stop d2
report
