#!/usr/bin/env python3
"""tests/soak/soak_check.py -- the independent checker of a followupd soak run.

Owns: judging what a daemon did over a soak from the outside, given the
policy, the input topic and the output topics as `kafka_tool consume`
dumped them (and optionally RSS samples). It is written from the product
contract (shared/spec/product.md 3.3-3.5 and 4), never from lib/engine.c,
so a bug in the engine is not mirrored here. Standard library + PyYAML.

usage:
  soak_check.py --policy POLICY.yaml --input INPUT.jsonl --outputs OUTPUTS.jsonl
      [--end-ms MS] [--rss RSS.txt] [--input-topic NAME[,NAME...]]
      [--topics tasks=NAME,reminders=NAME,decisions=NAME,dead_letter=NAME,messages=NAME]
      [--opt-out-slack-ms MS] [--grace-ms MS]
Exit: 0 every check holds, 1 a violation, 2 usage or unreadable input.

Input lines are `{"at","ts_ms","topic","partition","offset","key","value"}`.
INPUT holds the input topic(s) (every line is used unless --input-topic
names the topics); OUTPUTS holds the output topics, by default the names
of spec 3.2. `--end-ms` is when the soak stopped (default: the latest
Kafka timestamp seen); an item due before end-ms - 5 s must have left.

Times. Decision records carry `at` in whole seconds, so a record says the
decision happened in [at, at + 999 ms]. An input event was decided no
earlier than its Kafka timestamp and no later than the first record of it
(or of a later event of the same user, since one user's events are
decided in order); with no such record, no later than its timestamp +
--opt-out-slack-ms (default 60000). Where the order of two things cannot
be told from these bounds the checker accepts either order.

The checks, one summary line each, then at most 20 problems each (naming
user_id, task_id and event_id, never an event's data):

input      Every input line is validated as spec 3.3 says (JSON object,
           the four required fields and their types, RFC 3339 / epoch-ms
           instants, known IANA zones via zoneinfo, the data of the three
           built-in types). Counts records, events, malformed lines, users,
           duplicates, matched triggers.
outputs    Every output message has the schema and fields of spec 3.5; the
           Kafka key is the user_id; at-least-once copies (tasks by
           task_id + action, reminders by reminder_id, messages by
           message_id) are equal to the first copy.
accounted  - Each valid, non-duplicate event that a rule's `on` and `when`
             match (conditions evaluated here, docs/policy.md section 3)
             has a scheduled/suppressed record of occurrence 1, attempt 1
             for each matching rule; a trigger record names a rule that
             does match its event; every record names an input event of
             its user.
           - A repeated event (same user_id + event_id) that mattered and
             comes within dedupe_for of the first decision has a
             `duplicate` record (events that do not matter - no match, no
             timezone, not built-in - are not remembered, spec 4 Dedupe).
           - Outcomes that surely count (an emitted, uncancelled task of
             the same user, no earlier outcome) in retry_on below
             max_attempts have a retry record; repeat series have a record
             for every occurrence whose decision time (nominal_k) passed,
             unless the user opted out.
           - A scheduled follow-up (any record: trigger, repeat, retry,
             move) due before end - 5 s left as a task (or message) unless
             it was cancelled or moved before it was due; cancelled/moved
             more than --grace-ms (default 60000) after its due time while
             never emitted is a problem too. Every task has a scheduled
             record; a task's due_at/rule/attempt equal its record's.
           - Reminders: a record with "reminder": "scheduled" whose send
             time (computed here) is before end - 5 s has its reminder
             unless the follow-up was void by then or the user turned the
             channel off; a reminder has a record that scheduled it.
           - Suppression reasons, where they can be re-derived: opted_out
             (the user's opt-out state), no_consent, superseded (a pending
             follow-up of a superseding rule), cooldown (an answered
             outcome whose cooldown covers due_at), expired (no window slot
             before expiry: checked with the due times under `timing`),
             cap:rule / cap:<id> (the cap was full in some window around
             due_at, counted leniently); and precedence for opted_out /
             no_consent (an opted-out user's follow-up is never scheduled
             nor suppressed for another reason; under require_consent, one
             without consent is suppressed as no_consent).
           - Each malformed input line has its own dead letter (by source
             topic/partition/offset, else by payload, one dead letter per
             line); a dead letter names a line the checker also finds
             malformed.
caps       For every cap (shared caps and rules' own caps) and user, the
           counted items (attempt 1 calls / messages by due time, reminders
           by send time; distinct; not cancelled) never exceed the limit in
           any [t, t + per): checked on the final state (emitted minus
           cancelled plus still pending) and, with decision records, at
           every second in which a follow-up was scheduled (items voided in
           that second already removed - supersession frees its cap room).
timing     First copies never leave early (Kafka ts >= due_at / send_at);
           lateness max and p99 are reported, never failed. Each call task:
           due_at inside the calling window (user's window preference or
           the policy's) in the user's zone (latest `timezone` the user's
           events carried, else the policy default) at some moment between
           its scheduling and its emission; its `timezone` is that zone;
           due_at < not_after <= expires_at and not_after is the end of the
           slot piece holding due_at. Reminders and messages: send_at in
           the message window; a reminder's send_at <= callback_at - lead,
           equal to its task's due_at. Exact due times (spec 4 Due time,
           Reminder, Repeat, Retries) for records decided by an event, or
           by a repeat timer when the user's zone/window is unambiguous:
           due_at is the first window instant >= max(nominal, now[, first
           message-window instant + lead]) before expiry (= for on_cap drop
           and suppressions, >= for a deferred schedule), null only when
           there is none; a reminder's send_at is the latest message-window
           instant <= due - lead and >= the decision time.
opt_out    No task or reminder of a follow-up scheduled before an opt-out
           (or, under require_consent, a consent withdrawal) leaves after
           that opt-out was decided (a call followed by its cancel in its
           partition was emitted before: see cancels); nothing is scheduled for a user while
           opted out; a repeat series ends at an opt-out; an emitted call
           whose not_after had not passed and that had no outcome gets a
           cancel when the user opts out.
cancels    Every `cancelled` record (and every move, `replaces`) of a task
           that was emitted is matched by a cancel message whose reason
           maps to the record's (opted_out->opt_out, no_consent->no_consent,
           else rescheduled); a task never leaves after it was cancelled,
           unless its cancel follows it in its partition (it was emitted
           before the cancel was decided, and the outbox waited for Redis
           or the broker); a cancel names an emitted task, follows it, and
           has a record.
rss        With --rss: median of the last third of the samples <= median of
           the middle third * 1.10 + 4096 KiB ("restart" lines are skipped).

Not checked (and why):
- Things the dump cannot show: duplicate JSON keys and the 65536-byte limit
  of an input (kafka_tool re-encodes values; such dead letters are
  accepted), the exact bytes of payloads.
- Whether a `cap:<id>` suppression named the FIRST full cap in file order,
  and whether a deferred call took the earliest legal slot: the live set at
  a decision is only known to the second, so caps are counted leniently.
- Reminder-cap skips (`"reminder": "cap:<id>"`): the skipped reminder's
  send time is not in the record.
- Cooldown cancellations of pending follow-ups, reschedules that were
  ignored (unknown/finished tasks), messages' channel_off, pacing budgets
  (spec 4.3): these need the daemon's full state; their records are still
  used (a cancelled or moved follow-up is void from the record on).
- Exact due times of moves (reschedule, re-plan, pacing) and deferred
  calls: they depend on caps; only window, expiry and "not early" hold.
- Rules on callback.outcome and outcome effects are only expected when
  the outcome surely counts; outcomes that may or may not count are not.
- Events arriving in the last 5 s before end-ms need no decision yet.
- Lateness is measured with Kafka timestamps (CreateTime: when the daemon
  handed the message to librdkafka), so a broker outage that delays
  delivery but not the hand-over does not show in it.
- Message follow-ups (spec 4.2) get the generic checks only: copies, not
  early, message window, caps, scheduled -> left.
"""

import argparse
import bisect
import json
import math
import re
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import yaml

# ---------------------------------------------------------------- constants

DEFAULT_TOPICS = {
    "tasks": "followup.tasks",
    "reminders": "followup.reminders",
    "decisions": "followup.decisions",
    "dead_letter": "followup.dead_letter",
    "messages": "followup.messages",
}
DUE_MARGIN_MS = 5000          # due before end - this must have left
MAX_SHOWN = 20                # problems printed per check
RSS_GROWTH = 0.10             # allowed growth of the RSS median ...
RSS_FLAT_KIB = 4096           # ... plus this
BUILTIN_TYPES = ("user.preferences", "callback.outcome", "callback.reschedule")
OUTCOMES = ("answered", "no_answer", "busy", "failed", "refused", "opt_out",
            "wrong_number")
SUPPRESS_REASON_RE = re.compile(
    r"^(?:opted_out|no_consent|channel_off|superseded|expired|cooldown|"
    r"cap:[A-Za-z0-9_.-]+)$")
CANCEL_REASONS = ("opted_out", "no_consent", "channel_off", "superseded",
                  "cooldown", "rescheduled", "expired")
MAYBE = "maybe"               # third value of the user's opt-out state
CHECKS = ("input", "outputs", "accounted", "caps", "timing", "opt_out",
          "cancels", "rss")
FAR = 253402300799            # 9999-12-31T23:59:59Z


class UsageError(Exception):
    """Bad command line or unreadable input: exit 2."""


class PolicyError(Exception):
    """The policy is not what spec 3.4 describes: exit 2."""


# ---------------------------------------------------------------- time

def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def days_in_month(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


RFC3339_RE = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.[0-9]+)?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))$")
UTC_RE = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$")
DATE_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")


def parse_instant(value):
    """An input instant (RFC 3339, any offset, or integer epoch ms) as epoch
    seconds, fractions floored; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value // 1000 if 0 <= value <= 253402300799999 else None
    if not isinstance(value, str):
        return None
    m = RFC3339_RE.match(value)
    local = m and civil_seconds(m)
    if local is None:
        return None
    offset = 0
    if m.group(8):
        oh, om = int(m.group(9)), int(m.group(10))
        if oh > 23 or om > 59:
            return None
        offset = (oh * 3600 + om * 60) * (1 if m.group(8) == "+" else -1)
    return local - offset


def civil_seconds(m):
    """Groups 1-6 of a date-time match as seconds since the epoch, read as
    UTC, or None when the date or time does not exist."""
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= mo <= 12 and 1 <= d <= days_in_month(y, mo) and h <= 23
            and mi <= 59 and s <= 59):
        return None
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s


def parse_utc(value):
    """An output instant ("YYYY-MM-DDTHH:MM:SSZ") as epoch seconds, or None."""
    if not isinstance(value, str):
        return None
    m = UTC_RE.match(value)
    return civil_seconds(m) if m else None


def parse_date(value):
    m = DATE_RE.match(value) if isinstance(value, str) else None
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= y and 1 <= mo <= 12 and 1 <= d <= days_in_month(y, mo)):
        return None
    return date(y, mo, d)


def fmt_utc(t):
    if t is None:
        return "null"
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_ms(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


DURATION_RE = re.compile(r"^([0-9]+)([smhdw])$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value, where):
    m = DURATION_RE.match(value) if isinstance(value, str) else None
    if not m:
        raise PolicyError("%s: expected a duration like 90s, 2h, 7d, got %r"
                          % (where, value))
    return int(m.group(1)) * DURATION_UNITS[m.group(2)]


# ---------------------------------------------------------------- zones and windows

ZONE_NAME_RE = re.compile(r"^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*$")
_zone_cache = {}


def get_zone(name):
    """ZoneInfo for an IANA name of the system tz database, else None."""
    if name in _zone_cache:
        return _zone_cache[name]
    zone = None
    if (isinstance(name, str) and ZONE_NAME_RE.match(name)
            and len(name.encode()) < 128):
        try:
            zone = ZoneInfo(name)
        except Exception:  # not a zone file (missing, a directory, not TZif)
            zone = None
    _zone_cache[name] = zone
    return zone


DAY_NAMES = {"mon": 0, "monday": 0, "tue": 1, "tuesday": 1, "wed": 2,
             "wednesday": 2, "thu": 3, "thursday": 3, "fri": 4, "friday": 4,
             "sat": 5, "saturday": 5, "sun": 6, "sunday": 6}
HOURS_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-"
                      r"(?:([01][0-9]|2[0-3]):([0-5][0-9])|(24):(00))$")


def parse_hours(text):
    """'HH:MM-HH:MM' as (start, end) seconds of the local day, or None."""
    m = HOURS_RE.match(text) if isinstance(text, str) else None
    if not m:
        return None
    start = int(m.group(1)) * 3600 + int(m.group(2)) * 60
    end = 86400 if m.group(5) else int(m.group(3)) * 3600 + int(m.group(4)) * 60
    return (start, end) if start < end else None


class Window:
    """A calling or message window (spec 3.4): days, hours, exclude_dates."""

    def __init__(self, spec, where):
        if not isinstance(spec, dict) or not isinstance(spec.get("hours"), list) \
                or not spec["hours"]:
            raise PolicyError("%s: a window needs a list of hours" % where)
        days = spec.get("days")
        if days is None:
            self.days = frozenset(range(7))
        else:
            if not isinstance(days, list) or not days or not all(
                    isinstance(d, str) and d.lower() in DAY_NAMES for d in days):
                raise PolicyError("%s: bad days %r" % (where, days))
            self.days = frozenset(DAY_NAMES[d.lower()] for d in days)
        self.ranges = []
        for h in spec["hours"]:
            r = parse_hours(h)
            if r is None:
                raise PolicyError("%s: bad hours range %r" % (where, h))
            self.ranges.append(r)
        self.excluded = set()
        for d in spec.get("exclude_dates") or []:
            pd = parse_date(d)
            if pd is None:
                raise PolicyError("%s: bad exclude date %r" % (where, d))
            self.excluded.add(pd)

    def open_on(self, d):
        return d not in self.excluded and d.weekday() in self.days


def local_time(t, zone):
    return datetime.fromtimestamp(t, zone)


def window_slot(t, zone, win):
    """(local date, range index) of the slot holding instant t, or None."""
    if t < 0 or t > FAR:
        return None
    lt = local_time(t, zone)
    d = lt.date()
    if not win.open_on(d):
        return None
    sod = lt.hour * 3600 + lt.minute * 60 + lt.second
    for i, (a, b) in enumerate(win.ranges):
        if a <= sod < b:
            return (d, i)
    return None


def local_to_utc(d, sod, fold, zone):
    """Instant of local date d at sod seconds (86400 = next midnight)."""
    if sod >= 86400:
        d = d + timedelta(days=1)
        sod -= 86400
    dt = datetime(d.year, d.month, d.day, sod // 3600, (sod % 3600) // 60,
                  sod % 60, tzinfo=zone, fold=fold)
    return int(dt.timestamp())


_transition_cache = {}


def zone_transitions(zone, year):
    """Instants (UTC seconds) in about `year` where the zone's offset changes."""
    key = (str(zone), year)
    if key in _transition_cache:
        return _transition_cache[key]
    start = days_from_civil(year, 1, 1) * 86400 - 3 * 86400
    end = days_from_civil(year + 1, 1, 1) * 86400 + 3 * 86400
    step = 3 * 3600
    out = []

    def offset(t):
        return local_time(t, zone).utcoffset()

    t, prev = start, offset(start)
    while t < end:
        n = t + step
        cur = offset(n)
        if cur != prev:
            lo, hi = t, n  # offset(lo) == prev, offset(hi) != prev
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == prev:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        prev, t = cur, n
    _transition_cache[key] = out
    return out


