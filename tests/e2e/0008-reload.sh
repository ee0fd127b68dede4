#!/bin/sh
# SIGHUP while events flow. An invalid policy is refused with
# file:line:column and the old one keeps deciding; a valid one replaces it
# atomically, is logged with its version, and decides the next events.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
check "redis-server starts with AOF" start_redis --appendonly yes
check "mock cluster starts" start_kafka 3
live_policy 12
cp "$POLICY" "$T/policy-a.yaml"
# B adds a rule on user.seen events (which A ignores without a trace)
{ cat "$T/policy-a.yaml"; printf '  - id: seen\n    on: [user.seen]\n    callback: {delay: 12s, expires_after: 1h}\n'; } >"$T/policy-b.yaml"
sed 's/limit: 2, per: 1d/limit: two, per: 1d/' "$T/policy-a.yaml" >"$T/policy-bad.yaml"
va=$($FU check --policy "$T/policy-a.yaml" | sed -n 's/.*policy version //p')
vb=$($FU check --policy "$T/policy-b.yaml" | sed -n 's/.*policy version //p')
check "two policy versions" [ -n "$va" ] && [ -n "$vb" ] && [ "$va" != "$vb" ]
write_config d1
check "daemon starts" start_daemon d1
check "daemon joins the group" wait_log d1 '"msg":"partition assigned"' 15
pid=$(cat "$T/d1.pid")
start=$(date +%s)
sh tests/e2e/gen_events.sh 30 150 "$start" 81 a >"$T/a.jsonl"
produce "$T/a.jsonl" 3 & ppid=$!
sleep 0.3
cp "$T/policy-bad.yaml" "$POLICY"
kill -HUP "$pid"
check "invalid policy refused with file:line:col" \
    wait_log d1 "policy reload failed.*policy.yaml:[0-9]*:[0-9]*: " 5
wait $ppid
sh tests/e2e/gen_events.sh 30 150 "$(date +%s)" 82 b >"$T/b.jsonl"
check "events under the old policy" produce "$T/b.jsonl" 3
check "decided before the next reload" \
    wait_committed "$(cat "$T/a.jsonl" "$T/b.jsonl" | wc -l)" 15
cp "$T/policy-b.yaml" "$POLICY"
kill -HUP "$pid"
check "valid policy reloaded with its version" \
    wait_log d1 "\"msg\":\"policy reloaded\",\"version\":\"$vb\"" 5
c0=$(date +%s)
sh tests/e2e/gen_events.sh 30 150 "$c0" 83 c >"$T/c.jsonl"
check "events under the new policy" produce "$T/c.jsonl" 3
sleep_until $((c0 + 3 + 15 + 2))
consume_outputs "$T/out.jsonl"
check "daemon kept running" kill -0 "$pid"
grep '"followup.tasks"' "$T/out.jsonl" | grep '"rule_id": "seen"' >"$T/seen"
check "the new rule made calls ($(wc -l <"$T/seen"))" [ -s "$T/seen" ]
check "only for events after the reload" sh -c "! grep -v '\"event_id\": \"cs-' '$T/seen'"
grep '"followup.decisions"' "$T/out.jsonl" >"$T/decisions"
check "decisions before the reload carry the old version" sh -c \
    "grep -E '\"event_id\": \"[ab][ecp]-' '$T/decisions' | grep -v -q '\"policy_version\": \"$va\"' && exit 1 || exit 0"
check "decisions after the reload carry the new version" sh -c \
    "grep -E '\"event_id\": \"c[ecps]-' '$T/decisions' | grep -v -q '\"policy_version\": \"$vb\"' && exit 1 || exit 0"
check "some decisions after the reload" grep -q '"event_id": "ce-' "$T/decisions"
e2e_stop d1
report
