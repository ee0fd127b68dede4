#!/bin/sh
# Secrets never leave the daemon (issue 15, security): it runs as a Redis
# ACL user with a password and with a password among its kafka.properties;
# through a Redis outage (reconnect errors logged) and a SIGHUP, neither
# password is in its log, in /metrics or in /healthz, and the ACL user is
# all it needs.
. tests/cli/lib.sh
. tests/integration/lib.sh
. tests/e2e/lib.sh
AOF="--appendonly yes --appendfsync always"
# the ACL user of docs/security.md (users live in memory: set it again
# after a restart, as an aclfile would)
acl_user() {
    redis-cli -p "$REDIS_PORT" acl setuser fu on '>r3dis-pw-e2e' '~e2e:*' \
        +@read +@write +evalsha '+script|load' +wait '+cluster|slots' \
        -@dangerous | grep -q OK
}
# shellcheck disable=SC2086 # AOF is a list of arguments
check "redis-server starts" start_redis $AOF
check "an ACL user with only what docs/security.md lists" acl_user
check "mock cluster starts" start_kafka 3
live_policy 4
CFG_REDIS_URL="redis://fu:r3dis-pw-e2e@127.0.0.1:$REDIS_PORT/0" \
    write_config d1 sasl.username=followupd sasl.password=k4fka-pw-e2e
chmod 600 "$T/d1.yaml"
check "daemon starts as the ACL user" start_daemon d1
check "daemon joins the group" wait_log d1 '"msg":"partition assigned"' 15
start=$(date +%s)
sh tests/e2e/gen_events.sh 20 120 "$start" 4 >"$T/events.jsonl"
check "events produced" produce "$T/events.jsonl"
stop_redis
check "the outage is logged" wait_log d1 '"msg":"store unavailable' 10
# shellcheck disable=SC2086
check "redis-server restarts from its AOF" restart_redis $AOF
check "the ACL user is back" acl_user
check "the daemon is back" wait_log d1 '"msg":"store available again"' 15
kill -HUP "$(cat "$T/d1.pid")"
check "the reload is logged" wait_log d1 '"msg":"policy reloaded"' 10
sleep_until $((start + 4 + 12))
curl -s "$(http_url d1)/metrics" >"$T/metrics.txt"
curl -s "$(http_url d1)/healthz" >"$T/healthz.txt"
check "/metrics answered" grep -q '^followupd_' "$T/metrics.txt"
consume_outputs "$T/out.jsonl"
check "tasks were produced as the ACL user" \
    grep -q '"topic": "followup.tasks"' "$T/out.jsonl"
check "the config holds both passwords (so the greps below can match)" \
    sh -c "grep -q r3dis-pw-e2e '$T/d1.yaml' && grep -q k4fka-pw-e2e '$T/d1.yaml'"
for f in d1.log metrics.txt healthz.txt; do
    check "no password in $f" sh -c \
        "! grep -q 'r3dis-pw-e2e\|k4fka-pw-e2e' '$T/$f'"
done
e2e_stop d1
report
