#!/bin/sh
# tests/integration/0007-schemas.sh -- the JSON Schemas of docs/schemas/
# against what followupd really reads and writes, with Debian's
# python3-jsonschema (tests/tools/validate_schemas.py):
# - every output of `simulate` over config/examples/, every story of
#   tests/sim/ (whatever stories there are: the directory is listed) and
#   the message stream of tests/e2e/0016-messages.sh validates against the
#   schema of its topic: messages (spec 4.2) against message.schema.json,
#   decision records with "kind": "message" (channel_off among their
#   reasons) against decision.schema.json;
# - every input line simulate accepts validates against event.schema.json,
#   and every line it dead-letters fails it (bar the few reasons JSON
#   Schema cannot express), on the examples, the stories and a corpus of
#   edge cases below;
# - the schemas are tight: each message with a field removed, a field
#   added or a field of the wrong type is rejected;
# - the Kafka-shaped dump (followup.tasks, ...) that the end-to-end tests
#   read works too, with its keys checked.
. tests/cli/lib.sh
PY=/usr/bin/python3
V="$PY tests/tools/validate_schemas.py"
SIM="$BUILD/followupd simulate"

# validate ARGS...: the validator passes; its report is shown when not
validate() {
    $V "$@" >"$T/v.out" 2>&1 || { cat "$T/v.out"; return 1; }
}

if ! $PY -c 'import jsonschema' 2>/dev/null; then
    echo "Debian's python3-jsonschema is missing (make deps, or apt-get install python3-jsonschema)"
    check "python3-jsonschema is installed" false
    report
    exit 1
fi

# ---- the schema files themselves ----
for f in docs/schemas/*.schema.json; do
    check "$f is a valid draft 2020-12 schema with an \$id" $PY -c '
import json, sys
from jsonschema import Draft202012Validator
s = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(s)
assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
assert s["$id"].startswith("https://followupd.example/schemas/")
' "$f"
done

# ---- the examples and every story: outputs and inputs ----
: >"$T/all.out"
n=0
for f in config/examples/*.jsonl; do
    n=$((n + 1))
    $SIM --policy config/policy.yaml "$f" >"$T/$n.out" 2>/dev/null
    check "simulate $f exits 0" [ $? -eq 0 ]
    check "outputs and inputs of $f match the schemas" \
        validate --outputs "$T/$n.out" --events-vs-simulate "$f" "$T/$n.out"
    cat "$T/$n.out" >>"$T/all.out"
done
for story in tests/sim/*/; do   # (check sets $d)
    [ -f "$story/events.jsonl" ] || continue
    n=$((n + 1))
    (cd "$story" && "$OLDPWD/$BUILD/followupd" simulate --policy policy.yaml \
        events.jsonl) >"$T/$n.out" 2>/dev/null
    check "simulate $story exits 0" [ $? -eq 0 ]
    check "outputs and inputs of $story match the schemas" \
        validate --outputs "$T/$n.out" --events-vs-simulate \
        "$story/events.jsonl" "$T/$n.out"
    cat "$T/$n.out" >>"$T/all.out"
done
# message follow-ups next to calls, whatever the stories hold: the policy
# and stream of tests/e2e/0016-messages.sh at a fixed time
sed 's/@DELAY@/10/g; s/@DELAY2@/13/g' tests/e2e/policy-messages.yaml >"$T/msg-policy.yaml"
sh tests/e2e/gen_message_events.sh 30 240 1763630100 16 >"$T/msg-events.jsonl"
$SIM --policy "$T/msg-policy.yaml" "$T/msg-events.jsonl" >"$T/msg.out" 2>/dev/null
check "simulate of the message stream exits 0" [ $? -eq 0 ]
check "outputs and inputs of the message stream match the schemas" \
    validate --outputs "$T/msg.out" --events-vs-simulate "$T/msg-events.jsonl" "$T/msg.out"
cat "$T/msg.out" >>"$T/all.out"

# bad-lines.jsonl has one good line and 4 dead letters: not JSON, a missing
# field and an unknown outcome fail the input schema; the 4th, a zone
# unknown to the tz database, is beyond JSON Schema
run $V --events config/examples/bad-lines.jsonl
check "bad-lines.jsonl: the input schema rejects 3 of its 4 dead letters" \
    sh -c "[ $rc -eq 1 ] && grep -qx 'validate_schemas: 5 checked, 3 failed' '$T/out' &&
        grep -q 'bad-lines.jsonl:1: ' '$T/out' && grep -q 'bad-lines.jsonl:2: ' '$T/out' &&
        grep -q 'bad-lines.jsonl:5: ' '$T/out'"
