#!/bin/sh
# followupd report (spec 3.7): the figures of every simulate story agree
# with an independent count (tests/tools/report_oracle.py); --compare of a
# policy with itself has an empty diff and its halves equal the report of
# simulate's output; a tightened cap shows exactly the change two simulate
# runs give; message follow-ups (spec 4.2) are counted apart from calls,
# per rule, in JSON, text and --compare; the waits for the dialer (spec
# 4.3, pacing) of 4 against 2 calls a minute, exactly as two simulate runs
# give; text tables; malformed lines; exit codes.
. tests/cli/lib.sh

case $BUILD in /*) ABS=$BUILD ;; *) ABS=$PWD/$BUILD ;; esac
FUA="${VG:-} $ABS/followupd"
ORACLE="/usr/bin/python3 $PWD/tests/tools/report_oracle.py"

# json FILE EXPR: print the Python expression EXPR of the JSON object d
json() {
    /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

for dir in tests/sim/*/; do
    [ -f "$dir/events.jsonl" ] || continue
    s=$(basename "$dir")
    (
        cd "$dir" || exit 1
        $FUA simulate --policy policy.yaml events.jsonl >"$T/$s.out" 2>/dev/null &&
        $FUA report --format json --events events.jsonl "$T/$s.out" >"$T/$s.json" &&
        $FUA report --compare policy.yaml policy.yaml --format json \
            events.jsonl >"$T/$s.cmp"
    )
    check "$s: report and compare run" [ $? -eq 0 ]
    check "$s: figures agree with an independent count" \
        $ORACLE "$T/$s.out" "$dir/events.jsonl" "$T/$s.json"
    check "$s: compare with itself has an empty diff" \
        [ "$(json "$T/$s.cmp" 'd["diff"]')" = "{}" ]
    check "$s: compare's halves are the report of simulate's output" \
        [ "$(json "$T/$s.cmp" 'd["old"] == d["new"] == json.load(open(sys.argv[1].replace(".cmp", ".json")))')" = True ]
done

# A tightened cap: 05-caps-drop's calls-per-month from 2 down to 1, over
# twelve users with four events each (in time order: simulate's clock
# only moves forward).
P=tests/sim/05-caps-drop/policy.yaml
sed 's/limit: 2$/limit: 1/' $P >"$T/tight.yaml"
check "the tightened policy differs" sh -c "! cmp -s $P '$T/tight.yaml'"
: >"$T/cap-events.jsonl"
for day in 01 05 12 20; do
    ty=b
    [ "$day" = 05 ] && ty=a
    for u in 10 11 12 13 14 15 16 17 18 19 20 21; do
        echo "{\"event_id\": \"e$u-$day\", \"type\": \"$ty\", \"user_id\": \"u-$u\", \"occurred_at\": \"2026-11-${day}T$u:00:00Z\"}" >>"$T/cap-events.jsonl"
    done
done
$FUA simulate --policy $P "$T/cap-events.jsonl" >"$T/cap-old.out"
$FUA simulate --policy "$T/tight.yaml" "$T/cap-events.jsonl" >"$T/cap-new.out"
run $FUA report --compare $P "$T/tight.yaml" --format json "$T/cap-events.jsonl"
check "compare of a tightened cap exits 0" [ "$rc" -eq 0 ]
cp "$T/out" "$T/cap.json"
cat >"$T/cap.py" <<'EOF'
import json, sys
def counts(path):
    calls = caps = 0
    per = {}
    for line in open(path):
        o = json.loads(line)
        v = o["value"]
        if o["topic"] == "tasks" and v["action"] == "call":
            calls += 1
        if o["topic"] == "decisions" and v["decision"] == "suppressed":
            per[v["reason"]] = per.get(v["reason"], 0) + 1
            caps += v["reason"].startswith("cap:")
    return calls, caps, per
