#!/usr/bin/env bash
# Configures (once) and builds ringgate into ./build. Used by demo.sh and run-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f build/build.ninja ]]; then
  meson setup build
fi
ninja -C build
