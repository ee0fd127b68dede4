#!/bin/sh
# tests/integration/0006-e2e-check.sh -- the end-to-end checker
# (tests/tools/e2e_check.c) against real simulate output: a faithful
# Kafka-shaped copy passes, and each kind of corruption fails with its own
# message. The copy is made with awk, as kafka_tool consume would print the
# daemon's output: ts_ms = due time + 200 ms for tasks, reminders and
# messages, the decision time for the rest; decision records get another "at" and dead
# letters name the input topic.
. tests/cli/lib.sh
E2E="${VG:-} $BUILD/tests/tools/e2e_check"
X="$T/expected.jsonl"

# ---- the oracle: simulate over stories with every kind of output ----
# transfer with its first event delivered twice (a duplicate record),
# complaint, bad lines (dead letters), opt-out (a cancel), dedupe (one
# task_id with two versions after the dedupe window), message follow-ups
# (spec 4.2: the stream and policy of tests/e2e/0016-messages.sh, at a
# fixed time).
sed '1p' config/examples/transfer.jsonl >"$T/transfer.jsonl"
sed 's/@DELAY@/10/g; s/@DELAY2@/13/g' tests/e2e/policy-messages.yaml >"$T/msg-policy.yaml"
sh tests/e2e/gen_message_events.sh 30 240 1763630100 16 >"$T/msg-events.jsonl"
{
    $BUILD/followupd simulate --policy config/policy.yaml "$T/transfer.jsonl" &&
    $BUILD/followupd simulate --policy config/policy.yaml \
        config/examples/complaint.jsonl &&
    $BUILD/followupd simulate --policy config/policy.yaml \
        config/examples/bad-lines.jsonl &&
    $BUILD/followupd simulate --policy tests/sim/08-opt-out/policy.yaml \
        tests/sim/08-opt-out/events.jsonl &&
    $BUILD/followupd simulate --policy tests/sim/13-dedupe/policy.yaml \
        tests/sim/13-dedupe/events.jsonl &&
    $BUILD/followupd simulate --policy "$T/msg-policy.yaml" "$T/msg-events.jsonl"
} >"$X"
check "simulate runs" [ $? -eq 0 ]
for what in '"action": "call"' '"action": "cancel"' '"topic": "reminders"' \
    '"decision": "duplicate"' '"topic": "dead_letter"' '"topic": "messages"'; do
    check "oracle has $what" grep -q "$what" "$X"
done