oc, ocap, oper = counts(sys.argv[1])
nc, ncap, nper = counts(sys.argv[2])
d = json.load(open(sys.argv[3]))["diff"]
got_caps = sum(n for r, n in d.get("suppressed", {}).items() if r.startswith("cap:"))
want_per = {r: nper.get(r, 0) - oper.get(r, 0) for r in set(oper) | set(nper)}
want_per = {r: n for r, n in want_per.items() if n}
ok = (nc < oc and ncap > ocap and sum(d["calls"].values()) == nc - oc and
      got_caps == ncap - ocap and d.get("suppressed", {}) == want_per)
print(oc, nc, ocap, ncap, d)
sys.exit(0 if ok else 1)
EOF
check "fewer calls, more cap: suppressions, by what simulate gives" \
    /usr/bin/python3 "$T/cap.py" "$T/cap-old.out" "$T/cap-new.out" "$T/cap.json"

run sh -c "$FUA report --compare $P '$T/tight.yaml' --format json - < '$T/cap-events.jsonl'"
check "compare reads events from stdin the same" cmp -s "$T/out" "$T/cap.json"

run $FUA report --compare $P "$T/tight.yaml" "$T/cap-events.jsonl"
check "compare as text: old | new | diff (no relative, no waits: no pacing)" sh -c "
    ! grep -Eq '^(calls_waited|wait_seconds_)' '$T/out' &&
    head -n 1 '$T/out' | grep -Eq '^total +old +new +diff$' &&
    grep -Eq '^calls 1 +[0-9]+ +[0-9]+ +-[0-9]+$' '$T/out'"

# Message follow-ups apart from calls: the policy and stream of
# tests/e2e/0016-messages.sh at a fixed time (calls, push, sms and email
# messages; channel_off, caps, opt-outs, supersession), whatever stories
# tests/sim holds.
sed 's/@DELAY@/10/g; s/@DELAY2@/13/g' tests/e2e/policy-messages.yaml >"$T/msg.yaml"
sh tests/e2e/gen_message_events.sh 30 240 1763630100 16 >"$T/msg-events.jsonl"
$FUA simulate --policy "$T/msg.yaml" "$T/msg-events.jsonl" >"$T/msg.out" 2>/dev/null
run $FUA report --format json --events "$T/msg-events.jsonl" "$T/msg.out"
check "messages: report runs" [ "$rc" -eq 0 ]
cp "$T/out" "$T/msg.json"
check "messages: figures agree with an independent count" \
    $ORACLE "$T/msg.out" "$T/msg-events.jsonl" "$T/msg.json"
check "messages: decided, scheduled, suppressed and cancelled by reason, per rule" \
    /usr/bin/python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
t, w = d['total'], d['rules']['welcome']
assert t['messages_decided'] == t['messages_scheduled'] + sum(t['messages_suppressed'].values())
assert t['messages_scheduled'] > 0 and w['messages_scheduled'] > 0
assert w['messages_suppressed'].get('channel_off', 0) > 0
assert w['messages_suppressed'].get('cap:sms', 0) > 0
assert t['messages_cancelled'].get('channel_off', 0) > 0
assert d['rules']['survey']['messages_decided'] > 0
assert d['rules']['big']['messages_decided'] > 0
assert 'cap:rule' in t['suppressed'] and 'cap:rule' not in t['messages_suppressed']
" "$T/msg.json"
run $FUA report --compare "$T/msg.yaml" "$T/msg.yaml" --format json "$T/msg-events.jsonl"
cp "$T/out" "$T/msg.cmp"
check "messages: compare with itself runs" [ "$rc" -eq 0 ]
check "messages: ... has an empty diff, and its halves are the report" \
    [ "$(json "$T/msg.cmp" 'd["diff"] == {} and d["old"] == d["new"] == json.load(open(sys.argv[1].replace(".cmp", ".json")))')" = True ]
