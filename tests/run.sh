#!/bin/sh
# tests/run.sh -- runs every test and ends with "N passed, N failed".
#
# Unit binaries (build/tests/test_*) report their own counts; each simulate
# story (tests/sim/<story>/) and each shell test (tests/cli/*.sh,
# tests/integration/*.sh) counts as one. ONLY=unit runs the unit binaries
# only; VALGRIND=1 runs binaries and stories under valgrind.
set -u
BUILD=${BUILD:-build}
ONLY=${ONLY:-}
VG=""
if [ "${VALGRIND:-0}" = 1 ]; then
    VG="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
fi
export BUILD VG
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

count() { # $1 = name, $2 = exit status, output in $out
    p=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1 | cut -d' ' -f1)
    f=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1 | cut -d' ' -f3)
    if [ -z "$p" ]; then # a test that reports no counts counts as one
        if [ "$2" -eq 0 ]; then p=1; f=0; else p=0; f=1; fi
    fi
    if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $1"
        sed 's/^/    /' "$out" | grep -v '^    [0-9]* passed, ' | tail -n 40
    else
        echo "ok   $1 ($p)"
    fi
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.o|*.d) continue ;; esac
    args=""
    # under valgrind the property test runs a smaller (still random) input
    [ -n "$VG" ] && [ "$(basename "$t")" = test_property ] && args="20261101 3000"
    $VG "$t" $args >"$out" 2>&1
    count "$(basename "$t")" $?
done

# every fuzz target over its seed corpus and the inputs that once crashed
for t in "$BUILD"/tests/fuzz/replay_*; do
    [ -x "$t" ] || continue
    name=${t##*/replay_}
    $VG "$t" "tests/fuzz/corpus/$name" "tests/fuzz/regress/$name" >"$out" 2>&1
    count "fuzz/$name" $?
done

if [ "$ONLY" != unit ]; then
    for d in tests/sim/*/; do
        [ -f "$d/events.jsonl" ] || continue
        sh tests/sim_story.sh "$d" >"$out" 2>&1
        count "sim/$(basename "$d")" $?
    done
    for t in tests/cli/[0-9]*.sh tests/integration/[0-9]*.sh \
             tests/e2e/[0-9]*.sh; do
        [ -f "$t" ] || continue
        sh "$t" >"$out" 2>&1
        count "$t" $?
    done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
