#!/bin/sh
# followupd report --html (spec 3.7): one self-contained page that passes
# `tidy -errors` (Debian's tidy), for a report and for --compare, with the
# tables and the three charts (calls per day by rule, suppressions by
# reason, local hours), no script and nothing fetched; message follow-ups
# (spec 4.2) get their own tables by rule; the waits for the dialer
# (spec 4.3, pacing) are in the totals and by rule only when a call
# waited. The screenshot in a real browser is `make report-shot`
# (headless Chromium).
. tests/cli/lib.sh

story=tests/sim/05-caps-drop
(cd "$story" && "$OLDPWD/$BUILD/followupd" simulate --policy policy.yaml \
    events.jsonl) >"$T/outputs.jsonl" 2>/dev/null

run $FU report --events "$story/events.jsonl" --html "$T/page.html" \
    "$T/outputs.jsonl"
check "report --html exits 0" [ "$rc" -eq 0 ]
check "the page passes tidy -errors" tidy -errors -q "$T/page.html"
check "three charts, as inline SVG" sh -c \
    "[ \$(grep -o '<svg ' '$T/page.html' | wc -l) -eq 3 ]"
check "each chart has a caption" sh -c "
    grep -q 'Calls per day (UTC) by rule' '$T/page.html' &&
    grep -q 'Suppressions by reason' '$T/page.html' &&
    grep -q 'Calls by hour of the user' '$T/page.html'"
sed 's|xmlns="http://www.w3.org/2000/svg"||g' "$T/page.html" >"$T/bare"
check "no script, nothing fetched" sh -c \
    "! grep -Eqi '<script|<link|<img|@import|url[(]|https?:' '$T/bare'"
check "the rules of the story are in the tables" sh -c "
    for r in \$(grep -o '\"rule_id\": \"[a-z0-9-]*\"' '$T/outputs.jsonl' |
                sort -u | cut -d'\"' -f4); do
        grep -q \">\$r<\" '$T/page.html' || exit 1
    done"