check "story 14's lines that are not JSON objects fail the input schema" \
    sh -c "sed -n '1p;4p' tests/sim/14-dead-letters/events.jsonl >'$T/nonobj' &&
        ! $V --events '$T/nonobj' >'$T/nonobj.out' &&
        grep -qx 'validate_schemas: 2 checked, 2 failed' '$T/nonobj.out'"

# ---- edge cases of the input: schema and lib/event.c agree on each ----
cat >"$T/edge.jsonl" <<'EOF'
{"event_id": "a1", "type": "transaction", "user_id": "u-1", "occurred_at": "2026-11-20T09:15:00+08:00"}
{"event_id": "a2", "type": "transaction", "user_id": "u-1", "occurred_at": "2026-11-20t09:15:00.123456z"}
{"event_id": "a3", "type": "transaction", "user_id": "u-1", "occurred_at": "2026-11-20 09:15:00-05:30"}
{"event_id": "a4", "type": "transaction", "user_id": "u-1", "occurred_at": 1763630100000}
{"event_id": "a5", "type": "transaction", "user_id": "u-1", "occurred_at": 0, "timezone": null, "data": null, "extra": [1, {"x": null}]}
{"event_id": "a6", "type": "transaction", "user_id": "u-1", "occurred_at": "2028-02-29T00:00:00Z", "timezone": "America/Argentina/Buenos_Aires"}
{"event_id": "a7", "type": "transaction", "user_id": "u-1", "occurred_at": 253402300799999, "timezone": "Etc/GMT+5"}
{"event_id": "a8", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"opt_out": null, "channels": {}, "timezone": null, "call_window": {"days": ["Monday", "TUE", "sun"], "hours": ["00:00-24:00"], "exclude_dates": ["2000-02-29"]}, "other": 1}}
{"event_id": "a9", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"channels": null, "call_window": null, "opt_out": false, "consent": true, "follow_up_by": null}}
{"event_id": "a10", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {}}
{"event_id": "a11", "type": "callback.outcome", "user_id": "u-1", "occurred_at": 1, "data": {"task_id": "t-x", "outcome": "wrong_number", "satisfaction": null, "notes": "called twice"}}
{"event_id": "a12", "type": "callback.outcome", "user_id": "u-1", "occurred_at": 1, "data": {"task_id": "t-x", "outcome": "answered", "satisfaction": 5}}
{"event_id": "a13", "type": "callback.reschedule", "user_id": "u-1", "occurred_at": 1, "data": {"task_id": "t-x", "at": 1763630100000}}
{"event_id": "a14", "type": "callback.reschedule", "user_id": "u-1", "occurred_at": 1, "data": {"task_id": "t-x", "at": "2026-11-21T10:00:00+01:00"}}
{"event_id": "a15", "type": "transaction", "user_id": "u-1", "occurred_at": "2026-11-20T09:15:00Z", "data": {"amount": 1e300, "note": "\u00e9\ud83d\ude00"}}

