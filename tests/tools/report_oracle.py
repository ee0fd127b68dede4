#!/usr/bin/python3
"""report_oracle.py -- spec 3.7's figures counted again, independently of
followupd's C code, to check `followupd report`.

usage:
  report_oracle.py OUTPUTS EVENTS REPORT.json

  OUTPUTS is what `followupd simulate` printed over EVENTS; REPORT.json is
  `followupd report --format json --events EVENTS OUTPUTS` (or the "old" or
  "new" half of a --compare). The figures are counted here from the same
  lines, the report is compared with them (rates to 4 decimals), and every
  difference is printed; exit 1 when there is one.

  Event lines simulate dead-lettered (their source.offset is the line
  number) are not events, so their outcomes do not count.

  Message follow-ups (spec 4.2) are counted apart from calls as well, from
  the decision records with "kind": "message" (docs/report.md):
  messages_decided (scheduled with a null reason, and suppressed),
  messages_scheduled, messages_suppressed, messages_cancelled and
  messages_moved by reason.

  Waiting for the dialer (spec 4.3, pacing): each call's wait is its
  line's "at" minus its "due_at", in whole seconds (a fraction dropped, as
  RFC 3339 instants are read), 0 when "at" is not later; calls_waited
  counts the calls with a wait, wait_seconds_total sums the waits and
  wait_seconds_max is the largest (0 when none).
"""
import json
import math
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

OUTCOMES = {"answered", "no_answer", "busy", "failed", "refused", "opt_out",
            "wrong_number"}


def new_figures():
    return {"scheduled": 0, "suppressed": {}, "cancelled": {}, "moved": {},
            "calls": {}, "calls_waited": 0, "wait_seconds_total": 0,
            "wait_seconds_max": 0, "cancels": 0, "reminders": 0,
            "reminders_skipped": {}, "messages": {}, "messages_decided": 0,
            "messages_scheduled": 0, "messages_suppressed": {},
            "messages_cancelled": {}, "messages_moved": {}, "outcomes": {},
            "sat": [], "calls_per_day": {}, "calls_per_local_hour": {}}


def bump(m, key):
    m[key] = m.get(key, 0) + 1


def rate(num, den):
    if den == 0:
        return None
    return math.floor(num / den * 10000 + 0.5) / 10000  # half up


def finish(f):
    answered = f["outcomes"].get("answered", 0)
    with_outcome = sum(f["outcomes"].values())
    calls = sum(f["calls"].values())
    sat = f.pop("sat")
    f["answer_rate"] = rate(answered, with_outcome)
    f["attempts_per_answer"] = rate(calls, answered)
    f["satisfaction"] = {"mean": rate(sum(sat), len(sat)), "count": len(sat)}
    return f


def parse_time(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def epoch_seconds(s):
    """An RFC 3339 instant as whole POSIX seconds, its fraction dropped."""
    d = parse_time(s)
    whole = d.replace(microsecond=0)
    return int((whole - datetime(1970, 1, 1, tzinfo=timezone.utc))
               .total_seconds())


def count(outputs, events):
    total, rules = new_figures(), {}
    dup, dead, bad_lines = 0, {}, set()
    calls = {}  # task_id -> (rule, user)

    def rule(r):
        return rules.setdefault(r, new_figures())

    def both(r, key, sub):
        bump(total[key], sub)
        bump(rule(r)[key], sub)

    for line in outputs:
        if not line.strip():
            continue
        o = json.loads(line)
        v, topic = o["value"], o["topic"]
        if topic == "tasks" and v["action"] == "call":
            r = v["rule_id"]
            calls[v["task_id"]] = (r, v["user_id"])
            at = parse_time(o["at"])
            both(r, "calls", str(v["attempt"]))
            both(r, "calls_per_day", at.astimezone(timezone.utc).date().isoformat())
            local = at.astimezone(ZoneInfo(v["timezone"]))
            both(r, "calls_per_local_hour", str(local.hour))
            wait = epoch_seconds(o["at"]) - epoch_seconds(v["due_at"])
            if wait > 0:
                for f in (total, rule(r)):
                    f["calls_waited"] += 1
                    f["wait_seconds_total"] += wait
                    f["wait_seconds_max"] = max(f["wait_seconds_max"], wait)
        elif topic == "tasks":
            total["cancels"] += 1
            if v["task_id"] in calls:
                rule(calls[v["task_id"]][0])["cancels"] += 1
        elif topic == "reminders":
            total["reminders"] += 1
            rule(v["rule_id"])["reminders"] += 1
        elif topic == "messages":
            both(v["rule_id"], "messages", v["channel"])
        elif topic == "dead_letter":
            bump(dead, v["error"])
            bad_lines.add(v["source"]["offset"])
        elif v["decision"] == "duplicate":
            dup += 1
        else:
            r, reason = v["rule_id"], v.get("reason")
            msg = v.get("kind") == "message"
            if v["decision"] == "scheduled" and reason is None:
                total["scheduled"] += 1
                rule(r)["scheduled"] += 1
                if msg:
                    for f in (total, rule(r)):
                        f["messages_scheduled"] += 1
                        f["messages_decided"] += 1
            elif v["decision"] == "scheduled":
                both(r, "moved", reason)
                if msg:
                    both(r, "messages_moved", reason)
            else:
                both(r, v["decision"], reason)
                if msg:
                    both(r, "messages_" + v["decision"], reason)
                if msg and v["decision"] == "suppressed":
                    total["messages_decided"] += 1
                    rule(r)["messages_decided"] += 1
            if v.get("reminder") not in (None, "scheduled"):
                both(r, "reminders_skipped", v["reminder"])

    answered_calls, used_ids = set(), set()
    for n, line in enumerate(events, 1):
        if not line.strip() or n in bad_lines:
            continue
        e = json.loads(line)
        if e.get("type") != "callback.outcome":
            continue
        d = e["data"]
        t = d["task_id"]
        if (t not in calls or calls[t][1] != e["user_id"]
                or t in answered_calls or e["event_id"] in used_ids):
            continue
        answered_calls.add(t)
        used_ids.add(e["event_id"])
        r = calls[t][0]
        both(r, "outcomes", d["outcome"])
        if d.get("satisfaction") is not None:
            total["sat"].append(d["satisfaction"])
            rule(r)["sat"].append(d["satisfaction"])

    return {"schema": "followupd.report/v1", "total": finish(total),
            "rules": {r: finish(f) for r, f in rules.items()},
            "duplicates": dup, "dead_letters": dead}


def differences(want, got, path=""):
    """Paths where got differs from want (numbers: to 1e-9)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        for k in sorted(set(want) | set(got)):
            if k not in got:
                out.append(f"{path}/{k}: missing, want {want[k]!r}")
            elif k not in want:
                out.append(f"{path}/{k}: {got[k]!r} should not be there")
            else:
                out += differences(want[k], got[k], f"{path}/{k}")
        return out
    if (isinstance(want, (int, float)) and isinstance(got, (int, float))
            and not isinstance(want, bool) and abs(want - got) < 1e-9):
        return []
    return [] if want == got else [f"{path}: got {got!r}, want {want!r}"]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        outputs = f.readlines()
    with open(sys.argv[2]) as f:
        events = f.readlines()
    with open(sys.argv[3]) as f:
        got = json.load(f)
    diffs = differences(count(outputs, events), got)
    for d in diffs:
        print(d)
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
