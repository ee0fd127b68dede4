#!/bin/sh
# Every simulate story on the Redis store gives byte-identical output to
# the memory store; the dry run leaves no key behind.
. tests/cli/lib.sh
. tests/integration/lib.sh
check "redis-server starts" start_redis
simulate_stories_match "$REDIS_URL"
check "no keys left behind" [ "$(redis-cli -p "$REDIS_PORT" dbsize)" = 0 ]

run $FU simulate --policy config/policy.yaml --state redis://127.0.0.1:1/0 \
    config/examples/transfer.jsonl
check "unreachable redis exits 3" [ "$rc" -eq 3 ]
check "unreachable redis says why" grep -q "redis: cannot connect" "$T/err"
run $FU simulate --policy config/policy.yaml --state http://x config/examples/transfer.jsonl
check "bad redis url exits 2" [ "$rc" -eq 2 ]

# an ACL user (redis://user:password@host:port/db) with the rights
# docs/security.md gives it: every story runs as it
redis-cli -p "$REDIS_PORT" acl setuser fu on '>s3cr3t' '~fu:*' +@read +@write \
    +evalsha '+script|load' +wait '+cluster|slots' -@dangerous >/dev/null
simulate_stories_match "redis://fu:s3cr3t@127.0.0.1:$REDIS_PORT/0" "an ACL user"
check "no keys left behind (ACL user)" [ "$(redis-cli -p "$REDIS_PORT" dbsize)" = 0 ]
run $FU simulate --policy config/policy.yaml \
    --state "redis://fu:n0tit@127.0.0.1:$REDIS_PORT/0" config/examples/transfer.jsonl
check "a wrong password exits 2" [ "$rc" -eq 2 ]
check "and says authentication failed" grep -q "authentication failed" "$T/err"
check "without echoing the password" sh -c "! grep -q n0tit '$T/err'"
report
