#!/bin/sh
# The soak checker (tests/soak/soak_check.py) tested on a known-good run:
# `followupd simulate` of tests/soak/sample-events.jsonl under
# tests/soak/policy.yaml, turned into kafka_tool-consume dumps by
# tests/soak/sim_to_consume.py. The checker must pass the consistent data
# and fail, naming the problem, on each deliberate breakage of it.
. tests/cli/lib.sh

POLICY=tests/soak/policy.yaml
EVENTS=tests/soak/sample-events.jsonl
END_MS=1795489200000 # 2026-11-24T03:00:00Z: everything of the sample is due by then

run $FU simulate --policy "$POLICY" "$EVENTS"
check "simulate runs the sample events" [ "$rc" -eq 0 ]
cp "$T/out" "$T/sim.jsonl"
python3 tests/soak/sim_to_consume.py input "$EVENTS" >"$T/in.jsonl"
python3 tests/soak/sim_to_consume.py outputs "$T/sim.jsonl" --events "$EVENTS" \
    >"$T/good.jsonl"
check "the conversion gives input and output dumps" \
    sh -c "[ -s '$T/in.jsonl' ] && [ -s '$T/good.jsonl' ]"

# soak OUTPUTS [ARGS...]: the checker on the sample input and OUTPUTS
soak() {
    outputs=$1
    shift
    run python3 tests/soak/soak_check.py --policy "$POLICY" --input "$T/in.jsonl" \
        --outputs "$outputs" --end-ms "$END_MS" "$@"
}

# mutate NAME: $T/good.jsonl broken in one way, into $T/NAME.jsonl
cat >"$T/mutate.py" <<'EOF'
import json, sys
from datetime import datetime, timezone

what = sys.argv[1]
lines = [json.loads(l) for l in sys.stdin]

def ms(text):
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=timezone.utc).timestamp()) * 1000

def call_of(d, user):
    v = d["value"]
    return d["topic"] == "followup.tasks" and v.get("action") == "call" \
        and v["user_id"] == user

def record_of(d, event_id):
    return d["topic"] == "followup.decisions" and d["value"]["event_id"] == event_id

out = []
for d in lines:
    v = d["value"]
    if what == "drop-task" and call_of(d, "u-la"):
        continue
    if what == "night" and call_of(d, "u-tokyo"):
        v["due_at"] = "2026-11-23T16:00:10Z"     # 01:00:10 in Tokyo
        d["ts_ms"] = ms(v["due_at"])
    if what == "early" and call_of(d, "u-berlin-1") and \
            v["due_at"] == "2026-11-23T10:00:30Z":
        d["ts_ms"] -= 2000
    if what == "late" and call_of(d, "u-berlin-1") and \
            v["due_at"] == "2026-11-23T10:00:30Z":
        d["ts_ms"] += 1500
    if what == "drop-cancel" and d["topic"] == "followup.tasks" and \
            v.get("action") == "cancel":
        continue
    if what == "drop-dead-letter" and d["topic"] == "followup.dead_letter" and \
            "occurred_at" in v["error"]:
        continue
    if what == "drop-record" and record_of(d, "e-la-1"):
        continue
    if what == "wrong-reason" and record_of(d, "e-b1-2"):
        v["reason"] = "cap:calls-per-hour"       # was cap:rule; the hour is not full
    if what == "renamed":
        d["topic"] = d["topic"].replace("followup.", "soak.")
    out.append(d)
    if what == "copies":
        out.append(d)
    if what == "bad-copy" and call_of(d, "u-welcome"):
        x = json.loads(json.dumps(d))
        x["value"]["priority"] = 99
        x["ts_ms"] += 500
        out.append(x)
if what == "extra-cap":
    # a fourth call in the hour of u-berlin-1, who already has three
    x = json.loads(json.dumps([d for d in lines if call_of(d, "u-berlin-1")][0]))
    x["value"]["task_id"] = "t-00000000000000000cafe"
    x["value"]["due_at"] = "2026-11-23T10:10:00Z"
    x["ts_ms"] = ms("2026-11-23T10:10:00Z")
    out.append(x)
