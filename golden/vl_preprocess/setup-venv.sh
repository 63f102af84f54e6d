#!/usr/bin/env bash
# Create the git-ignored virtual environment for golden/vl_preprocess/generate.py and install the exact pins.
#   golden/vl_preprocess/setup-venv.sh [VENV_DIR] [--pillow13]
#     default VENV_DIR: <repo>/.venv-vl-golden (Pillow 12.0.0), or <repo>/.venv-vl-golden13 with --pillow13
#     (Pillow 13.0.0, only for `generate.py --pillow13`).
# Needs CPython 3.11 (3.11.7 for byte-identical manifests) as $PYTHON or python3, and PyPI access (~20 MB).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
REQ="$HERE/requirements.txt"
VENV=""
P13=0
for a in "$@"; do
  case "$a" in
    --pillow13) P13=1 ;;
    -*) echo "setup-venv: unknown option $a" >&2; exit 2 ;;
    *) VENV="$a" ;;
  esac
done
if [ "$P13" = 1 ]; then
  REQ="$HERE/requirements-pillow13.txt"
  VENV="${VENV:-$ROOT/.venv-vl-golden13}"
else
  VENV="${VENV:-$ROOT/.venv-vl-golden}"
fi
PY="${PYTHON:-python3}"

ver="$("$PY" -c 'import platform; print(platform.python_version())')"
case "$ver" in
  3.11.*) ;;
  *) echo "setup-venv: need CPython 3.11 (goldens were made with 3.11.7), $PY is $ver" >&2; exit 1 ;;
esac
[ "$ver" = "3.11.7" ] || echo "setup-venv: warning: python $ver, goldens were made with 3.11.7 (manifest.json will differ in the version field)" >&2

"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --no-input --disable-pip-version-check --only-binary=:all: -r "$REQ"
"$VENV/bin/python" - <<'PY'
import numpy, PIL
from PIL import features
print(f"vl golden venv ready: Pillow {PIL.__version__}, numpy {numpy.__version__}, "
      f"libjpeg_turbo {features.version('libjpeg_turbo')}, zlib {features.version('zlib')}")
PY
