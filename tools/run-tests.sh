#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every suite.
# As root, the integration suites build their own network namespaces (tools/topology.py).
# Usage: tools/run-tests.sh [meson test arguments, e.g. --suite unit]
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