def transitions_between(zone, a, b):
    ya = datetime.fromtimestamp(max(a, 0), timezone.utc).year
    yb = datetime.fromtimestamp(min(max(b, 0), FAR), timezone.utc).year
    out = []
    for y in range(ya, yb + 1):
        out.extend(t for t in zone_transitions(zone, y) if a <= t <= b)
    return sorted(set(out))


def first_in_window(t0, limit, zone, win):
    """The earliest instant t with t0 <= t < limit inside win, else None.
    The window's set of instants is a union of half-open intervals whose
    starts are range starts (either fold) or offset transitions, so the
    answer is t0 or one of those."""
    if t0 >= limit:
        return None
    if window_slot(t0, zone, win):
        return t0
    day = local_time(t0, zone).date() - timedelta(days=1)
    while True:
        last = day + timedelta(days=8)
        span_a = local_to_utc(day, 0, 0, zone) - 86400
        span_b = local_to_utc(last, 86400, 1, zone) + 86400
        if span_a >= limit:
            return None
        cands = set(transitions_between(zone, span_a, span_b))
        d = day
        while d <= last:
            if win.open_on(d):
                for a, _ in win.ranges:
                    cands.add(local_to_utc(d, a, 0, zone))
                    cands.add(local_to_utc(d, a, 1, zone))
            d += timedelta(days=1)
        trusted_until = local_to_utc(last - timedelta(days=1), 0, 0, zone)
        for c in sorted(cands):
            if c < t0 or c >= limit:
                continue
            if c >= trusted_until:
                break
            if window_slot(c, zone, win):
                return c
        day = last - timedelta(days=2)


def last_in_window(t1, floor, zone, win):
    """The latest instant t with floor <= t <= t1 inside win, else None."""
    if t1 < floor:
        return None
    if window_slot(t1, zone, win):
        return t1
    day = local_time(t1, zone).date() + timedelta(days=1)
    while True:
        first = day - timedelta(days=8)
        span_a = local_to_utc(first, 0, 0, zone) - 86400
        span_b = local_to_utc(day, 86400, 1, zone) + 86400
        if span_b < floor:
            return None
        cands = set(t - 1 for t in transitions_between(zone, span_a, span_b))
        d = first
        while d <= day:
            if win.open_on(d):
                for _, b in win.ranges:
                    cands.add(local_to_utc(d, b, 0, zone) - 1)
                    cands.add(local_to_utc(d, b, 1, zone) - 1)
            d += timedelta(days=1)
        trusted_from = local_to_utc(first + timedelta(days=2), 0, 0, zone)
        for c in sorted(cands, reverse=True):
            if c > t1 or c < floor:
                continue
            if c < trusted_from:
                break
            if window_slot(c, zone, win):
                return c
        day = first + timedelta(days=2)


def not_after_problem(due, not_after, expires, zone, win):
    """Why not_after is not the end of the slot piece holding due, or None.
    A piece is the run of instants, contiguous in UTC, that stay inside one
    slot (local date + range): it ends at the range end, where a DST gap
    cuts the range, or where a fall-back fold leaves it. Membership can only
    change at a range start/end (either fold) or an offset transition, so
    those instants are the ones looked at. At a transition inside the range
    (a fold or a gap the range spans) the piece may end or go on: both are
    accepted."""
    if not (due < not_after <= expires):
        return "not due_at < not_after <= expires_at"
    slot = window_slot(due, zone, win)
    if slot is None:
        return None  # reported as outside the window
    transitions = transitions_between(zone, due - 86400, not_after + 86400)
    cands = set(t for t in transitions if due < t < not_after)
    d = local_time(due, zone).date() - timedelta(days=1)
    last = local_time(not_after, zone).date() + timedelta(days=1)
    while d <= last:
        for a, b in win.ranges:
            for sod in (a, b):
                for fold in (0, 1):
                    cands.add(local_to_utc(d, sod, fold, zone))
        d += timedelta(days=1)
    cands.add(not_after - 1)
    for c in sorted(cands):
        if due < c < not_after and window_slot(c, zone, win) != slot:
            return "not_after %s ends past the slot piece of due_at (left it at %s)" \
                % (fmt_utc(not_after), fmt_utc(c))
    if not_after < expires and window_slot(not_after, zone, win) == slot and \
            not_after not in transitions:
        return "not_after %s ends before the slot piece of due_at does" % \
            fmt_utc(not_after)
    return None


# ---------------------------------------------------------------- conditions

MISSING = object()
SYMBOL_OPS = ("==", "!=", ">=", "<=", ">", "<")
PATH_RE = re.compile(r"\s*([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\s*")
WORD_OP_RE = re.compile(r"(not\s+in|in|exists|missing)(?![A-Za-z0-9_.-])\s*")


def parse_condition(node, where):
    """A `when` item as a tree: ('all'|'any', [..]), ('not', c),
    ('exists'|'missing', path), ('cmp', path, op, literal)."""
    if isinstance(node, str):
        return parse_comparison(node, where)
    if isinstance(node, list):
        return ("all", [parse_condition(n, where) for n in node])
    if isinstance(node, dict) and len(node) == 1:
        (key, value), = node.items()
        if key in ("all", "any"):
            if not isinstance(value, list):
                raise PolicyError("%s: '%s' takes a list" % (where, key))
            return (key, [parse_condition(n, where) for n in value])
        if key == "not":
            return ("not", parse_condition(value, where))
    raise PolicyError("%s: not a condition: %r" % (where, node))


def parse_comparison(text, where):
    m = PATH_RE.match(text)
    if not m:
        raise PolicyError("%s: no path in condition %r" % (where, text))
    path = m.group(1).split(".")
    rest = text[m.end():]
    w = WORD_OP_RE.match(rest)
    if w:
        op = "not in" if w.group(1).startswith("not") else w.group(1)
        rest = rest[w.end():]
        if op in ("exists", "missing"):
            if rest.strip():
                raise PolicyError("%s: text after '%s' in %r" % (where, op, text))
            return (op, path)
    else:
        for op in SYMBOL_OPS:
            if rest.startswith(op):
                rest = rest[len(op):]
                break
        else:
            raise PolicyError("%s: no operator in condition %r" % (where, text))
    try:
        literal = json.loads(rest.strip())
    except ValueError:
        raise PolicyError("%s: bad literal in condition %r" % (where, text))
    if op in ("in", "not in") and not isinstance(literal, list):
        raise PolicyError("%s: '%s' needs a list in %r" % (where, op, text))
    return ("cmp", path, op, literal)


def value_kind(v):
    if isinstance(v, bool):
        return "bool"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return "num"
    if isinstance(v, str):
        return "str"
    return "composite"


def values_equal(a, b):
    ka, kb = value_kind(a), value_kind(b)
    return ka == kb and ka != "composite" and a == b


def get_path(doc, path):
    cur = doc
    for seg in path:
        if not isinstance(cur, dict) or seg not in cur:
            return MISSING
        cur = cur[seg]
    return cur


def condition_holds(cond, doc):
    tag = cond[0]
    if tag == "all":
        return all(condition_holds(c, doc) for c in cond[1])
    if tag == "any":
        return any(condition_holds(c, doc) for c in cond[1])
    if tag == "not":
        return not condition_holds(cond[1], doc)
    value = get_path(doc, cond[1])
    if tag == "exists":
        return value is not MISSING
    if tag == "missing":
        return value is MISSING
    op, literal = cond[2], cond[3]
    if value is MISSING:
        return False
    if op == "==":
        return values_equal(value, literal)
    if op == "!=":
        return not values_equal(value, literal)
    if op == "in":
        return any(values_equal(value, x) for x in literal)
    if op == "not in":
        return not any(values_equal(value, x) for x in literal)
    kv, kl = value_kind(value), value_kind(literal)
    if kv != kl or kv not in ("num", "str"):
        return False
    if kv == "str":
        value, literal = value.encode("utf-8", "surrogatepass"), \
            literal.encode("utf-8", "surrogatepass")
    return {">": value > literal, ">=": value >= literal,
            "<": value < literal, "<=": value <= literal}[op]


# ---------------------------------------------------------------- policy

class PolicyLoader(yaml.SafeLoader):
    """YAML with only true/false as booleans: libyaml leaves scalars to
    followupd, so the rule key `on` is the string "on", not YAML 1.1's
    boolean."""


PolicyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class Cap:
    """A frequency cap: shared (reason cap:<id>) or a rule's own (cap:rule)."""

    def __init__(self, cap_id, count, limit, per, rule_id=None):
        self.id, self.count, self.limit, self.per = cap_id, count, limit, per
        self.rule_id = rule_id  # set for a rule's own cap
        self.reason = "cap:rule" if rule_id else "cap:" + cap_id
        self.name = "rule %s's cap" % rule_id if rule_id else "cap " + cap_id

    def counts(self, item):
        """Whether this cap counts an item (an Item below)."""
        if item.attempt != 1:
            return False
        if self.rule_id is not None:
            return item.kind in ("call", "message") and item.rule_id == self.rule_id
        c = self.count
        if item.kind == "call":
            return c == "callbacks"
        if item.kind == "message":
            return c == "messages" or c == "messages." + item.channel
        return c == "reminders" or c == "reminders." + item.channel

    def counts_calls(self):
        return self.rule_id is not None or self.count == "callbacks"

    def counts_reminders(self):
        return self.rule_id is None and self.count.startswith("reminders")


class Rule:
    def __init__(self, spec, where):
        if not isinstance(spec, dict) or not isinstance(spec.get("id"), str):
            raise PolicyError("%s: a rule needs an id" % where)
        self.id = spec["id"]
        where = "%s (rule %s)" % (where, self.id)
        on = spec.get("on")
        self.on = frozenset([on] if isinstance(on, str) else (on or []))
        self.when = parse_condition(spec["when"], where) \
            if spec.get("when") is not None else None
        self.timing = {}  # kind -> (delay, expires_after)
        cb = spec.get("callback")
        if cb is not None:
            self.timing["call"] = (parse_duration(cb.get("delay", "0s"), where),
                                   parse_duration(cb.get("expires_after"), where))
        msg = spec.get("message")
        self.message_channel = None
        if msg is not None:
            self.timing["message"] = (parse_duration(msg.get("delay", "0s"), where),
                                      parse_duration(msg.get("expires_after"), where))
            self.message_channel = msg.get("channel")
        if not self.timing:
            raise PolicyError("%s: needs callback or message" % where)
        rem = spec.get("reminder")
        self.reminder = None
        if rem is not None:
            self.reminder = (rem.get("channel"), parse_duration(rem.get("lead"), where))
        cap = spec.get("cap")
        self.cap = None
        if cap is not None:
            self.cap = Cap(self.id, None, int(cap["limit"]),
                           parse_duration(cap["per"], where), rule_id=self.id)
        self.on_cap = spec.get("on_cap", "drop")
        sup = spec.get("supersedes") or []
        self.supersedes = frozenset([sup] if isinstance(sup, str) else sup)
        rep = spec.get("repeat")
        self.repeat = None
        if rep is not None:
            self.repeat = (parse_duration(rep["every"], where), int(rep["times"]))
        self.ignore_cooldown = bool(spec.get("ignore_cooldown", False))

    def matches(self, doc):
        return doc.get("type") in self.on and (
            self.when is None or condition_holds(self.when, doc))