cat >"$T/conv.awk" <<'EOF'
function days(y, m, d,   era, yoe, mp, doy, doe) {
    y -= (m <= 2)
    era = int(y / 400); yoe = y - era * 400
    mp = (m + 9) % 12
    doy = int((153 * mp + 2) / 5) + d - 1
    doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
    return era * 146097 + doe - 719468
}
function ms(s) {
    return (days(substr(s, 1, 4) + 0, substr(s, 6, 2) + 0, substr(s, 9, 2) + 0) * 86400 \
        + substr(s, 12, 2) * 3600 + substr(s, 15, 2) * 60 + substr(s, 18, 2)) * 1000
}
{
    match($0, /^[{]"at": "[^"]*"/); at = substr($0, 9, RLENGTH - 9)
    match($0, /"topic": "[^"]*"/); topic = substr($0, RSTART + 10, RLENGTH - 11)
    match($0, /"key": (null|"[^"]*")/); key = substr($0, RSTART + 7, RLENGTH - 7)
    i = index($0, "\"value\": "); value = substr($0, i + 9, length($0) - i - 9)
    ts = ms(at)
    f = ""
    if (topic == "tasks") f = "due_at"
    if (topic == "reminders" || topic == "messages") f = "send_at"
    if (f != "" && match(value, "\"" f "\": \"[^\"]*\""))
        ts = ms(substr(value, RSTART + length(f) + 5, 20)) + 200
    if (topic == "dead_letter")
        sub(/"source": [{]"topic": "[^"]*"/, "\"source\": {\"topic\": \"wallet.events\"", value)
    if (topic == "decisions")
        sub(/, "at": "[^"]*"/, ", \"at\": \"2031-01-01T00:00:00.123Z\"", value)
    off[topic]++
    printf "{\"at\": \"%s\", \"ts_ms\": %.0f, \"topic\": \"followup.%s\", \"partition\": 0, \"offset\": %d, \"key\": %s, \"value\": %s}\n", \
        at, ts, topic, off[topic] - 1, key, value
}
EOF
A="$T/actual.jsonl"
awk -f "$T/conv.awk" "$X" >"$A"
check "actual copy made" [ "$(wc -l <"$A")" -eq "$(wc -l <"$X")" ]

# ---- helpers ----
# e2e ACTUAL [OPTIONS...]: the checker on the oracle; $rc, $T/out, $T/err
e2e() {
    a=$1
    shift
    run $E2E "$X" "$a" "$@"
}
passes() { # passes ACTUAL [OPTIONS...]
    e2e "$@"
    if [ "$rc" -eq 0 ] && grep -q '^e2e_check: ok$' "$T/out"; then
        return 0
    fi
    echo "rc=$rc, want 0:"
    cat "$T/out" "$T/err"
    return 1
}
fails_with() { # fails_with TEXT ACTUAL [OPTIONS...]: exit 1 and TEXT said
    want=$1
    shift
    e2e "$@"
    if [ "$rc" -eq 1 ] && grep -qF -- "$want" "$T/out" &&
        grep -q '^e2e_check: [0-9]* problems*$' "$T/out"; then
        grep -F -- "$want" "$T/out" | head -n 1 | cut -c 1-200
        return 0
    fi
    echo "rc=$rc, want 1 and '$want':"
    cat "$T/out" "$T/err"
    return 1
}
mk() { # mk NAME SED-SCRIPT: $T/NAME.jsonl from the faithful copy
    sed "$2" "$A" >"$T/$1.jsonl"
}
shift_ts() { # shift_ts NAME TEXT DELTA: ts_ms += DELTA on lines with TEXT
    awk -v pat="$2" -v d="$3" 'index($0, pat) && match($0, /"ts_ms": [0-9]+/) {
        ts = substr($0, RSTART + 9, RLENGTH - 9) + d
        $0 = substr($0, 1, RSTART - 1) "\"ts_ms\": " sprintf("%.0f", ts) substr($0, RSTART + RLENGTH)
    } { print }' "$A" >"$T/$1.jsonl"
}

T1=$(grep '"action": "call"' "$X" | head -n 1 |
    sed 's/.*"task_id": "\([^"]*\)".*/\1/')
CALL="\"action\": \"call\", \"task_id\": \"$T1\""
TWICE=$(grep '"action": "call"' "$X" | sed 's/.*"task_id": "\([^"]*\)".*/\1/' |
    sort | uniq -d | head -n 1)
check "found a call task" [ -n "$T1" ]
check "found a task_id with two versions" [ -n "$TWICE" ]

# ---- the faithful copy passes ----
check "faithful copy passes" passes "$A"
check "summary: tasks all there" grep -q '^tasks: expected \([1-9][0-9]*\) got \1 ' "$T/out"
check "summary: cancels all there" grep -q '^cancels: expected \([1-9][0-9]*\) got \1 ' "$T/out"
check "summary: reminders all there" grep -q '^reminders: expected \([1-9][0-9]*\) got \1 ' "$T/out"
check "summary: messages all there" grep -q '^messages: expected \([1-9][0-9]*\) got \1 ' "$T/out"
check "summary: decisions all there" grep -q '^decisions: expected \([1-9][0-9]*\) got \1 (+0 duplicate)' "$T/out"
check "summary: dead letters all there" grep -q '^dead letters: expected \([1-9][0-9]*\) got \1 ' "$T/out"
check "summary: lateness" grep -q '^lateness ms: max 200 mean 200 ' "$T/out"
for k in calls reminders messages; do
    check "summary: lateness of $k" grep -q "^lateness ms of $k: max 200 mean 200 ([1-9][0-9]* timed)\$" "$T/out"
done

# at-least-once: every line twice, and out of order, still passes
sed 'p' "$A" >"$T/twice.jsonl"
check "identical copies pass" passes "$T/twice.jsonl"
check "copies counted" grep -q '^tasks: expected \([0-9]*\) got \1 (copies [1-9]' "$T/out"
awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }' "$A" >"$T/rev.jsonl"
check "reversed order passes" passes "$T/rev.jsonl"
# lines on other topics are ignored
{ cat "$A"; echo '{"at": null, "ts_ms": 1, "topic": "wallet.events", "partition": 0, "offset": 0, "key": null, "value": "x"}'; } >"$T/other.jsonl"
check "other topics ignored" passes "$T/other.jsonl"
check "other topics counted" grep -q '^other topics: 1 lines ignored' "$T/out"

