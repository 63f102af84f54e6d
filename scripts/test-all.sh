#!/usr/bin/env bash
# Install what is missing, build everything (release preset) and run every test (ctest, all labels).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
./scripts/build.sh
ctest --preset release -j2 "$@"
