#!/bin/sh
# deploy/systemd/install.sh -- install followupd as a systemd service.
#
#   make && sudo deploy/systemd/install.sh
#   DESTDIR=/tmp/stage deploy/systemd/install.sh   # staging: no systemctl
#
# Installs (run from anywhere; paths are relative to the repository):
#   build/followupd             -> $DESTDIR/usr/local/bin/followupd (replaced)
#   deploy/systemd/followupd.service
#                               -> $DESTDIR/etc/systemd/system/ (replaced)
#   config/followupd.yaml, config/policy.yaml
#                               -> $DESTDIR/etc/followupd/ (only if absent)
#   deploy/systemd/followupd.default
#                               -> $DESTDIR/etc/default/followupd (only if
#                                  absent; mode 0600: it holds secrets)
# Idempotent: a second run changes nothing but the binary and the unit, and
# never overwrites a config, policy or environment file. Then it checks the
# installed config with `followupd check` and, when installing for real
# on a machine running systemd, runs `systemctl daemon-reload` (it never
# enables, starts or restarts the service: see the last lines it prints).
#
# Environment: DESTDIR (staging root, default none), BUILD (build
# directory, default build), NO_CHECK=1 (skip `followupd check`).
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
DESTDIR=${DESTDIR:-}
BUILD=${BUILD:-build}
case $BUILD in /*) bin=$BUILD/followupd ;; *) bin=$repo/$BUILD/followupd ;; esac

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

[ -x "$bin" ] || die "no $bin: build it first (make)"
if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    die "installing into / needs root (or set DESTDIR to stage)"
fi

# install_new SRC DEST MODE: copy only when DEST does not exist yet
install_new() {
    if [ -e "$2" ]; then
        say "kept $2 (exists)"
    else
        install -m "$3" "$1" "$2"
        say "installed $2"
    fi
}

install -d -m 0755 "$DESTDIR/usr/local/bin" "$DESTDIR/etc/systemd/system" \
    "$DESTDIR/etc/followupd" "$DESTDIR/etc/default"
install -m 0755 "$bin" "$DESTDIR/usr/local/bin/followupd"
say "installed $DESTDIR/usr/local/bin/followupd ($("$bin" version))"
install -m 0644 "$repo/deploy/systemd/followupd.service" \
    "$DESTDIR/etc/systemd/system/followupd.service"
say "installed $DESTDIR/etc/systemd/system/followupd.service"
# 0644: the service runs as a dynamic user, which must read these; secrets
# belong in /etc/default/followupd.
install_new "$repo/config/followupd.yaml" "$DESTDIR/etc/followupd/followupd.yaml" 0644
install_new "$repo/config/policy.yaml" "$DESTDIR/etc/followupd/policy.yaml" 0644
install_new "$repo/deploy/systemd/followupd.default" "$DESTDIR/etc/default/followupd" 0600

status=0
if [ "${NO_CHECK:-}" != 1 ]; then
    # The same check `systemctl reload` runs; the environment file's
    # overrides are not applied here (they may name another policy).
    if "$DESTDIR/usr/local/bin/followupd" check \
        -c "$DESTDIR/etc/followupd/followupd.yaml"; then
        :
    else
        say "the installed config is not valid: fix it before starting the service"
        status=1
    fi
fi

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload
    say "systemctl daemon-reload done"
    say "next: edit /etc/followupd/followupd.yaml and /etc/default/followupd, then"
    say "      systemctl enable --now followupd   (or: systemctl restart followupd)"
else
    say "not reloading systemd (staged install or no systemd running)"
fi
exit $status