sed 's/count: messages.sms, limit: 2,/count: messages.sms, limit: 1,/' "$T/msg.yaml" >"$T/msg-tight.yaml"
check "messages: the tightened policy (sms cap 1) differs" sh -c "! cmp -s '$T/msg.yaml' '$T/msg-tight.yaml'"
$FUA simulate --policy "$T/msg-tight.yaml" "$T/msg-events.jsonl" >"$T/msg-tight.out" 2>/dev/null
run $FUA report --compare "$T/msg.yaml" "$T/msg-tight.yaml" --format json "$T/msg-events.jsonl"
cp "$T/out" "$T/msg-tight.cmp"
check "messages: a tighter sms cap: fewer sms sent, more cap:sms, as simulate gives" \
    /usr/bin/python3 -c "
import json, sys
def sent(path):
    return sum(1 for l in open(path) if json.loads(l)['topic'] == 'messages' and
               json.loads(l)['value']['channel'] == 'sms')
old, new = sent(sys.argv[1]), sent(sys.argv[2])
d = json.load(open(sys.argv[3]))['diff']
assert new < old and d['messages']['sms'] == new - old, (old, new, d)
assert d['messages_suppressed']['cap:sms'] > 0 and d['messages_scheduled'] < 0, d
" "$T/msg.out" "$T/msg-tight.out" "$T/msg-tight.cmp"
run $FUA report --events "$T/msg-events.jsonl" "$T/msg.out"
check "messages: text has the message follow-ups table" grep -Eq \
    '^message follow-ups +decided +scheduled +sent +suppressed +cancelled +moved$' "$T/out"
sed -n '/^message follow-ups /,/^$/p' "$T/out" >"$T/msg-table"
for r in total big survey welcome; do
    want=$(json "$T/msg.json" "' +'.join(str(x) for x in (lambda f: [f['messages_decided'], f['messages_scheduled'], sum(f['messages'].values()), sum(f['messages_suppressed'].values()), sum(f['messages_cancelled'].values()), sum(f['messages_moved'].values())])(d['total'] if '$r' == 'total' else d['rules']['$r']))")
    check "messages: text row $r holds the JSON's figures ($want)" \
        grep -Eq "^$r +$want\$" "$T/msg-table"
done
check "messages: text tables of message suppressions and cancellations by reason" sh -c "
    grep -Eq '^messages suppressed by reason +total +big +survey +welcome\$' '$T/out' &&
    grep -Eq '^messages cancelled by reason +total ' '$T/out'"
run $FUA report --compare "$T/msg.yaml" "$T/msg-tight.yaml" "$T/msg-events.jsonl"
check "messages: compare text: messages by rule, message rows in the totals" sh -c "
    grep -Eq '  messages old +new +diff\$' '$T/out' &&
    grep -Eq '^messages_suppressed cap:sms +[0-9]+ +[0-9]+ +[+][0-9]+\$' '$T/out'"

# Waiting for the dialer (spec 4.3): "what if the call centre had fewer
# agents". Two policies differing only in calls_per_minute (4 old, 2 new)
# over a burst: ten calls fall due at 09:00 (window 09:00-10:00, UTC,
# 2026-11-02 a Monday): u-1..u-3 vip (priority 80), u-4..u-9 order (20),
# u-10 low (5) with its own window 09:00-09:03 (not_after 09:03).
# By hand: at 4 a minute, 09:00 serves the 3 vips and an order, 09:01
# four orders (60 s late), 09:02 the last order and low (120 s): 6
# waited, 480 s, max 120. At 2 a minute: 09:00 two vips, 09:01 vip and
# order (60), 09:02 two orders (120), 09:03 low's not_after comes while it
# waits: moved (reason paced) to 11-03T09:00, where it leaves on time;
# two orders (180); 09:04 the last order (240): 7 waited, 960 s, max 240,
# 1 paced. The figures are checked against an independent count over the
# two simulate outputs, and against these numbers.
cat >"$T/pace4.yaml" <<'EOF'
version: 1
defaults:
  timezone: UTC
  call_window: {hours: ["09:00-10:00"]}
  pacing: {calls_per_minute: 4}
