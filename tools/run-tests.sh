#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every suite.
# As root, the integration suites build their own network namespaces (tools/topology.py).
# Usage: tools/run-tests.sh [meson test arguments, e.g. --suite unit]
# Without arguments it also runs the unit, packet and simulation suites again under
# AddressSanitizer and UndefinedBehaviorSanitizer (tools/run-sanitized-tests.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -eq 0 ]]; then
  tools/install-deps.sh
fi
tools/build.sh
# Leftovers of a killed earlier run (namespaces, daemons) are removed before starting.
if [[ $(id -u) -eq 0 ]]; then
  python3 tools/topology.py cleanup-stale
fi
meson test -C build --print-errorlogs --num-processes 2 "$@"
if [[ $# -eq 0 ]]; then
  tools/run-sanitized-tests.sh
fi
