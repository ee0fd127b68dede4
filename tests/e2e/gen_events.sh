#!/bin/sh
# gen_events.sh USERS EVENTS START_EPOCH SEED [ID_PREFIX [FIRST_USER]] -- a live
# stream for the
# end-to-end tests, occurring over the seconds after START_EPOCH: about
# half the transactions match rule `big` (the rest leave no trace), some
# users get several (caps), some complaints (supersedes), some opt-outs,
# exact redeliveries (duplicates) and malformed lines (dead letters).
# Deterministic for a given seed. Data carries a planted phone number
# and amount, which must never reach a log.
users=$1 events=$2 start=$3 seed=${4:-1} pfx=${5:-} first=${6:-0}
awk -v users="$users" -v events="$events" -v start="$start" -v seed="$seed" -v pfx="$pfx" -v first="$first" '
function ev(id, type, u, t, data) {
    return sprintf("{\"event_id\": \"%s\", \"type\": \"%s\", \"user_id\": \"u-%d\", \"occurred_at\": %.0f, \"data\": %s}", id, type, u, t, data)
}
BEGIN {
    srand(seed)
    spread = 3000  # ms over which the events occur
    for (i = 0; i < events; i++) {
        u = first + int(rand() * users)
        t = start * 1000 + int(i * spread / events)
        r = rand()
        if (r < 0.70) {
            amount = rand() < 0.5 ? "98765.43" : "120"
            line = ev(pfx "e-" i, "transaction", u, t, sprintf("{\"amount\": %s, \"phone\": \"13800138000\"}", amount))
        } else if (r < 0.78) {
            line = ev(pfx "c-" i, "complaint.resolved", u, t, "{}")
        } else if (r < 0.82) {
            line = ev(pfx "p-" i, "user.preferences", u, t, "{\"opt_out\": true}")
        } else if (r < 0.86 && n > 0) {
            line = prev[int(rand() * n)]   # redelivery of an earlier event
        } else if (r < 0.90) {
            line = ev(pfx "s-" i, "user.seen", u, t, "{}")   # matches no rule
        } else {
            k = int(rand() * 5)
            if (k == 0) line = "{not json at all"
            else if (k == 1) line = sprintf("{\"event_id\": \"%sm-%d\", \"type\": \"transaction\", \"occurred_at\": %.0f}", pfx, i, t)
            else if (k == 2) line = sprintf("{\"event_id\": \"%sm-%d\", \"type\": \"transaction\", \"user_id\": \"u-%d\", \"occurred_at\": true}", pfx, i, u)
            else if (k == 3) line = sprintf("{\"event_id\": \"%sm-%d\", \"type\": \"callback.outcome\", \"user_id\": \"u-%d\", \"occurred_at\": %.0f, \"data\": {\"task_id\": \"t-1\", \"outcome\": \"maybe\"}}", pfx, i, u, t)
            else line = sprintf("{\"event_id\": \"%sm-%d\", \"type\": \"transaction\", \"user_id\": \"u-%d\", \"occurred_at\": %.0f, \"timezone\": \"Mars/Olympus\"}", pfx, i, u, t)
        }
        print line
        prev[n++] = line
    }
}'
