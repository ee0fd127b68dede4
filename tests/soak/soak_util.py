#!/usr/bin/env python3
"""tests/soak/soak_util.py -- the parts of tests/soak/soak.sh that are
easier in Python. Not the checker (that is tests/soak/soak_check.py).

  soak_util.py gen --policy P --users N --rate R --seconds S --start-ms MS [--seed K]
      The soak's load on stdout, one event a line, occurring at R a second
      from MS (occurred_at of line i = MS + i * 1000 / R, so each event is
      about "now" when `kafka_tool produce --rate R` sends it). Event types:
      those the policy's rules name in `on` (the built-ins left out), with
      data that matches typical conditions about half the time, and noise
      no rule names; plus opt-outs and opt-ins, timezone changes (by
      user.preferences and by an event's `timezone`), sms channel off and
      on, outcomes naming no task of ours (ignored), exact redeliveries of
      recent lines (the same event_id twice) and malformed lines. A mix
      summary goes to stderr. Deterministic for a seed.
  soak_util.py merge --input-topic T --out-topics A,B,... --input OUT --outputs OUT FILE...
      The union of `kafka_tool consume` files (one record per topic,
      partition and offset; the first copy kept), split into the input
      topic's records and the output topics' records, each in offset order
      within a partition, partitions interleaved by timestamp. Prints one
      line per topic (`TOPIC records N partitions P gaps G`) and exits 1
      when a partition's offsets are not 0..N-1 without a hole (records the
      mock cluster trimmed before anyone read them).
"""
import argparse
import heapq
import json
import random
import sys
import time

BUILTINS = {"user.preferences", "callback.outcome", "callback.reschedule"}
NOISE = ["user.seen", "page.view", "card.linked", "balance.checked"]
ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
         "Asia/Kathmandu", "Australia/Adelaide", "UTC"]


def rule_types(path):
    import yaml
    with open(path) as f:
        doc = yaml.safe_load(f)
    types = []
    for rule in doc.get("rules") or []:
        on = rule.get("on", rule.get(True))   # YAML 1.1 reads `on` as true
        for t in [on] if isinstance(on, str) else (on or []):
            if t not in BUILTINS and t not in types:
                types.append(t)
    return types


