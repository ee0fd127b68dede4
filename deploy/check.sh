#!/bin/sh
# deploy/check.sh -- checks of the deployment files that need no Docker
# engine and no cluster. Each check counts once; a check whose tool is not
# installed is skipped (and says which package brings it). Ends with
# "N passed, N failed, N skipped" and exits non-zero on any failure.
#
#   sh deploy/check.sh            # from anywhere; BUILD=build by default
#
# Tools: python3 with PyYAML (python3-yaml), promtool (prometheus),
# systemd-analyze (systemd), shellcheck, docker-compose or `docker compose`,
# kubectl (kustomize), make and cc, objdump and dpkg. $BUILD/followupd
# checks the deploy configs when it exists; otherwise that is skipped.
# deploy/rehearse-trial.sh is the runtime counterpart: the real daemon on
# the trial's config against a mock Kafka and a local Redis.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
FU=$BUILD/followupd
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0
failed=0
skipped=0

have() { command -v "$1" >/dev/null 2>&1; }

# check NAME COMMAND...: passes when COMMAND exits 0; output shown on failure
check() {
    name=$1
    shift
    if "$@" >"$T/out" 2>&1; then
        passed=$((passed + 1))
        echo "ok    $name"
    else
        failed=$((failed + 1))
        echo "FAIL  $name"
        sed 's/^/      /' "$T/out" | tail -n 30
    fi
}

skip() {
    skipped=$((skipped + 1))
    echo "skip  $1 ($2)"
}

# quiet COMMAND...: passes when COMMAND exits 0 and prints nothing
quiet() {
    "$@" >"$T/quiet" 2>&1
    rc=$?
    cat "$T/quiet"
    [ "$rc" -eq 0 ] && [ ! -s "$T/quiet" ]
}

PY_OK=0
if have python3 && python3 -c 'import yaml' 2>/dev/null; then PY_OK=1; fi
py() { python3 deploy/check.py "$@"; }

# ---------------------------------------------------------------- parse
if [ "$PY_OK" = 1 ]; then
    check "every YAML file under deploy/ parses" py yaml
    check "every JSON file under deploy/ parses" py json
    check "alerts and dashboard use only exported metric names" py metrics
    check "k8s manifests: selectors, ports, probes, security, config checksum" py k8s
    check "Dockerfile: stages, runtime packages, user, port, entrypoint" py dockerfile
else
    skip "YAML/JSON/metrics/k8s/Dockerfile checks" "python3 with PyYAML: apt-get install python3-yaml"
fi

# ---------------------------------------------------------------- prometheus
if have promtool; then
    check "promtool check rules deploy/prometheus/alerts.yml" \
        promtool check rules deploy/prometheus/alerts.yml
    check "promtool test rules deploy/prometheus/alerts_test.yml" \
        promtool test rules deploy/prometheus/alerts_test.yml
    if [ "$PY_OK" = 1 ]; then
        dash_rules() {
            py promql-rules "$T/dashboard-rules.yml" &&
                promtool check rules "$T/dashboard-rules.yml"
        }
        check "dashboard PromQL parses (promtool)" dash_rules
    fi
else
    skip "promtool checks" "promtool: apt-get install prometheus"
fi

# ---------------------------------------------------------------- systemd
stage=$T/stage
if [ -x "$FU" ]; then
    bin_build=$BUILD
else
    # no build: a stand-in binary, enough for install.sh and verify
    mkdir -p "$T/fakebuild"
    printf '#!/bin/sh\necho followupd stand-in\n' >"$T/fakebuild/followupd"
    chmod +x "$T/fakebuild/followupd"
    bin_build=$T/fakebuild
