#!/bin/sh
# followupd run refuses what it cannot run with, at once and clearly,
# without needing Kafka or Redis: exit codes of spec 3.1, messages that
# say what to write instead.
. tests/cli/lib.sh

cfg() { # cfg EXTRA-YAML...: a config on the mock cluster and memory state
    {
        echo "kafka:"
        echo "  brokers: mock"
        printf '%s\n' "$@"
        echo "state: {backend: memory}"
        echo "http: {listen: \"127.0.0.1:0\"}"
        echo "policy: $PWD/config/policy.yaml"
    } >"$T/c.yaml"
}

cfg "  properties: {enable.auto.offset.store: \"true\"}"
run $FU run -c "$T/c.yaml"
check "a property delivery rests on is refused (exit 1)" [ "$rc" -eq 1 ]
check "... saying which and why" grep -q "'enable.auto.offset.store' is set by followupd" "$T/err"

cfg "  properties: {producer.enable.idempotence: \"false\"}"
run $FU run -c "$T/c.yaml"
check "the producer's idempotence cannot be turned off" [ "$rc" -eq 1 ]

cfg "  properties: {no.such.property: \"1\"}"
run $FU run -c "$T/c.yaml"
check "an unknown librdkafka property is refused (exit 1)" [ "$rc" -eq 1 ]
check "... naming it" grep -q "'no.such.property'" "$T/err"

cfg "  properties: {no.such.password: \"hunter2\"}"
run $FU run -c "$T/c.yaml"
check "a refused password property: exit 1" [ "$rc" -eq 1 ]
check "... its value never shown" sh -c "grep -q \"'no.such.password': refused (its value is not shown)\" '$T/err' && ! grep -q hunter2 '$T/err'"

cfg "  bogus: 1"
run $FU run -c "$T/c.yaml"
check "an unknown config key: exit 1" [ "$rc" -eq 1 ]
check "... with file:line:col" grep -q "c.yaml:3:3: " "$T/err"

sed 's/limit: 2/limit: two/' config/policy.yaml >"$T/bad-policy.yaml"
cfg ""
run env FOLLOWUPD_POLICY="$T/bad-policy.yaml" $FU run -c "$T/c.yaml"
check "an invalid policy: exit 1" [ "$rc" -eq 1 ]
check "... with file:line:col" grep -q "bad-policy.yaml:[0-9]*:[0-9]*: " "$T/err"

run $FU run -c "$T/c.yaml" extra-argument
check "run takes no arguments: exit 2" [ "$rc" -eq 2 ]

# an address it cannot bind is a clear start-up error, not a hang
# (192.0.2.1 is TEST-NET-1: never an address of this host)
cfg ""
sed -i 's/127.0.0.1:0/192.0.2.1:9464/' "$T/c.yaml"
run $FU run -c "$T/c.yaml"
check "a listen address it cannot bind: exit 3" [ "$rc" -eq 3 ]
check "... saying so" grep -q "cannot listen there" "$T/err"
report
