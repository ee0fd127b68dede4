#!/bin/sh
# deploy/demo.sh BUILD -- `make demo`: the real daemon on the embedded
# default (config/demo/: librdkafka's mock cluster, state in memory, a
# policy with delays of seconds). It starts `followupd run`, feeds example
# stories into the input topic through Kafka, answers the dialer's calls
# with outcomes, prints every task, reminder, decision and dead letter as
# it comes out of the output topics, stops the daemon with SIGTERM, and
# ends with `followupd report` over what the run produced.
set -eu
BUILD=${1:-build}
FU=$BUILD/followupd
KT=$BUILD/tests/tools/kafka_tool
TID=$BUILD/tests/tools/taskid
work=$(mktemp -d)
dpid= cpid=
finish() {
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
    [ -n "$dpid" ] && kill "$dpid" 2>/dev/null
    rm -rf "$work"
}
trap finish EXIT
trap 'exit 1' INT TERM

t0=$(date +%s)
stamp() { printf '+%2ds' $(( $(date +%s) - t0 )); }
say() { echo "$(stamp)  $*"; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# one JSON field (first occurrence) of a line, for display only
field() {
    printf '%s\n' "$1" | sed -n "s/.*\"$2\": \"\{0,1\}\([^\",}]*\).*/\1/p"
}

show() {
    while IFS= read -r line; do
        key=$(field "$line" key)
        case $line in
        *'"topic": "followup.tasks"'*)
            say "TASK      $key $(field "$line" action) $(field "$line" task_id)" \
                "rule=$(field "$line" rule_id) attempt=$(field "$line" attempt)" \
                "due=$(field "$line" due_at) reason=$(field "$line" reason)" ;;
        *'"topic": "followup.reminders"'*)
            say "REMINDER  $key $(field "$line" channel) $(field "$line" template)" \
                "send_at=$(field "$line" send_at) call_at=$(field "$line" callback_at)" ;;
        *'"topic": "followup.messages"'*)
            say "MESSAGE   $key $(field "$line" channel) $(field "$line" template)" \
                "$(field "$line" message_id) send_at=$(field "$line" send_at)" ;;
        *'"topic": "followup.decisions"'*)
            say "DECISION  $key $(field "$line" decision) event=$(field "$line" event_id)" \
                "rule=$(field "$line" rule_id) reason=$(field "$line" reason)" \
                "due=$(field "$line" due_at)" ;;
        *'"topic": "followup.dead_letter"'*)
            say "DEADLTR   error=\"$(field "$line" error)\" source_offset=$(field "$line" offset)" ;;
        esac
    done
}

# wait_for PATTERN SECONDS: until an output line matches
wait_for() {
    i=0
    while ! grep -q "$1" "$work/out.jsonl" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt $(($2 * 10)) ] && { echo "demo: timed out waiting for $1" >&2; exit 1; }
        sleep 0.1
    done
}

produce() {
    printf '%s\n' "$@" > "$work/in.jsonl"
    cat "$work/in.jsonl" >> "$work/events.jsonl"
    "$KT" produce "$bs" wallet.events "$work/in.jsonl" --delay-ms 300 2>/dev/null
}

echo "== followupd run -c config/demo/followupd.yaml   (log: text, on stderr below)"
"$FU" run -c config/demo/followupd.yaml 2> "$work/daemon.log" &
dpid=$!
bs=
for i in $(seq 100); do
    bs=$(sed -n 's/.*bootstrap=\([^ ]*\).*/\1/p' "$work/daemon.log" | head -n 1)
    [ -n "$bs" ] && break
    sleep 0.1
done
[ -n "$bs" ] || { cat "$work/daemon.log"; echo "demo: the daemon did not start" >&2; exit 1; }
sed 's/^/    log: /' "$work/daemon.log"
: > "$work/out.jsonl"
"$KT" consume "$bs" followup.decisions,followup.reminders,followup.tasks,followup.messages,followup.dead_letter \
    --timeout-ms 90000 > "$work/out.jsonl" 2>/dev/null &
cpid=$!
tail --pid="$cpid" -f "$work/out.jsonl" | show &
spid=$!

