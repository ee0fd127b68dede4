# tests/cli/lib.sh -- assertions for command-line tests; source it, call
# `check NAME CONDITION-COMMAND...`, end with `report`.
BUILD=${BUILD:-build}
FU="${VG:-} $BUILD/followupd"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cli_passed=0
cli_failed=0

check() { # check DESCRIPTION COMMAND... : passes when COMMAND succeeds
    d=$1
    shift
    if "$@"; then
        cli_passed=$((cli_passed + 1))
    else
        cli_failed=$((cli_failed + 1))
        echo "FAILED: $d"
    fi
}

# run CMD... : runs with stdout in $T/out, stderr in $T/err, status in $rc
run() {
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

report() {
    echo "$cli_passed passed, $cli_failed failed"
    [ "$cli_failed" -eq 0 ]
}
