#!/usr/bin/env bash
# Every test that feeds the project bad or hostile input, again under AddressSanitizer +
# UndefinedBehaviorSanitizer: builds build/asan (the asan preset, host compiler only: no nvcc, and only
# the test areas that read input) and runs there
#   core     config / safetensors / JSON / file I/O / forward-dump refusals
#   cli      every cli.bad.* value, token files, outputs that must not overwrite inputs
#   fuzz     the fuzz targets replaying their committed seed and regression corpora
#   harness  the malformed-report tests (Compare.*, ReportInput.*) and every harness.bad.* check
#   golden   the MiniMax-VL-01 image goldens (Images/VlGolden.*: every golden image decoded and
#            preprocessed, so the decoders and the resampler run under the sanitizers on every mode)
# A sanitizer report fails the test (-fno-sanitize-recover; ASan aborts). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset asan -DMM_CUDA=OFF -DMM_SKIP_TEST_AREAS="reference;simt;optimized;tools" >/dev/null
cmake --build --preset asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --preset asan -L '^(core|cli|fuzz)$' -j2 "$@"
ctest --preset asan -R '^(Compare\.|ReportInput\.|harness\.bad\.|Images/VlGolden\.|VlPreprocessGolden\.)' -j2 "$@"
