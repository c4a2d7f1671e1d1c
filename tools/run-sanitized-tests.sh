#!/usr/bin/env bash
# The unit, packet and simulation suites again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer in a second build folder (build-asan). Only the targets
# those tests need are built; the simulations run their first seed range only.
# Not yet called by tools/run-tests.sh (its first full run on this machine is pending);
# run it on its own:
#   tools/run-sanitized-tests.sh            build what is needed and run
#   tools/run-sanitized-tests.sh --list     print the tests it would run
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan

if [[ ! -f $build/build.ninja ]]; then
  # -O1 keeps the sanitized build and its runs quick; b_lundef=false because the
  # sanitizer runtimes are linked in by the compiler driver, not by each library.
  # werror=false: gcc's instrumentation makes -Wmaybe-uninitialized see ghosts (a variant
  # move in reliable.cpp); the main build keeps every warning an error.
  meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=false \
    -Dbuildtype=debug -Doptimization=1 >/dev/null
fi

# Which tests, and which targets they need, from meson's own description of the suites.
# The libFuzzer targets (suite "fuzz") are left out: they are sanitized already.
mapfile -t plan < <(meson introspect "$build" --tests --targets | python3 -c '
import json, sys
info = json.load(sys.stdin)
tests = info["tests"]
by_id = {t["id"]: t for t in info["targets"]}
wanted = {"ringgate:unit", "ringgate:packet"}
first_simulation = {}
names, files = [], set()
for t in tests:
    suites = set(t["suite"])
    if "ringgate:fuzz" in suites:
        continue
    if "ringgate:simulation" in suites:
        program = t["cmd"][0]
        if program in first_simulation:
            continue
        first_simulation[program] = t["name"]
    elif not suites & wanted:
        continue
    names.append(t["name"])
    for dep in t["depends"]:
        for f in by_id[dep]["filename"]:
            files.add(f)
print(" ".join(names))
print(" ".join(sorted(files)))
')
read -r -a tests <<<"${plan[0]}"
read -r -a outputs <<<"${plan[1]}"

if [[ ${1:-} == --list ]]; then
  printf '%s\n' "${tests[@]}"
  exit 0
fi

# ninja wants paths relative to the build folder.
targets=()
for f in "${outputs[@]}"; do targets+=("$(realpath --relative-to="$build" "$f")"); done
ninja -C "$build" "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 \
  --timeout-multiplier 3 "${tests[@]}"
