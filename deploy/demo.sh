#!/bin/sh
# deploy/demo.sh BUILD -- `make demo`: the engine's real job on the embedded
# defaults. Until the Kafka daemon lands this replays the example stories
# through `followupd simulate` on the in-memory store and shows the
# policy check.
set -eu
B=${1:-build}/followupd
echo "== followupd check -c config/followupd.yaml"
"$B" check -c config/followupd.yaml
for story in config/examples/*.jsonl; do
    echo
    echo "== followupd simulate -c config/followupd.yaml $story"
    "$B" simulate -c config/followupd.yaml "$story"
done
echo
echo "(the Kafka daemon, 'followupd run', is not built yet: see the open issues)"
