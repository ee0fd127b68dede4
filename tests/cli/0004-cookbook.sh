#!/bin/sh
# The cookbook of docs/policy.md cannot rot: every docs/cookbook/*.yaml
# passes `check` and has its events file; `simulate` of each pair exits 0
# and emits at least one call task; the guide shows each policy as it is,
# and every simulate output line it quotes is one that simulate prints.
. tests/cli/lib.sh

doc=docs/policy.md
n=0
: >"$T/all"
for p in docs/cookbook/*.yaml; do
    [ -f "$p" ] || continue
    n=$((n + 1))
    name=${p%.yaml}
    run $FU check --policy "$p"
    check "check $p exits 0" [ "$rc" -eq 0 ]
    check "check $p prints ok" grep -q "^$p: ok: " "$T/out"
    check "$name.jsonl exists" [ -f "$name.jsonl" ]
    [ -f "$name.jsonl" ] || continue
    run $FU simulate --policy "$p" "$name.jsonl"
    check "simulate $name exits 0" [ "$rc" -eq 0 ]
    check "simulate $name emits a task" grep -q '"topic": "tasks"' "$T/out"
    cat "$T/out" >>"$T/all"
    # every line of the policy file is shown in the guide
    missing=0
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        grep -qxF -- "$line" "$doc" || { missing=1; echo "not in $doc: $line"; }
    done <"$p"
    check "$doc shows $p as it is" [ "$missing" -eq 0 ]
done
check "the cookbook has recipes ($n)" [ "$n" -ge 6 ]

# every simulate output line quoted in the guide is a real one
grep '^{"at": "' "$doc" >"$T/quoted"
check "$doc quotes simulate output" [ -s "$T/quoted" ]
stale=0
while IFS= read -r line; do
    grep -qxF -- "$line" "$T/all" || { stale=1; echo "stale in $doc: $line"; }
done <"$T/quoted"
check "quoted simulate output is current" [ "$stale" -eq 0 ]
report
