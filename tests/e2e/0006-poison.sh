#!/bin/sh
# Poison among good events: bad JSON, JSON that is not an object, missing
# and mistyped fields, an unknown timezone and outcome, invalid UTF-8, a
# 1 MiB payload. Each lands in the dead-letter topic with the reason and
# its source (payloads over 64 KiB cut and marked); the good events
# around them are decided as simulate decides them; nothing blocks.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
e2e_setup 12
start=$(date +%s)
sh tests/e2e/gen_events.sh 30 120 "$start" 66 >"$T/good.jsonl"
{
    head -n 60 "$T/good.jsonl"
    echo '[1, 2, 3]'
    echo '42'
    echo '"just a string"'
    echo '{}'
    echo '{"event_id": "", "type": "transaction", "user_id": "u-1", "occurred_at": 0}'
    echo '{"event_id": "x1", "type": 7, "user_id": "u-1", "occurred_at": 0}'
    echo '{"event_id": "x2", "type": "transaction", "user_id": "u-1", "occurred_at": "yesterday"}'
    printf '{"event_id": "x3\377\376", "type": "transaction", "user_id": "u-2", "occurred_at": 0}\n'
    printf '{"event_id": "x4", "type": "transaction", "user_id": "u-3", "occurred_at": %s000, "data": {"blob": "' "$start"
    head -c 1048576 /dev/zero | tr '\0' 'a'
    echo '"}}'
    tail -n +61 "$T/good.jsonl"
} >"$T/events.jsonl"
check "events produced (one of 1 MiB)" \
    "$KT" produce "$KBS" "$INPUT_TOPIC" "$T/events.jsonl" -X message.max.bytes=2000000
oracle "$T/events.jsonl" "$T/expected.jsonl"
check "the 1 MiB event is a dead letter in the oracle too" \
    grep -q '"payload_truncated": true' "$T/expected.jsonl"
sleep_until $((start + 3 + 15 + 2))
consume_outputs "$T/out.jsonl"
check "dead letters and good outputs are simulate's" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --late-max-ms 2000
check_schemas "$T/out.jsonl"
e2e_stop d1
check_committed "$T/events.jsonl"
check "no payload in the log" sh -c "! grep -q aaaaaaaa '$T/d1.log'"
report
