#!/usr/bin/env bash
# The README's first command: installs what is needed, builds, runs the demo cluster.
# Usage (as root): tools/demo.sh [--keep]     --keep leaves the cluster up afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: run as root (it installs packages and builds network namespaces)" >&2
  exit 2
fi
tools/install-deps.sh
tools/build.sh
python3 tools/topology.py cleanup-stale
exec python3 tools/demo.py "$@"
