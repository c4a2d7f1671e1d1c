#!/usr/bin/python3
"""Parses a Prometheus text exposition from stdin with the real parser (Debian's
python3-prometheus-client) and prints it as JSON: {family: {"type": T, "samples":
[[name, labels, value], ...]}}. Exit 1 with the parser's message on malformed input.

Run with /usr/bin/python3 (the interpreter the Debian package installs into); the tests
call it through prometheus_families() in cluster_harness.py.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    families = {}
    try:
        for family in text_string_to_metric_families(sys.stdin.read()):
            if family.name in families:
                raise ValueError(f"family {family.name} appears twice")
            families[family.name] = {
                "type": family.type,
                "samples": [[s.name, s.labels, s.value] for s in family.samples],
            }
    except Exception as error:  # the parser raises ValueError and friends
        print(f"prometheus_parse: {error}", file=sys.stderr)
        return 1
    json.dump(families, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