def iso(ms, offset_min=0):
    t = time.gmtime(ms // 1000 + offset_min * 60)
    s = time.strftime("%Y-%m-%dT%H:%M:%S", t)
    if offset_min == 0:
        return s + "Z"
    sign = "+" if offset_min > 0 else "-"
    return "%s%s%02d:%02d" % (s, sign, abs(offset_min) // 60, abs(offset_min) % 60)


def cmd_gen(a):
    rnd = random.Random(a.seed)
    types = rule_types(a.policy)
    noise = [t for t in NOISE if t not in types]
    weights = [4 if t == "transaction" else 1 for t in types]
    n = a.rate * a.seconds
    recent = []
    mix = {}

    def count(k):
        mix[k] = mix.get(k, 0) + 1

    def when(ms):
        r = rnd.random()
        if r < 0.6:
            return ms                      # epoch ms
        if r < 0.9:
            return iso(ms)                 # RFC 3339, UTC
        return iso(ms, 480)                # RFC 3339, +08:00

    def data():
        return {"amount": rnd.choice([120, 980.5, 5200.75, 98765.43]),
                "currency": rnd.choice(["CNY", "CNY", "USD"]),
                "status": "succeeded" if rnd.random() < 0.85 else "failed",
                "kind": rnd.choice(["transfer", "withdrawal", "purchase"])}

    out = sys.stdout
    for i in range(n):
        ms = a.start_ms + i * 1000 // a.rate
        user = "u-%d" % rnd.randrange(a.users)
        eid = "sk%d-%d" % (a.seed, i)
        r = rnd.random()
        ev = {"event_id": eid, "user_id": user, "occurred_at": when(ms)}
        line = None
        if r < 0.04 and recent:
            line = rnd.choice(recent[-2000:])   # the same event again
            count("duplicate")
        elif r < 0.05:
            k = rnd.randrange(5)
            if k == 0:
                line = '{"event_id": "%s", "type": "transaction", "user_id"' % eid
            elif k == 1:
                line = json.dumps({"event_id": eid, "type": "transaction",
                                   "occurred_at": ms})
            elif k == 2:
                line = json.dumps({"event_id": eid, "type": "transaction",
                                   "user_id": user, "occurred_at": True})
            elif k == 3:
                line = json.dumps({"event_id": eid, "type": "transaction",
                                   "user_id": user, "occurred_at": ms,
                                   "timezone": "Mars/Olympus"})
            else:
                line = "[1, 2, 3]"
            count("malformed")
        elif r < 0.08:
            ev.update(type="user.preferences", data={"opt_out": True})
            count("opt_out")
        elif r < 0.11:
            ev.update(type="user.preferences", data={"opt_out": False})
            count("opt_in")
        elif r < 0.13:
            ev.update(type="user.preferences",
                      data={"timezone": rnd.choice(ZONES)})
            count("timezone_pref")
        elif r < 0.14:
            ev.update(type="user.preferences",
                      data={"channels": {"sms": rnd.random() < 0.5}})
            count("channels")
        elif r < 0.15:
            ev.update(type="callback.outcome",
                      data={"task_id": "t-%016x" % rnd.getrandbits(64),
                            "outcome": rnd.choice(["answered", "no_answer"])})
            count("stale_outcome")
        elif r < 0.35 or not types:
            ev.update(type=rnd.choice(noise), data=data())
            count("noise")
        else:
            ev.update(type=rnd.choices(types, weights)[0], data=data())
            count("rule_type")
        if line is None:
            if ev["type"] != "user.preferences" and rnd.random() < 0.03:
                ev["timezone"] = rnd.choice(ZONES)
                count("with_timezone")
            line = json.dumps(ev)
        out.write(line + "\n")
        recent.append(line)
        if len(recent) > 4000:
            del recent[:2000]
    sys.stderr.write("%d events, %d users, rule types %s: %s\n" % (
        n, a.users, ",".join(types) or "(none)",
        ", ".join("%s %d" % kv for kv in sorted(mix.items()))))
    return 0


def records(paths):
    for p in paths:
        try:
            f = open(p, errors="replace")
        except FileNotFoundError:
            continue
        with f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue   # a line cut short by a stopped consumer
                if isinstance(rec, dict) and "topic" in rec:
                    yield line, rec


def cmd_merge(a):
    want_out = set(a.out_topics.split(","))
    parts = {}   # (topic, partition) -> {offset: (ts, line)}
    for line, rec in records(a.files):
        t = rec["topic"]
        if t != a.input_topic and t not in want_out:
            continue
        key = (t, rec.get("partition"))
        p = parts.setdefault(key, {})
        off = rec.get("offset")
        if off not in p:
            p[off] = (rec.get("ts_ms") or 0, line if line.endswith("\n") else line + "\n")
    bad = 0
    stats = {}
    for (t, part), offs in sorted(parts.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        s = stats.setdefault(t, [0, 0, 0])
        s[0] += len(offs)
        s[1] += 1
        hi = max(offs)
        holes = hi + 1 - len(offs)
        s[2] += holes
        if holes:
            bad = 1
    for t in [a.input_topic] + a.out_topics.split(","):
        s = stats.get(t, [0, 0, 0])
        print("%s records %d partitions %d gaps %d" % (t, s[0], s[1], s[2]))

    def write(path, topics):
        lists = []
        for key, offs in parts.items():
            if key[0] in topics:
                lists.append([offs[o] for o in sorted(offs)])
        # partitions in offset order, interleaved by timestamp
        heap = [(l[0][0], i, 0) for i, l in enumerate(lists) if l]
        heapq.heapify(heap)
        with open(path, "w") as f:
            while heap:
                _, i, j = heapq.heappop(heap)
                f.write(lists[i][j][1])
                if j + 1 < len(lists[i]):
                    heapq.heappush(heap, (lists[i][j + 1][0], i, j + 1))

    write(a.input, {a.input_topic})
    write(a.outputs, want_out)
    return bad


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--policy", required=True)
    g.add_argument("--users", type=int, required=True)
    g.add_argument("--rate", type=int, required=True)
    g.add_argument("--seconds", type=int, required=True)
    g.add_argument("--start-ms", type=int, required=True)
    g.add_argument("--seed", type=int, default=1)
    mg = sub.add_parser("merge")
    mg.add_argument("--input-topic", required=True)
    mg.add_argument("--out-topics", required=True)
    mg.add_argument("--input", required=True)
    mg.add_argument("--outputs", required=True)
    mg.add_argument("files", nargs="+")
    a = ap.parse_args()
    return {"gen": cmd_gen, "merge": cmd_merge}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