check "a cap reason from the outputs is on the page" sh -c "
    r=\$(grep -o '\"reason\": \"cap:[a-z0-9-]*\"' '$T/outputs.jsonl' |
         head -1 | cut -d'\"' -f4)
    [ -n \"\$r\" ] && grep -q \"\$r\" '$T/page.html'"

sed 's/limit: 2/limit: 1/' "$story/policy.yaml" >"$T/tight.yaml"
run $FU report --compare "$story/policy.yaml" "$T/tight.yaml" \
    --html "$T/compare.html" "$story/events.jsonl"
check "report --compare --html exits 0" [ "$rc" -eq 0 ]
check "the compare page passes tidy -errors" tidy -errors -q "$T/compare.html"
check "the compare page shows both policies" sh -c "
    grep -q 'old policy' '$T/compare.html' &&
    grep -q 'new policy' '$T/compare.html' &&
    grep -q '<th>difference</th>' '$T/compare.html'"

# message follow-ups: the policy and stream of tests/e2e/0016-messages.sh
sed 's/@DELAY@/10/g; s/@DELAY2@/13/g' tests/e2e/policy-messages.yaml >"$T/msg.yaml"
sh tests/e2e/gen_message_events.sh 30 240 1763630100 16 >"$T/msg-events.jsonl"
$FU simulate --policy "$T/msg.yaml" "$T/msg-events.jsonl" >"$T/msg.out" 2>/dev/null
run $FU report --html "$T/msg.html" "$T/msg.out"
check "report --html of message follow-ups exits 0" [ "$rc" -eq 0 ]
check "the message page passes tidy -errors" tidy -errors -q "$T/msg.html"
check "the message page: still three charts" sh -c \
    "[ \$(grep -o '<svg ' '$T/msg.html' | wc -l) -eq 3 ]"
check "message follow-ups by rule: a row per rule with messages" sh -c "
    sed -n '/Message follow-ups by rule/,/<\/table>/p' '$T/msg.html' >'$T/msg-rules' &&
    grep -q '<th>decided</th><th>scheduled</th><th>sent</th><th>suppressed</th><th>cancelled</th><th>moved</th>' '$T/msg-rules' &&
    for r in big survey welcome; do grep -q \"<tr><td>\$r</td>\" '$T/msg-rules' || exit 1; done"
check "message suppressions by reason and rule, and the totals' message rows" sh -c "
    grep -q '<th>messages suppressed by reason</th>' '$T/msg.html' &&
    grep -q '<td>messages_suppressed: channel_off</td>' '$T/msg.html' &&
    grep -q '<td>messages_decided</td>' '$T/msg.html'"
check "a calls-only page has no message tables" sh -c \
    "! grep -q 'Message follow-ups' '$T/page.html'"
sed 's/count: messages.sms, limit: 2,/count: messages.sms, limit: 1,/' "$T/msg.yaml" >"$T/msg-tight.yaml"
run $FU report --compare "$T/msg.yaml" "$T/msg-tight.yaml" \
    --html "$T/msg-compare.html" "$T/msg-events.jsonl"
check "the message compare page passes tidy -errors" sh -c \
    "[ $rc -eq 0 ] && tidy -errors -q '$T/msg-compare.html'"
check "the message compare page has both policies' message tables" sh -c "
    grep -q 'Message follow-ups by rule, old policy' '$T/msg-compare.html' &&
    grep -q 'Message follow-ups by rule, new policy' '$T/msg-compare.html'"

# waiting for the dialer (spec 4.3): story 33's burst at 2 calls a minute
# against 1 (some calls wait to their not_after and are moved, paced)
pstory=tests/sim/33-pacing-burst
sed 's/calls_per_minute: 2/calls_per_minute: 1/' "$pstory/policy.yaml" >"$T/pace1.yaml"
(cd "$pstory" && "$OLDPWD/$BUILD/followupd" simulate --policy policy.yaml \
    events.jsonl) >"$T/pace.out" 2>/dev/null
run $FU report --html "$T/pace.html" "$T/pace.out"
check "a paced report's page passes tidy -errors" sh -c \
    "[ $rc -eq 0 ] && tidy -errors -q '$T/pace.html'"
check "the paced page: the waits in the totals, after the calls, and by rule" sh -c "
    grep -q '<tr><td>calls_waited</td><td>5</td></tr>' '$T/pace.html' &&
    grep -q '<tr><td>wait_seconds_total</td><td>510</td></tr>' '$T/pace.html' &&
    grep -q '<tr><td>wait_seconds_max</td><td>180</td></tr>' '$T/pace.html' &&
    grep -q '<td>mean wait, s (wait_seconds_total / calls)</td><td>72.9</td>' '$T/pace.html' &&
    grep -A1 '<td>calls: 1</td>' '$T/pace.html' | grep -q 'calls_waited' &&
    grep -q '<th>calls waited</th><th>wait, s</th><th>mean wait, s</th><th>max wait, s</th>' '$T/pace.html'"
check "a page without pacing has no waits" sh -c \
    "! grep -Eq 'calls_waited|calls waited|mean wait' '$T/page.html'"
run $FU report --compare "$pstory/policy.yaml" "$T/pace1.yaml" \
    --html "$T/pace-compare.html" "$pstory/events.jsonl"
check "the paced compare page passes tidy -errors" sh -c \
    "[ $rc -eq 0 ] && tidy -errors -q '$T/pace-compare.html'"
check "the paced compare page: waits old, new, difference with the relative change" \
    grep -Eq '<tr><td>wait_seconds_total</td><td>510</td><td>[0-9]+</td><td>[+][0-9]+ [(][+][0-9.]+%[)]</td></tr>' \
    "$T/pace-compare.html"

run $FU report --html "$T/no/such/dir/page.html" "$T/outputs.jsonl"
check "an unwritable --html path fails with a message" sh -c \
    "[ $rc -ne 0 ] && [ -s '$T/err' ]"
report
