#!/usr/bin/env python3
"""deploy/check.py -- static checks of the files under deploy/, one per
subcommand, called by deploy/check.sh. Each prints what is wrong and exits
1, or exits 0. Needs python3 with PyYAML (Debian: python3-yaml).

  check.py yaml                 every *.yml / *.yaml under deploy/ parses
  check.py json                 every *.json under deploy/ parses
  check.py metrics              PromQL in alerts and dashboard uses only the
                                names in deploy/prometheus/metrics.txt, and
                                the dashboard shows every one of them
  check.py promql-rules FILE    writes the dashboard's expressions as a
                                Prometheus rules file, for promtool to parse
  check.py k8s                  selectors, ports, probes, security context,
                                config checksum of deploy/k8s/
  check.py configmap DIR        writes the ConfigMap's files into DIR
  check.py dockerfile           the runtime stage installs the right
                                libraries and runs as 10001; no COPY . .
  check.py runtime-libs BINARY  every library BINARY links is in a package
                                the runtime stage installs (dpkg -S)
  check.py build-context        the paths the build stage COPYs, one a line
"""
import glob
import hashlib
import json
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEPLOY = os.path.join(ROOT, "deploy")
DASHBOARD = os.path.join(DEPLOY, "grafana", "followupd-dashboard.json")
ALERTS = os.path.join(DEPLOY, "prometheus", "alerts.yml")
METRICS = os.path.join(DEPLOY, "prometheus", "metrics.txt")
K8S = os.path.join(DEPLOY, "k8s")
DOCKERFILE = os.path.join(DEPLOY, "docker", "Dockerfile")

problems = []


def bad(msg):
    problems.append(msg)


def rel(path):
    return os.path.relpath(path, ROOT)


def deploy_files(*exts):
    out = []
    for dirpath, _, files in os.walk(DEPLOY):
        for f in files:
            if f.endswith(exts):
                out.append(os.path.join(dirpath, f))
    return sorted(out)


def load_yaml_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# ---------------------------------------------------------------- parse
def cmd_yaml():
    files = deploy_files(".yml", ".yaml")
    for path in files:
        try:
            docs = load_yaml_docs(path)
            if not docs:
                bad(f"{rel(path)}: empty")
        except yaml.YAMLError as e:
            bad(f"{rel(path)}: {e}")
    print(f"{len(files)} YAML files parsed")


def cmd_json():
    files = deploy_files(".json")
    for path in files:
        try:
            with open(path) as f:
                json.load(f)
        except ValueError as e:
            bad(f"{rel(path)}: {e}")
    print(f"{len(files)} JSON files parsed")


# ---------------------------------------------------------------- metrics
def known_metrics():
    names, hist = set(), set()
    with open(METRICS) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            names.add(line[0])
            if line[1] == "histogram":
                hist.add(line[0])
    return names, hist


def dashboard_exprs():
    with open(DASHBOARD) as f:
        d = json.load(f)
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((f"panel '{p.get('title')}' {t.get('refId')}", t["expr"]))
            walk(p.get("panels", []))

    walk(d.get("panels", []))
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and q:
            out.append((f"variable {v['name']}", q))
    return out


def alert_exprs():
    out = []
    for doc in load_yaml_docs(ALERTS):
        for g in doc.get("groups", []):
            for r in g.get("rules", []):
                out.append((f"alert {r.get('alert') or r.get('record')}", r["expr"]))
    return out


def names_in(expr):
    # strip strings so label values never count as names
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return set(re.findall(r"\bfollowupd_[a-z0-9_]+\b", expr))


def cmd_metrics():
    names, hist = known_metrics()
    allowed = set(names)
    for h in hist:
        allowed |= {h + "_bucket", h + "_sum", h + "_count"}
    on_dashboard = set()
    exprs = dashboard_exprs() + alert_exprs()
    for where, expr in exprs:
        for n in names_in(expr):
            if n not in allowed:
                bad(f"{where}: unknown metric {n}")
            if where.startswith(("panel", "variable")):
                base = re.sub(r"_(bucket|sum|count)$", "", n) if n not in names else n
                on_dashboard.add(base)
        for h in hist:
            if re.search(rf"\b{h}_bucket\b", expr) and "histogram_quantile" not in expr:
                bad(f"{where}: {h}_bucket outside histogram_quantile")
            if re.search(rf"\b{h}\b(?!_)", expr):
                bad(f"{where}: histogram {h} used without _bucket/_sum/_count")
    for n in sorted(names - on_dashboard):
        bad(f"dashboard: no panel shows {n}")
    print(f"{len(exprs)} expressions, {len(names)} known metrics")