rules:
  - id: vip
    on: [vip]
    callback: {expires_after: 1d, priority: 80}
  - id: order
    on: [order]
    callback: {expires_after: 1d, priority: 20}
  - id: low
    on: [visit]
    callback: {expires_after: 2d, priority: 5}
EOF
sed 's/calls_per_minute: 4/calls_per_minute: 2/' "$T/pace4.yaml" >"$T/pace2.yaml"
echo '{"event_id": "p10", "type": "user.preferences", "user_id": "u-10", "occurred_at": "2026-11-02T07:00:00Z", "data": {"call_window": {"hours": ["09:00-09:03"]}}}' >"$T/pace-events.jsonl"
for u in 1 2 3 4 5 6 7 8 9 10; do
    ty=order
    [ $u -le 3 ] && ty=vip
    [ $u -eq 10 ] && ty=visit
    echo "{\"event_id\": \"e$u\", \"type\": \"$ty\", \"user_id\": \"u-$u\", \"occurred_at\": \"2026-11-02T08:00:00Z\"}" >>"$T/pace-events.jsonl"
done
$FUA simulate --policy "$T/pace4.yaml" "$T/pace-events.jsonl" >"$T/pace4.out"
$FUA simulate --policy "$T/pace2.yaml" "$T/pace-events.jsonl" >"$T/pace2.out"
run $FUA report --compare "$T/pace4.yaml" "$T/pace2.yaml" --format json "$T/pace-events.jsonl"
check "pacing: compare of 4 and 2 calls a minute exits 0" [ "$rc" -eq 0 ]
cp "$T/out" "$T/pace.cmp"
for half in old new; do
    json "$T/pace.cmp" "json.dumps(d['$half'])" >"$T/pace-$half.json"
done
check "pacing: old half agrees with an independent count of simulate's output" \
    $ORACLE "$T/pace4.out" "$T/pace-events.jsonl" "$T/pace-old.json"
check "pacing: new half agrees with an independent count of simulate's output" \
    $ORACLE "$T/pace2.out" "$T/pace-events.jsonl" "$T/pace-new.json"
cat >"$T/pace.py" <<'EOF'
import json, sys
from datetime import datetime
def secs(s):
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())
def waits(path):
    """(calls, waited, total, max, paced) over the lines, and per rule."""
    per = {}
    for line in open(path):
        o = json.loads(line)
        v = o["value"]
        if o["topic"] == "tasks" and v["action"] == "call":
            f = per.setdefault(v["rule_id"], [0, 0, 0, 0, 0])
            w = secs(o["at"]) - secs(v["due_at"])
            f[0] += 1
            if w > 0:
                f[1] += 1
                f[2] += w
                f[3] = max(f[3], w)
        elif (o["topic"] == "decisions" and v["decision"] == "scheduled"
              and v.get("reason") == "paced"):
            per.setdefault(v["rule_id"], [0, 0, 0, 0, 0])[4] += 1
    tot = [sum(f[i] for f in per.values()) for i in range(5)]
    tot[3] = max([f[3] for f in per.values()] + [0])
    return tot, per
(old, oper), (new, nper) = waits(sys.argv[1]), waits(sys.argv[2])
d = json.load(open(sys.argv[3]))
def figs(f):
    return [sum(f["calls"].values()), f["calls_waited"],
            f["wait_seconds_total"], f["wait_seconds_max"],
            f["moved"].get("paced", 0)]
print("old (4/min): calls, waited, wait_s, max_s, paced =", old,
      " new (2/min):", new, " diff:", d["diff"])
assert figs(d["old"]["total"]) == old and figs(d["new"]["total"]) == new
for r in set(oper) | set(nper):
    assert figs(d["old"]["rules"][r]) == oper.get(r, [0] * 5), r
    assert figs(d["new"]["rules"][r]) == nper.get(r, [0] * 5), r
# fewer calls a minute: more calls wait, and longer, by what simulate gives
assert new[1] > old[1] and new[2] > old[2] and new[3] > old[3]
want = {"calls_waited": new[1] - old[1], "wait_seconds_total": new[2] - old[2],
        "wait_seconds_max": new[3] - old[3]}
