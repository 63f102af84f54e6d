#!/usr/bin/env bash
# Install what is missing, build everything (release preset), run every test (ctest, all labels; the
# real-shape test, 27 GB and half an hour, is registered only with -DMM_REALSHAPE_TESTS=ON:
# docs/testing.md), run the bad-input tests again under ASan + UBSan (scripts/test-asan.sh) and fuzz
# every parser of untrusted input for a few seconds each (fuzz/run.sh).
# Each stage's wall time is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
times=()
stage() {  # name, command...: run it and record its wall time
  local name=$1 t0=$SECONDS
  shift
  "$@"
  times+=("$name $((SECONDS - t0)) s")
}
stage setup ./scripts/setup-deps.sh
stage build ./scripts/build.sh
stage ctest ctest --preset release -j2 "$@"
# The tests that feed hostile input, under AddressSanitizer + UBSan (a second build tree, build/asan).
# MM_SKIP_ASAN=1 leaves it out of a local run.
[ "${MM_SKIP_ASAN:-0}" = 1 ] || stage asan ./scripts/test-asan.sh
# A short libFuzzer run of every parser of untrusted input (about 2 minutes with its build; docs/fuzzing.md).
# MM_SKIP_FUZZ=1 leaves it out of a local run; MM_FUZZ_SECONDS sets the time per target.
[ "${MM_SKIP_FUZZ:-0}" = 1 ] || stage fuzz fuzz/run.sh
echo "test-all: $(IFS=,; echo "${times[*]}" | sed 's/,/, /g'); total $SECONDS s"