def cmd_promql_rules(out):
    rules = []
    for i, (where, expr) in enumerate(dashboard_exprs()):
        if where.startswith("variable"):
            continue  # label_values() is Grafana's, not PromQL
        e = (expr.replace("$__rate_interval", "1m").replace("$__range", "1h")
             .replace("$job", ".*").replace("$instance", ".*"))
        if "$" in e:
            bad(f"{where}: unknown variable in {expr}")
        rules.append({"record": f"dashboard:expr_{i}", "expr": e})
    with open(out, "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, sort_keys=False)
    print(f"{len(rules)} dashboard expressions written to {out}")


# ---------------------------------------------------------------- k8s
def k8s_docs():
    docs = {}
    for path in sorted(glob.glob(os.path.join(K8S, "*.yaml"))):
        for d in load_yaml_docs(path):
            docs.setdefault(d["kind"], d)
            if "namespace" in d.get("metadata", {}):
                bad(f"{rel(path)}: names a namespace (the manifests must not)")
    return docs


def cmd_k8s():
    docs = k8s_docs()
    with open(os.path.join(K8S, "kustomization.yaml")) as f:
        kust = yaml.safe_load(f)
    for r in kust["resources"]:
        if not os.path.exists(os.path.join(K8S, r)):
            bad(f"kustomization.yaml: {r} does not exist")
    if "secret-example.yaml" in kust["resources"]:
        bad("kustomization.yaml: must not apply the placeholder secret")
    for k in ["ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "ServiceMonitor", "Secret"]:
        if k not in docs:
            bad(f"deploy/k8s: no {k}")
    if problems:
        return
    dep, svc, pdb, sm, cm, sec = (docs[k] for k in ["Deployment", "Service", "PodDisruptionBudget",
                                                   "ServiceMonitor", "ConfigMap", "Secret"])
    spec = dep["spec"]
    tmpl = spec["template"]
    labels = tmpl["metadata"]["labels"]

    def selects(sel, what):
        for k, v in sel.items():
            if labels.get(k) != v:
                bad(f"{what} selector {k}={v} does not match the pod labels")

    selects(spec["selector"]["matchLabels"], "Deployment")
    selects(svc["spec"]["selector"], "Service")
    selects(pdb["spec"]["selector"]["matchLabels"], "PodDisruptionBudget")
    for k, v in sm["spec"]["selector"]["matchLabels"].items():
        if svc["metadata"]["labels"].get(k) != v:
            bad(f"ServiceMonitor selector {k}={v} does not match the Service labels")
    svc_ports = {p["name"]: p for p in svc["spec"]["ports"]}
    if "metrics" not in svc_ports or svc_ports["metrics"]["port"] != 9464:
        bad("Service: no port 9464 named metrics")
    if [e.get("port") for e in sm["spec"]["endpoints"]] != ["metrics"]:
        bad("ServiceMonitor: endpoint must be the port named metrics")
    if spec["replicas"] != 2:
        bad("Deployment: replicas should be 2")
    if pdb["spec"].get("maxUnavailable") != 1:
        bad("PodDisruptionBudget: maxUnavailable should be 1")

    pod = tmpl["spec"]
    if pod.get("terminationGracePeriodSeconds") != 15:
        bad("Deployment: terminationGracePeriodSeconds should be 15")
    if not pod.get("securityContext", {}).get("runAsNonRoot"):
        bad("Deployment: runAsNonRoot missing")
    ann = tmpl["metadata"].get("annotations", {})
    for k, v in {"prometheus.io/scrape": "true", "prometheus.io/port": "9464",
                 "prometheus.io/path": "/metrics"}.items():
        if ann.get(k) != v:
            bad(f"Deployment: pod annotation {k} should be {v!r}")
    with open(os.path.join(K8S, "configmap.yaml"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if ann.get("followupd/config-sha256") != digest:
        bad("Deployment: followupd/config-sha256 is not the sha256 of configmap.yaml "
            f"({digest}); update it (docs/deploy.md, \"Config changes\")")

    (c,) = pod["containers"]
    if c["image"] != "followupd:0.1.0":
        bad("Deployment: image should be followupd:0.1.0")
    if c.get("args") != ["run", "-c", "/etc/followupd/followupd.yaml"]:
        bad("Deployment: args should be run -c /etc/followupd/followupd.yaml")
    env = {e["name"]: e for e in c.get("env", [])}
    ref = env.get("FOLLOWUPD_REDIS_URL", {}).get("valueFrom", {}).get("secretKeyRef", {})
    if ref.get("name") != sec["metadata"]["name"] or ref.get("key") not in sec["stringData"]:
        bad("Deployment: FOLLOWUPD_REDIS_URL must come from the Secret's key")
    if env.get("FOLLOWUPD_HTTP_LISTEN", {}).get("value") != "0.0.0.0:9464":
        bad("Deployment: FOLLOWUPD_HTTP_LISTEN should be 0.0.0.0:9464")
    if not any(p.get("containerPort") == 9464 and p.get("name") == "metrics" for p in c["ports"]):
        bad("Deployment: container port 9464 named metrics missing")
    for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/healthz")]:
        g = c.get(probe, {}).get("httpGet", {})
        if g.get("path") != path or g.get("port") != 9464:
            bad(f"Deployment: {probe} should GET {path} on 9464")
    res = c.get("resources", {})
    if res.get("requests") != {"cpu": "100m", "memory": "64Mi"} or \
       res.get("limits") != {"cpu": "1", "memory": "256Mi"}:
        bad("Deployment: resources should be requests 100m/64Mi, limits 1/256Mi")
    sc = c.get("securityContext", {})
    if not (sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False
            and sc.get("capabilities", {}).get("drop") == ["ALL"]):
        bad("Deployment: container securityContext incomplete")
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    m = mounts.get("config")
    if not m or m["mountPath"] != "/etc/followupd" or "subPath" in m:
        bad("Deployment: the ConfigMap must be mounted as the directory /etc/followupd (no subPath)")
    if vols.get("config", {}).get("configMap", {}).get("name") != cm["metadata"]["name"]:
        bad("Deployment: volume config must be the ConfigMap")
    for key in ["followupd.yaml", "policy.yaml"]:
        if key not in cm["data"]:
            bad(f"ConfigMap: no {key}")
    print("k8s manifests consistent")


def cmd_configmap(outdir):
    cm = k8s_docs()["ConfigMap"]
    os.makedirs(outdir, exist_ok=True)
    for k, v in cm["data"].items():
        with open(os.path.join(outdir, k), "w") as f:
            f.write(v)
    print(f"{len(cm['data'])} files written to {outdir}")


# ---------------------------------------------------------------- docker
RUNTIME_PKGS = {"librdkafka1", "libhiredis0.14", "libjansson4", "libyaml-0-2",
                "libmicrohttpd12", "tzdata", "ca-certificates"}
BASE_PKGS = {"libc6"}  # in debian:12-slim already


def dockerfile_stages():
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            cur = {"from": rest, "lines": []}
            stages.append(cur)
        elif cur is not None:
            cur["lines"].append((word.upper(), rest))
    return stages


def runtime_packages(stage):
    pkgs = set()
    for word, rest in stage["lines"]:
        if word == "RUN" and "apt-get install" in rest:
            part = rest.split("apt-get install", 1)[1].split("&&", 1)[0]
            pkgs |= {t for t in part.split() if not t.startswith("-")}
    return pkgs


def cmd_dockerfile():
    stages = dockerfile_stages()
    if len(stages) != 2 or not stages[0]["from"].startswith("debian:12 ") \
       or stages[1]["from"] != "debian:12-slim":
        bad("Dockerfile: two stages expected, debian:12 AS build and debian:12-slim")
        return
    build, run = stages
    got = runtime_packages(run)
    if got != RUNTIME_PKGS:
        bad(f"Dockerfile: runtime packages {sorted(got)}, expected {sorted(RUNTIME_PKGS)}")
    need_build = {"build-essential", "pkg-config", "librdkafka-dev", "libhiredis-dev",
                  "libjansson-dev", "libyaml-dev", "libmicrohttpd-dev"}
    if not need_build <= runtime_packages(build):
        bad(f"Dockerfile: build stage lacks {sorted(need_build - runtime_packages(build))}")
    for st in stages:
        for word, rest in st["lines"]:
            if word == "COPY" and re.match(r"^(--\S+\s+)*\.\s", rest + " "):
                bad("Dockerfile: COPY . copies the whole context (build trees, .git): name the files")
    d = dict(run["lines"])
    want = {"USER": "10001:10001", "EXPOSE": "9464", "ENTRYPOINT": '["followupd"]',
            "CMD": '["run", "-c", "/etc/followupd/followupd.yaml"]'}
    for k, v in want.items():
        if d.get(k) != v:
            bad(f"Dockerfile: runtime {k} is {d.get(k)!r}, expected {v!r}")
    print("Dockerfile: stages, packages, user, port, entrypoint as expected")


def cmd_runtime_libs(binary):
    want = RUNTIME_PKGS | BASE_PKGS
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = {}
    for line in ldd.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            paths[m.group(1)] = m.group(2)
    objdump = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True,
                             check=True).stdout
    needed = re.findall(r"^\s*NEEDED\s+(\S+)", objdump, re.M)
    for lib in needed:
        path = paths.get(lib)
        if not path:
            bad(f"{binary}: {lib} not found by ldd")
            continue
        real = os.path.realpath(path)
        pkg = None
        for p in (path, real, path.replace("/lib/", "/usr/lib/", 1), real.replace("/usr/lib/", "/lib/", 1)):
            r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
            if r.returncode == 0:
                pkg = r.stdout.split(":", 1)[0]
                break
        if pkg is None:
            bad(f"{binary}: no Debian package owns {path}")
        elif pkg not in want:
            bad(f"{binary} needs {lib} from {pkg}, which the Dockerfile's runtime stage does not install")
        else:
            print(f"{lib} <- {pkg}")


def cmd_build_context():
    build = dockerfile_stages()[0]
    for word, rest in build["lines"]:
        if word == "COPY" and "--from" not in rest:
            for src in rest.split()[:-1]:
                print(src.rstrip("/"))


def main():
    cmds = {"build-context": cmd_build_context, "yaml": cmd_yaml, "json": cmd_json, "metrics": cmd_metrics,
            "promql-rules": cmd_promql_rules, "k8s": cmd_k8s, "configmap": cmd_configmap,
            "dockerfile": cmd_dockerfile, "runtime-libs": cmd_runtime_libs}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    cmds[sys.argv[1]](*sys.argv[2:])
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