class Policy:
    def __init__(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.load(f, Loader=PolicyLoader)
        except (OSError, yaml.YAMLError) as e:
            raise UsageError("cannot read policy %s: %s" % (path, e))
        if not isinstance(doc, dict):
            raise PolicyError("%s: not a mapping" % path)
        d = doc.get("defaults") or {}
        self.timezone = d.get("timezone")
        if get_zone(self.timezone) is None:
            raise PolicyError("%s: defaults.timezone %r is not a known zone"
                              % (path, self.timezone))
        self.call_window = Window(d.get("call_window"), path + ": defaults.call_window")
        self.message_window = Window(d["message_window"], path + ": defaults.message_window") \
            if d.get("message_window") is not None else None
        self.dedupe_for = parse_duration(d.get("dedupe_for", "7d"), path)
        self.require_consent = bool(d.get("require_consent", False))
        self.pacing = d.get("pacing")
        self.caps = []
        for i, c in enumerate(doc.get("caps") or []):
            where = "%s: caps[%d]" % (path, i)
            self.caps.append(Cap(c["id"], c["count"], int(c["limit"]),
                                 parse_duration(c["per"], where)))
        out = doc.get("outcomes")
        self.outcomes = None
        if out is not None:
            self.outcomes = {
                "retry_on": frozenset(out.get("retry_on") or []),
                "max_attempts": int(out.get("max_attempts", 1)),
                "backoff": [parse_duration(b, path) for b in out.get("backoff") or []],
                "cooldown": parse_duration(out.get("cooldown_after_answered", "0s"), path),
                "opt_out_on": frozenset(out.get("opt_out_on") or []),
            }
        self.rules = [Rule(r, "%s: rules[%d]" % (path, i))
                      for i, r in enumerate(doc.get("rules") or [])]
        self.rules_by_id = {r.id: r for r in self.rules}
        self.all_caps = self.caps + [r.cap for r in self.rules if r.cap]
        self.outcome_rules = [r for r in self.rules if "callback.outcome" in r.on]

    def cap_for_reason(self, rule_id, reason):
        if reason == "cap:rule":
            rule = self.rules_by_id.get(rule_id)
            return rule.cap if rule else None
        for c in self.caps:
            if c.reason == reason:
                return c
        return None


# ---------------------------------------------------------------- input events

def is_id(v):
    if not isinstance(v, str) or not v:
        return False
    try:
        if len(v.encode("utf-8")) > 256:
            return False
    except UnicodeEncodeError:
        return False
    return not any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in v)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def validate_window_pref(w):
    if not isinstance(w, dict) or set(w) - {"days", "hours", "exclude_dates"}:
        return "data.call_window must be a window (days, hours, exclude_dates)"
    hours = w.get("hours")
    if not isinstance(hours, list) or not 1 <= len(hours) <= 24 or \
            any(parse_hours(h) is None for h in hours):
        return "data.call_window.hours must be 1-24 ranges HH:MM-HH:MM"
    days = w.get("days")
    if days is not None and (not isinstance(days, list) or not days or not all(
            isinstance(x, str) and x.lower() in DAY_NAMES for x in days)):
        return "data.call_window.days must name days"
    ex = w.get("exclude_dates")
    if ex is not None and (not isinstance(ex, list) or
                           any(parse_date(x) is None for x in ex)):
        return "data.call_window.exclude_dates must be dates"
    return None


def validate_event(value):
    """Why `value` (a Kafka record's value as kafka_tool printed it) is not
    a valid event (spec 3.3), or None when it is one."""
    if not isinstance(value, dict):
        return "not a JSON object"
    for field in ("event_id", "type", "user_id"):
        if value.get(field) is None:
            return "missing required field '%s'" % field
        if not is_id(value[field]):
            return "field '%s' must be a non-empty id string" % field
    if value.get("occurred_at") is None:
        return "missing required field 'occurred_at'"
    if parse_instant(value["occurred_at"]) is None:
        return "field 'occurred_at' must be RFC 3339 or epoch ms"
    tz = value.get("timezone")
    if tz is not None and get_zone(tz) is None:
        return "unknown timezone in 'timezone'"
    data = value.get("data")
    if data is not None and not isinstance(data, dict):
        return "field 'data' must be an object"
    etype = value["type"]
    if etype not in BUILTIN_TYPES:
        return None
    if data is None:
        return "missing required field 'data'"
    if etype == "user.preferences":
        if data.get("opt_out") is not None and not isinstance(data["opt_out"], bool):
            return "data.opt_out must be a boolean"
        if data.get("consent") is not None and not isinstance(data["consent"], bool):
            return "data.consent must be a boolean"
        ch = data.get("channels")
        if ch is not None and (not isinstance(ch, dict) or not all(
                re.match(r"^[a-z0-9_]{1,64}$", k) and isinstance(v, bool)
                for k, v in ch.items())):
            return "data.channels must map channel names to booleans"
        if data.get("timezone") is not None and get_zone(data["timezone"]) is None:
            return "unknown timezone in 'data.timezone'"
        if data.get("call_window") is not None:
            why = validate_window_pref(data["call_window"])
            if why:
                return why
        if data.get("follow_up_by") not in (None, "call", "message"):
            return "data.follow_up_by must be call, message or null"
        return None
    if data.get("task_id") is None:
        return "missing required field 'data.task_id'"
    if not is_id(data["task_id"]):
        return "data.task_id must be an id string"
    if etype == "callback.outcome":
        if data.get("outcome") is None:
            return "missing required field 'data.outcome'"
        if data["outcome"] not in OUTCOMES:
            return "unknown outcome in 'data.outcome'"
        sat = data.get("satisfaction")
        if sat is not None and not (is_int(sat) and 1 <= sat <= 5):
            return "data.satisfaction must be an integer 1-5"
        return None
    if data.get("at") is None:
        return "missing required field 'data.at'"
    if parse_instant(data["at"]) is None:
        return "data.at must be RFC 3339 or epoch ms"
    return None


class Event:
    """A valid input event and what the checker derives about it."""
    __slots__ = ("rec", "value", "event_id", "type", "user_id", "occurred",
                 "tz", "data", "in_ms", "lo", "up", "pos", "matters",
                 "matched", "dup", "counts", "outcome_task", "first_pos")

    def __init__(self, rec, value):
        self.rec, self.value = rec, value
        self.event_id, self.type = value["event_id"], value["type"]
        self.user_id = value["user_id"]
        self.occurred = parse_instant(value["occurred_at"])
        self.tz = value.get("timezone")
        self.data = value.get("data") if isinstance(value.get("data"), dict) else {}
        self.in_ms = rec.ts
        self.matched = []      # rules matched (outcome rules only if it counts)
        self.dup = False       # True, False or MAYBE (dedupe)
        self.counts = None     # outcomes: True, False or MAYBE
        self.outcome_task = None

    def describe(self):
        return "user %s event %s" % (self.user_id, self.event_id)


