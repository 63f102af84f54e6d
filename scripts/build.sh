#!/usr/bin/env bash
# Configure and build the release tree (build/release). Extra arguments go to `cmake --build`.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release "$@"