now=$(date +%s)
say "producing 9 events into wallet.events (the mock cluster's group join takes ~3 s):"
say "  u-42 transfer 6200 CNY (matches large-transfer: reminder in 4 s, call in 8 s)"
say "  u-43 transfer 120 CNY (matches nothing: no trace, no state)"
say "  u-44 transfer 9000 CNY, then u-44 opts out (the pending call is cancelled)"
say "  u-45 transfer 7000 CNY, then a resolved complaint (supersedes the transfer call)"
say "  u-46 registers (welcome-survey: an SMS survey message in 6 s, no call)"
say "  a line that is not JSON (dead letter), and u-42's transfer again (duplicate)"
produce \
 "{\"event_id\": \"e-1001\", \"type\": \"transaction\", \"user_id\": \"u-42\", \"occurred_at\": \"$(iso $now)\", \"data\": {\"amount\": 6200.00, \"currency\": \"CNY\", \"status\": \"succeeded\"}}" \
 "{\"event_id\": \"e-1002\", \"type\": \"transaction\", \"user_id\": \"u-43\", \"occurred_at\": \"$(iso $now)\", \"data\": {\"amount\": 120.00, \"currency\": \"CNY\", \"status\": \"succeeded\"}}" \
 "{\"event_id\": \"e-1003\", \"type\": \"transaction\", \"user_id\": \"u-44\", \"occurred_at\": \"$(iso $now)\", \"data\": {\"amount\": 9000, \"currency\": \"CNY\", \"status\": \"succeeded\"}}" \
 "{\"event_id\": \"p-1004\", \"type\": \"user.preferences\", \"user_id\": \"u-44\", \"occurred_at\": \"$(iso $((now + 1)))\", \"data\": {\"opt_out\": true}}" \
 "{\"event_id\": \"e-1005\", \"type\": \"transaction\", \"user_id\": \"u-45\", \"occurred_at\": \"$(iso $now)\", \"data\": {\"amount\": 7000, \"currency\": \"CNY\", \"status\": \"succeeded\"}}" \
 "{\"event_id\": \"e-1006\", \"type\": \"complaint.resolved\", \"user_id\": \"u-45\", \"occurred_at\": \"$(iso $((now + 1)))\", \"data\": {\"case\": \"c-77\"}}" \
 "{\"event_id\": \"e-1007\", \"type\": \"user.registered\", \"user_id\": \"u-46\", \"occurred_at\": \"$(iso $now)\", \"data\": {\"channel\": \"app\"}}" \
 "this line is not JSON" \
 "{\"event_id\": \"e-1001\", \"type\": \"transaction\", \"user_id\": \"u-42\", \"occurred_at\": \"$(iso $now)\", \"data\": {\"amount\": 6200.00, \"currency\": \"CNY\", \"status\": \"succeeded\"}}"

t1=$("$TID" u-42 large-transfer e-1001 1 1 0)
wait_for "\"action\": \"call\", \"task_id\": \"$t1\"" 30
say "the dialer calls u-42 and nobody answers: outcome no_answer (retry in 5 s)"
produce "{\"event_id\": \"o-2001\", \"type\": \"callback.outcome\", \"user_id\": \"u-42\", \"occurred_at\": \"$(iso "$(date +%s)")\", \"data\": {\"task_id\": \"$t1\", \"outcome\": \"no_answer\"}}"

t2=$("$TID" u-42 large-transfer e-1001 1 2 0)
wait_for "\"action\": \"call\", \"task_id\": \"$t2\"" 30
say "attempt 2 is answered: outcome answered (a cooldown of 1 h starts)"
produce "{\"event_id\": \"o-2002\", \"type\": \"callback.outcome\", \"user_id\": \"u-42\", \"occurred_at\": \"$(iso "$(date +%s)")\", \"data\": {\"task_id\": \"$t2\", \"outcome\": \"answered\"}}"

t3=$("$TID" u-45 complaint-resolved e-1006 1 1 0)
wait_for "\"task_id\": \"$t3\", \"user_id\"" 30
wait_for '"topic": "followup.messages"' 30
sleep 1
say "stopping the daemon with SIGTERM"
kill -TERM "$dpid"
rc=0
wait "$dpid" || rc=$?
dpid=
grep -E 'stopping|progress|stopped' "$work/daemon.log" | sed 's/^/    log: /'
kill "$cpid" 2>/dev/null; wait "$spid" 2>/dev/null || true
cpid=
say "followupd exited with $rc; outputs by topic:"
for t in tasks reminders messages decisions dead_letter; do
    printf '    %-22s %s\n' "followup.$t" "$(grep -c "\"topic\": \"followup.$t\"" "$work/out.jsonl" || true)"
done
echo
echo "== followupd report --events EVENTS OUTPUTS   (what this run did, spec 3.7)"
# the consumed topics in simulate's shape: topic names without the prefix
sed 's/"topic": "followup\.\([a-z_]*\)"/"topic": "\1"/' "$work/out.jsonl" \
    > "$work/outputs.jsonl"
"$FU" report --events "$work/events.jsonl" "$work/outputs.jsonl" || rc=1
echo "Next: README.md (running against a real Kafka and Redis), config/followupd.yaml."
exit "$rc"