# ---- each corruption fails, saying what ----
mk miss "/$CALL/d"
check "missing task fails" fails_with "tasks: missing task_id $T1 due " "$T/miss.jsonl"
check "missing task counted" grep -q '^tasks: expected \([0-9]*\) got ' "$T/out"

mk extra "/$CALL/{p;s/$T1/t-0000000000000000extra/;}"
check "extra task fails" fails_with "tasks: unexpected task_id t-0000000000000000extra" "$T/extra.jsonl"

mk changed "/$CALL/s/\"priority\": [0-9]*/\"priority\": 999/"
check "changed field fails" fails_with "tasks: task_id $T1 differs" "$T/changed.jsonl"
check "changed field shown" grep -q 'priority: [0-9]* vs 999' "$T/out"

shift_ts early "$CALL" -1200
check "early task fails" fails_with "timing: task_id $T1 early by 1000 ms" "$T/early.jsonl"

shift_ts late "$CALL" 10000
check "late task fails" fails_with "timing: task_id $T1 late by 10200 ms" "$T/late.jsonl"
check "late task passes a wider limit" passes "$T/late.jsonl" --late-max-ms 20000
check "lateness max reported" grep -q '^lateness ms: max 10200 ' "$T/out"

mk key "/$CALL/s/\"key\": \"[^\"]*\"/\"key\": \"u-somebody-else\"/"
check "wrong key fails" fails_with 'keys: ACTUAL line' "$T/key.jsonl"
check "wrong key shown" grep -q 'key "u-somebody-else" but user_id' "$T/out"

awk '/"topic": "followup.decisions"/ && !done { done = 1; next } { print }' \
    "$A" >"$T/nodec.jsonl"
check "missing decision fails" fails_with 'decisions: missing record {' "$T/nodec.jsonl"
check "missing decision passes --no-decisions" passes "$T/nodec.jsonl" --no-decisions
check "decisions not checked said" grep -q '^decisions: not checked' "$T/out"

mk xdec '/"decision": "scheduled"/{p;s/"event_id": "[^"]*"/"event_id": "e-invented"/;}'
check "extra decision fails" fails_with 'decisions: unexpected record (' "$T/xdec.jsonl"
check "extra decision fails even with --allow-redelivery" \
    fails_with 'decisions: unexpected record (' "$T/xdec.jsonl" --allow-redelivery

# a redelivered outcome event: one more duplicate record
mk xdup '/"decision": "duplicate"/{p;s/"event_id": "e-1001"/"event_id": "o-2001"/;}'
check "extra duplicate fails" fails_with 'decisions: unexpected duplicate record' "$T/xdup.jsonl"
check "extra duplicate passes --allow-redelivery" passes "$T/xdup.jsonl" --allow-redelivery
check "extra duplicate counted" grep -q '^decisions: expected \([0-9]*\) got \1 (+1 duplicate)' "$T/out"
awk '/"decision": "duplicate"/ { print } { print }' "$A" >"$T/samedup.jsonl"
check "a copy of an expected duplicate passes" passes "$T/samedup.jsonl"

mk copy "/$CALL/{p;s/\"offset\": [0-9]*/\"offset\": 999/;s/\"priority\": [0-9]*/\"priority\": 7/;}"
check "differing copy fails" fails_with "tasks: task_id $T1: copy at ACTUAL line" "$T/copy.jsonl"
check "differing copy shown" grep -q '@999) differs from the first copy at .*: priority: [0-9]* vs 7' "$T/out"

mk dl 's/"payload": "this is not JSON"/"payload": "this is not JSON either"/'
check "dead letter payload fails" \
    fails_with 'dead letters: payload differs for error "invalid JSON at line 1 column 4: invalid syntax"' "$T/dl.jsonl"
check "dead letter payload difference shown" \
    grep -q 'lengths 16 vs 23, first difference at byte 16: "this is not JSON" vs "this is not JSON either"' "$T/out"
mk dlerr 's/"error": "invalid JSON at line 1 column 4: invalid syntax"/"error": "bad"/'
check "dead letter error fails" fails_with 'dead letters: unexpected (' "$T/dlerr.jsonl"
check "dead letter missing said" grep -q '^dead letters: missing {"error":"invalid JSON' "$T/out"