if what == "after-opt-out":
    # u-optout's complaint call, cancelled while pending by the opt-out at
    # 11:00, leaves anyway at its due time
    x = json.loads(json.dumps([d for d in lines if call_of(d, "u-optout")][0]))
    pending = [d["value"] for d in lines if record_of(d, "e-x2")][0]
    x["value"].update(task_id=pending["task_id"], rule_id="complaint-resolved",
                      due_at=pending["due_at"])
    x["ts_ms"] = ms(pending["due_at"])
    out.append(x)
for d in out:
    print(json.dumps(d))
EOF
mutate() {
    python3 "$T/mutate.py" "$1" <"$T/good.jsonl" >"$T/$1.jsonl"
}

# ---- consistent data passes
soak "$T/good.jsonl"
check "consistent data: exit 0" [ "$rc" -eq 0 ]
check "... and soak_check: ok" grep -qx "soak_check: ok" "$T/out"
check "the summary gives the figures" sh -c "
    grep -q '^input .*21 events, 3 malformed, 8 users, 1 duplicates, 14 matched triggers' '$T/out' &&
    grep -q '^outputs .*13 calls, 1 cancels' '$T/out' &&
    grep -q '^accounted .*records for 14/14 matched triggers' '$T/out' &&
    grep -q '^accounted .*suppressed 4 {cap:rule: 1, cooldown: 1, opted_out: 1, superseded: 1}' '$T/out' &&
    grep -q '^timing .*lateness max 0 ms, p99 0 ms' '$T/out'"

mutate copies
soak "$T/copies.jsonl"
check "every message twice (at least once): still ok" [ "$rc" -eq 0 ]

soak "$T/good.jsonl" --end-ms 1795464000000 # 2026-11-23T20:00Z: Tokyo's call still pending
check "a call due after end-ms that has not left: still ok" [ "$rc" -eq 0 ]

run python3 tests/soak/soak_check.py --policy "$POLICY" --input "$T/in.jsonl" \
    --outputs "$T/good.jsonl"
check "without --end-ms (the latest timestamp seen): ok" [ "$rc" -eq 0 ]

mutate late
soak "$T/late.jsonl"
check "a late task is no failure, its lateness is reported" sh -c "
    [ $rc -eq 0 ] && grep -q '^timing .*lateness max 1500 ms' '$T/out'"

mutate renamed
soak "$T/renamed.jsonl" --topics tasks=soak.tasks,reminders=soak.reminders,decisions=soak.decisions,dead_letter=soak.dead_letter
check "--topics names the output topics" [ "$rc" -eq 0 ]

# ---- each breakage fails and names its problem
mutate drop-task
soak "$T/drop-task.jsonl"
check "a task dropped: exit 1" [ "$rc" -eq 1 ]
check "... named" grep -q "user u-la task t-[0-9a-f]* event e-la-1 rule large-transfer: scheduled, due 2026-11-23T18:00:00Z, never left" "$T/out"

mutate night
soak "$T/night.jsonl"
check "a task at night: exit 1" [ "$rc" -eq 1 ]
check "... named" grep -q "user u-tokyo task t-[0-9a-f]* event e-t1: due_at 2026-11-23T16:00:10Z is outside the call window (Tue 2026-11-24 01:00:10 local in Asia/Tokyo)" "$T/out"

mutate extra-cap
soak "$T/extra-cap.jsonl"
check "a cap broken: exit 1" [ "$rc" -eq 1 ]
check "... named" grep -q "user u-berlin-1: cap calls-per-hour (limit 3 per 3600s) holds 4 items in .*t-00000000000000000cafe" "$T/out"
check "... and the task without a record" grep -q "task t-00000000000000000cafe .*a task without a scheduled record" "$T/out"

mutate early
soak "$T/early.jsonl"
check "a task before its due_at: exit 1" [ "$rc" -eq 1 ]
check "... named" grep -q "user u-berlin-1 task t-[0-9a-f]* event e-b1-1: left at 2026-11-23T10:00:28.000Z, 2000 ms before its due_at" "$T/out"

