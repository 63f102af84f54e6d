#!/usr/bin/env bash
# Create the git-ignored virtual environment for golden/generate.py and install the exact pins.
#   golden/setup-venv.sh [VENV_DIR]        (default: <repo>/.venv-golden)
# Needs CPython 3.11 (3.11.7 for bit-for-bit manifests) as $PYTHON or python3, and PyPI access (~3.5 GB download).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-golden}"
PY="${PYTHON:-python3}"

ver="$("$PY" -c 'import platform; print(platform.python_version())')"
case "$ver" in
  3.11.*) ;;
  *) echo "setup-venv: need CPython 3.11 (goldens were made with 3.11.7), $PY is $ver" >&2; exit 1 ;;
esac
[ "$ver" = "3.11.7" ] || echo "setup-venv: warning: python $ver, goldens were made with 3.11.7 (manifests will differ in the version field)" >&2

"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --no-input --disable-pip-version-check -r "$ROOT/golden/requirements.txt"
"$VENV/bin/python" - <<'PY'
import numpy, safetensors, torch, transformers
from transformers import MiniMaxForCausalLM  # noqa: F401  (in-tree MiniMax must exist)
print(f"golden venv ready: torch {torch.__version__}, transformers {transformers.__version__}, "
      f"safetensors {safetensors.__version__}, numpy {numpy.__version__}")
PY