class KRecord:
    """One line of a kafka_tool consume dump."""
    __slots__ = ("ts", "topic", "partition", "offset", "key", "value", "line")

    def __init__(self, doc, line):
        self.ts = doc.get("ts_ms")
        if not is_int(self.ts):
            at = doc.get("at")
            self.ts = None
            if isinstance(at, str):
                m = re.match(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", at)
                if m and parse_utc(m.group(1) + "Z") is not None:
                    frac = (m.group(2) or "0")[:3].ljust(3, "0")
                    self.ts = parse_utc(m.group(1) + "Z") * 1000 + int(frac)
            if self.ts is None:
                raise UsageError("line %d has neither ts_ms nor at" % line)
        self.topic = doc.get("topic")
        self.partition = doc.get("partition", 0)
        self.offset = doc.get("offset", line)
        self.key = doc.get("key")
        self.value = doc.get("value")
        self.line = line

    def order(self):
        return (self.ts, str(self.topic), self.partition or 0, self.offset or 0)


def read_dump(path, what):
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                except ValueError:
                    raise UsageError("%s %s line %d is not JSON" % (what, path, n))
                if not isinstance(doc, dict):
                    raise UsageError("%s %s line %d is not a JSON object" % (what, path, n))
                out.append(KRecord(doc, n))
    except OSError as e:
        raise UsageError("cannot read %s %s: %s" % (what, path, e))
    return out


# ---------------------------------------------------------------- outputs

class Msg:
    """A distinct output message: its first copy and how many copies."""
    __slots__ = ("value", "rec", "ts", "copies")

    def __init__(self, rec):
        self.value, self.rec, self.ts, self.copies = rec.value, rec, rec.ts, 1


class DRecord:
    """A distinct decision record (copies collapsed by full content)."""
    __slots__ = ("v", "event_id", "user_id", "rule_id", "decision", "task_id",
                 "due", "reason", "at", "at_ms", "attempt", "occurrence", "kind",
                 "reminder", "replaces", "rec", "event")

    def __init__(self, rec):
        v = rec.value
        self.v, self.rec = v, rec
        self.event_id, self.user_id = v.get("event_id"), v.get("user_id")
        self.rule_id, self.decision = v.get("rule_id"), v.get("decision")
        self.task_id, self.reason = v.get("task_id"), v.get("reason")
        self.due = parse_utc(v.get("due_at"))
        self.at = parse_utc(v.get("at"))
        self.at_ms = self.at * 1000
        self.attempt, self.occurrence = v.get("attempt"), v.get("occurrence")
        self.kind = v.get("kind") or "call"
        self.reminder, self.replaces = v.get("reminder"), v.get("replaces")
        self.event = None  # the input Event it belongs to, when known

    def is_trigger(self):
        """A first decision of a trigger: occurrence 1, attempt 1, not a move."""
        return self.decision in ("scheduled", "suppressed") and \
            self.occurrence == 1 and self.attempt == 1 and \
            self.reason not in ("rescheduled", "paced")

    def is_move(self):
        return self.decision == "scheduled" and self.reason in ("rescheduled", "paced")

    def describe(self):
        return "user %s task %s event %s rule %s" % (
            self.user_id, self.task_id, self.event_id, self.rule_id)


def check_fields(v, spec):
    """Missing or mistyped fields of an output message; spec: name -> check."""
    bad = []
    for name, ok in spec.items():
        if name not in v or not ok(v[name]):
            bad.append(name)
    return bad


def is_str(v):
    return isinstance(v, str)


def is_utc(v):
    return parse_utc(v) is not None


def is_opt_utc(v):
    return v is None or parse_utc(v) is not None


CALL_FIELDS = {"schema": lambda v: v == "followupd.task/v1", "task_id": is_id,
               "user_id": is_id, "rule_id": is_str, "policy_version": is_str,
               "priority": lambda v: is_int(v) and 0 <= v <= 100,
               "attempt": lambda v: is_int(v) and v >= 1, "due_at": is_utc,
               "not_after": is_utc, "expires_at": is_utc, "timezone": is_str,
               "context": lambda v: isinstance(v, dict),
               "trigger": lambda v: isinstance(v, dict)}
CANCEL_FIELDS = {"schema": lambda v: v == "followupd.task/v1", "task_id": is_id,
                 "user_id": is_id, "policy_version": is_str,
                 "reason": lambda v: v in ("opt_out", "rescheduled", "no_consent")}
REMINDER_FIELDS = {"schema": lambda v: v == "followupd.reminder/v1",
                   "reminder_id": is_id, "task_id": is_id, "user_id": is_id,
                   "rule_id": is_str, "channel": is_str, "template": is_str,
                   "send_at": is_utc, "callback_at": is_utc, "timezone": is_str}
MESSAGE_FIELDS = {"schema": lambda v: v == "followupd.message/v1",
                  "message_id": is_id, "user_id": is_id, "rule_id": is_str,
                  "channel": is_str, "send_at": is_utc, "expires_at": is_utc,
                  "timezone": is_str}
DECISION_FIELDS = {"schema": lambda v: v == "followupd.decision/v1",
                   "event_id": is_id, "user_id": is_id,
                   "decision": lambda v: v in ("scheduled", "suppressed",
                                               "cancelled", "duplicate"),
                   "due_at": is_opt_utc, "at": is_utc}
DEAD_LETTER_FIELDS = {"schema": lambda v: v == "followupd.dead_letter/v1",
                      "error": is_str, "source": lambda v: isinstance(v, dict),
                      "payload": is_str}


def decision_problem(v):
    """Spec 3.5 shape of a decision record beyond its common fields."""
    d = v.get("decision")
    if d == "duplicate":
        if any(v.get(k) is not None for k in ("rule_id", "task_id", "due_at",
                                               "attempt", "occurrence")):
            return "a duplicate record names a rule, task or due time"
        return None
    if not is_str(v.get("rule_id")) or not is_id(v.get("task_id")):
        return "no rule_id or task_id"
    if not (is_int(v.get("attempt")) and is_int(v.get("occurrence"))):
        return "no attempt or occurrence"
    reason = v.get("reason")
    if d == "scheduled":
        if v.get("due_at") is None:
            return "a scheduled record without due_at"
        if reason not in (None, "rescheduled", "paced"):
            return "a scheduled record with reason %r" % reason
        if (reason is None) == ("replaces" in v):
            return "replaces goes with a move and only with it"
    elif d == "suppressed":
        if not isinstance(reason, str) or not SUPPRESS_REASON_RE.match(reason):
            return "a suppressed record with reason %r" % reason
        if reason == "expired" and v.get("due_at") is not None:
            return "an expired record with a due_at"
    elif d == "cancelled":
        if reason not in CANCEL_REASONS:
            return "a cancelled record with reason %r" % reason
    return None


# ---------------------------------------------------------------- user state

class UserState:
    """What the daemon knows of a user after an event (spec 3.3, 4)."""
    __slots__ = ("tz", "window", "opted", "consent", "channels", "by")

    def __init__(self, tz):
        self.tz, self.window, self.opted = tz, None, False
        self.consent, self.channels, self.by = None, {}, None

    def copy(self):
        s = UserState(self.tz)
        s.window, s.opted, s.consent = self.window, self.opted, self.consent
        s.channels, s.by = dict(self.channels), self.by
        return s

    def channel_on(self, ch):
        return self.channels.get(ch, True)


class Item:
    """Something a cap may count, for one user: a follow-up (call or
    message, attempt 1) by due time, or a reminder by send time."""
    __slots__ = ("kind", "rule_id", "channel", "attempt", "due", "ident",
                 "inserted_ms", "void_ms", "user_id")

    def __init__(self, kind, rule_id, channel, attempt, due, ident, user_id,
                 inserted_ms=None, void_ms=None):
        self.kind, self.rule_id, self.channel = kind, rule_id, channel
        self.attempt, self.due, self.ident = attempt, due, ident
        self.user_id = user_id
        self.inserted_ms, self.void_ms = inserted_ms, void_ms


def max_in_window(dues, per):
    """The most items of the sorted list `dues` in any [t, t + per)."""
    best, j = 0, 0
    for i in range(len(dues)):
        while dues[i] - dues[j] >= per:
            j += 1
        best = max(best, i - j + 1)
    return best


def window_overflow(dues, per, limit):
    """First [start, end) span with more than `limit` items, or None."""
    if len(dues) <= limit:
        return None
    for i in range(len(dues) - limit):
        if dues[i + limit] - dues[i] < per:
            return (i, i + limit)
    return None


def fullest_around(dues, due, per):
    """The most items of sorted `dues` in a window [t, t + per) holding due
    (due - per < t <= due). The count only changes where an item enters on
    the right (t = d - per + 1) or leaves on the left (t = d + 1), so those
    starts, clipped to the range, are enough."""
    lo_t, hi_t = due - per + 1, due
    starts = {lo_t, hi_t}
    for d in dues:
        for t in (d - per + 1, d + 1):
            if lo_t <= t <= hi_t:
                starts.add(t)
    best = 0
    for t in starts:
        best = max(best, bisect.bisect_left(dues, t + per) - bisect.bisect_left(dues, t))
    return best


def percentile(values, p):
    if not values:
        return 0
    s = sorted(values)
    return s[max(0, math.ceil(p * len(s)) - 1)]


# ---------------------------------------------------------------- the checker

class SoakCheck:
    def __init__(self, args):
        self.args = args
        self.policy = Policy(args.policy)
        self.problems = {c: [] for c in CHECKS}
        self.figures = {c: "" for c in CHECKS}
        self.slack = args.opt_out_slack_ms
        self.grace = args.grace_ms

    def problem(self, check, text):
        self.problems[check].append(text)

    # ------------------------------------------------------------ loading

    def load(self):
        args = self.args
        inputs = read_dump(args.input, "input")
        outputs = read_dump(args.outputs, "outputs")
        if args.input_topic:
            wanted = set(args.input_topic.split(","))
            inputs = [r for r in inputs if r.topic in wanted]
        self.input_records = inputs
        latest = max([r.ts for r in inputs + outputs] or [0])
        self.end_ms = args.end_ms if args.end_ms is not None else latest
        self.due_limit_ms = self.end_ms - DUE_MARGIN_MS
        topics = dict(DEFAULT_TOPICS)
        topics.update(args.topics)
        by_topic = {name: [] for name in topics}
        role_of = {v: k for k, v in topics.items()}
        self.unknown_output_topics = {}
        for r in outputs:
            role = role_of.get(r.topic)
            if role is None:
                self.unknown_output_topics[r.topic] = \
                    self.unknown_output_topics.get(r.topic, 0) + 1
            else:
                by_topic[role].append(r)
        for lst in by_topic.values():
            lst.sort(key=KRecord.order)
        self.out = by_topic

    # ------------------------------------------------------------ input

    def read_events(self):
        self.events = []            # valid events, input order
        self.malformed = []         # (record, reason)
        self.by_user = {}           # user -> [Event] in decision order
        self.copies_of = {}         # (user, event_id) -> [Event] in order
        for rec in self.input_records:
            why = validate_event(rec.value)
            if why:
                self.malformed.append((rec, why))
                continue
            self.events.append(Event(rec, rec.value))
        for ev in self.events:
            self.by_user.setdefault(ev.user_id, []).append(ev)
        for user, evs in self.by_user.items():
            parts = {(e.rec.topic, e.rec.partition) for e in evs}
            if len(parts) == 1:
                evs.sort(key=lambda e: (e.rec.offset, e.rec.ts))
            else:
                evs.sort(key=lambda e: e.rec.order())
            first = {}
            for i, e in enumerate(evs):
                e.pos = i
                e.first_pos = first.setdefault(e.event_id, i)
                self.copies_of.setdefault((user, e.event_id), []).append(e)
        rules = [r for r in self.policy.rules if "callback.outcome" not in r.on]
        for ev in self.events:
            if ev.type not in BUILTIN_TYPES:
                ev.matched = [r for r in rules if r.matches(ev.value)]
            ev.matters = ev.type in BUILTIN_TYPES or ev.tz is not None or \
                bool(ev.matched)

    # ------------------------------------------------------------ outputs

    def read_outputs(self):
        """Collapse copies, validate shapes, index everything."""
        self.calls, self.cancels = {}, {}     # task_id -> Msg
        self.reminders, self.messages = {}, {}
        self.decisions = []                   # distinct DRecord
        self.dead_letters = []                # KRecord
        self.copy_counts = {"tasks": 0, "reminders": 0, "messages": 0}
        mismatched = []  # (role, key, record) copies unlike their first copy

        def collect(role, rec, fields, table, key_field):
            v = rec.value
            if not isinstance(v, dict):
                self.problem("outputs", "%s offset %s: value is not a JSON object"
                             % (role, rec.offset))
                return
            bad = check_fields(v, fields)
            if bad:
                self.problem("outputs", "user %s task %s: %s message lacks or "
                             "mistypes %s" % (v.get("user_id"), v.get("task_id"),
                                              role, ", ".join(bad)))
                return
            if rec.key != v["user_id"]:
                self.problem("outputs", "user %s task %s: %s message keyed %r, "
                             "not by its user_id" % (v["user_id"], v.get("task_id"),
                                                     role, rec.key))
            self.copy_counts[role] += 1
            k = v[key_field]
            if k in table:
                first = table[k]
                first.copies += 1
                if rec.value != first.value:
                    mismatched.append((role, k, rec))
            else:
                table[k] = Msg(rec)

        for rec in self.out["tasks"]:
            v = rec.value
            action = v.get("action") if isinstance(v, dict) else None
            if action == "call":
                collect("tasks", rec, CALL_FIELDS, self.calls, "task_id")
            elif action == "cancel":
                collect("tasks", rec, CANCEL_FIELDS, self.cancels, "task_id")
            else:
                self.problem("outputs", "tasks offset %s: action is neither call "
                             "nor cancel" % rec.offset)
        for rec in self.out["reminders"]:
            collect("reminders", rec, REMINDER_FIELDS, self.reminders, "reminder_id")
        for rec in self.out["messages"]:
            collect("messages", rec, MESSAGE_FIELDS, self.messages, "message_id")
        seen = set()
        for rec in self.out["decisions"]:
            v = rec.value
            if not isinstance(v, dict) or check_fields(v, DECISION_FIELDS):
                self.problem("outputs", "decisions offset %s: not a decision record "
                             "(fields %s)" % (rec.offset, ", ".join(
                                 check_fields(v, DECISION_FIELDS)) if isinstance(
                                     v, dict) else "-"))
                continue
            why = decision_problem(v)
            if why:
                self.problem("outputs", "user %s task %s event %s: bad decision "
                             "record: %s" % (v.get("user_id"), v.get("task_id"),
                                             v.get("event_id"), why))
                continue
            if rec.key != v["user_id"]:
                self.problem("outputs", "user %s event %s: decision record keyed %r"
                             % (v["user_id"], v["event_id"], rec.key))
            k = json.dumps(v, sort_keys=True)
            if k in seen:
                continue
            seen.add(k)
            self.decisions.append(DRecord(rec))
        for rec in self.out["dead_letter"]:
            v = rec.value
            if not isinstance(v, dict) or check_fields(v, DEAD_LETTER_FIELDS):
                self.problem("outputs", "dead_letter offset %s: not a dead letter"
                             % rec.offset)
                continue
            self.dead_letters.append(rec)
        self.have_decisions = bool(self.decisions) or bool(self.out["decisions"])
        # indexes over the records
        self.recs_by_user, self.recs_by_event = {}, {}
        self.sched_by_task, self.void_by_task = {}, {}
        self.cancelled_by_task = {}
        self.decisions.sort(key=lambda r: (r.at, r.rec.partition or 0, r.rec.offset or 0))
        for r in self.decisions:
            self.recs_by_user.setdefault(r.user_id, []).append(r)
            self.recs_by_event.setdefault((r.user_id, r.event_id), []).append(r)
            if r.decision == "scheduled":
                self.sched_by_task.setdefault(r.task_id, []).append(r)
                if r.replaces:
                    self.void_by_task.setdefault(r.replaces, []).append(r)
            elif r.decision == "cancelled":
                self.void_by_task.setdefault(r.task_id, []).append(r)
                self.cancelled_by_task.setdefault(r.task_id, []).append(r)
        self.reminders_by_task = {}
        self.calls_by_user, self.reminders_by_user = {}, {}
        for m in self.reminders.values():
            self.reminders_by_task.setdefault(m.value["task_id"], []).append(m)
            self.reminders_by_user.setdefault(m.value["user_id"], []).append(m)
        for m in self.calls.values():
            self.calls_by_user.setdefault(m.value["user_id"], []).append(m)
        for role, k, rec in mismatched:
            v = rec.value
            if role == "tasks" and v.get("action") == "call":
                # the same trigger decided again after dedupe_for has the same
                # task_id (spec 4 Ids) and a new due time: its own record
                scheds = self.sched_by_task.get(k, [])
                if len({r.due for r in scheds}) > 1 and \
                        parse_utc(v["due_at"]) in {r.due for r in scheds}:
                    continue
            self.problem("outputs", "user %s task %s: a copy of %s %s differs "
                         "from the first copy" % (v.get("user_id"), v.get("task_id"),
                                                  role, k))

    def void_ms(self, task_id):
        """When the follow-up was first cancelled or moved (record time), or
        None; a cancel message counts too."""
        times = [r.at_ms for r in self.void_by_task.get(task_id, [])]
        if task_id in self.cancels:
            times.append(self.cancels[task_id].ts)
        return min(times) if times else None

    def cancel_follows(self, task_id):
        """1 when the call's cancel comes after the call in their partition
        (one user's messages share one): a call the daemon emitted before a
        void decision may leave after it (the outbox waits for Redis or the
        broker), and the dialer still reads it, then its cancel."""
        call, cancel = self.calls.get(task_id), self.cancels.get(task_id)
        if call is None or cancel is None:
            return False
        return (cancel.rec.partition == call.rec.partition and
                cancel.rec.offset > call.rec.offset)

    def first_sched(self, task_id):
        lst = self.sched_by_task.get(task_id)
        return lst[0] if lst else None

    # ------------------------------------------------------------ event timing

    def bound_decision_times(self):
        """lo/up: when each event was surely decided after / before (ms)."""
        self.ups, self.los = {}, {}
        for user, evs in self.by_user.items():
            own = [None] * len(evs)
            for r in self.recs_by_user.get(user, []):
                idx = self.event_index(user, r)
                if idx is not None:
                    bound = r.at_ms + 999
                    own[idx] = bound if own[idx] is None else min(own[idx], bound)
            lo = -1
            for e in evs:
                lo = max(lo, e.in_ms)
                e.lo = lo
            later = None
            for i in range(len(evs) - 1, -1, -1):
                e = evs[i]
                if own[i] is not None:
                    up = own[i]
                else:
                    up = e.in_ms + self.slack
                    if later is not None:
                        up = min(up, later)
                if later is not None:
                    up = min(up, later)
                e.up = max(up, e.lo)
                later = e.up
            self.ups[user] = [e.up for e in evs]
            self.los[user] = [e.lo for e in evs]

    def event_index(self, user, rec):
        """The index of the event copy a record belongs to: the last copy of
        its event_id that arrived before the record, else the first copy."""
        cands = self.copies_of.get((user, rec.event_id))
        if not cands:
            return None
        # decided within [at, at + 999 ms], and before the record was
        # produced: a copy read after the record's own Kafka time is later
        bound = rec.at_ms + 999
        if rec.rec.ts is not None:
            bound = min(bound, rec.rec.ts)
        before = [e for e in cands if e.in_ms <= bound and e.dup is not True]
        return (before[-1] if before else cands[0]).pos

    # ------------------------------------------------------------ dedupe, outcomes, state

    def classify_duplicates(self):
        dedupe_ms = self.policy.dedupe_for * 1000
        for evs in self.by_user.values():
            remembered = {}  # event_id -> (lo, up) of the decision remembered
            for e in evs:
                if not e.matters:
                    continue
                prev = remembered.get(e.event_id)
                if prev is None:
                    remembered[e.event_id] = (e.lo, e.up)
                    continue
                gap_min, gap_max = e.lo - prev[1], e.up - prev[0]
                if gap_max < dedupe_ms:
                    e.dup = True
                elif gap_min >= dedupe_ms:
                    e.dup = False
                    remembered[e.event_id] = (e.lo, e.up)
                else:
                    e.dup = MAYBE

    def classify_outcomes(self):
        """Whether each outcome counts (spec 4 Outcomes): True, False, MAYBE."""
        answered = {}  # task_id -> True/MAYBE: an outcome counted already
        for evs in self.by_user.values():
            for e in evs:
                if e.type != "callback.outcome" or e.dup is True:
                    continue
                tid = e.data["task_id"]
                e.outcome_task = tid
                call = self.calls.get(tid)
                verdicts = []
                if call is None or call.value["user_id"] != e.user_id:
                    verdicts.append(False)
                else:
                    if call.ts < e.in_ms:
                        verdicts.append(True)
                    elif call.ts > e.up:
                        verdicts.append(False)
                    else:
                        verdicts.append(MAYBE)
                    void = self.void_ms(tid)
                    if void is not None:
                        if void + 999 < e.in_ms:
                            verdicts.append(False)
                        elif void <= e.up:
                            verdicts.append(MAYBE)
                    prev = answered.get(tid)
                    if prev is True:
                        verdicts.append(False)
                    elif prev is MAYBE:
                        verdicts.append(MAYBE)
                if False in verdicts:
                    e.counts = False
                elif MAYBE in verdicts:
                    e.counts = MAYBE
                else:
                    e.counts = True
                if e.counts is not False:
                    answered[tid] = True if e.counts is True and \
                        answered.get(tid) is None else MAYBE
                    if self.policy.outcome_rules:
                        doc = dict(e.value)
                        doc["task"] = {"rule_id": call.value["rule_id"],
                                       "attempt": call.value["attempt"],
                                       "occurrence": self.occurrence_of(tid)}
                        e.matched = [r for r in self.policy.outcome_rules
                                     if r.matches(doc)]

    def occurrence_of(self, task_id):
        r = self.first_sched(task_id)
        return r.occurrence if r else None

    def build_states(self):
        """states[user][i]: the user's state after event i; opt-out events."""
        pol = self.policy
        self.states, self.initial = {}, UserState(pol.timezone)
        self.blocks = {}  # user -> [(event, kind, definite)] opt-outs / withdrawals
        self.unblocks = {}  # user -> [(event, kind)]
        for user, evs in self.by_user.items():
            st = self.initial.copy()
            out = []
            for e in evs:
                if e.dup is True:
                    out.append(st)
                    continue
                st = st.copy()
                if e.tz is not None:
                    st.tz = e.tz
                if e.type == "user.preferences":
                    d = e.data
                    if d.get("timezone") is not None:
                        st.tz = d["timezone"]
                    if "call_window" in d:
                        st.window = Window(d["call_window"], "preference") \
                            if d["call_window"] is not None else None
                    if "follow_up_by" in d:
                        st.by = d["follow_up_by"]
                    if d.get("opt_out") is True:
                        st.opted = True
                        self.blocks.setdefault(user, []).append((e, "opt_out", True))
                    elif d.get("opt_out") is False:
                        st.opted = False
                        self.unblocks.setdefault(user, []).append((e, "opt_out"))
                    if d.get("consent") is not None:
                        st.consent = d["consent"]
                        if pol.require_consent:
                            if d["consent"] is False:
                                self.blocks.setdefault(user, []).append(
                                    (e, "no_consent", True))
                            else:
                                self.unblocks.setdefault(user, []).append(
                                    (e, "no_consent"))
                    for ch, on in (d.get("channels") or {}).items():
                        st.channels[ch] = on
                elif e.type == "callback.outcome" and e.counts is not False and \
                        pol.outcomes and e.data["outcome"] in pol.outcomes["opt_out_on"]:
                    definite = e.counts is True
                    if definite or st.opted is not True:
                        st.opted = True if definite else MAYBE
                    self.blocks.setdefault(user, []).append((e, "opt_out", definite))
                out.append(st)
            self.states[user] = out

    def state_after(self, user, pos):
        return self.states[user][pos] if pos is not None and pos >= 0 else self.initial

    def states_over(self, user, t1_ms, t2_ms, first_pos=None):
        """Every state the user may have been in at some moment of [t1, t2]
        (from the state after event first_pos on, when that is known)."""
        evs = self.by_user.get(user)
        if not evs:
            return [self.initial]
        k1 = bisect.bisect_left(self.ups[user], t1_ms) - 1 \
            if first_pos is None else first_pos
        k2 = bisect.bisect_right(self.los[user], t2_ms) - 1
        k2 = max(k1, k2) if first_pos is not None else k2
        k1 = min(k1, k2)
        return [self.state_after(user, k) for k in range(k1, k2 + 1)]

    def states_since(self, user, r, fallback_ms, t2_ms):
        """States from record r's decision (or fallback_ms) up to t2."""
        if r is not None and r.event is not None and self.decided_by_event(r):
            return self.states_over(user, r.at_ms, t2_ms, first_pos=r.event.pos)
        return self.states_over(user, r.at_ms if r else fallback_ms, t2_ms)

    def record_states(self, r):
        """The user's possible states when record r was decided: exact for a
        record decided by its own event, else every state around its time."""
        if r.event is not None and self.decided_by_event(r):
            return [self.state_after(r.user_id, r.event.pos)]
        return self.states_over(r.user_id, r.at_ms, r.at_ms + 999)

    def decided_by_event(self, r):
        """Whether r was decided when its event was (not by a timer: repeat
        occurrences k > 1, pacing moves, due-time cancellations)."""
        if r.occurrence != 1 and r.attempt == 1 and r.event is not None and \
                r.event.type not in BUILTIN_TYPES:
            return False
        if r.reason == "paced":
            return False
        if r.decision == "cancelled" and r.reason in ("expired", "no_consent") and \
                r.event is not None and r.event.type not in BUILTIN_TYPES:
            return False
        return r.event is not None and abs(r.at_ms - r.event.lo) <= \
            max(self.slack, r.event.up - r.event.lo)

    def zone_of(self, state):
        return get_zone(state.tz) or get_zone(self.policy.timezone)

    def call_window_of(self, state):
        return state.window or self.policy.call_window

    # ------------------------------------------------------------ expected times

    def expected_due(self, rule, kind, nominal, expiry, now, state, attempt):
        """Spec 4 Due time / Reminder: the first window instant >=
        max(nominal, now) (with reminder room for attempt 1 of a rule with a
        reminder on an enabled channel) before expiry, else None."""
        zone = self.zone_of(state)
        pol = self.policy
        t0 = max(nominal, now)
        if kind == "message":
            return first_in_window(t0, expiry, zone, pol.message_window)
        if attempt == 1 and rule.reminder and pol.message_window and \
                state.channel_on(rule.reminder[0]):
            m = first_in_window(now, expiry, zone, pol.message_window)
            if m is None:
                return None
            t0 = max(t0, m + rule.reminder[1])
        return first_in_window(t0, expiry, zone, self.call_window_of(state))

    def nominal_of(self, r):
        """(nominal, expiry) of a trigger or repeat record, from its event."""
        rule = self.policy.rules_by_id.get(r.rule_id)
        e = r.event
        if rule is None or e is None or r.kind not in rule.timing:
            return None
        delay, expires = rule.timing[r.kind]
        nominal = e.occurred + delay
        if r.occurrence and r.occurrence > 1:
            if not rule.repeat:
                return None
            nominal += (r.occurrence - 1) * rule.repeat[0]
        return nominal, nominal + expires

    # ------------------------------------------------------------ check: input

    def check_input(self):
        users = len(self.by_user)
        dups = sum(1 for e in self.events if e.dup is True)
        triggers = sum(len(e.matched) for e in self.events
                       if e.dup is not True and e.counts is not MAYBE)
        self.matched_triggers = triggers
        self.figures["input"] = (
            "%d records, %d events, %d malformed, %d users, %d duplicates, "
            "%d matched triggers" % (len(self.input_records), len(self.events),
                                     len(self.malformed), users, dups, triggers))

    # ------------------------------------------------------------ check: outputs

    def check_outputs(self):
        for topic, n in sorted(self.unknown_output_topics.items()):
            self.problem("outputs", "%d messages on topic %s, which is none of the "
                         "output topics" % (n, topic))
        copies = self.copy_counts["tasks"]
        distinct = len(self.calls) + len(self.cancels)
        self.figures["outputs"] = (
            "tasks %d distinct (%d calls, %d cancels) in %d copies; reminders %d "
            "in %d copies; messages %d; decision records %d distinct; dead "
            "letters %d" % (distinct, len(self.calls), len(self.cancels), copies,
                            len(self.reminders), self.copy_counts["reminders"],
                            len(self.messages), len(self.decisions),
                            len(self.dead_letters)))

    # ------------------------------------------------------------ check: accounted

    def check_accounted(self):
        pol = self.policy
        P = lambda text: self.problem("accounted", text)
        n_expected = n_found = 0
        if self.have_decisions:
            # records of every matched, non-duplicate event
            for e in self.events:
                if e.dup is not False or e.in_ms >= self.due_limit_ms:
                    continue
                if e.type == "callback.outcome" and e.counts is not True:
                    continue
                recs = self.recs_by_event.get((e.user_id, e.event_id), [])
                for rule in e.matched:
                    n_expected += 1
                    if any(r.rule_id == rule.id and r.is_trigger() and
                           r.at_ms + 999 >= e.in_ms for r in recs):
                        n_found += 1
                    else:
                        P("%s: no scheduled/suppressed record for rule %s"
                          % (e.describe(), rule.id))
            # duplicates
            for e in self.events:
                if e.dup is not True or e.in_ms >= self.due_limit_ms:
                    continue
                recs = self.recs_by_event.get((e.user_id, e.event_id), [])
                if not any(r.decision == "duplicate" and r.at_ms + 999 >= e.in_ms
                           for r in recs):
                    P("%s: a repeat within dedupe_for has no duplicate record"
                      % e.describe())
            # every record names an input event; trigger records a matching rule
            for r in self.decisions:
                evs = self.copies_of.get((r.user_id, r.event_id), [])
                if not evs:
                    P("%s: the record names no input event of the user" % r.describe())
                    continue
                if r.decision == "duplicate" or not r.is_trigger():
                    continue
                if pol.rules_by_id.get(r.rule_id) is None:
                    P("%s: the record names a rule the policy lacks" % r.describe())
                    continue
                if any(e.type == "callback.outcome" for e in evs):
                    if any(e.counts is False for e in evs) and \
                            not any(e.counts is not False for e in evs):
                        P("%s: a rule decided on an outcome that does not count"
                          % r.describe())
                    continue
                if not any(r.rule_id in [m.id for m in e.matched] for e in evs):
                    P("%s: rule %s does not match the event (on/when)"
                      % (r.describe(), r.rule_id))
            self.check_retries_and_repeats(P)
        self.check_scheduled_left(P)
        self.check_reminders_left(P)
        if self.have_decisions:
            self.check_suppressions(P)
        self.check_dead_letters(P)
        sup = {}
        dec = {"scheduled": 0, "suppressed": 0, "cancelled": 0, "duplicate": 0}
        for r in self.decisions:
            dec[r.decision] = dec.get(r.decision, 0) + 1
            if r.decision == "suppressed":
                sup[r.reason] = sup.get(r.reason, 0) + 1
        canc = {}
        for r in self.decisions:
            if r.decision == "cancelled":
                canc[r.reason] = canc.get(r.reason, 0) + 1
        fmt = lambda d: "{" + ", ".join("%s: %d" % kv for kv in sorted(d.items())) + "}"
        self.figures["accounted"] = (
            "records for %d/%d matched triggers; records scheduled %d, suppressed "
            "%d %s, cancelled %d %s, duplicate %d; scheduled due before end-5s: "
            "%d, left %d; dead letters %d/%d" % (
                n_found, n_expected, dec["scheduled"], dec["suppressed"], fmt(sup),
                dec["cancelled"], fmt(canc), dec["duplicate"],
                self.n_due_expected, self.n_due_left, self.n_dl_found,
                len(self.malformed))
            + ("" if self.have_decisions else " (no decision records: record "
               "checks skipped)"))

    def check_retries_and_repeats(self, P):
        pol = self.policy
        # retries of outcomes that surely count
        if pol.outcomes:
            for e in self.events:
                if e.type != "callback.outcome" or e.counts is not True or \
                        e.dup is not False or e.in_ms >= self.due_limit_ms:
                    continue
                if e.data["outcome"] not in pol.outcomes["retry_on"]:
                    continue
                call = self.calls[e.outcome_task].value
                if call["attempt"] >= pol.outcomes["max_attempts"]:
                    continue
                if pol.rules_by_id.get(call["rule_id"]) is None:
                    continue
                recs = self.recs_by_event.get((e.user_id, e.event_id), [])
                if not any(r.attempt == call["attempt"] + 1 and
                           r.rule_id == call["rule_id"] and
                           r.decision in ("scheduled", "suppressed") for r in recs):
                    P("%s task %s: outcome %s of attempt %d has no retry record"
                      % (e.describe(), e.outcome_task, e.data["outcome"],
                         call["attempt"]))
        # repeat series: occurrence k+1 is decided at nominal_k
        for r in self.decisions:
            if r.decision not in ("scheduled", "suppressed") or r.attempt != 1 or \
                    r.is_move() or r.event is None:
                continue
            rule = pol.rules_by_id.get(r.rule_id)
            if rule is None or not rule.repeat or r.occurrence >= rule.repeat[1]:
                continue
            if r.reason in ("opted_out", "no_consent"):
                continue
            nom = self.nominal_of(r)
            if nom is None:
                continue
            decide_ms = max(nom[0] * 1000, r.at_ms)
            if decide_ms + self.grace >= self.due_limit_ms:
                continue
            if any(b[0].in_ms <= decide_ms + self.slack and b[0].pos > r.event.pos
                   for b in self.blocks.get(r.user_id, [])):
                continue
            recs = self.recs_by_event.get((r.user_id, r.event_id), [])
            if not any(x.rule_id == r.rule_id and x.occurrence == r.occurrence + 1
                       and x.decision in ("scheduled", "suppressed") for x in recs):
                P("%s: occurrence %d was never decided (due for decision at %s)"
                  % (r.describe(), r.occurrence + 1, fmt_ms(decide_ms)))

    def check_scheduled_left(self, P):
        """A scheduled follow-up due before end - 5 s left, unless void."""
        self.n_due_expected = self.n_due_left = 0
        paced = self.policy.pacing is not None
        done = set()
        for r in self.decisions:
            if r.decision != "scheduled" or r.task_id in done:
                continue
            done.add(r.task_id)
            due_ms = r.due * 1000
            limit = due_ms + (self.grace if paced else 0)
            if limit >= self.due_limit_ms:
                continue
            out = self.messages if r.kind == "message" else self.calls
            void = self.void_ms(r.task_id)
            if void is not None and void + 999 < due_ms:
                continue
            if void is not None and void <= due_ms + self.grace and r.task_id not in out:
                continue
            self.n_due_expected += 1
            if r.task_id in out:
                self.n_due_left += 1
            elif void is None:
                P("%s: scheduled, due %s, never left" % (r.describe(), fmt_utc(r.due)))
            else:
                P("%s: due %s, never left, cancelled/moved only at %s"
                  % (r.describe(), fmt_utc(r.due), fmt_ms(void)))
        if not self.have_decisions:
            return
        for tid, m in self.calls.items():
            v = m.value
            r = self.first_sched(tid)
            if r is None:
                P("user %s task %s event %s: a task without a scheduled record"
                  % (v["user_id"], tid, v["trigger"].get("event_id")))
                continue
            diff = [f for f, a, b in (("due_at", parse_utc(v["due_at"]), r.due),
                                      ("rule_id", v["rule_id"], r.rule_id),
                                      ("attempt", v["attempt"], r.attempt),
                                      ("user_id", v["user_id"], r.user_id))
                    if a != b]
            if diff:
                P("user %s task %s event %s: the task's %s differ from its record"
                  % (v["user_id"], tid, r.event_id, ", ".join(diff)))
        for mid, m in self.messages.items():
            if self.first_sched(mid) is None:
                P("user %s task %s: a message without a scheduled record"
                  % (m.value["user_id"], mid))

    def reminder_send_candidates(self, r, rule):
        """Possible send times of the reminder of scheduled record r."""
        pol = self.policy
        out = set()
        for st in self.states_since(r.user_id, r, r.at_ms, r.due * 1000):
            zone = self.zone_of(st)
            t = last_in_window(r.due - rule.reminder[1], r.at, zone, pol.message_window)
            if t is not None:
                out.add(t)
        return out

    def check_reminders_left(self, P):
        pol = self.policy
        self.n_rem_expected = self.n_rem_left = 0
        if not self.have_decisions:
            return
        done = set()
        for r in self.decisions:
            if r.decision != "scheduled" or r.reminder != "scheduled" or \
                    r.task_id in done:
                continue
            done.add(r.task_id)
            rule = pol.rules_by_id.get(r.rule_id)
            if rule is None or not rule.reminder or pol.message_window is None:
                continue
            sends = self.reminder_send_candidates(r, rule)
            if not sends:
                P("%s: the record schedules a reminder that has no send time"
                  % r.describe())
                continue
            send_ms = max(sends) * 1000
            if send_ms >= self.due_limit_ms:
                continue
            void = self.void_ms(r.task_id)
            if void is not None and void <= send_ms + self.grace:
                continue
            ch = rule.reminder[0]
            if any(e.type == "user.preferences" and
                   (e.data.get("channels") or {}).get(ch) is False and
                   e.in_ms <= send_ms + self.slack
                   for e in self.by_user.get(r.user_id, [])):
                continue  # turning a channel off drops unsent reminders, silently
            self.n_rem_expected += 1
            if r.task_id in self.reminders_by_task:
                self.n_rem_left += 1
            else:
                P("%s: reminder due %s never left" % (r.describe(), fmt_ms(send_ms)))
        for m in self.reminders.values():
            v = m.value
            r = self.first_sched(v["task_id"])
            if r is None or r.reminder != "scheduled":
                P("user %s task %s: reminder %s left without a record scheduling it"
                  " (record says %s)" % (v["user_id"], v["task_id"], v["reminder_id"],
                                         r.reminder if r else "nothing"))

    def index_cap_items(self):
        """Per user, the follow-ups a cap may count, sorted by due time:
        attempt-1 scheduled records (first record of each id) and calls
        that left without a record; with when each was inserted and voided."""
        self.cap_items = {}
        for r in self.decisions:
            if r.decision != "scheduled" or r.attempt != 1 or \
                    self.first_sched(r.task_id) is not r:
                continue
            self.cap_items.setdefault(r.user_id, []).append(Item(
                r.kind, r.rule_id, self.channel_of(r), 1, r.due, r.task_id,
                r.user_id, inserted_ms=r.at_ms, void_ms=self.void_ms(r.task_id)))
        for tid, m in self.calls.items():
            v = m.value
            if v["attempt"] != 1 or self.first_sched(tid) is not None:
                continue
            self.cap_items.setdefault(v["user_id"], []).append(Item(
                "call", v["rule_id"], None, 1, parse_utc(v["due_at"]), tid,
                v["user_id"], inserted_ms=m.ts - 999, void_ms=self.void_ms(tid)))
        self.cap_dues = {}
        for user, items in self.cap_items.items():
            items.sort(key=lambda it: it.due)
            self.cap_dues[user] = [it.due for it in items]

    def live_dues(self, user, cap, at_ms, exclude_task, due):
        """Due times near `due` of items the cap counts that were, leniently,
        alive at a decision in the second at_ms: inserted in that second or
        before, not cancelled or moved before it."""
        items = self.cap_items.get(user, [])
        dues = self.cap_dues.get(user, [])
        lo = bisect.bisect_left(dues, due - cap.per + 1)
        hi = bisect.bisect_left(dues, due + cap.per)
        return [it.due for it in items[lo:hi]
                if it.ident != exclude_task and cap.counts(it) and
                it.inserted_ms <= at_ms and
                (it.void_ms is None or it.void_ms >= at_ms)]

    def channel_of(self, r):
        if r.kind == "message":
            rule = self.policy.rules_by_id.get(r.rule_id)
            return rule.message_channel if rule else None
        return None

    def check_suppressions(self, P):
        pol = self.policy
        for r in self.decisions:
            if r.event is None or r.decision not in ("scheduled", "suppressed"):
                continue
            states = self.record_states(r)
            opted = [s.opted for s in states]
            if r.decision == "suppressed":
                reason = r.reason
            else:
                reason = None
            # precedence: an opted-out user gets opted_out, nothing else
            if all(o is True for o in opted) and not r.is_move():
                if reason != "opted_out":
                    P("%s: %s although the user had opted out (should be "
                      "suppressed as opted_out)" % (r.describe(), reason or "scheduled"))
                continue
            if pol.require_consent and not r.is_move() and \
                    all(o is False for o in opted) and \
                    all(s.consent is not True for s in states) and \
                    reason not in ("no_consent",):
                P("%s: %s although the user had not consented (should be "
                  "suppressed as no_consent)" % (r.describe(), reason or "scheduled"))
                continue
            if r.decision != "suppressed":
                continue
            if reason == "opted_out":
                if all(o is False for o in opted):
                    P("%s: suppressed as opted_out, but the user had not opted out"
                      % r.describe())
            elif reason == "no_consent":
                if not pol.require_consent:
                    P("%s: no_consent without defaults.require_consent" % r.describe())
                elif all(s.consent is True for s in states):
                    P("%s: no_consent, but the user had consented" % r.describe())
            elif reason == "superseded":
                self.check_superseded(r, P)
            elif reason == "cooldown":
                self.check_cooldown(r, P)
            elif reason.startswith("cap:"):
                cap = pol.cap_for_reason(r.rule_id, reason)
                if cap is None:
                    P("%s: %s names no cap of the policy" % (r.describe(), reason))
                elif r.due is None:
                    P("%s: %s without a due_at" % (r.describe(), reason))
                else:
                    dues = self.live_dues(r.user_id, cap, r.at_ms, r.task_id, r.due)
                    have = fullest_around(dues, r.due, cap.per)
                    if have < cap.limit:
                        P("%s: suppressed as %s, but at most %d of %d counted items "
                          "lay in a window around %s" % (r.describe(), reason, have,
                                                         cap.limit, fmt_utc(r.due)))
            elif reason == "channel_off":
                rule = pol.rules_by_id.get(r.rule_id)
                ch = rule.message_channel if rule else None
                if r.kind != "message":
                    P("%s: channel_off suppresses only messages" % r.describe())
                elif all(s.channel_on(ch) for s in states):
                    P("%s: channel_off, but channel %s was on" % (r.describe(), ch))

    def check_superseded(self, r, P):
        pol = self.policy
        superseding = [x.id for x in pol.rules if r.rule_id in x.supersedes]
        if not superseding:
            P("%s: superseded, but no rule supersedes %s" % (r.describe(), r.rule_id))
            return
        for x in self.recs_by_user.get(r.user_id, []):
            if x.at_ms > r.at_ms or x.decision != "scheduled" or \
                    x.rule_id not in superseding:
                continue
            void = self.void_ms(x.task_id)
            if void is not None and void + 999 < r.at_ms:
                continue
            out = self.messages if x.kind == "message" else self.calls
            if x.task_id in out and out[x.task_id].ts + 999 < r.at_ms:
                continue  # emitted: no longer pending
            return
        P("%s: superseded, but no follow-up of %s was pending"
          % (r.describe(), "/".join(superseding)))

    def check_cooldown(self, r, P):
        pol = self.policy
        rule = pol.rules_by_id.get(r.rule_id)
        if not pol.outcomes or pol.outcomes["cooldown"] <= 0 or \
                (rule and rule.ignore_cooldown):
            P("%s: cooldown, but the policy/rule has no cooldown" % r.describe())
            return
        cd = pol.outcomes["cooldown"]
        for e in self.by_user.get(r.user_id, []):
            if e.type != "callback.outcome" or e.counts is False or \
                    e.data["outcome"] != "answered" or e.in_ms > r.at_ms + 999:
                continue
            start = max(e.occurred, e.up // 1000)
            if r.due is None or r.due < start + cd:
                return
        P("%s: cooldown, but no answered outcome covers due_at %s"
          % (r.describe(), fmt_utc(r.due)))

    def check_dead_letters(self, P):
        """Each malformed input has its own dead letter: the one naming its
        source (topic, partition, offset), else one naming no input record
        whose payload is the input's value (each dead letter used once)."""
        input_keys = {(r.topic, r.partition, r.offset) for r in self.input_records}
        by_source, spare = {}, {}
        for rec in self.dead_letters:
            v = rec.value
            src = v["source"]
            key = (src.get("topic"), src.get("partition"), src.get("offset"))
            if key in input_keys:
                by_source.setdefault(key, []).append(rec)
                continue
            p = v["payload"]
            try:
                p = json.dumps(json.loads(p), sort_keys=True)
            except ValueError:
                pass
            spare[p] = spare.get(p, 0) + 1
        self.n_dl_found = 0
        for rec, why in self.malformed:
            key = (rec.topic, rec.partition, rec.offset)
            if key in by_source:
                self.n_dl_found += 1
                continue
            p = rec.value if isinstance(rec.value, str) else \
                json.dumps(rec.value, sort_keys=True)
            if spare.get(p, 0) > 0:
                spare[p] -= 1
                self.n_dl_found += 1
            elif rec.ts < self.due_limit_ms:
                user = rec.value.get("user_id") if isinstance(rec.value, dict) else None
                eid = rec.value.get("event_id") if isinstance(rec.value, dict) else None
                P("user %s event %s: malformed input (%s, partition %s offset %s) "
                  "has no dead letter" % (user, eid, why, rec.partition, rec.offset))
        valid_keys = {(e.rec.topic, e.rec.partition, e.rec.offset): e
                      for e in self.events}
        for key, recs in by_source.items():
            e = valid_keys.get(key)
            if e is None:
                continue
            err = recs[0].value["error"]
            if re.search(r"duplicate|too (?:large|long|big)|bytes", err, re.I):
                continue  # not visible in kafka_tool's re-encoded value
            P("%s: dead-lettered (%s) although it is a valid event"
              % (e.describe(), err))

    # ------------------------------------------------------------ check: caps

    def check_caps(self):
        pol = self.policy
        caps = pol.all_caps
        # final state: every distinct item, not cancelled
        items = {}  # user -> [Item]
        for tid, m in self.calls.items():
            v = m.value
            void = self.void_ms(tid)
            items.setdefault(v["user_id"], []).append(Item(
                "call", v["rule_id"], None, v["attempt"], parse_utc(v["due_at"]),
                tid, v["user_id"], void_ms=void))
        for mid, m in self.messages.items():
            v = m.value
            items.setdefault(v["user_id"], []).append(Item(
                "message", v["rule_id"], v["channel"], 1, parse_utc(v["send_at"]),
                mid, v["user_id"], void_ms=self.void_ms(mid)))
        for rid, m in self.reminders.items():
            v = m.value
            items.setdefault(v["user_id"], []).append(Item(
                "reminder", v["rule_id"], v["channel"], 1, parse_utc(v["send_at"]),
                rid, v["user_id"]))
        for r in self.decisions:  # still pending at the end
            if r.decision != "scheduled" or r.task_id in self.calls or \
                    r.task_id in self.messages or self.void_ms(r.task_id) is not None:
                continue
            if self.first_sched(r.task_id) is not r:
                continue
            items.setdefault(r.user_id, []).append(Item(
                r.kind, r.rule_id, self.channel_of(r), r.attempt, r.due,
                r.task_id, r.user_id))
        counted = 0
        reported = set()
        worst = {}
        for user, lst in items.items():
            for cap in caps:
                sel = sorted((it for it in lst if it.void_ms is None and
                              cap.counts(it)), key=lambda it: it.due)
                counted += len(sel)
                dues = [it.due for it in sel]
                worst[cap.name] = max(worst.get(cap.name, 0), max_in_window(dues, cap.per))
                span = window_overflow(dues, cap.per, cap.limit)
                if span:
                    ids = [it.ident for it in sel[span[0]:span[1] + 1]]
                    reported.add((user, cap.name))
                    self.problem("caps", "user %s: %s (limit %d per %ds) holds %d items "
                                 "in [%s, +%ds): tasks %s" % (
                                     user, cap.name, cap.limit, cap.per, len(ids),
                                     fmt_utc(dues[span[0]]), cap.per, " ".join(ids)))
        # over time: the state at the end of every second that scheduled something
        timed = 0
        if self.have_decisions:
            for user, recs in self.recs_by_user.items():
                timed += self.check_caps_over_time(user, recs, reported)
        self.figures["caps"] = (
            "%d caps, %d users, %d items counted at the end (summed over caps), "
            "%d decision seconds replayed; fullest window per cap: %s" % (
                len(caps), len(items), counted, timed,
                ", ".join("%s %d/%d" % (c.name, worst.get(c.name, 0), c.limit)
                          for c in caps) or "-"))

    def check_caps_over_time(self, user, recs, reported):
        """Replay the user's records second by second; after each second in
        which a follow-up was scheduled, no window around it may overflow."""
        caps = [c for c in self.policy.all_caps if not c.counts_reminders()]
        if not caps:
            return 0
        live = {}                        # task_id -> Item
        sorted_live = {c.name: [] for c in caps}  # [(due, task_id)] per cap
        cancel_times = sorted((self.cancels[tid].ts, tid) for tid in self.cancels
                              if self.cancels[tid].value["user_id"] == user)
        by_second = {}
        for r in recs:
            by_second.setdefault(r.at, []).append(r)

        def drop(tid):
            it = live.pop(tid, None)
            if it is None:
                return
            for c in caps:
                if c.counts(it):
                    lst = sorted_live[c.name]
                    i = bisect.bisect_left(lst, (it.due, tid))
                    if i < len(lst) and lst[i] == (it.due, tid):
                        del lst[i]

        seconds, ci = 0, 0
        for sec in sorted(by_second):
            inserted = []
            for r in by_second[sec]:
                if r.decision == "scheduled":
                    if r.replaces:
                        drop(r.replaces)
                    if r.task_id not in live and r.attempt == 1:
                        it = Item(r.kind, r.rule_id, self.channel_of(r), 1, r.due,
                                  r.task_id, user)
                        live[r.task_id] = it
                        for c in caps:
                            if c.counts(it):
                                bisect.insort(sorted_live[c.name], (it.due, r.task_id))
                        inserted.append(it)
                elif r.decision == "cancelled":
                    drop(r.task_id)
            while ci < len(cancel_times) and cancel_times[ci][0] < sec * 1000:
                drop(cancel_times[ci][1])  # cancels, also without a record
                ci += 1
            inserted = [it for it in inserted if it.ident in live]
            if not inserted:
                continue
            seconds += 1
            for cap in caps:
                if (user, cap.name) in reported:
                    continue
                lst = sorted_live[cap.name]
                for it in inserted:
                    if not cap.counts(it):
                        continue
                    lo = bisect.bisect_left(lst, (it.due - cap.per + 1,))
                    hi = bisect.bisect_left(lst, (it.due + cap.per,))
                    near = lst[lo:hi]
                    span = window_overflow([d for d, _ in near], cap.per, cap.limit)
                    if span:
                        reported.add((user, cap.name))
                        ids = [t for _, t in near[span[0]:span[1] + 1]]
                        self.problem("caps", "user %s: after the decisions of %s, %s "
                                     "(limit %d per %ds) held %d follow-ups in [%s, "
                                     "+%ds): tasks %s" % (
                                         user, fmt_utc(sec), cap.name, cap.limit,
                                         cap.per, len(ids),
                                         fmt_utc(near[span[0]][0]), cap.per,
                                         " ".join(ids)))
                        break
        return seconds

    # ------------------------------------------------------------ check: timing

    def check_timing(self):
        pol = self.policy
        P = lambda text: self.problem("timing", text)
        late_tasks, late_rem = [], []
        early = 0
        for tid, m in self.calls.items():
            v = m.value
            due = parse_utc(v["due_at"])
            late = m.ts - due * 1000
            late_tasks.append(late)
            if late < 0:
                early += 1
                P("user %s task %s event %s: left at %s, %d ms before its due_at %s"
                  % (v["user_id"], tid, v["trigger"].get("event_id"), fmt_ms(m.ts),
                     -late, v["due_at"]))
            self.check_task_window(tid, m, P)
        def sent_late(m, what):
            """How late a reminder or message left after its send_at (ms),
            counted; one that left early is a problem."""
            v = m.value
            late = m.ts - parse_utc(v["send_at"]) * 1000
            late_rem.append(late)
            if late < 0:
                P("user %s task %s: %s left at %s, %d ms before its send_at %s"
                  % (v["user_id"], v.get("task_id") or v.get("message_id"),
                     what, fmt_ms(m.ts), -late, v["send_at"]))
            return late < 0

        for rid, m in self.reminders.items():
            early += sent_late(m, "reminder " + rid)
            self.check_reminder_window(rid, m, P)
        for mid, m in self.messages.items():
            v = m.value
            send = parse_utc(v["send_at"])
            early += sent_late(m, "message")
            r = self.first_sched(mid)
            states = self.states_since(v["user_id"], r, m.ts, m.ts)
            if pol.message_window and not any(
                    window_slot(send, self.zone_of(s), pol.message_window)
                    for s in states):
                P("user %s task %s: message send_at %s outside the message window"
                  % (v["user_id"], mid, v["send_at"]))
        exact = 0
        if self.have_decisions:
            exact = self.check_expected_dues(P)
        both = late_tasks + late_rem
        self.figures["timing"] = (
            "tasks %d, reminders %d, messages %d; early %d; lateness max %d ms, p99 "
            "%d ms (tasks max %d ms, p99 %d ms; reminders max %d ms, p99 %d ms); "
            "%d due times recomputed" % (
                len(self.calls), len(self.reminders), len(self.messages), early,
                max(both or [0]), percentile(both, 0.99), max(late_tasks or [0]),
                percentile(late_tasks, 0.99), max(late_rem or [0]),
                percentile(late_rem, 0.99), exact))

    def check_task_window(self, tid, m, P):
        v = m.value
        user = v["user_id"]
        due = parse_utc(v["due_at"])
        r = self.first_sched(tid)
        states = self.states_since(user, r, min(m.ts, due * 1000), m.ts)
        what = "user %s task %s event %s" % (user, tid, v["trigger"].get("event_id"))
        if get_zone(v["timezone"]) is None:
            P("%s: timezone %r is not a zone" % (what, v["timezone"]))
        elif not any(s.tz == v["timezone"] or (s.tz is None and
                                               v["timezone"] == self.policy.timezone)
                     for s in states):
            P("%s: timezone %s, but the user's zone was %s" % (
                what, v["timezone"], "/".join(sorted({s.tz for s in states}))))
        inside = [s for s in states
                  if window_slot(due, self.zone_of(s), self.call_window_of(s))]
        if not inside:
            s = states[-1]
            lt = local_time(due, self.zone_of(s))
            P("%s: due_at %s is outside the call window (%s local in %s)"
              % (what, v["due_at"], lt.strftime("%a %Y-%m-%d %H:%M:%S"), s.tz))
            return
        expires = parse_utc(v["expires_at"])
        not_after = parse_utc(v["not_after"])
        whys = [not_after_problem(due, not_after, expires, self.zone_of(s),
                                  self.call_window_of(s)) for s in inside]
        if all(whys):
            P("%s: %s" % (what, whys[0]))

    def check_reminder_window(self, rid, m, P):
        pol = self.policy
        v = m.value
        user, tid = v["user_id"], v["task_id"]
        send, callback = parse_utc(v["send_at"]), parse_utc(v["callback_at"])
        what = "user %s task %s reminder %s" % (user, tid, rid)
        rule = pol.rules_by_id.get(v["rule_id"])
        if rule is None or not rule.reminder:
            P("%s: rule %s has no reminder" % (what, v["rule_id"]))
            return
        if v["channel"] != rule.reminder[0]:
            P("%s: channel %s, the rule's is %s" % (what, v["channel"], rule.reminder[0]))
        if send > callback - rule.reminder[1]:
            P("%s: send_at %s is later than callback_at - lead" % (what, v["send_at"]))
        call = self.calls.get(tid)
        r = self.first_sched(tid)
        due = parse_utc(call.value["due_at"]) if call else (r.due if r else None)
        if due is not None and due != callback:
            P("%s: callback_at %s, but the call is due %s" % (what, v["callback_at"],
                                                              fmt_utc(due)))
        states = self.states_since(user, r, m.ts, m.ts)
        if pol.message_window and not any(
                window_slot(send, self.zone_of(s), pol.message_window) for s in states):
            P("%s: send_at %s is outside the message window" % (what, v["send_at"]))
        if r is not None and r.reminder == "scheduled" and pol.message_window:
            if send < r.at:
                P("%s: send_at %s is before the decision %s" % (what, v["send_at"],
                                                               fmt_utc(r.at)))
            elif send not in self.reminder_send_candidates(r, rule):
                P("%s: send_at %s is not the latest message-window instant <= "
                  "due - lead" % (what, v["send_at"]))

    def check_expected_dues(self, P):
        """Recompute due_at of records whose inputs are all known."""
        pol = self.policy
        n = 0
        for r in self.decisions:
            if r.decision not in ("scheduled", "suppressed") or r.event is None or \
                    r.is_move():
                continue
            rule = pol.rules_by_id.get(r.rule_id)
            if rule is None or r.kind not in rule.timing:
                continue
            if r.attempt == 1:
                nom = self.nominal_of(r)
                if nom is None:
                    continue
                nominal, expiry = nom
                defer = rule.on_cap == "defer"
            else:
                e = r.event
                if e.type != "callback.outcome" or not pol.outcomes:
                    continue
                prev = self.calls.get(e.data["task_id"])
                if prev is None:
                    continue
                backoff = pol.outcomes["backoff"]
                if not backoff:
                    continue
                gap = backoff[min(r.attempt - 2, len(backoff) - 1)]
                nominal = None  # depends on now
                expiry = parse_utc(prev.value["expires_at"])
                defer = False
            states = self.record_states(r)
            got = set()
            for now in (r.at, r.at - 1, r.at + 1):  # `at` is the decision second
                for st in states:
                    nom_now = nominal if nominal is not None else \
                        max(r.event.occurred, now) + gap
                    got.add(self.expected_due(rule, r.kind, nom_now, expiry, now, st,
                                              r.attempt))
                if r.due in got and not (r.decision == "scheduled" and defer):
                    break
            n += 1
            if r.due is None:
                if None not in got:
                    P("%s: due_at null (%s), but a slot exists at %s" % (
                        r.describe(), r.reason, fmt_utc(min(g for g in got if g))))
                continue
            if r.decision == "scheduled" and defer:
                if not any(g is not None and r.due >= g for g in got):
                    P("%s: deferred due_at %s is before the first possible %s" % (
                        r.describe(), fmt_utc(r.due),
                        "/".join(fmt_utc(g) for g in got)))
                continue
            if r.due not in got:
                P("%s: due_at %s, expected %s" % (
                    r.describe(), fmt_utc(r.due),
                    "/".join(sorted(fmt_utc(g) for g in got))))
        return n

    # ------------------------------------------------------------ check: opt-out

    def check_opt_out(self):
        pol = self.policy
        P = lambda text: self.problem("opt_out", text)
        n_blocks = sum(len(b) for b in self.blocks.values())
        n_required = n_found = 0
        for user, blocks in self.blocks.items():
            unblocks = self.unblocks.get(user, [])
            tasks = [(m.value["task_id"], m) for m in self.calls_by_user.get(user, [])]
            rems = [(m.value["reminder_id"], m)
                    for m in self.reminders_by_user.get(user, [])]
            for ev, kind, definite in blocks:
                if not definite:
                    continue
                nxt = [u for u, k in unblocks if k == kind and u.pos > ev.pos]
                reopen_ms = nxt[0].lo if nxt else None
                label = "opt-out" if kind == "opt_out" else "consent withdrawal"
                # nothing scheduled before it leaves after it was decided
                for ident, m, tid in [(t, m, t) for t, m in tasks] + \
                        [(rid, m, m.value["task_id"]) for rid, m in rems]:
                    r = self.first_sched(tid)
                    what = "user %s task %s event %s" % (user, tid, ev.event_id)
                    if ident != tid:
                        what += " reminder %s" % ident
                    if m.ts <= ev.up or (ident == tid and self.cancel_follows(tid)):
                        continue
                    if r is not None:
                        if r.at_ms + 999 < ev.lo:
                            P("%s: left at %s, after the %s decided by %s" % (
                                what, fmt_ms(m.ts), label, fmt_ms(ev.up)))
                    elif reopen_ms is None or m.ts < reopen_ms:
                        P("%s: left at %s, while the user was opted out (since %s)"
                          % (what, fmt_ms(m.ts), fmt_ms(ev.up)))
                # an emitted call still open gets its cancel
                if self.end_ms - ev.up < DUE_MARGIN_MS:
                    continue
                for tid, m in tasks:
                    if m.ts > ev.up:
                        continue
                    not_after = parse_utc(m.value["not_after"]) * 1000
                    if not_after <= ev.up:
                        continue
                    if tid in self.cancels and self.cancels[tid].ts < ev.lo:
                        continue
                    if any(o.type == "callback.outcome" and o.data["task_id"] == tid
                           and o.lo <= ev.up for o in self.by_user[user]):
                        continue
                    n_required += 1
                    want = "opt_out" if kind == "opt_out" else "no_consent"
                    c = self.cancels.get(tid)
                    if c is None:
                        P("user %s task %s event %s: emitted, callable until %s, "
                          "but no cancel after the %s" % (
                              user, tid, ev.event_id, m.value["not_after"], label))
                    elif c.value["reason"] != want and c.ts >= ev.lo:
                        P("user %s task %s event %s: cancel reason %s, expected %s"
                          % (user, tid, ev.event_id, c.value["reason"], want))
                    else:
                        n_found += 1
        # nothing is scheduled while opted out; a series ends at an opt-out
        for r in self.decisions:
            if r.decision != "scheduled":
                continue
            blocks = [b for b in self.blocks.get(r.user_id, []) if b[2]]
            if not blocks:
                continue
            for ev, kind, _ in blocks:
                nxt = [u for u, k in self.unblocks.get(r.user_id, [])
                       if k == kind and u.pos > ev.pos]
                reopen = nxt[0].lo if nxt else None
                if r.at_ms > ev.up and (reopen is None or r.at_ms + 999 < reopen):
                    P("%s: scheduled at %s while the user was opted out (%s decided "
                      "by %s)" % (r.describe(), fmt_utc(r.at), ev.event_id,
                                  fmt_ms(ev.up)))
                    break
                if r.occurrence and r.occurrence > 1 and r.event is not None and \
                        ev.pos > r.event.pos and r.at_ms > ev.up:
                    P("%s: occurrence %d scheduled at %s, but the %s %s ended the "
                      "series" % (r.describe(), r.occurrence, fmt_utc(r.at),
                                  "opt-out" if kind == "opt_out" else "withdrawal",
                                  ev.event_id))
                    break
        self.figures["opt_out"] = (
            "%d opt-outs/withdrawals (%d users); %d emitted calls needing a cancel, "
            "%d cancelled" % (n_blocks, len(self.blocks), n_required, n_found))

    # ------------------------------------------------------------ check: cancels

    def check_cancels(self):
        P = lambda text: self.problem("cancels", text)
        want_reason = {"opted_out": "opt_out", "no_consent": "no_consent"}
        n_void_emitted = n_matched = 0
        for tid, voids in self.void_by_task.items():
            call = self.calls.get(tid)
            if call is None:
                continue
            first_void = min(voids, key=lambda r: r.at_ms)
            user = call.value["user_id"]
            if call.ts > first_void.at_ms + 999 and not self.cancel_follows(tid):
                P("user %s task %s event %s: left at %s, after it was %s at %s" % (
                    user, tid, first_void.event_id, fmt_ms(call.ts),
                    "moved" if first_void.decision == "scheduled" else
                    "cancelled (%s)" % first_void.reason, fmt_utc(first_void.at)))
                continue
            n_void_emitted += 1
            c = self.cancels.get(tid)
            if c is None:
                P("user %s task %s event %s: emitted, then %s at %s, but no cancel "
                  "message" % (user, tid, first_void.event_id,
                               "moved" if first_void.decision == "scheduled" else
                               "cancelled (%s)" % first_void.reason,
                               fmt_utc(first_void.at)))
                continue
            n_matched += 1
            cancelled = [r for r in voids if r.decision == "cancelled"]
            if cancelled:
                expect = want_reason.get(cancelled[0].reason, "rescheduled")
                if c.value["reason"] != expect:
                    P("user %s task %s event %s: cancel reason %s, the record's %s "
                      "maps to %s" % (user, tid, cancelled[0].event_id,
                                      c.value["reason"], cancelled[0].reason, expect))
            elif self.have_decisions:
                P("user %s task %s event %s: an emitted task moved without its "
                  "cancelled record" % (user, tid, first_void.event_id))
        for tid, c in self.cancels.items():
            user = c.value["user_id"]
            call = self.calls.get(tid)
            if call is None:
                P("user %s task %s: a cancel for a task that never left" % (user, tid))
                continue
            if call.value["user_id"] != user:
                P("user %s task %s: a cancel for another user's task" % (user, tid))
            if c.ts < call.ts:
                P("user %s task %s: the cancel left before the task" % (user, tid))
            if self.have_decisions and tid not in self.cancelled_by_task:
                P("user %s task %s: a cancel without a cancelled record" % (user, tid))
        self.figures["cancels"] = (
            "%d cancel messages; %d emitted tasks cancelled or moved by a record, "
            "%d with their cancel" % (len(self.cancels), n_void_emitted, n_matched))

    # ------------------------------------------------------------ check: rss

    def check_rss(self):
        path = self.args.rss
        if not path:
            self.figures["rss"] = "not given"
            return
        samples, runs = [], 1
        try:
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    parts = line.split()
                    if not parts or parts[0].startswith("#"):
                        continue
                    if parts[0] == "restart":
                        runs += 1
                        continue
                    if len(parts) != 2 or not all(p.isdigit() for p in parts):
                        raise UsageError("rss %s line %d: expected 'EPOCH_MS RSS_KIB'"
                                         % (path, n))
                    samples.append(int(parts[1]))
        except OSError as e:
            raise UsageError("cannot read rss %s: %s" % (path, e))
        if len(samples) < 3:
            self.figures["rss"] = "%d samples: too few to judge" % len(samples)
            return
        third = len(samples) // 3
        middle = samples[third:2 * third]
        last = samples[len(samples) - third:]

        def median(xs):
            s = sorted(xs)
            k = len(s)
            return s[k // 2] if k % 2 else (s[k // 2 - 1] + s[k // 2]) / 2

        mid_med, last_med = median(middle), median(last)
        limit = mid_med * (1 + RSS_GROWTH) + RSS_FLAT_KIB
        self.figures["rss"] = (
            "%d samples, %d run(s); median of the middle third %.0f KiB, of the "
            "last third %.0f KiB, limit %.0f KiB; max %d KiB" % (
                len(samples), runs, mid_med, last_med, limit, max(samples)))
        if last_med > limit:
            self.problem("rss", "RSS grew: last-third median %.0f KiB > middle-third "
                         "median %.0f KiB + 10%% + %d KiB" % (last_med, mid_med,
                                                              RSS_FLAT_KIB))

    # ------------------------------------------------------------ run

    def run(self):
        self.load()
        self.read_events()
        self.read_outputs()
        self.bound_decision_times()
        self.classify_duplicates()
        self.classify_outcomes()
        self.build_states()
        self.check_input()
        self.check_outputs()
        for r in self.decisions:  # link records to events (needs dup flags)
            if r.decision != "duplicate":
                idx = self.event_index(r.user_id, r)
                r.event = self.by_user[r.user_id][idx] if idx is not None else None
        self.index_cap_items()
        self.check_accounted()
        self.check_caps()
        self.check_timing()
        self.check_opt_out()
        self.check_cancels()
        self.check_rss()
        return self.report()

    def report(self):
        total = 0
        print("%-9s %s: items due before %s must have left" % (
            "end", fmt_ms(self.end_ms), fmt_ms(self.due_limit_ms)))
        for c in CHECKS:
            probs = self.problems[c]
            total += len(probs)
            status = "ok" if not probs else "%d problems" % len(probs)
            print("%-9s %s: %s" % (c, status, self.figures[c]))
        for c in CHECKS:
            probs = self.problems[c]
            if not probs:
                continue
            print("%s problems:" % c)
            for text in probs[:MAX_SHOWN]:
                print("  " + text)
            if len(probs) > MAX_SHOWN:
                print("  ... and %d more" % (len(probs) - MAX_SHOWN))
        if total:
            print("soak_check: %d problems" % total)
            return 1
        print("soak_check: ok")
        return 0


# ---------------------------------------------------------------- command line

def parse_topics(text):
    out = {}
    for part in text.split(","):
        if "=" not in part:
            raise argparse.ArgumentTypeError("expected ROLE=NAME, got %r" % part)
        role, name = part.split("=", 1)
        if role not in DEFAULT_TOPICS or not name:
            raise argparse.ArgumentTypeError(
                "unknown topic role %r (roles: %s)" % (role, ", ".join(DEFAULT_TOPICS)))
        out[role] = name
    return out


def main(argv):
    ap = argparse.ArgumentParser(
        prog="soak_check.py",
        description="Check a followupd soak run from its Kafka topics.")
    ap.add_argument("--policy", required=True)
    ap.add_argument("--input", required=True, help="kafka_tool consume dump of the input topic")
    ap.add_argument("--outputs", required=True, help="kafka_tool consume dump of the output topics")
    ap.add_argument("--end-ms", type=int, help="epoch ms at which the soak stopped")
    ap.add_argument("--rss", help="lines 'EPOCH_MS RSS_KIB' (and 'restart')")
    ap.add_argument("--topics", type=parse_topics, default={},
                    help="tasks=NAME,reminders=NAME,decisions=NAME,dead_letter=NAME,messages=NAME")
    ap.add_argument("--input-topic", help="the input topic(s), comma-separated "
                    "(default: every line of INPUT)")
    ap.add_argument("--opt-out-slack-ms", type=int, default=60000,
                    help="latest decision after an input's Kafka ts when no record "
                    "bounds it (default 60000)")
    ap.add_argument("--grace-ms", type=int, default=60000,
                    help="how long past its due time a follow-up later cancelled or "
                    "moved may not have left (outages; default 60000)")
    args = ap.parse_args(argv)
    try:
        return SoakCheck(args).run()
    except (UsageError, PolicyError) as e:
        print("soak_check: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