assert all(d["diff"][k] == n for k, n in want.items()), d["diff"]
assert d["diff"]["moved"] == {"paced": new[4] - old[4]}, d["diff"]
# and the numbers worked out by hand above
assert old == [10, 6, 480, 120, 0] and new == [10, 7, 960, 240, 1], (old, new)
EOF
check "pacing: 2 a minute waits more than 4, by what simulate's outputs give" \
    /usr/bin/python3 "$T/pace.py" "$T/pace4.out" "$T/pace2.out" "$T/pace.cmp"
run $FUA report --compare "$T/pace4.yaml" "$T/pace2.yaml" "$T/pace-events.jsonl"
cp "$T/out" "$T/pace-cmp.txt"
check "pacing: compare text has a relative column and the wait rows" sh -c "
    head -n 1 '$T/pace-cmp.txt' | grep -Eq '^total +old +new +diff +relative\$' &&
    grep -Eq '^calls_waited +6 +7 +[+]1 +[+]16[.]7%\$' '$T/pace-cmp.txt' &&
    grep -Eq '^wait_seconds_total +480 +960 +[+]480 +[+]100[.]0%\$' '$T/pace-cmp.txt' &&
    grep -Eq '^wait_seconds_max +120 +240 +[+]120 +[+]100[.]0%\$' '$T/pace-cmp.txt' &&
    grep -Eq '^wait_seconds_mean +48[.]0 +96[.]0 +[+]48[.]0 +[+]100[.]0%\$' '$T/pace-cmp.txt' &&
    grep -Eq '^moved paced +0 +1 +[+]1 +-\$' '$T/pace-cmp.txt' &&
    grep -Eq '^scheduled +[0-9]+ +[0-9]+ +0\$' '$T/pace-cmp.txt'"
check "pacing: compare text: waits by rule" sh -c "
    grep -Eq '  waited old +new +diff +wait_s old +new +diff\$' '$T/pace-cmp.txt' &&
    grep -Eq '^low( +[0-9]+ +[0-9]+ +[-+]?[0-9]+){4} +1 +0 +-1 +120 +0 +-120\$' '$T/pace-cmp.txt'"
run $FUA report --format json "$T/pace2.out"
cp "$T/out" "$T/pace2.json"
run $FUA report "$T/pace2.out"
check "pacing: text has the table of waits" grep -Eq \
    '^waiting for the dialer [(]pacing[)] +calls +waited +wait_s +mean_s +max_s +paced$' "$T/out"
sed -n '/^waiting for the dialer /,/^$/p' "$T/out" >"$T/wait-table"
for r in total low order vip; do
    want=$(json "$T/pace2.json" "' +'.join(str(x) for x in (lambda f: [sum(f['calls'].values()), f['calls_waited'], f['wait_seconds_total'], '%.1f' % (f['wait_seconds_total'] / sum(f['calls'].values())), f['wait_seconds_max'], f['moved'].get('paced', 0)])(d['total'] if '$r' == 'total' else d['rules']['$r']))")
    check "pacing: text row $r of the waits holds the JSON's figures ($want)" \
        grep -Eq "^$r +$want\$" "$T/wait-table"
done
check "pacing: the waits come right after the calls by attempt" sh -c "
    grep -A4 '^calls by attempt' '$T/out' | grep -q '^waiting for the dialer'"

# Text tables, from story 09's output.
S=tests/sim/09-outcomes
run $FUA report --events $S/events.jsonl "$T/09-outcomes.out"
check "text report exits 0" [ "$rc" -eq 0 ]
check "text: the totals table's header" sh -c \
    "head -n 1 '$T/out' | grep -Eq '^rule +scheduled +suppressed +cancelled +moved +calls '"
sched=$(json "$T/09-outcomes.json" 'd["total"]["scheduled"]')
calls=$(json "$T/09-outcomes.json" 'sum(d["total"]["calls"].values())')
check "text: the total row holds the JSON's figures" sh -c \
    "grep -Eq '^total +$sched +[0-9]+ +[0-9]+ +[0-9]+ +$calls ' '$T/out'"
