#!/bin/sh
# The daemon's job end to end, on real parts: a redis-server with AOF, a
# librdkafka mock cluster of 3 brokers, `followupd run`, a live stream
# produced through Kafka. What comes out of the output topics must be
# exactly what `simulate` decides for the same events (every task and
# reminder once per id, none early, none late, keyed by user_id;
# duplicates produce only `duplicate` records; malformed lines land in
# the dead-letter topic with their source); SIGTERM stops it with 0
# within 10 s having committed every offset; its log has no personal data.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
e2e_setup 12
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 300 "$start" 11 >"$T/events.jsonl"
check "events produced" produce "$T/events.jsonl" 5
oracle "$T/events.jsonl" "$T/expected.jsonl"
check "simulate gives the oracle" [ -s "$T/expected.jsonl" ]
sleep_until $((start + 3 + 15 + 2))
consume_outputs "$T/out.jsonl"
check "outputs are simulate's, on time, keyed by user_id" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --late-max-ms 2000
check_schemas "$T/out.jsonl"
check "every input event simulate accepts validates against the schema" \
    /usr/bin/python3 tests/tools/validate_schemas.py --events-vs-simulate \
    "$T/events.jsonl" "$T/expected.jsonl"
e2e_stop d1
check_committed "$T/events.jsonl"
check "dead letters logged by source, not payload" \
    grep -q '"msg":"dead letter","reason":.*"offset":' "$T/d1.log"
report
