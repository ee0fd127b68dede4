#!/bin/sh
# Items that fall due while the daemon is stopped leave as soon as it is
# back (spec 4, Delivery): the daemon is stopped cleanly after deciding a
# stream and started again 6 s after the first calls fell due; every
# task and reminder simulate decides comes out, none early, and the
# overdue ones within 3 s of the restart (10 s under valgrind or ASan,
# where the daemon takes seconds longer to start on a loaded machine).
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
e2e_setup 10
start=$(date +%s)
sh tests/e2e/gen_events.sh 40 200 "$start" 111 >"$T/events.jsonl"
check "events produced" produce "$T/events.jsonl" 2
check "decided (offsets committed)" wait_committed "$(wc -l <"$T/events.jsonl")" 10
check "stopped before anything fell due" stop_daemon d1
check "... with nothing emitted yet" sh -c \
    "! $KT consume $KBS followup.tasks,followup.reminders --idle-ms 1000 2>/dev/null | grep -q task_id"
sleep_until $((start + 10 + 6))
restart=$(date +%s)
check "daemon restarts" start_daemon d1
oracle "$T/events.jsonl" "$T/expected.jsonl"
sleep_until $((start + 3 + 13 + 6))
consume_outputs "$T/out.jsonl"
# the first reminders fell due at start + 10 - 4 (lead 4 s); a daemon
# under valgrind takes seconds longer to start
slack=3
[ -n "${VG:-}" ] && slack=10
case "$BUILD" in *asan*) slack=10 ;; esac
late=$(( (restart - start - 6 + slack) * 1000 ))
check "outputs are simulate's; the overdue ones left at start" \
    e2e_check "$T/expected.jsonl" "$T/out.jsonl" --allow-redelivery \
    --late-max-ms "$late"
max=$(sed -n 's/^lateness ms: max \([0-9]*\).*/\1/p' "$T/check.out")
check "some items were overdue when the daemon came back (max $max ms)" \
    [ "${max:-0}" -gt 2000 ]
e2e_stop d1
report
