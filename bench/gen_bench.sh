#!/bin/sh
# gen_bench.sh EVENTS USERS SEED START_EPOCH_MS SPREAD_MS -- a wallet event
# stream for `make bench`, one JSON event a line on stdout, in the shape of
# tests/e2e/gen_events.sh, occurred_at (epoch ms) spread evenly over
# SPREAD_MS from START_EPOCH_MS, users uniform over u-0..u-(USERS-1).
#
# The mix, against bench/policy-e2e.yaml:
#   70.0 % transaction; 2 in 7 of them (20 % of all events) large
#          succeeded transfers (rule large-transfer); the rest small, or
#          large but failed/pending or a withdrawal/payment (no match)
#    5.0 % complaint.resolved (rule complaint-resolved)
#    5.0 % user.registered (rule welcome; 1 in 20 from channel "test",
#          which the rule skips)
#    5.0 % user.preferences: 95 % channel changes, 4 % opt-outs, 1 % back in
#    5.0 % callback.outcome naming a task that does not exist (ignored)
#    2.0 % callback.reschedule of a task that does not exist (ignored)
#    7.9 % app.open and page.view (no rule)
#    0.1 % malformed: not JSON, a field missing or of the wrong type, an
#          unknown timezone, an unknown outcome (dead letters)
# Event ids are unique (and differ between seeds). Deterministic for a
# seed with a given awk (rand() differs between awk implementations;
# Debian's is mawk). The counts of each kind go to stderr at the end.
set -eu
if [ $# -ne 5 ]; then
    echo "usage: gen_bench.sh EVENTS USERS SEED START_EPOCH_MS SPREAD_MS" >&2
    exit 2
fi
for a in "$@"; do
    case $a in
    '' | *[!0-9]*) echo "gen_bench.sh: '$a' is not a whole number" >&2; exit 2 ;;
    esac
done
[ "$2" -gt 0 ] || { echo "gen_bench.sh: USERS must be > 0" >&2; exit 2; }

exec awk -v events="$1" -v users="$2" -v seed="$3" -v start="$4" \
    -v spread="$5" '