mutate after-opt-out
soak "$T/after-opt-out.jsonl"
check "a task after an opt-out: exit 1" [ "$rc" -eq 1 ]
check "... named" grep -q "user u-optout task t-[0-9a-f]* event e-x3: left at 2026-11-23T11:01:00.000Z, after the opt-out decided by" "$T/out"

mutate drop-cancel
soak "$T/drop-cancel.jsonl"
check "a cancel removed: exit 1" [ "$rc" -eq 1 ]
check "... named by the cancels check" grep -q "user u-optout task t-[0-9a-f]* event e-x3: emitted, then cancelled (opted_out) at 2026-11-23T11:00:00Z, but no cancel message" "$T/out"
check "... and by the opt-out check" grep -q "user u-optout task t-[0-9a-f]* event e-x3: emitted, callable until .*, but no cancel after the opt-out" "$T/out"

mutate drop-dead-letter
soak "$T/drop-dead-letter.jsonl"
check "a dead letter removed: exit 1" [ "$rc" -eq 1 ]
check "... named" grep -q "user u-berlin-2 event e-bad-1: malformed input (missing required field 'occurred_at', partition 0 offset 9) has no dead letter" "$T/out"

mutate drop-record
soak "$T/drop-record.jsonl"
check "a trigger without its decision record: exit 1" [ "$rc" -eq 1 ]
check "... named" grep -q "user u-la event e-la-1: no scheduled/suppressed record for rule large-transfer" "$T/out"

mutate wrong-reason
soak "$T/wrong-reason.jsonl"
check "a suppression for a cap that was not full: exit 1" [ "$rc" -eq 1 ]
check "... named" grep -q "user u-berlin-1 task t-[0-9a-f]* event e-b1-2 rule large-transfer: suppressed as cap:calls-per-hour, but at most 1 of 3" "$T/out"

mutate bad-copy
soak "$T/bad-copy.jsonl"
check "a copy unlike the first: exit 1" [ "$rc" -eq 1 ]
check "... named" grep -q "user u-welcome task t-[0-9a-f]*: a copy of tasks t-[0-9a-f]* differs from the first copy" "$T/out"

# ---- RSS: flat across a restart passes, growth fails
awk 'BEGIN { for (i = 0; i < 90; i++) { if (i == 45) print "restart";
             printf "%d %d\n", 1795000000000 + i * 1000, 20000 + (i * 37) % 900 } }' >"$T/rss-flat.txt"
awk 'BEGIN { for (i = 0; i < 90; i++)
             printf "%d %d\n", 1795000000000 + i * 1000, 20000 + i * 300 }' >"$T/rss-grow.txt"
soak "$T/good.jsonl" --rss "$T/rss-flat.txt"
check "flat RSS across a restart: ok, figures printed" sh -c "
    [ $rc -eq 0 ] && grep -q '^rss .*90 samples, 2 run(s); median of the middle third' '$T/out'"
soak "$T/good.jsonl" --rss "$T/rss-grow.txt"
check "growing RSS: exit 1" [ "$rc" -eq 1 ]
check "... named" grep -q "RSS grew: last-third median 42350 KiB > middle-third median 33350 KiB" "$T/out"

# ---- usage and unreadable input: exit 2
run python3 tests/soak/soak_check.py --input "$T/in.jsonl" --outputs "$T/good.jsonl"
check "no --policy: exit 2" [ "$rc" -eq 2 ]
soak "$T/missing.jsonl"
check "unreadable outputs: exit 2" [ "$rc" -eq 2 ]
echo "not json" >"$T/garbage.jsonl"
soak "$T/garbage.jsonl"
check "outputs that are no consume dump: exit 2" [ "$rc" -eq 2 ]
soak "$T/good.jsonl" --topics bogus=x
check "an unknown --topics role: exit 2" [ "$rc" -eq 2 ]

report
