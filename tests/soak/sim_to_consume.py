#!/usr/bin/env python3
"""tests/soak/sim_to_consume.py -- turn a `followupd simulate` run into the
dumps soak_check.py reads, as `kafka_tool consume` would print them
({"at", "ts_ms", "topic", "partition", "offset", "key", "value"}), so the
checker can be tested without Kafka (tests/cli/0006-soak-check.sh).

usage:
  sim_to_consume.py input EVENTS.jsonl [--topic wallet.events] > INPUT.jsonl
  sim_to_consume.py outputs SIM_OUT.jsonl --events EVENTS.jsonl
                    [--topic wallet.events] > OUTPUTS.jsonl

input: one record per non-blank line (as `kafka_tool produce` sends them),
partition 0, offsets from 0, the Kafka timestamp being simulate's clock when
it decides the line (spec 3.6: max(clock, occurred_at) for a valid event,
the clock as it is for a bad line). The value is the line's JSON when it
parses, else the line as a string; the key the line's string user_id.

outputs: simulate's topics become the daemon's default names (spec 3.2),
ts_ms is `at`, offsets count per topic; a dead letter's source (the events
file, its 1-based line number) becomes the input topic and the record's
offset.
"""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soak_check import DEFAULT_TOPICS, parse_instant, parse_utc, validate_event  # noqa: E402


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def iso_ms(ms):
    from datetime import datetime, timezone
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def input_records(lines, topic):
    """(line number, record) of every non-blank line."""
    clock, offset, out = 0, 0, []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = line
        if validate_event(value) is None:
            clock = max(clock, parse_instant(value["occurred_at"]))
        key = value.get("user_id") if isinstance(value, dict) else None
        out.append((n, {"at": iso_ms(clock * 1000), "ts_ms": clock * 1000,
                        "topic": topic, "partition": 0, "offset": offset,
                        "key": key if isinstance(key, str) else None,
                        "value": value}))
        offset += 1
    return out


def main(argv):
    ap = argparse.ArgumentParser(prog="sim_to_consume.py")
    ap.add_argument("what", choices=("input", "outputs"))
    ap.add_argument("file")
    ap.add_argument("--events", help="the events simulate read (outputs)")
    ap.add_argument("--topic", default="wallet.events", help="the input topic")
    args = ap.parse_args(argv)
    if args.what == "input":
        for _, rec in input_records(read_lines(args.file), args.topic):
            print(json.dumps(rec))
        return 0
    if not args.events:
        ap.error("outputs needs --events")
    offset_of_line = {n: rec["offset"]
                      for n, rec in input_records(read_lines(args.events), args.topic)}
    offsets = {}
    for line in read_lines(args.file):
        if not line.strip():
            continue
        doc = json.loads(line)
        topic = DEFAULT_TOPICS[doc["topic"]]
        value = doc["value"]
        if doc["topic"] == "dead_letter":
            src = value["source"]
            src["topic"] = args.topic
            src["offset"] = offset_of_line[src["offset"]]
        ms = parse_utc(doc["at"]) * 1000
        off = offsets.get(topic, 0)
        offsets[topic] = off + 1
        print(json.dumps({"at": iso_ms(ms), "ts_ms": ms, "topic": topic,
                          "partition": 0, "offset": off, "key": doc["key"],
                          "value": value}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
