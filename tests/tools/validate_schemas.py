#!/usr/bin/python3
"""validate_schemas.py -- check followupd's messages against docs/schemas/.

usage:
  validate_schemas.py [--schemas DIR] [--topic NAME=KIND]...
                      [--outputs FILE]... [--events FILE]...
                      [--events-vs-simulate EVENTS SIMOUT]...

  --outputs FILE   JSON lines with "topic" and "value" (what `followupd
                   simulate` prints, or `kafka_tool consume`): each value is
                   checked against the schema of its topic. Topics: tasks,
                   reminders, decisions, dead_letter, messages, or a Kafka
                   name ending in one of them after a dot (followup.tasks,
                   prod.followup.dead_letter); --topic NAME=KIND maps other
                   names. When a line has "key", a task, reminder, decision
                   or message must be keyed by its user_id, and a dead
                   letter's key must be a string or null.
  --events FILE    raw input events, one per line (blank lines skipped, as
                   simulate does): every line must be an event the input
                   schema accepts.
  --events-vs-simulate EVENTS SIMOUT
                   SIMOUT is `followupd simulate` run over EVENTS: the
                   lines simulate accepted must validate, and the lines it
                   dead-lettered (source.offset = line number) must not,
                   except for reasons JSON Schema cannot express (a zone
                   unknown to the tz database, an hours range that does not
                   start before it ends, an id over 256 bytes), which may go
                   either way.
  FILE may be '-' for stdin. --schemas defaults to docs/schemas of this
  repository.

Prints one line per failure (FILE:LINE: what) and a summary line. Exit
codes: 0 every message valid, 1 any failure, 2 usage error or a file or
schema that cannot be read.

Input events are parsed as strictly as followupd does (lib/event.c with
jansson), so that the schema alone decides: UTF-8, at most 65536 bytes, no
duplicate keys, no NaN/Infinity, integers within int64, no \\u0000 and no
lone surrogates. Two readings differ from plain jsonschema, to match
followupd: "integer" means an integer literal (1.0 is a real, as in
jansson), and a pattern's final '$' means the end of the string (in
Python's re it also matches before a final newline; ECMA-262 does not).

Needs Debian's python3-jsonschema (run with /usr/bin/python3).
"""

import json
import os
import re
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError
except ImportError:  # pragma: no cover
    sys.stderr.write("validate_schemas: python3-jsonschema is missing "
                     "(apt-get install python3-jsonschema; run with "
                     "/usr/bin/python3)\n")
    sys.exit(2)

KINDS = {
    "tasks": "task.schema.json",
    "reminders": "reminder.schema.json",
    "decisions": "decision.schema.json",
    "dead_letter": "dead_letter.schema.json",
    "messages": "message.schema.json",
    "events": "event.schema.json",
}
MAX_EVENT_BYTES = 65536
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
# dead-letter reasons (lib/event.c) JSON Schema cannot express
BEYOND_SCHEMA = (
    re.compile(r"^unknown timezone in '"),
    re.compile(r"must start before it ends"),
    re.compile(r"is longer than \d+ bytes$"),
)


# ---- The validator: jsonschema with followupd's readings ----

def _is_integer(_checker, instance):
    return isinstance(instance, int) and not isinstance(instance, bool)


_re_cache = {}


def _compile(pattern):
    r = _re_cache.get(pattern)
    if r is None:
        p = pattern
        if p.endswith("$") and not p.endswith("\\$"):
            p = p[:-1] + r"\Z"
        r = _re_cache[pattern] = re.compile(p)
    return r


def _pattern(validator, pattern, instance, _schema):
    if validator.is_type(instance, "string") and \
            not _compile(pattern).search(instance):
        yield ValidationError("%r does not match %r" % (instance, pattern))