{"event_id": "b1", "type": "transaction", "user_id": "u-1", "occurred_at": "2026-02-29T00:00:00Z"}
{"event_id": "b2", "type": "transaction", "user_id": "u-1", "occurred_at": "2026-11-20T24:00:00Z"}
{"event_id": "b3", "type": "transaction", "user_id": "u-1", "occurred_at": "2026-11-20T23:59:60Z"}
{"event_id": "b4", "type": "transaction", "user_id": "u-1", "occurred_at": "2026-11-20T09:15:00"}
{"event_id": "b5", "type": "transaction", "user_id": "u-1", "occurred_at": "2026-11-20T09:15:00.Z"}
{"event_id": "b6", "type": "transaction", "user_id": "u-1", "occurred_at": "2026-11-20T09:15:00+24:00"}
{"event_id": "b7", "type": "transaction", "user_id": "u-1", "occurred_at": -1}
{"event_id": "b8", "type": "transaction", "user_id": "u-1", "occurred_at": 253402300800000}
{"event_id": "b9", "type": "transaction", "user_id": "u-1", "occurred_at": 1.0}
{"event_id": "b10", "type": "transaction", "user_id": "u-1", "occurred_at": 1e3}
{"event_id": "b11", "type": "transaction", "user_id": "u-1", "occurred_at": null}
{"event_id": "", "type": "transaction", "user_id": "u-1", "occurred_at": 1}
{"event_id": "b13", "type": "transaction", "user_id": "u-\u0001", "occurred_at": 1}
{"event_id": "b14", "type": "transaction", "user_id": "u-1\n", "occurred_at": 1}
{"event_id": "b15", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "timezone": "Asia/Shanghai\n"}
{"event_id": "b16", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "timezone": "../etc/passwd"}
{"event_id": "b17", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "timezone": 8}
{"event_id": "b18", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "data": [1]}
{"event_id": "b19", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1}
{"event_id": "b20", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": null}
{"event_id": "b21", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"opt_out": "yes"}}
{"event_id": "b22", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"channels": {"SMS": false}}}
{"event_id": "b23", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"channels": {"sms": null}}}
{"event_id": "b24", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"channels": ["sms"]}}
{"event_id": "b25", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"days": ["mon"]}}}
{"event_id": "b26", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"days": [], "hours": ["09:00-10:00"]}}}
{"event_id": "b27", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"days": ["mo"], "hours": ["09:00-10:00"]}}}
{"event_id": "b28", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"hours": ["9:00-10:00"]}}}
{"event_id": "b29", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"hours": ["09:00-24:01"]}}}
{"event_id": "b30", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"hours": []}}}
{"event_id": "b31", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"hours": ["09:00-10:00"], "exclude_dates": ["2026-02-30"]}}}
{"event_id": "b32", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"hours": ["09:00-10:00"], "tz": "UTC"}}}
{"event_id": "b33", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"hours": ["09:00-10:00"], "days": null}}}
{"event_id": "b34", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": "09:00-10:00"}}
{"event_id": "b35", "type": "callback.outcome", "user_id": "u-1", "occurred_at": 1, "data": {"outcome": "answered"}}
{"event_id": "b36", "type": "callback.outcome", "user_id": "u-1", "occurred_at": 1, "data": {"task_id": "t-x", "outcome": "ANSWERED"}}
{"event_id": "b37", "type": "callback.outcome", "user_id": "u-1", "occurred_at": 1, "data": {"task_id": "t-x", "outcome": null}}
{"event_id": "b38", "type": "callback.outcome", "user_id": "u-1", "occurred_at": 1, "data": {"task_id": 5, "outcome": "busy"}}
{"event_id": "b39", "type": "callback.reschedule", "user_id": "u-1", "occurred_at": 1, "data": {"task_id": "t-x", "at": "tomorrow"}}
{"event_id": "b40", "type": "callback.reschedule", "user_id": "u-1", "occurred_at": 1, "data": {"at": 5}}
{"event_id": "b41", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "event_id": "b41"}
{"event_id": "b42", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "data": {"x": NaN}}
{"event_id": "b43", "type": "transaction", "user_id": "u-1", "occurred_at": 99999999999999999999}
{"event_id": "b44", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "data": {"x": "a\u0000b"}}
{"event_id": "b45", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "data": {"x": "\ud800"}}
{"event_id": "b46", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "data": {"x": 1e999}}
{"event_id": "b47", "type": "transaction", "user_id": "u-1", "occurred_at": 1} trailing
"just a string"
null
EOF
$PY - >>"$T/edge.jsonl" <<'EOF'
import json
def p(o): print(json.dumps(o, ensure_ascii=False))
p({"event_id": "b50", "type": "transaction", "user_id": "u" * 257, "occurred_at": 1})
p({"event_id": "b51", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "data": {"pad": "x" * 70000}})
p({"event_id": "b52", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"hours": ["00:00-00:01"] * 25}}})
p({"event_id": "a16", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"hours": ["00:00-00:01"] * 24}}})
# beyond JSON Schema: dead letters the schema accepts
p({"event_id": "c1", "type": "user.preferences", "user_id": "u-1", "occurred_at": 1, "data": {"call_window": {"hours": ["10:00-09:00"]}}})
p({"event_id": "c2", "type": "transaction", "user_id": "u-1", "occurred_at": 1, "timezone": "Mars/Olympus_Mons"})
p({"event_id": "c3", "type": "transaction", "user_id": "\u00e9" * 200, "occurred_at": 1})
EOF
printf '{"event_id": "b53", "type": "transaction", "user_id": "u-\377", "occurred_at": 1}\n' >>"$T/edge.jsonl"
$SIM --policy config/policy.yaml "$T/edge.jsonl" >"$T/edge.out" 2>/dev/null
check "simulate of the edge cases exits 0" [ $? -eq 0 ]
check "edge cases: 16 accepted, 56 dead letters" sh -c "
    [ \$(grep -c '\"topic\": \"dead_letter\"' '$T/edge.out') -eq 56 ] &&
    [ \$(grep -v -c '^\$' '$T/edge.jsonl') -eq 72 ]"
