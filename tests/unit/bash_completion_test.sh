#!/usr/bin/env bash
# tools/completion/ringgate.bash, loaded the way bash-completion loads it, against the build
# tree's programs: ringgatectl's commands and options, the vip actions, and the options of
# ringgated (from its hand-written --help) come out of the programs' own --help.
set -uo pipefail
export LC_ALL=C
framework=/usr/share/bash-completion/bash_completion
if [[ ! -r $framework ]]; then
  echo "SKIP: bash-completion is not installed (tools/install-deps.sh installs it)"
  exit 77
fi
# shellcheck disable=SC1090
source "$framework"
source "$RINGGATE_SOURCE/tools/completion/ringgate.bash"
export PATH="$RINGGATE_BUILD/tools:$RINGGATE_BUILD/control:$RINGGATE_BUILD/control/registry:$PATH"

passed=0 failed=0
# complete WORDS... -> the candidates for the last word, sorted, one line
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _ringgate "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
check() {
  local want=$1; shift
  local got
  got=$(complete_words "$@")
  if [[ $got == "$want" ]]; then
    passed=$((passed + 1)); echo "ok   $* -> $got"
  else
    failed=$((failed + 1)); echo "FAIL $* -> '$got', want '$want'"
  fi
}
check "stats status " ringgatectl st
check "vip vips " ringgatectl vi
check "move " ringgatectl -c /etc/x.yaml vip mo
check "push " ringgatectl --node 2 config p
check "--json " ringgatectl --js
check "--check-config --config " ringgated --c
check "--reconcile-ms --registry " ringgate-buddy --re
echo "$passed passed, $failed failed"
((failed == 0))
