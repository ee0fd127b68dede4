#!/bin/sh
# /metrics, /healthz and /readyz of a running daemon (spec 3.2 http.listen):
# the counters moved by exactly what simulate says the stream causes, the
# text passes `promtool check metrics`; /readyz turns 503 with a reason
# while redis-server is down and 200 again when it is back, /healthz stays
# 200; unknown paths 404, other methods 405. Then the daemon runs with
# text logs on events carrying personal data: none reaches the log.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
e2e_setup 12
check "/healthz answers 200" [ "$(http_status d1 /healthz)" = 200 ]
check "/readyz answers 200" [ "$(http_status d1 /readyz)" = 200 ]
check "unknown path: 404" [ "$(http_status d1 /nope)" = 404 ]
check "POST: 405" [ "$(http_status d1 /metrics -X POST -d x=1)" = 405 ]
check "HEAD: 200" [ "$(http_status d1 /healthz -I)" = 200 ]
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 300 "$start" 101 >"$T/events.jsonl"
check "events produced" produce "$T/events.jsonl" 3
oracle "$T/events.jsonl" "$T/expected.jsonl"
sleep_until $((start + 3 + 15 + 2))
check "/metrics answers 200" [ "$(http_status d1 /metrics)" = 200 ]
cp "$T/body" "$T/metrics.txt"
check "promtool check metrics passes" sh -c "promtool check metrics <'$T/metrics.txt'"

# metric NAME_AND_LABELS: the sum of the matching samples
metric() {
    awk -v p="$1" 'index($0, p) == 1 { s += $NF } END { print s + 0 }' "$T/metrics.txt"
}
# expected PATTERN: how many oracle lines match
expected() { grep -c -- "$1" "$T/expected.jsonl"; }
dl=$(expected '"topic": "dead_letter"')
valid=$(( $(wc -l <"$T/events.jsonl") - dl ))
untouched=$(grep -v -- '"occurred_at": true' "$T/events.jsonl" |
    grep -c -e '"type": "user.seen"' -e '"amount": 120,')
check "events consumed = valid events ($valid)" \
    [ "$(metric followupd_events_consumed_total)" -eq "$valid" ]
check "untouched events = those no rule matches ($untouched)" \
    [ "$(metric followupd_events_untouched_total)" -eq "$untouched" ]
check "dead letters = simulate's ($dl)" \
    [ "$(metric followupd_dead_letters_total)" -eq "$dl" ]
calls=$(expected '"action": "call"')
check "calls produced = simulate's ($calls)" \
    [ "$(metric 'followupd_tasks_produced_total{action="call"}')" -eq "$calls" ]
reminders=$(expected '"topic": "reminders"')
check "reminders produced = simulate's ($reminders)" \
    [ "$(metric followupd_reminders_produced_total)" -eq "$reminders" ]
for d in scheduled suppressed cancelled duplicate; do
    n=$(expected "\"decision\": \"$d\"")
    check "decisions $d = simulate's ($n)" \
        [ "$(metric "followupd_decisions_total{decision=\"$d\"")" -eq "$n" ]
done
n=$(expected '"reason": "cap:rule"')
check "suppressed cap:rule = simulate's ($n)" \
    [ "$(metric 'followupd_decisions_total{decision="suppressed",reason="cap:rule"}')" -eq "$n" ]
check "store calls timed" [ "$(metric 'followupd_store_call_duration_seconds_count{op="save"}')" -gt 0 ]
check "event-to-durable observed" [ "$(metric followupd_event_durable_latency_seconds_count)" -gt 0 ]
check "policy version exported" grep -q "^followupd_policy_info{version=\"[0-9a-f]*\"} 1" "$T/metrics.txt"
check "consumer lag exported" grep -q '^followupd_consumer_lag{topic="wallet.events",partition="[0-9]"}' "$T/metrics.txt"
check "ready gauge 1" [ "$(metric followupd_ready)" -eq 1 ]

# readiness follows Redis
stop_redis
ok=0
for i in $(seq 50); do
    [ "$(http_status d1 /readyz)" = 503 ] && { ok=1; break; }
    sleep 0.2
done
check "/readyz 503 while redis-server is down" [ $ok -eq 1 ]
check "... with the reason" grep -q '"reason": "redis unreachable"' "$T/body"
check "/healthz still 200" [ "$(http_status d1 /healthz)" = 200 ]
check "redis-server back" restart_redis --appendonly yes
ok=0
for i in $(seq 100); do
    [ "$(http_status d1 /readyz)" = 200 ] && { ok=1; break; }
    sleep 0.2
done
check "/readyz 200 again" [ $ok -eq 1 ]
e2e_stop d1

# text logs carry no personal data either
CFG_LOG_FORMAT=text write_config d2
check "daemon with text logs starts" start_daemon d2
check "it joins the group" wait_log d2 'partition assigned' 15
sh tests/e2e/gen_events.sh 40 100 "$(date +%s)" 102 t >"$T/more.jsonl"
check "events with personal data produced" produce "$T/more.jsonl" 2
check "decided (offsets committed)" wait_committed $(( $(wc -l <"$T/events.jsonl") + 100 )) 20
check "text log lines" grep -q ' INFO  started ' "$T/d2.log"
check "dead letters in the text log" grep -q 'WARN  dead letter reason=' "$T/d2.log"
e2e_stop d2
report
