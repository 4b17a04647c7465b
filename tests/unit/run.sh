#!/usr/bin/env bash
# Runs the unit binaries given as arguments, each with its output as it
# comes, then repeats every suite's closing line ("NAME: N passed, N failed,
# N skipped", tests/unit/unit.h) so the end of `make unit` shows them all.
# A suite fails when it exits non-zero or when its last line is not such a
# closing line (it crashed, or it does not use the harness); the run fails
# when any suite failed.
set -u
if [ $# -eq 0 ]; then
  echo "unit: no test binaries given" >&2
  exit 2
fi
closing='^[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$'
summary=()
bad=0
for t in "$@"; do
  echo "== $t"
  out=$(mktemp)
  "$t" | tee "$out"
  rc=${PIPESTATUS[0]}
  last=$(tail -n 1 "$out")
  rm -f "$out"
  if ! [[ $last =~ $closing ]]; then
    summary+=("FAIL $t: exit $rc, no closing line at the end of its output")
    bad=$((bad + 1))
  elif [ "$rc" -ne 0 ]; then
    summary+=("FAIL $last (exit $rc)")
    bad=$((bad + 1))
  else
    summary+=("$last")
  fi
done
echo "== unit summary"
printf '%s\n' "${summary[@]}"
echo "unit: $# suites, $(( $# - bad )) passed, $bad failed"
[ "$bad" -eq 0 ]
