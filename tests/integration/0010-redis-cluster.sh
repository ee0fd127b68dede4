#!/bin/sh
# On a Redis Cluster (6 nodes: 3 masters, 3 replicas; the store given its
# seeds as redis+cluster://HOST:PORT,...), every simulate story gives
# byte-identical output to the memory store, as in 0001, and so does the
# randomized property test, as in 0004; neither leaves a key behind.
. tests/cli/lib.sh
. tests/integration/lib.sh
require_redis_cluster
check "3 masters" [ "$(cluster_masters | wc -l)" -eq 3 ]
check "3 replicas" [ "$(cluster_replicas | wc -l)" -eq 3 ]

simulate_stories_match "$CLUSTER_URL" "redis cluster"
check "no keys left behind (stories)" [ "$(cluster_dbsize)" = 0 ]

property_matches "$CLUSTER_URL"
check "no keys left behind (property)" [ "$(cluster_dbsize)" = 0 ]
report
