#!/bin/sh
# check_outbox.sh OUTBOX.jsonl EVENTS.jsonl -- invariants of a dumped
# outbox after a concurrent or interrupted run, for the data policy
# (rule t: 2 calls per 30d; shared cap: 3 calls per 30d):
#  - every event was decided exactly once (one record that is not
#    `duplicate` per (user, event) for matching events);
#  - no user has more than 2 scheduled t calls, nor more than 3 calls;
#  - every scheduled call (decision) was emitted as a task at least once.
# Prints one line per violation; exits 1 if any.
out=$1 events=$2
awk '
function field(s, name,   m) {
    if (match(s, "\"" name "\": \"[^\"]*\"")) {
        m = substr(s, RSTART, RLENGTH); sub(/^[^:]*: "/, "", m); sub(/"$/, "", m); return m
    }
    return ""
}
FNR == NR { # events file
    ev[field($0, "user_id") " " field($0, "event_id")] = 1; next
}
/"topic": "decisions"/ {
    d = field($0, "decision"); u = field($0, "user_id"); e = field($0, "event_id")
    r = field($0, "rule_id")
    if (d != "duplicate" && field($0, "reason") != "rescheduled") {
        k = u " " e " " r " " field($0, "task_id")
        if (d != "cancelled") { decided[u " " e]++; rec[k]++ }
    }
    if (d == "scheduled") { sched[field($0, "task_id")] = u; calls[u]++; if (r == "t") tcalls[u]++ }
    if (d == "cancelled") { cancelled[field($0, "task_id")] = 1 }
}
/"topic": "tasks"/ && /"action": "call"/ { emitted[field($0, "task_id")] = 1 }
END {
    bad = 0
    for (k in ev) if (!(k in decided)) { print "never decided: " k; bad++ }
    for (k in rec) if (rec[k] > 1) { print "decided " rec[k] " times: " k; bad++ }
    for (u in tcalls) if (tcalls[u] > 2) { print "rule cap broken for " u ": " tcalls[u]; bad++ }
    for (u in calls) if (calls[u] > 3) { print "shared cap broken for " u ": " calls[u]; bad++ }
    for (t in sched) if (!(t in emitted) && !(t in cancelled)) { print "scheduled, never emitted: " t; bad++ }
    n = 0; for (t in sched) n++
    print n " scheduled calls checked"
    exit bad > 0
}' "$events" "$out"