# the oracle's second version of a task decided again is required
awk -v pat="\"action\": \"call\", \"task_id\": \"$TWICE\"" \
    'index($0, pat) && ++n == 2 { next } { print }' "$A" >"$T/onever.jsonl"
check "missing second version fails" fails_with "tasks: task_id $TWICE: missing its version" "$T/onever.jsonl"

mk cancel '/"action": "cancel"/s/"reason": "[^"]*"/"reason": "rescheduled"/'
check "changed cancel fails" fails_with 'cancels: task_id ' "$T/cancel.jsonl"

mk rem '/"topic": "followup.reminders"/s/"channel": "[^"]*"/"channel": "push"/'
check "changed reminder fails" fails_with 'reminders: reminder_id ' "$T/rem.jsonl"

# ---- message follow-ups: by message_id, timed by send_at, keyed ----
M1=$(grep '"topic": "messages"' "$X" | head -n 1 |
    sed 's/.*"message_id": "\([^"]*\)".*/\1/')
MSG="\"message_id\": \"$M1\""
check "found a message" [ -n "$M1" ]
mk mmiss "/$MSG/d"
check "missing message fails" fails_with "messages: missing message_id $M1 due " "$T/mmiss.jsonl"
mk mextra "/$MSG/{p;s/$M1/m-000000000000000000xtra/;}"
check "extra message fails" fails_with "messages: unexpected message_id m-000000000000000000xtra" "$T/mextra.jsonl"
mk mchanged "/$MSG/s/\"template\": \"[^\"]*\"/\"template\": \"other_v2\"/"
check "changed message fails" fails_with "messages: message_id $M1 differs" "$T/mchanged.jsonl"
shift_ts mearly "$MSG" -1200
check "early message fails" fails_with "timing: message_id $M1 early by 1000 ms" "$T/mearly.jsonl"
shift_ts mlate "$MSG" 3000
check "late message fails" fails_with "timing: message_id $M1 late by 3200 ms" "$T/mlate.jsonl" --late-max-ms 2000
mk mkey "/$MSG/s/\"key\": \"[^\"]*\"/\"key\": \"u-somebody-else\"/"
check "message with a wrong key fails" fails_with 'key "u-somebody-else" but user_id' "$T/mkey.jsonl"
mk mtopic 's/"topic": "followup.messages"/"topic": "prod.messages"/'
check "a message on an unmapped topic is missing" fails_with "messages: missing message_id $M1" "$T/mtopic.jsonl"
check "--topic messages=... maps it" passes "$T/mtopic.jsonl" --topic messages=prod.messages

# ---- topics ----
mk srctopic 's/"source": {"topic": "wallet.events"/"source": {"topic": "other.events"/'
check "dead letter source topic checked" fails_with 'source.topic "other.events", expected "wallet.events"' "$T/srctopic.jsonl"
check "--input-topic" passes "$T/srctopic.jsonl" --input-topic other.events
mk srcoff 's/"source": {"topic": "wallet.events", "partition": 0, "offset": [0-9]*/"source": {"topic": "wallet.events", "partition": 0, "offset": -1/'
check "dead letter offset checked" fails_with 'source.partition/offset must be integers >= 0' "$T/srcoff.jsonl"

mk renamed 's/"topic": "followup.tasks"/"topic": "prod.tasks"/'
check "unmapped task topic fails" fails_with 'tasks: missing task_id' "$T/renamed.jsonl"
check "--topic maps it" passes "$T/renamed.jsonl" --topic tasks=prod.tasks

