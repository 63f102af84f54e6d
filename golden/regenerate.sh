#!/usr/bin/env bash
# Regenerate the golden cases (and check them against the independent numpy implementation).
#   golden/regenerate.sh            rewrite golden/cases/ in place
#   golden/regenerate.sh --check    regenerate into a temp dir and require every file to be byte-identical
#                                   to the committed golden/cases/ (the bit-for-bit reproduction check)
# Creates .venv-golden with golden/setup-venv.sh first if it does not exist (VENV=... to use another one).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv-golden}"
[ -x "$VENV/bin/python" ] || "$ROOT/golden/setup-venv.sh" "$VENV"
PYBIN="$VENV/bin/python"

if [ "${1:-}" = "--check" ]; then
  OUT="$(mktemp -d)"
  trap 'rm -rf "$OUT"' EXIT
  "$PYBIN" "$ROOT/golden/generate.py" --out "$OUT"
  "$PYBIN" "$ROOT/golden/verify_numpy.py" --cases "$OUT"
  if diff -r "$ROOT/golden/cases" "$OUT" >/dev/null; then
    echo "reproduction check: all files byte-identical to golden/cases"
    (cd "$OUT" && find . -type f | LC_ALL=C sort | xargs sha256sum)
  else
    echo "reproduction check FAILED: differences:" >&2
    diff -rq "$ROOT/golden/cases" "$OUT" >&2 || true
    exit 1
  fi
else
  "$PYBIN" "$ROOT/golden/generate.py" --out "$ROOT/golden/cases"
  "$PYBIN" "$ROOT/golden/verify_numpy.py" --cases "$ROOT/golden/cases"
fi