check "edge cases: the input schema agrees with simulate on every line" \
    validate --events-vs-simulate "$T/edge.jsonl" "$T/edge.out"
check "edge cases: their outputs (a truncated dead letter among them) match" \
    sh -c "grep -q '\"payload_truncated\": true' '$T/edge.out' &&
        $V --outputs '$T/edge.out' >/dev/null"
cat "$T/edge.out" >>"$T/all.out"

# ---- coverage: every kind of message went through the schemas ----
for what in '"action": "call"' '"action": "cancel"' '"topic": "reminders"' \
    '"decision": "scheduled"' '"decision": "suppressed"' \
    '"decision": "cancelled"' '"decision": "duplicate"' '"reminder": "' \
    '"replaces": "' '"topic": "dead_letter"' '"payload_truncated": true' \
    '"topic": "messages"' '"kind": "message"' \
    '"decision": "suppressed", .*"reason": "channel_off", .*"kind": "message"' \
    '"decision": "cancelled", .*"reason": "channel_off", .*"kind": "message"'; do
    check "outputs checked include $what" grep -q -- "$what" "$T/all.out"
done

# ---- message records: channel_off, and a message's ids only ----
$PY - >"$T/msgdec.jsonl" <<'EOF'
import json
base = {"schema": "followupd.decision/v1", "event_id": "p-1", "user_id": "u-1",
        "rule_id": "welcome", "task_id": "m-0123456789abcdef01234",
        "due_at": "2026-11-20T09:15:10Z", "at": "2026-11-20T09:15:00Z",
        "attempt": 1, "occurrence": 1, "kind": "message",
        "policy_version": "0123456789abcdef"}
for d in ("suppressed", "cancelled"):
    print(json.dumps({"topic": "decisions", "key": "u-1",
                      "value": dict(base, decision=d, reason="channel_off")}))
print(json.dumps({"topic": "decisions", "key": "u-1",
                  "value": dict(base, decision="scheduled", reason=None)}))
EOF
check "message records (suppressed and cancelled for channel_off, scheduled) validate" \
    validate --outputs "$T/msgdec.jsonl"
sed 's/"m-0123/"t-0123/' "$T/msgdec.jsonl" >"$T/msgdec-t.jsonl"
run $V --outputs "$T/msgdec-t.jsonl"
check "a message record with a call's id (t-...) is rejected" \
    sh -c "[ $rc -eq 1 ] && grep -qx 'validate_schemas: 3 checked, 3 failed' '$T/out'"
sed 's/"kind": "message", //' "$T/msgdec.jsonl" >"$T/msgdec-nokind.jsonl"
run $V --outputs "$T/msgdec-nokind.jsonl"
check "a record with a message_id but no kind is rejected" \
    sh -c "[ $rc -eq 1 ] && grep -qx 'validate_schemas: 3 checked, 3 failed' '$T/out'"

# ---- the schemas are tight: every mutation of a real message fails ----
$PY - "$T/all.out" >"$T/mutated.jsonl" <<'EOF'
import json, sys
OPTIONAL = {"reminder", "replaces", "kind", "payload_truncated"}
NESTED = {"trigger", "vars", "source"}   # objects with a fixed set of keys

def wrong(v):
    return 12345 if isinstance(v, str) or v is None else "x"

def out(topic, key, value):
    print(json.dumps({"topic": topic, "key": key, "value": value}))

seen = set()
for line in open(sys.argv[1]):
    rec = json.loads(line)
    topic, key, value = rec["topic"], rec["key"], rec["value"]
    shape = (topic, value.get("action") or value.get("decision"),
             tuple(value))
    if shape in seen:
        continue
    seen.add(shape)
    for k in value:
        if k not in OPTIONAL:                    # drop a required field
            out(topic, key, {x: y for x, y in value.items() if x != k})
        out(topic, key, dict(value, **{k: wrong(value[k])}))  # wrong type
        if k in NESTED:
            for j in value[k]:
                sub = {x: y for x, y in value[k].items() if x != j}
                out(topic, key, dict(value, **{k: sub}))
            out(topic, key, dict(value, **{k: dict(value[k], extra=1)}))
    out(topic, key, dict(value, unexpected_field=1))   # a field added
    for k in ("due_at", "send_at", "at"):        # a time not in UTC Z form
        if isinstance(value.get(k), str):
            out(topic, key, dict(value, **{k: value[k].replace("Z", "+00:00")}))