# ---- malformed lines are reported, never a crash ----
{
    cat "$A"
    echo 'this is not json'
    echo '[1, 2]'
    echo '{"at": null, "ts_ms": 5, "topic": "followup.tasks", "partition": 0, "offset": 1, "key": null, "value": "not json"}'
    echo '{"at": null, "ts_ms": 5, "topic": "followup.tasks", "partition": 0, "offset": 2, "key": "u-1", "value": {"action": "call", "user_id": "u-1"}}'
    echo '{"at": null, "ts_ms": 5, "topic": "followup.reminders", "partition": 0, "offset": 3, "key": "u-1", "value": {"user_id": "u-1"}}'
    echo '{"at": null, "ts_ms": 5, "topic": "followup.messages", "partition": 0, "offset": 3, "key": "u-1", "value": {"user_id": "u-1"}}'
    echo '{"at": null, "ts_ms": 5, "topic": "followup.dead_letter", "partition": 0, "offset": 4, "key": null, "value": {"error": 3}}'
    echo '{"at": null, "ts_ms": 5, "topic": "followup.tasks", "partition": 0, "offset": 5, "key": "u-1", "value": {"action": "snooze", "task_id": "t-x", "user_id": "u-1"}}'
    echo '{"at": null, "ts_ms": 5, "topic": "followup.decisions", "partition": 0, "offset": 6, "key": null, "value": [1]}'
    echo '{"topic": 7}'
    printf '\n   \n'
} >"$T/bad.jsonl"
check "malformed lines fail" fails_with 'input: ACTUAL line' "$T/bad.jsonl"
for what in 'not JSON: ' 'not a JSON object' 'tasks value is not a JSON object: "not json"' \
    'task lacks a string task_id' 'reminder lacks a string reminder_id' \
    'message lacks a string message_id' \
    'dead letter lacks a string error or payload' 'has action "snooze"' \
    'decisions value is not a JSON object' 'no string "topic"'; do
    check "malformed: $what" grep -qF "$what" "$T/out"
done
sed 's/"ts_ms": [0-9]*/"ts_ms": null/' "$A" >"$T/nots.jsonl"
check "missing timestamps fail" fails_with 'no integer ts_ms' "$T/nots.jsonl"
printf '{"at": "x", "topic": "calls", "key": null, "value": {}}\n' >"$T/exp-bad.jsonl"
run $E2E "$T/exp-bad.jsonl" "$A"
check "unknown expected topic fails" [ "$rc" -eq 1 ]
check "unknown expected topic said" grep -q 'EXPECTED line 1: unknown simulate topic "calls"' "$T/out"
# JSON text is UTF-8: an invalid byte is a problem, and the line is still
# compared as the daemon makes payloads valid (each bad byte U+FFFD)
printf '{"at": "1970-01-01T00:00:00Z", "topic": "dead_letter", "key": null, "value": {"error": "e", "source": {"topic": "f", "partition": 0, "offset": 1}, "payload": "x\377y"}}\n' >"$T/exp-utf8.jsonl"
printf '{"at": null, "ts_ms": 0, "topic": "followup.dead_letter", "partition": 0, "offset": 0, "key": null, "value": {"error": "e", "source": {"topic": "wallet.events", "partition": 0, "offset": 1}, "payload": "x\\uFFFDy"}}\n' >"$T/act-utf8.jsonl"
run $E2E "$T/exp-utf8.jsonl" "$T/act-utf8.jsonl"
check "invalid UTF-8 fails" [ "$rc" -eq 1 ]
check "invalid UTF-8 said" grep -q 'EXPECTED line 1: not valid UTF-8 (byte 0xff at column 161)' "$T/out"
check "invalid UTF-8 compared as U+FFFD" sh -c "! grep -q '^dead letters: [mpu]' '$T/out'"
run $E2E "$X" /dev/null
check "empty actual fails" [ "$rc" -eq 1 ]
check "empty actual: many problems, 10 shown a kind" grep -q '^decisions: \.\.\. and [0-9]* more' "$T/out"

# ---- usage ----
run $E2E "$X"
check "one file is usage" [ "$rc" -eq 2 ]
run $E2E "$X" "$A" --bogus
check "unknown option is usage" [ "$rc" -eq 2 ]
run $E2E "$X" "$A" --topic calls=x
check "unknown topic name is usage" [ "$rc" -eq 2 ]
run $E2E "$X" "$A" --topic tasks=followup.reminders
check "two kinds on one topic is usage" [ "$rc" -eq 2 ]
run $E2E "$X" "$A" --topic messages=followup.tasks
check "messages on the task topic is usage" [ "$rc" -eq 2 ]
run $E2E "$X" "$A" --late-max-ms -5
check "negative limit is usage" [ "$rc" -eq 2 ]
run $E2E "$X" "$T/no-such-file"
check "unreadable file exits 2" [ "$rc" -eq 2 ]
check "unreadable file says why" grep -q "cannot open" "$T/err"
run $E2E --help
check "--help exits 0" [ "$rc" -eq 0 ]
$E2E "$X" - <"$A" >"$T/out" 2>&1
check "ACTUAL from stdin" [ $? -eq 0 ]
report