fi
install_twice() {
    nocheck=1
    [ -x "$FU" ] && nocheck=0
    DESTDIR=$stage BUILD=$bin_build NO_CHECK=$nocheck sh deploy/systemd/install.sh || return 1
    echo "# local edit" >>"$stage/etc/followupd/policy.yaml"
    DESTDIR=$stage BUILD=$bin_build NO_CHECK=$nocheck sh deploy/systemd/install.sh || return 1
    tail -n 1 "$stage/etc/followupd/policy.yaml" | grep -q '^# local edit$' || {
        echo "second install overwrote the edited policy"
        return 1
    }
    [ "$(stat -c %a "$stage/etc/default/followupd")" = 600 ] || {
        echo "/etc/default/followupd is not mode 0600"
        return 1
    }
    cmp -s deploy/systemd/followupd.service "$stage/etc/systemd/system/followupd.service"
}
check "install.sh into a DESTDIR, twice (idempotent, keeps edited config)" install_twice
if have systemd-analyze && [ -d /usr/lib/systemd/system ] && [ -f "$stage/usr/local/bin/followupd" ]; then
    # verify resolves the unit's dependencies and Exec paths inside --root
    mkdir -p "$stage/usr/lib/systemd" "$stage/bin"
    cp -a /usr/lib/systemd/system "$stage/usr/lib/systemd/"
    cp /bin/kill "$stage/bin/kill"
    check "systemd-analyze verify followupd.service (no output)" \
        quiet systemd-analyze verify --root="$stage" followupd.service
    check "systemd-analyze security: exposure at most 2.0" \
        systemd-analyze security --offline=true --root="$stage" --threshold=20 followupd.service
else
    skip "systemd-analyze verify/security" "systemd-analyze: apt-get install systemd"
fi

# ---------------------------------------------------------------- shell
if have shellcheck; then
    check "shellcheck install.sh, check.sh, rehearse-trial.sh" \
        shellcheck deploy/systemd/install.sh deploy/check.sh deploy/rehearse-trial.sh
else
    skip "shellcheck" "apt-get install shellcheck"
fi

# ---------------------------------------------------------------- configs
if [ -x "$FU" ]; then
    check "followupd check -c deploy/docker/followupd.yaml" \
        "$FU" check -c deploy/docker/followupd.yaml
    if [ "$PY_OK" = 1 ]; then
        cm_check() {
            py configmap "$T/cm" && "$FU" check -c "$T/cm/followupd.yaml"
        }
        check "followupd check on the ConfigMap's followupd.yaml and policy.yaml" cm_check
    fi
else
    skip "followupd check of the deploy configs" "no $FU: make"
fi

# ---------------------------------------------------------------- image build stage
# What `docker build` would do in its build stage, without Docker: only the
# files the Dockerfile COPYs, then `make build/followupd` and a check of the
# shipped config. Fails when the Makefile starts to need a file the
# Dockerfile does not copy.
if [ "$PY_OK" = 1 ] && have make && have cc && have pkg-config; then
    build_stage() {
        mkdir -p "$T/ctx" || return 1
        for src in $(py build-context); do
            mkdir -p "$T/ctx/$(dirname "$src")" && cp -R "$src" "$T/ctx/$src" || return 1
        done
        # as `docker build` runs it: none of the caller's make settings
        # (make asan passes BUILD, SAN, OPT through the environment)
        (cd "$T/ctx" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u SAN \
            -u OPT -u CFLAGS -u CPPFLAGS -u LDFLAGS -u DEVELOPER -u CC \
            make -j2 build/followupd && build/followupd version &&
            build/followupd check -c config/followupd.yaml)
    }
    check "the Dockerfile's build stage: make build/followupd from its COPY set alone" build_stage
    # The binary the image would hold (not $BUILD's, which may carry ASan)
    if [ -x "$T/ctx/build/followupd" ] && have objdump && have dpkg && have ldd; then
        check "every library the image's binary links is installed by its runtime stage" \
            py runtime-libs "$T/ctx/build/followupd"
    else
        skip "runtime libraries of the image" "needs the build stage, objdump, dpkg, ldd"
    fi
else
    skip "the Dockerfile's build stage and its runtime libraries" "make, cc, pkg-config: make deps"
fi

# ---------------------------------------------------------------- compose, kustomize
if have docker-compose; then
    check "docker-compose config (deploy/docker/docker-compose.yml)" \
        docker-compose -f deploy/docker/docker-compose.yml config -q
elif have docker && docker compose version >/dev/null 2>&1; then
    check "docker compose config (deploy/docker/docker-compose.yml)" \
        docker compose -f deploy/docker/docker-compose.yml config -q
else
    skip "compose file check" "docker-compose: apt-get install docker-compose"
fi
if have kubectl; then
    check "kubectl kustomize deploy/k8s" kubectl kustomize deploy/k8s
else
    skip "kustomize build" "kubectl"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