function head(id, type, u, t) {
    return sprintf("{\"event_id\": \"%s\", \"type\": \"%s\", \"user_id\": \"u-%d\", \"occurred_at\": %.0f", id, type, u, t)
}
# 21 hex digits after "t-", like the daemon task ids; random, so they name
# no task that exists
function task() {
    return sprintf("t-%07x%07x%07x", int(rand() * 268435456),
                   int(rand() * 268435456), int(rand() * 268435456))
}
function money(cents) {
    return sprintf("%d.%02d", int(cents / 100), cents % 100)
}
BEGIN {
    srand(seed)
    split("answered no_answer busy failed refused wrong_number", outcome, " ")
    split("home wallet cards transfer profile", screen, " ")
    split("CNY CNY CNY CNY HKD USD", cur, " ")
    pfx = "b" seed "-"
    for (i = 0; i < events; i++) {
        u = int(rand() * users)
        t = start + int(i * spread / events)
        id = pfx i
        r = rand()
        if (r < 0.70) {
            q = rand() * 7
            status = "succeeded"; kind = "transfer"
            if (q < 2) {                      # large-transfer matches
                cents = 500000 + int(rand() * 9500000)
            } else if (q < 5.5) {             # small
                cents = 100 + int(rand() * 499899)
                if (rand() < 0.3) kind = "payment"
            } else if (q < 6.25) {            # large, not succeeded
                cents = 500000 + int(rand() * 9500000)
                status = rand() < 0.5 ? "failed" : "pending"
            } else {                          # large, not a transfer
                cents = 500000 + int(rand() * 9500000)
                kind = rand() < 0.5 ? "withdrawal" : "payment"
            }
            if (q < 2) n_match++; else n_txn++
            line = head(id, "transaction", u, t) sprintf(", \"data\": {\"amount\": %s, \"currency\": \"%s\", \"status\": \"%s\", \"kind\": \"%s\", \"phone\": \"13800138000\"}}", money(cents), cur[1 + int(rand() * 6)], status, kind)
        } else if (r < 0.75) {
            n_complaint++
            line = head(id, "complaint.resolved", u, t) sprintf(", \"data\": {\"case\": \"c-%d\", \"category\": \"%s\"}}", i, rand() < 0.5 ? "refund" : "card")
        } else if (r < 0.80) {
            ch = rand() < 0.05 ? "test" : (rand() < 0.7 ? "app" : "web")
            if (ch == "test") n_reg_test++; else n_reg++
            line = head(id, "user.registered", u, t) sprintf(", \"data\": {\"channel\": \"%s\"}}", ch)
        } else if (r < 0.85) {
            q = rand()
            if (q < 0.95) {
                n_chan++
                line = head(id, "user.preferences", u, t) sprintf(", \"data\": {\"channels\": {\"sms\": %s, \"push\": %s}}}", rand() < 0.8 ? "true" : "false", rand() < 0.5 ? "true" : "false")
            } else {
                if (q < 0.99) n_optout++; else n_optin++
                line = head(id, "user.preferences", u, t) sprintf(", \"data\": {\"opt_out\": %s}}", q < 0.99 ? "true" : "false")
            }
        } else if (r < 0.90) {
            n_outcome++
            line = head(id, "callback.outcome", u, t) sprintf(", \"data\": {\"task_id\": \"%s\", \"outcome\": \"%s\"}}", task(), outcome[1 + int(rand() * 6)])
        } else if (r < 0.92) {
            n_resched++
            line = head(id, "callback.reschedule", u, t) sprintf(", \"data\": {\"task_id\": \"%s\", \"at\": %.0f}}", task(), t + 86400000)
        } else if (r < 0.999) {
            n_other++
            if (rand() < 0.5)
                line = head(id, "app.open", u, t) sprintf(", \"data\": {\"screen\": \"%s\"}}", screen[1 + int(rand() * 5)])
            else
                line = head(id, "page.view", u, t) sprintf(", \"data\": {\"page\": \"/%s\", \"ms\": %d}}", screen[1 + int(rand() * 5)], int(rand() * 3000))
        } else {
            n_bad++
            k = int(rand() * 5)
            if (k == 0) line = "{not json at all"
            else if (k == 1) line = sprintf("{\"event_id\": \"%s\", \"type\": \"transaction\", \"occurred_at\": %.0f}", id, t)
            else if (k == 2) line = sprintf("{\"event_id\": \"%s\", \"type\": \"transaction\", \"user_id\": \"u-%d\", \"occurred_at\": true}", id, u)
            else if (k == 3) line = head(id, "callback.outcome", u, t) ", \"data\": {\"task_id\": \"t-1\", \"outcome\": \"maybe\"}}"
            else line = head(id, "transaction", u, t) ", \"timezone\": \"Mars/Olympus\", \"data\": {\"amount\": 100}}"
        }
        print line
    }
    n = events > 0 ? events : 1
    printf "gen_bench: %d events, %d users, seed %d\n", events, users, seed > "/dev/stderr"
    printf "  transaction, rule match     %8d %6.2f %%\n", n_match, 100 * n_match / n > "/dev/stderr"
    printf "  transaction, no match       %8d %6.2f %%\n", n_txn, 100 * n_txn / n > "/dev/stderr"
    printf "  complaint.resolved          %8d %6.2f %%\n", n_complaint, 100 * n_complaint / n > "/dev/stderr"
    printf "  user.registered             %8d %6.2f %%\n", n_reg, 100 * n_reg / n > "/dev/stderr"
    printf "  user.registered, test       %8d %6.2f %%\n", n_reg_test, 100 * n_reg_test / n > "/dev/stderr"
    printf "  user.preferences, channels  %8d %6.2f %%\n", n_chan, 100 * n_chan / n > "/dev/stderr"
    printf "  user.preferences, opt-out   %8d %6.2f %%\n", n_optout, 100 * n_optout / n > "/dev/stderr"
    printf "  user.preferences, opt-in    %8d %6.2f %%\n", n_optin, 100 * n_optin / n > "/dev/stderr"
    printf "  callback.outcome, stale     %8d %6.2f %%\n", n_outcome, 100 * n_outcome / n > "/dev/stderr"
    printf "  callback.reschedule, stale  %8d %6.2f %%\n", n_resched, 100 * n_resched / n > "/dev/stderr"
    printf "  app.open, page.view         %8d %6.2f %%\n", n_other, 100 * n_other / n > "/dev/stderr"
    printf "  malformed                   %8d %6.2f %%\n", n_bad, 100 * n_bad / n > "/dev/stderr"
}'
