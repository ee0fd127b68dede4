#!/bin/sh
# gen_message_events.sh USERS EVENTS START_EPOCH SEED -- a live stream for
# tests/e2e/0016-messages.sh (policy tests/e2e/policy-messages.yaml),
# occurring over the 3 seconds after START_EPOCH: transactions (about half
# match rule `big`: a call, or a push message for users who prefer
# messages), registrations (rule `welcome`: an sms message and its repeat),
# resolved complaints (rule `survey`: an email message superseding `big`),
# preferences that turn channels off and on (channel_off suppresses and
# cancels messages) and pick follow_up_by, opt-outs, exact redeliveries
# (duplicates), events no rule matches and malformed lines (dead letters).
# Deterministic for a given seed; data carries a planted phone number and
# amount, which must never reach a log.
users=$1 events=$2 start=$3 seed=${4:-1}
awk -v users="$users" -v events="$events" -v start="$start" -v seed="$seed" '
function ev(id, type, u, t, data) {
    return sprintf("{\"event_id\": \"%s\", \"type\": \"%s\", \"user_id\": \"u-%d\", \"occurred_at\": %.0f, \"data\": %s}", id, type, u, t, data)
}
BEGIN {
    srand(seed)
    spread = 3000  # ms over which the events occur
    split("sms push email", channels, " ")
    split("web app store", signup, " ")
    for (i = 0; i < events; i++) {
        u = int(rand() * users)
        t = start * 1000 + int(i * spread / events)
        r = rand()
        if (r < 0.34) {
            amount = rand() < 0.5 ? "98765.43" : "120"
            line = ev("e-" i, "transaction", u, t, sprintf("{\"amount\": %s, \"phone\": \"13800138000\"}", amount))
        } else if (r < 0.52) {
            line = ev("r-" i, "user.registered", u, t, sprintf("{\"signup_channel\": \"%s\", \"phone\": \"13800138000\"}", signup[1 + int(rand() * 3)]))
        } else if (r < 0.60) {
            line = ev("c-" i, "complaint.resolved", u, t, "{}")
        } else if (r < 0.72) {
            ch = channels[1 + int(rand() * 3)]
            line = ev("p-" i, "user.preferences", u, t, sprintf("{\"channels\": {\"%s\": %s}}", ch, rand() < 0.6 ? "false" : "true"))
        } else if (r < 0.82) {
            k = rand()
            by = k < 0.6 ? "\"message\"" : k < 0.8 ? "\"call\"" : "null"
            line = ev("f-" i, "user.preferences", u, t, sprintf("{\"follow_up_by\": %s}", by))
        } else if (r < 0.85) {
            line = ev("o-" i, "user.preferences", u, t, "{\"opt_out\": true}")
        } else if (r < 0.90 && n > 0) {
            line = prev[int(rand() * n)]   # redelivery of an earlier event
        } else if (r < 0.95) {
            line = ev("s-" i, "user.seen", u, t, "{}")   # matches no rule
        } else {
            k = int(rand() * 3)
            if (k == 0) line = "{not json at all"
            else if (k == 1) line = sprintf("{\"event_id\": \"m-%d\", \"type\": \"user.registered\", \"occurred_at\": %.0f}", i, t)
            else line = sprintf("{\"event_id\": \"m-%d\", \"type\": \"user.preferences\", \"user_id\": \"u-%d\", \"occurred_at\": %.0f, \"data\": {\"follow_up_by\": \"fax\"}}", i, u, t)
        }
        print line
        prev[n++] = line
    }
}'
