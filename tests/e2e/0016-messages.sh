#!/bin/sh
# Message follow-ups (spec 4.2) end to end, on real parts: a redis-server
# with AOF, a librdkafka mock cluster of 3 brokers, `followupd run` with a
# policy of calls and messages (tests/e2e/policy-messages.yaml: a rule
# that calls or, for users who prefer it, sends a push message; a
# message-only sms rule with a repeat; an email rule that supersedes the
# first), a live stream of 30 users (tests/e2e/gen_message_events.sh)
# with channels turned off and on, follow_up_by, opt-outs, duplicates and
# dead letters. Every message `simulate` decides for the same events comes
# out on the messages topic once per message_id, keyed by user_id, none
# before its send_at and each within the lateness bound of the other e2e
# tests (2 s; 5 s under valgrind or ASan); the calls, reminders, decision
# records (with "kind": "message") and dead letters are simulate's too;
# followupd_messages_produced_total{channel} counts the messages by
# channel; every output validates against its schema; SIGTERM exits 0
# having committed every offset; the log has no personal data.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
E2E_POLICY=tests/e2e/policy-messages.yaml
e2e_setup 10
start=$(date +%s)
sh tests/e2e/gen_message_events.sh 30 240 "$start" 16 >"$T/events.jsonl"
check "events produced" produce "$T/events.jsonl" 5
oracle "$T/events.jsonl" "$T/expected.jsonl"
check "simulate gives the oracle" [ -s "$T/expected.jsonl" ]

# the stream exercises what it is for (a fixed seed: the same decisions
# whatever the start time)
for what in '"topic": "messages"' '"channel": "sms"' '"channel": "push"' \
    '"channel": "email"' '"action": "call"' '"topic": "reminders"' \
    '"kind": "message", "policy_version"' \
    '"decision": "suppressed", .*"reason": "channel_off", .*"kind": "message"' \
    '"decision": "cancelled", .*"reason": "channel_off", .*"kind": "message"' \
    '"decision": "cancelled", .*"reason": "opted_out", .*"kind": "message"' \
    '"reason": "cap:sms"' '"reason": "cap:messages"' '"occurrence": 2, "kind": "message"' \
    '"decision": "duplicate"' '"topic": "dead_letter"'; do
    check "the oracle has $what" grep -q -- "$what" "$T/expected.jsonl"
done

# wait until the last output simulate decides is 3 s overdue
last=$(sed -n 's/^{"at": "\([^"]*\)".*/\1/p' "$T/expected.jsonl" | sort | tail -n 1)
sleep_until $(( $(date -u -d "$last" +%s) + 3 ))
consume_outputs "$T/out.jsonl"

late=2000
[ -n "${VG:-}" ] && late=5000
case "$BUILD" in *asan*) late=5000 ;; esac
check "outputs are simulate's, on time, keyed by user_id" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --late-max-ms "$late"
nmsg=$(grep -c '"topic": "messages"' "$T/expected.jsonl")
check "every one of simulate's $nmsg messages came, once" \
    grep -q "^messages: expected $nmsg got $nmsg (copies $nmsg)\$" "$T/check.out"
check "every message timed, none early, none later than $late ms" \
    grep -q "^lateness ms of messages: max [0-9]* mean [0-9]* ($nmsg timed)\$" "$T/check.out"
check "the messages are on followup.messages" sh -c \
    "[ \$(grep -c '\"topic\": \"followup.messages\"' '$T/out.jsonl') -eq $nmsg ]"
check_schemas "$T/out.jsonl"

# the metric counts them, by channel
check "/metrics answers 200" [ "$(http_status d1 /metrics)" = 200 ]
cp "$T/body" "$T/metrics.txt"
metric() { # the sum of the samples starting with NAME_AND_LABELS
    awk -v p="$1" 'index($0, p) == 1 { s += $NF } END { print s + 0 }' "$T/metrics.txt"
}
check "followupd_messages_produced_total = simulate's ($nmsg)" \
    [ "$(metric 'followupd_messages_produced_total{')" -eq "$nmsg" ]
for ch in sms push email; do
    n=$(grep '"topic": "messages"' "$T/expected.jsonl" | grep -c "\"channel\": \"$ch\"")
    check "followupd_messages_produced_total{channel=\"$ch\"} = $n" \
        [ "$(metric "followupd_messages_produced_total{channel=\"$ch\"}")" -eq "$n" ]
done
n=$(grep '"topic": "decisions"' "$T/expected.jsonl" | grep '"kind": "message"' |
    grep -c '"reason": "channel_off"')
off=$(( $(metric 'followupd_decisions_total{decision="suppressed",reason="channel_off"}') +
       $(metric 'followupd_decisions_total{decision="cancelled",reason="channel_off"}') ))
check "decisions with reason channel_off counted ($n)" [ "$off" -eq "$n" ]
check "promtool check metrics passes" sh -c "promtool check metrics <'$T/metrics.txt'"

e2e_stop d1
check_committed "$T/events.jsonl"
sed -n 's/^lateness ms of messages: /message lateness ms: /p' "$T/check.out"
report
