#!/bin/sh
# gen_events.sh USERS EVENTS_PER_USER [START_EPOCH] -- events for the
# concurrency and fault tests: user u-I gets txn events e-I-J one second
# apart, and one reg event; deterministic.
users=$1 per=$2 start=${3:-1793491200}
awk -v users="$users" -v per="$per" -v start="$start" 'BEGIN {
    n = 0
    for (j = 0; j < per; j++)
        for (i = 0; i < users; i++) {
            t = (start + n) * 1000; n++
            type = (j == 0) ? "reg" : "txn"
            printf "{\"event_id\": \"e-%d-%d\", \"type\": \"%s\", \"user_id\": \"u-%d\", \"occurred_at\": %.0f, \"data\": {\"amount\": %d}}\n", i, j, type, i, t, 100 * j
        }
}'