check "text: a row per rule" grep -Eq '^txn +[0-9]+ ' "$T/out"
check "text: columns line up (the first table's 4 lines, one length)" sh -c \
    "[ \$(sed -n 1,4p '$T/out' | awk '{ print length(\$0) }' | sort -u | wc -l) -eq 1 ]"
check "text: a section per map" grep -q '^outcomes  *total  *txn$' "$T/out"
check "text: no table of waits when no call waited (no pacing)" sh -c \
    "! grep -q 'waiting for the dialer' '$T/out'"

# stdin, malformed lines, exit codes.
run sh -c "$FUA report --format json --events $S/events.jsonl - < '$T/09-outcomes.out'"
check "outputs from stdin give the same report" sh -c \
    "[ $rc -eq 0 ] && cmp -s '$T/out' '$T/09-outcomes.json'"
{ echo 'not json'; cat "$T/09-outcomes.out"; echo '{"topic": "tasks"}'; } >"$T/bad.out"
run $FUA report --format json --events $S/events.jsonl "$T/bad.out"
check "malformed lines are skipped, the rest counted" sh -c \
    "[ $rc -eq 0 ] && cmp -s '$T/out' '$T/09-outcomes.json'"
check "malformed lines are told on stderr" sh -c "
    grep -q ':1: skipped: invalid JSON' '$T/err' &&
    grep -q '2 malformed output lines skipped' '$T/err'"

run $FUA report
check "no OUTPUTS: usage, exit 2" [ "$rc" -eq 2 ]
run $FUA report a.jsonl b.jsonl
check "two OUTPUTS: exit 2" [ "$rc" -eq 2 ]
run $FUA report --format xml "$T/09-outcomes.out"
check "unknown format: exit 2" [ "$rc" -eq 2 ]
run $FUA report --bogus "$T/09-outcomes.out"
check "unknown option: exit 2" [ "$rc" -eq 2 ]
run $FUA report --compare $P "$T/cap-events.jsonl"
check "--compare with one policy: exit 2" [ "$rc" -eq 2 ]
run $FUA report -c config/followupd.yaml "$T/09-outcomes.out"
check "-c without --compare: exit 2" [ "$rc" -eq 2 ]
run $FUA report --events - -
check "outputs and events both stdin: exit 2" [ "$rc" -eq 2 ]
run $FUA report --html "$T/r.html" "$T/09-outcomes.out"
check "--html writes the page and still prints the report" sh -c \
    "[ $rc -eq 0 ] && grep -q '</html>' '$T/r.html' && [ -s '$T/out' ]"
run $FUA report "$T/missing.jsonl"
check "missing OUTPUTS: exit 1" [ "$rc" -eq 1 ]
run $FUA report --events "$T/missing.jsonl" "$T/09-outcomes.out"
check "missing EVENTS: exit 1" [ "$rc" -eq 1 ]
echo 'version: 1' >"$T/broken.yaml"
run $FUA report --compare $P "$T/broken.yaml" "$T/cap-events.jsonl"
check "invalid NEW policy: exit 1 with file:line:col" sh -c \
    "[ $rc -eq 1 ] && grep -q 'broken.yaml:[0-9]*:[0-9]*:' '$T/err'"
run $FUA report --compare -c "$T/missing.yaml" $P $P "$T/cap-events.jsonl"
check "missing -c CONFIG: exit 1" [ "$rc" -eq 1 ]
run $FUA report --compare -c config/followupd.yaml $P $P "$T/cap-events.jsonl"
check "-c CONFIG with --compare: exit 0" [ "$rc" -eq 0 ]
run $FUA report --help
check "--help: exit 0, usage on stdout" sh -c \
    "[ $rc -eq 0 ] && grep -q 'followupd report   --compare OLD.yaml NEW.yaml' '$T/out'"

report
