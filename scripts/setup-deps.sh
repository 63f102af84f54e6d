#!/usr/bin/env bash
# Installs the Debian packages the build needs, only those that are missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail
pkgs=(
  cmake g++ make
  libeigen3-dev        # reference: Eigen 3.4
  libopenblas-dev      # BLAS backend for Eigen's large GEMMs
  nlohmann-json3-dev   # config.json / safetensors headers / reports
  libcli11-dev         # cli/args.h: the command-line parser (options in any order, help from the declarations)
  libgtest-dev libgmock-dev
  libbenchmark-dev
  libboost-context-dev # SIMT-on-CPU fibers (optimized/simt)
  libpng-dev           # core/image_decode.cpp: PNG decoding (Debian's well-kept libpng 1.6, not a hand-written decoder)
  libsleef-dev         # reference/vector_math.h: vectorised erf/exp (1 ulp) for the vision tower's GELU and softmax
  libjpeg62-turbo-dev  # core/image_decode.cpp: JPEG decoding; Pillow decodes with libjpeg-turbo too
  zlib1g-dev           # harness test: decodes the report screenshot (tests/harness/png_nonwhite.cpp)
  pkgconf              # tests/package: an outside project builds against minimax01.pc (pkg-config)
  python3              # tests: the GPU-kit tools (tests/tools) and the CLI conventions test read JSON with it
  chromium             # harness test: renders the HTML report headless and screenshots it
  clang libclang-rt-14-dev  # fuzz/run.sh: libFuzzer + ASan + UBSan (docs/fuzzing.md)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
