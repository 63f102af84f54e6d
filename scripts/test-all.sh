#!/usr/bin/env bash
# Install what is missing, build everything (release preset), run every test (ctest, all labels), run
# the bad-input tests again under ASan + UBSan (scripts/test-asan.sh) and fuzz every parser of
# untrusted input for a few seconds each (fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
./scripts/build.sh
ctest --preset release -j2 "$@"
# The tests that feed hostile input, under AddressSanitizer + UBSan (a second build tree, build/asan).
# MM_SKIP_ASAN=1 leaves it out of a local run.
[ "${MM_SKIP_ASAN:-0}" = 1 ] || ./scripts/test-asan.sh
# A short libFuzzer run of every parser of untrusted input (about 2 minutes with its build; docs/fuzzing.md).
# MM_SKIP_FUZZ=1 leaves it out of a local run; MM_FUZZ_SECONDS sets the time per target.
[ "${MM_SKIP_FUZZ:-0}" = 1 ] || fuzz/run.sh