Validator = validators.extend(
    Draft202012Validator,
    validators={"pattern": _pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", _is_integer),
)


def load_schemas(directory):
    out = {}
    for kind, name in KINDS.items():
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8") as f:
                schema = json.load(f)
            Draft202012Validator.check_schema(schema)
        except (OSError, ValueError, jsonschema.SchemaError) as e:
            raise SystemExit(_usage_exit("cannot use schema %s: %s" %
                                         (path, str(e).splitlines()[0])))
        out[kind] = Validator(schema)
    return out


def _usage_exit(msg):
    sys.stderr.write("validate_schemas: %s\n" % msg)
    return 2


def describe(best):
    """One line for an error of a failed validation."""
    where = "/".join(str(p) for p in best.absolute_path) or "(top)"
    msg = best.message
    if len(msg) > 200:
        msg = msg[:200] + "..."
    return "at %s: %s" % (where, msg)


def pick(errors):
    """The error to report: for a oneOf/anyOf failure, one of the branch
    that fits best (no const/enum mismatch, such as a wrong "action", and
    the fewest errors), so a call task missing not_after says so rather
    than "'cancel' was expected"."""
    key = jsonschema.exceptions.relevance
    best = max(errors, key=key)
    while best.context:
        if best.validator in ("oneOf", "anyOf"):
            branches = {}
            for e in best.context:
                branches.setdefault(e.relative_schema_path[0], []).append(e)
            errs = min(branches.values(), key=lambda b: (
                any(e.validator in ("const", "enum") for e in b), len(b)))
            best = max(errs, key=key)
        else:
            best = min(best.context, key=key)
    return best


def check(validator, instance):
    """None when valid, else a one-line description."""
    errors = list(validator.iter_errors(instance))
    if not errors:
        return None
    return describe(pick(errors))


# ---- Reading ----

def read_lines(path):
    """(line number, bytes) of every line, as simulate reads them: split at
    '\\n', trailing '\\r' and '\\n' removed, whitespace-only lines skipped."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as e:
        raise SystemExit(_usage_exit("cannot read %s: %s" %
                                     (path, e.strerror)))
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, line in enumerate(lines, 1):
        line = line.rstrip(b"\r\n")
        if line.strip(b" \t\n\v\f\r"):
            yield i, line


class NotEvent(Exception):
    pass


def _reject_constant(name):
    raise NotEvent("%s is not JSON" % name)


def _int64(text):
    v = int(text)
    if not INT64_MIN <= v <= INT64_MAX:
        raise NotEvent("number out of range")
    return v


def _finite(text):
    v = float(text)
    if v in (float("inf"), float("-inf")):
        raise NotEvent("number out of range")
    return v


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise NotEvent("duplicate key")
        obj[k] = v
    return obj


def _check_strings(v):
    if isinstance(v, str):
        if "\0" in v:
            raise NotEvent("\\u0000 is not allowed")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise NotEvent("lone surrogate")
    elif isinstance(v, dict):
        for k, x in v.items():
            _check_strings(k)
            _check_strings(x)
    elif isinstance(v, list):
        for x in v:
            _check_strings(x)


def parse_event(raw):
    """The JSON value of one raw event, read as strictly as followupd does;
    raises NotEvent."""
    if len(raw) > MAX_EVENT_BYTES:
        raise NotEvent("event larger than %d bytes" % MAX_EVENT_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotEvent("invalid UTF-8")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates,
                           parse_constant=_reject_constant,
                           parse_int=_int64, parse_float=_finite)
    except NotEvent:
        raise
    except (ValueError, RecursionError) as e:
        raise NotEvent("invalid JSON: %s" % str(e).split(":")[0])
    _check_strings(value)
    return value


# ---- Checks ----

class Run:
    def __init__(self, schemas, topics):
        self.schemas = schemas
        self.topics = topics
        self.checked = 0
        self.failed = 0

    def fail(self, where, msg):
        self.failed += 1
        print("%s: %s" % (where, msg))

    def kind_of(self, topic):
        if not isinstance(topic, str):
            return None
        if topic in self.topics:
            return self.topics[topic]
        if topic in KINDS and topic != "events":
            return topic
        tail = topic.rsplit(".", 1)[-1]
        if "." in topic and tail in KINDS and tail != "events":
            return tail
        return None

    def outputs(self, path):
        for n, raw in read_lines(path):
            where = "%s:%d" % (path, n)
            self.checked += 1
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                self.fail(where, "not a JSON line")
                continue
            if not isinstance(rec, dict) or "topic" not in rec or \
                    "value" not in rec:
                self.fail(where, "expected an object with \"topic\" and "
                                 "\"value\"")
                continue
            kind = self.kind_of(rec["topic"])
            if kind is None:
                self.fail(where, "unknown topic %r (use --topic NAME=KIND)"
                          % (rec["topic"],))
                continue
            value = rec["value"]
            problem = check(self.schemas[kind], value)
            if problem:
                self.fail(where, "%s: %s" % (kind, problem))
                continue
            if "key" in rec:
                key = rec["key"]
                if kind == "dead_letter":
                    if key is not None and not isinstance(key, str):
                        self.fail(where, "dead_letter: key must be a string "
                                         "or null")
                elif key != value.get("user_id"):
                    self.fail(where, "%s: key is not the value's user_id"
                              % kind)

    def event(self, raw):
        """None when raw is a valid event, else why not."""
        try:
            value = parse_event(raw)
        except NotEvent as e:
            return str(e)
        return check(self.schemas["events"], value)

    def events(self, path):
        for n, raw in read_lines(path):
            self.checked += 1
            problem = self.event(raw)
            if problem:
                self.fail("%s:%d" % (path, n), "event: %s" % problem)

    def events_vs_simulate(self, events_path, sim_path):
        dead = {}
        for n, raw in read_lines(sim_path):
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise SystemExit(_usage_exit("%s:%d: not a JSON line" %
                                             (sim_path, n)))
            if isinstance(rec, dict) and rec.get("topic") == "dead_letter":
                v = rec.get("value") or {}
                try:
                    dead[int(v["source"]["offset"])] = v.get("error", "")
                except (KeyError, TypeError, ValueError):
                    raise SystemExit(_usage_exit(
                        "%s:%d: dead letter without source.offset" %
                        (sim_path, n)))
        seen = set()
        for n, raw in read_lines(events_path):
            where = "%s:%d" % (events_path, n)
            self.checked += 1
            seen.add(n)
            problem = self.event(raw)
            if n not in dead:
                if problem:
                    self.fail(where, "simulate accepted it, the schema "
                                     "does not: %s" % problem)
            elif problem is None:
                reason = dead[n]
                if not any(r.search(reason) for r in BEYOND_SCHEMA):
                    self.fail(where, "simulate dead-lettered it (%s), the "
                                     "schema accepts it" % reason)
        for n in sorted(set(dead) - seen):
            self.fail("%s:%d" % (events_path, n),
                      "simulate dead-lettered a line that is blank or "
                      "missing")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    schemas_dir = os.path.normpath(os.path.join(here, "..", "..", "docs",
                                                "schemas"))
    topics, jobs = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        need = {"--schemas": 1, "--topic": 1, "--outputs": 1, "--events": 1,
                "--events-vs-simulate": 2}.get(a)
        if a in ("-h", "--help"):
            sys.stdout.write(__doc__)
            return 0
        if need is None or i + need >= len(argv):
            return _usage_exit("bad arguments (see --help)")
        args = argv[i + 1:i + 1 + need]
        i += 1 + need
        if a == "--schemas":
            schemas_dir = args[0]
        elif a == "--topic":
            name, _, kind = args[0].partition("=")
            if not name or kind not in KINDS or kind == "events":
                return _usage_exit("--topic NAME=KIND, KIND one of %s" %
                                   ", ".join(k for k in KINDS
                                             if k != "events"))
            topics[name] = kind
        else:
            jobs.append((a, args))
    if not jobs:
        return _usage_exit("nothing to check: give --outputs, --events or "
                           "--events-vs-simulate (see --help)")
    try:
        run = Run(load_schemas(schemas_dir), topics)
        for a, args in jobs:
            if a == "--outputs":
                run.outputs(args[0])
            elif a == "--events":
                run.events(args[0])
            else:
                run.events_vs_simulate(args[0], args[1])
    except SystemExit as e:
        return e.code
    print("validate_schemas: %d checked, %d failed" % (run.checked,
                                                      run.failed))
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
