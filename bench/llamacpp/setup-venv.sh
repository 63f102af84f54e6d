#!/usr/bin/env bash
# Create the git-ignored virtual environment for the llama.cpp comparison (bench/llamacpp/README.md):
# llama-cpp-python 0.3.35 built from its source distribution for this CPU (llama.cpp 4df29be4f, the
# first release with MiniMax-Text-01, GGUF arch "minimax-01"), and the gguf-py that source vendors.
#   bench/llamacpp/setup-venv.sh [VENV_DIR]        (default: <repo>/.venv-llamacpp)
# Needs python3 (3.11 used), a C/C++ compiler, cmake and PyPI access; the build takes about 10 minutes
# on 2 cores (MM_JOBS sets the parallel jobs, default 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${1:-$ROOT/.venv-llamacpp}"
PY="${PYTHON:-python3}"
VERSION=0.3.35
"$PY" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip --no-input --disable-pip-version-check "$@"; }
pip install --quiet numpy==2.4.6
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$src"
tar xzf "$src/llama_cpp_python-$VERSION.tar.gz" -C "$src"
# GGML_NATIVE: the kernels for this CPU's instruction set, as a local llama.cpp build would have them
CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_OPENMP=ON" CMAKE_BUILD_PARALLEL_LEVEL="${MM_JOBS:-2}" \
  pip install --quiet "$src/llama_cpp_python-$VERSION"
pip install --quiet "$src/llama_cpp_python-$VERSION/vendor/llama.cpp/gguf-py"
"$VENV/bin/python" - <<'PY'
import gguf, llama_cpp, numpy
assert hasattr(gguf.MODEL_ARCH, "MINIMAX01"), "this gguf-py has no minimax-01 architecture"
print(f"llama.cpp venv ready: llama-cpp-python {llama_cpp.__version__}, gguf {gguf.__version__ if hasattr(gguf, '__version__') else '(vendored)'}, numpy {numpy.__version__}")
PY
