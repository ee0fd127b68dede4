#!/bin/sh
# The deployment files (deploy/): systemd-analyze verify, promtool check
# and test rules, YAML/JSON parse, metric names in alerts and dashboard,
# the container build stage; see deploy/check.sh and docs/deploy.md.
exec sh deploy/check.sh
