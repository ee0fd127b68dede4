#!/bin/sh
# The compose trial's config and policy (deploy/docker/) run by the real
# daemon against a mock cluster and a local redis-server: health, a
# decision, a reminder and a task on time, metrics, reload, stop; see
# deploy/rehearse-trial.sh.
exec sh deploy/rehearse-trial.sh
