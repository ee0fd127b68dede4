#!/bin/sh
# A cancel never reaches the dialer before the call it cancels (found by
# the soak, tests/soak/): calls fall due while every broker is down, the
# daemon is SIGKILLed holding them under a lease, the brokers come back,
# a new daemon starts and every user opts out at once. The cancels are
# written while the calls are still leased by the dead daemon; they must
# wait until the lease runs out and the calls have left (claim.lua keeps
# each user's messages in write order).
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
check "redis-server starts with AOF" start_redis --appendonly yes \
    --appendfsync always
check "mock cluster starts" start_kafka 3
cat >"$T/policy.yaml" <<'P'
version: 1
defaults:
  timezone: UTC
  call_window: {hours: ["00:00-24:00"]}
rules:
  - id: big
    on: [transaction]
    callback: {delay: 8s, expires_after: 1h}
P
POLICY=$T/policy.yaml
write_config d1
check "daemon starts" start_daemon d1
check "daemon joins the group" wait_log d1 '"msg":"partition assigned"' 15
t0=$(date +%s)
i=1
while [ $i -le 40 ]; do
    echo "{\"event_id\": \"e-$i\", \"type\": \"transaction\", \"user_id\": \"u-$i\", \"occurred_at\": $((t0 * 1000))}"
    i=$((i + 1))
done >"$T/a.jsonl"
check "triggers produced" produce "$T/a.jsonl"
sleep_until $((t0 + 5))
kmock down all
sleep_until $((t0 + 10)) # the calls fell due at t0 + 8: leased, not acked
check "daemon killed holding leased calls" kill_daemon d1
kmock up all
check "a new daemon starts" start_daemon d1
check "it joins the group" wait_log d1 '"msg":"partition assigned"' 30
i=1
while [ $i -le 40 ]; do
    echo "{\"event_id\": \"o-$i\", \"type\": \"user.preferences\", \"user_id\": \"u-$i\", \"occurred_at\": $(date +%s%3N), \"data\": {\"opt_out\": true}}"
    i=$((i + 1))
done >"$T/b.jsonl"
check "opt-outs produced while the calls are leased" produce "$T/b.jsonl"
sleep_until $((t0 + 35)) # the 15 s lease ran out at about t0 + 23
"$KT" consume "$KBS" followup.tasks --idle-ms 2000 >"$T/tasks.jsonl" 2>/dev/null
/usr/bin/python3 - "$T/tasks.jsonl" >"$T/order.txt" <<'PY'
import json, sys
first = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    v = r["value"]
    first.setdefault((v["task_id"], v["action"]), (r["partition"], r["offset"]))
calls = {t for t, a in first if a == "call"}
cancels = {t for t, a in first if a == "cancel"}
early = [t for t in calls & cancels
         if first[(t, "cancel")][1] < first[(t, "call")][1]]
print(len(calls), len(cancels), len(early))
PY
read -r ncalls ncancels nearly <"$T/order.txt"
check "every call left ($ncalls of 40)" [ "${ncalls:-0}" -eq 40 ]
check "every call got its cancel ($ncancels of 40)" [ "${ncancels:-0}" -eq 40 ]
check "no cancel before its call ($nearly early)" [ "${nearly:-1}" -eq 0 ]
e2e_stop d1
report
