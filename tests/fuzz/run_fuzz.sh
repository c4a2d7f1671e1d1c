#!/usr/bin/env bash
# Runs libFuzzer targets, each starting from its seed corpus in the tree, which it only
# reads: new inputs go to a scratch folder removed afterwards. A crash, a leak or a broken
# invariant fails (exit 1) and leaves the input in $RINGGATE_BUILD/fuzz-artifacts/.
# The unit suite runs each target for 20 s; `ninja -C build fuzz` runs them all with
# SECONDS "long" ($FUZZ_SECONDS each, default 300; docs/HOSTILE-INPUT.md records runs).
# Usage: run_fuzz.sh SECONDS|long TARGET SEED_CORPUS_DIR [TARGET SEED_CORPUS_DIR ...]
set -euo pipefail
seconds=$1
shift
[[ $seconds == long ]] && seconds=${FUZZ_SECONDS:-300}
artifacts=${RINGGATE_BUILD:-.}/fuzz-artifacts
mkdir -p "$artifacts"
status=0
while (($# >= 2)); do
  target=$1 seeds=$2
  shift 2
  name=$(basename "$target")
  scratch=$(mktemp -d "/tmp/ringgate-$name.XXXXXX")
  echo "== $name: $seconds s from $seeds"
  # libFuzzer's own exit code for a crash is 77, which a test runner reads as "skipped".
  "$target" -max_total_time="$seconds" -seed=1 -rss_limit_mb=1024 -error_exitcode=1 \
    -timeout_exitcode=1 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
    "$scratch" "$seeds" || status=1
  rm -rf "$scratch"
done
exit $status
