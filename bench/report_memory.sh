#!/bin/sh
# bench/report_memory.sh -- peak RSS of `followupd report` against the
# number of output lines (figures, not assertions; not in `make test`).
#
# A generator (python3, below) streams output lines in simulate's shape
# into `followupd report --format json -` through a pipe, so nothing is
# written to disk; /usr/bin/time -f %M gives the report's peak RSS. Ten
# lines a cycle: a scheduled record, its reminder, its call, a cancel of
# it, suppressions (a cap, a cooldown), a cancellation, a move, a
# duplicate and a dead letter, over 10 rules, 30 days and 4 zones.
#
#   ids=unique  every call has its own task_id (a real month): the only
#               thing that grows is the call table, 24 bytes a call in
#               slots kept at most 3/4 full (so 32-64 bytes a call)
#   ids=fixed   the calls reuse 1,000 task_ids: the same lines, the same
#               counters, and the memory stays where it is whatever the
#               number of lines
#
# usage: BUILD=build sh bench/report_memory.sh [SMALL [LARGE]]
#        (default 1000000 and 4000000 lines)
set -eu
BUILD=${BUILD:-build}
SMALL=${1:-1000000}
LARGE=${2:-4000000}
FU=$BUILD/followupd
[ -x "$FU" ] || { echo "build $FU first (make BUILD=$BUILD)" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

cat >"$T/gen.py" <<'EOF'
import sys
n, ids = int(sys.argv[1]), sys.argv[2]
zones = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"]
out = sys.stdout
w = out.write
for i in range(n // 10):
    rule = "rule-%d" % (i % 10)
    user = "u-%d" % (i % 1000003)
    task = "t-%021x" % (i if ids == "unique" else i % 1000)
    day = 1 + i % 30
    at = "2026-11-%02dT%02d:%02d:00Z" % (day, i % 24, i % 60)
    dec = ('{"at": "%s", "topic": "decisions", "key": "%s", "value": '
           '{"schema": "followupd.decision/v1", "event_id": "e-%d", '
           '"user_id": "%s", "rule_id": %s, "decision": "%s", '
           '"task_id": "%s", "due_at": "%s", "reason": %s, "at": "%s", '
           '"attempt": 1, "occurrence": 1, "policy_version": "v1"}}\n')
    w(dec % (at, user, i, user, '"%s"' % rule, "scheduled", task, at,
             "null", at))
    w('{"at": "%s", "topic": "reminders", "key": "%s", "value": {"schema": '
      '"followupd.reminder/v1", "reminder_id": "r-%d", "task_id": "%s", '
      '"user_id": "%s", "rule_id": "%s", "channel": "sms", "template": "n", '
      '"send_at": "%s", "callback_at": "%s", "timezone": "%s"}}\n'
      % (at, user, i, task, user, rule, at, at, zones[i % 4]))
    w('{"at": "%s", "topic": "tasks", "key": "%s", "value": {"schema": '
      '"followupd.task/v1", "action": "call", "task_id": "%s", "user_id": '
      '"%s", "rule_id": "%s", "policy_version": "v1", "priority": 0, '
      '"attempt": %d, "due_at": "%s", "not_after": "%s", "expires_at": "%s", '
      '"timezone": "%s", "script": null, "context": {}, "trigger": '
      '{"event_id": "e-%d", "type": "transaction", "occurred_at": "%s"}}}\n'
      % (at, user, task, user, rule, 1 + i % 3, at, at, at, zones[i % 4],
         i, at))
    w('{"at": "%s", "topic": "tasks", "key": "%s", "value": {"schema": '
      '"followupd.task/v1", "action": "cancel", "task_id": "%s", "user_id": '
      '"%s", "policy_version": "v1", "reason": "opt_out"}}\n'
      % (at, user, task, user))
    w(dec % (at, user, i, user, '"%s"' % rule, "suppressed", task, at,
             '"cap:calls-per-month"', at))
    w(dec % (at, user, i, user, '"%s"' % rule, "suppressed", task, at,
             '"cooldown"', at))
    w(dec % (at, user, i, user, '"%s"' % rule, "cancelled", task, at,
             '"opted_out"', at))
    w(dec % (at, user, i, user, '"%s"' % rule, "scheduled", task, at,
             '"rescheduled"', at))
    w(dec % (at, user, i, user, "null", "duplicate", task, at, "null", at))
    w('{"at": "1970-01-01T00:00:00Z", "topic": "dead_letter", "key": null, '
      '"value": {"schema": "followupd.dead_letter/v1", "error": "event must '
      'be a JSON object", "source": {"topic": "events", "partition": 0, '
      '"offset": %d}, "payload": "[1]"}}\n' % i)
EOF

# measure LINES IDS: prints "lines ids calls peak_kib seconds"
measure() {
    /usr/bin/python3 "$T/gen.py" "$1" "$2" |
        /usr/bin/time -f '%M %e' -o "$T/time" "$FU" report --format json - >"$T/rep.json"
    calls=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(d["total"]["calls"].values()))' "$T/rep.json")
    read -r kib secs <"$T/time"
    echo "$1 $2 $calls $kib $secs"
}

printf '%-9s  %-6s  %8s  %13s  %7s\n' lines ids calls "peak RSS KiB" seconds
for ids in unique fixed; do
    for n in "$SMALL" "$LARGE"; do
        measure "$n" "$ids" >"$T/row.$ids.$n"
        read -r l i c k s <"$T/row.$ids.$n"
        printf '%-9s  %-6s  %8s  %13s  %7s\n' "$l" "$i" "$c" "$k" "$s"
    done
done
read -r _ _ c1 k1 _ <"$T/row.unique.$SMALL"
read -r _ _ c2 k2 _ <"$T/row.unique.$LARGE"
read -r _ _ _ f1 _ <"$T/row.fixed.$SMALL"
read -r _ _ _ f2 _ <"$T/row.fixed.$LARGE"
echo "ids=fixed: $((f2 - f1)) KiB more for $((LARGE - SMALL)) more lines"
echo "ids=unique: $(( (k2 - k1) * 1024 / (c2 - c1) )) bytes a call more" \
     "($((c2 - c1)) more calls; the call table doubles, so this swings" \
     "between 32 and 64)"