EOF
m=$(wc -l <"$T/mutated.jsonl")
run $V --outputs "$T/mutated.jsonl"
check "every one of the $m mutated messages is rejected" \
    sh -c "[ $m -gt 200 ] && [ $rc -eq 1 ] &&
        grep -qx 'validate_schemas: $m checked, $m failed' '$T/out'"
# the hand-made case from the brief: a call task without its not_after
grep -m1 '"action": "call"' "$T/all.out" |
    sed 's/"not_after": "[^"]*", //' >"$T/no_not_after.jsonl"
run $V --outputs "$T/no_not_after.jsonl"
check "a call task without not_after is rejected, naming the field" \
    sh -c "[ $rc -eq 1 ] && grep -q \"'not_after' is a required property\" '$T/out'"

# ---- the Kafka-shaped dump of the end-to-end tests ----
$PY - "$T/all.out" >"$T/kafka.jsonl" <<'EOF'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    rec = json.loads(line)
    print(json.dumps({"at": rec["at"].replace("Z", ".200Z"), "ts_ms": 0,
                      "topic": "followup." + rec["topic"], "partition": 0,
                      "offset": i, "key": rec["key"], "value": rec["value"]}))
EOF
check "Kafka topic names (followup.tasks, ...) are understood" \
    validate --outputs "$T/kafka.jsonl"
sed 's/"topic": "followup\./"topic": "prod.tasks-/' "$T/kafka.jsonl" >"$T/custom.jsonl"
run $V --outputs "$T/custom.jsonl"
check "an unknown topic fails" sh -c "[ $rc -eq 1 ] && grep -q 'unknown topic' '$T/out'"
grep '"topic": "followup.tasks"' "$T/kafka.jsonl" |
    sed 's/"topic": "followup.tasks"/"topic": "dialer-in"/' >"$T/mapped.jsonl"
check "--topic NAME=KIND maps other names" \
    validate --topic dialer-in=tasks --outputs "$T/mapped.jsonl"
grep -m1 '"topic": "followup.tasks"' "$T/kafka.jsonl" |
    sed 's/"key": "[^"]*"/"key": "someone-else"/' >"$T/badkey.jsonl"
run $V --outputs "$T/badkey.jsonl"
check "a task keyed by another user fails" \
    sh -c "[ $rc -eq 1 ] && grep -q 'key is not the value' '$T/out'"
grep -m1 '"topic": "followup.reminders"' "$T/kafka.jsonl" |
    sed 's/"topic": "followup.reminders"/"topic": "followup.tasks"/' >"$T/wrongtopic.jsonl"
run $V --outputs "$T/wrongtopic.jsonl"
check "a reminder on the task topic fails" [ "$rc" -eq 1 ]

# ---- the examples of docs/dialer.md are real and valid ----
grep '^{"event_id": .*}$' docs/dialer.md >"$T/doc.events"
grep '^{"at": ' docs/dialer.md >"$T/doc.outputs"
check "docs/dialer.md: its example events and messages match the schemas" \
    sh -c "[ \$(wc -l <'$T/doc.events') -eq 5 ] && [ \$(wc -l <'$T/doc.outputs') -eq 7 ] &&
        $V --events '$T/doc.events' --outputs '$T/doc.outputs' >/dev/null"
# (policy_version is a hash of config/policy.yaml, comments included: a
# comment edited there must not make the page wrong)
pv='s/"policy_version": "[0-9a-f]*"/"policy_version": "-"/'
$SIM --policy config/policy.yaml "$T/doc.events" 2>/dev/null | sed "$pv" >"$T/doc.sim"
sed "$pv" "$T/doc.outputs" >"$T/doc.want"
check "docs/dialer.md: simulate prints each of its example messages" \
    sh -c "while IFS= read -r l; do grep -qxF \"\$l\" '$T/doc.sim' || exit 1; done <'$T/doc.want'"

# ---- exit codes ----
run $V
check "no arguments: exit 2" [ "$rc" -eq 2 ]
run $V --outputs "$T/does-not-exist.jsonl"
check "unreadable file: exit 2" [ "$rc" -eq 2 ]
mkdir "$T/badschemas" && cp docs/schemas/*.json "$T/badschemas/" &&
    echo '{"type": 5}' >"$T/badschemas/task.schema.json"
run $V --schemas "$T/badschemas" --outputs "$T/1.out"
check "an invalid schema: exit 2" [ "$rc" -eq 2 ]
check "events on stdin (-) work" sh -c "$V --events - <config/examples/transfer.jsonl >/dev/null"

report
