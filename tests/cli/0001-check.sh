#!/bin/sh
# followupd check / version / usage: exit codes and messages (spec 3.1).
. tests/cli/lib.sh

run $FU check -c config/followupd.yaml
check "check of the shipped config exits 0" [ "$rc" -eq 0 ]
check "summary names rules, caps and version" \
    grep -Eq 'policy.yaml: ok: 5 rules .*1 with messages.*3 caps, policy version [0-9a-f]{16}$' "$T/out"

run $FU check --policy config/policy.yaml
check "check of a bare policy exits 0" [ "$rc" -eq 0 ]

# an invalid policy: every problem as file:line:col, with caret, exit 1
cat >"$T/bad.yaml" <<'YAML'
version: 1
defaults:
  timezone: Mars/Base
  call_window: {hours: ["20:00-08:00"]}
rules:
  - id: r
    on: [transaction]
    when: [data.amount => 5]
    callback: {delay: 2h}
YAML
run $FU check --policy "$T/bad.yaml"
check "invalid policy exits 1" [ "$rc" -eq 1 ]
check "unknown timezone at 3:13" grep -q "bad.yaml:3:13: .*timezone" "$T/err"
check "wrapping hours at 4:25" grep -q "bad.yaml:4:25: .*must start before it ends" "$T/err"
check "bad operator at 8:24" grep -q "bad.yaml:8:24: '=>' is not an operator: write '>='" "$T/err"
check "missing expires_after named" grep -q "bad.yaml:9:.*expires_after" "$T/err"
check "caret line printed" grep -q '^ *\^$' "$T/err"
check "nothing on stdout" [ ! -s "$T/out" ]

# invalid config: unknown key with location
printf 'kafka:\n  brokerz: x\n' >"$T/cfg.yaml"
run $FU check -c "$T/cfg.yaml"
check "unknown config key exits 1" [ "$rc" -eq 1 ]
check "unknown config key at 2:3" grep -q "cfg.yaml:2:3: unknown key 'brokerz'" "$T/err"

run $FU check -c "$T/nonexistent.yaml"
check "missing config exits 1" [ "$rc" -eq 1 ]

# FOLLOWUPD_POLICY overrides the config's policy
FOLLOWUPD_POLICY="$T/bad.yaml" run $FU check -c config/followupd.yaml
check "FOLLOWUPD_POLICY is used" [ "$rc" -eq 1 ]

# a config file holding a password, readable by others: a warning
printf 'kafka: {brokers: mock}\nstate: {redis_url: "redis://fu:Pw0rd@127.0.0.1:6379/0"}\npolicy: %s\n' \
    "$PWD/config/policy.yaml" >"$T/secret.yaml"
chmod 644 "$T/secret.yaml"
run $FU check -c "$T/secret.yaml"
check "a readable config with a password still checks" [ "$rc" -eq 0 ]
check "with a warning to chmod it" grep -q "holds a password and can be read by other users: chmod o-rwx" "$T/err"
check "that does not show the password" sh -c "! grep -q Pw0rd '$T/err' '$T/out'"
chmod 600 "$T/secret.yaml"
run $FU check -c "$T/secret.yaml"
check "no warning once only its owner can read it" sh -c "! grep -q warning '$T/err'"
printf 'kafka: {brokers: mock}\nstate: {redis_url: "fu:Pw0rd@127.0.0.1"}\n' >"$T/badurl.yaml"
run $FU check -c "$T/badurl.yaml"
check "a bad redis_url hides its password" sh -c "grep -q \"'\\*\\*\\*@127.0.0.1'\" '$T/err' && ! grep -q Pw0rd '$T/err'"

run $FU frobnicate
check "unknown command exits 2" [ "$rc" -eq 2 ]
run $FU check --bogus
check "unknown option exits 2" [ "$rc" -eq 2 ]
run $FU simulate --policy config/policy.yaml
check "simulate without EVENTS exits 2" [ "$rc" -eq 2 ]
run $FU version
check "version exits 0" [ "$rc" -eq 0 ]
check "version prints a version" grep -Eq '^followupd [0-9]+\.[0-9]+\.[0-9]+$' "$T/out"
report
