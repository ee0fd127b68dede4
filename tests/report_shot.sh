#!/bin/sh
# tests/report_shot.sh -- `make report-shot`: the --compare page of the
# example policy (against a copy with a tighter monthly cap) over the
# example events, checked by tidy and loaded from disk by headless
# Chromium, which saves a screenshot. Fails when the page has HTML errors
# or Chromium writes no image.
set -eu
BUILD=${BUILD:-build}
out=$BUILD/report-shot
mkdir -p "$out"
sed 's/limit: 2 /limit: 1 /' config/policy.yaml >"$out/tight.yaml"
cat config/examples/*.jsonl >"$out/events.jsonl"
"$BUILD/followupd" report --compare config/policy.yaml "$out/tight.yaml" \
    --html "$out/report.html" "$out/events.jsonl" >"$out/report.txt"
tidy -errors -q "$out/report.html"
rm -f "$BUILD/report-shot.png"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1000,2600 --screenshot="$BUILD/report-shot.png" \
    "file://$(pwd)/$out/report.html" >"$out/chromium.log" 2>&1 || true
if [ ! -s "$BUILD/report-shot.png" ]; then
    echo "report-shot: Chromium wrote no screenshot (see $out/chromium.log)"
    exit 1
fi
echo "report-shot: $out/report.html passes tidy; screenshot" \
     "$BUILD/report-shot.png ($(wc -c <"$BUILD/report-shot.png") bytes)"
