#!/usr/bin/env bash
# The installed package, used as another project would use it (docs/install.md):
#   1. `cmake --install` this build tree into a fresh prefix, and check the layout;
#   2. the installed `minimax01` runs;
#   3. examples/consumer configures with find_package(minimax01 CONFIG) from that prefix only (no package
#      registry, no path into this source tree), builds, and its check_tiny passes;
#   4. the same example and count_params build with pkg-config alone (minimax01-harness.pc,
#      minimax01.pc) and run.
# usage: install_and_consume.sh <build dir> <source dir> <work dir>
set -euo pipefail
build=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

fail() { echo "install_and_consume: FAIL: $*" >&2; exit 1; }

echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in bin/minimax01 lib/libmm_core.a lib/libmm_reference.a lib/libmm_harness.a \
         lib/cmake/minimax01/minimax01Config.cmake lib/cmake/minimax01/minimax01ConfigVersion.cmake \
         lib/cmake/minimax01/minimax01Targets.cmake lib/pkgconfig/minimax01.pc lib/pkgconfig/minimax01-harness.pc \
         include/minimax01/core/config.h include/minimax01/reference/model.h include/minimax01/harness/backend.h; do
  [ -e "$prefix/$f" ] || fail "cmake --install did not install $f"
done
# Only headers under include/: no sources, no build files.
if find "$prefix/include" -type f ! -name '*.h' ! -name '*.cuh' | grep -q .; then
  fail "non-header files installed under include/: $(find "$prefix/include" -type f ! -name '*.h' ! -name '*.cuh' | head -3)"
fi

echo "== the installed minimax01"
"$prefix/bin/minimax01" info --preset tiny >"$work/info.txt" || fail "installed minimax01 info exited $?"
grep -q "parameters" "$work/info.txt" || fail "installed minimax01 info printed no parameter count"

echo "== examples/consumer with find_package(minimax01 CONFIG)"
cmake -S "$src/examples/consumer" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  >"$work/consumer-configure.log" || { cat "$work/consumer-configure.log"; fail "the consumer did not configure"; }
found=$(sed -n 's/^minimax01_DIR:PATH=//p' "$work/consumer/CMakeCache.txt")
[ "$found" = "$prefix/lib/cmake/minimax01" ] || fail "find_package took minimax01 from '$found', not the install"
# Every include path of the consumer is the install's or the system's, none into this source or build
# tree (the prefix itself lies in the build tree when ctest runs this).
paths=$(grep -oE -- "(-I|-isystem )[^ \"]+" "$work/consumer/compile_commands.json" | sed -E 's/^(-I|-isystem )//' | sort -u)
while read -r p; do
  case "$p" in
    "$prefix"/*) ;;
    "$src"/*|"$src"|"$build"/*|"$build") fail "the consumer compiles with the include path $p into the source or build tree" ;;
  esac
done <<<"$paths"
cmake --build "$work/consumer" -j2 >"$work/consumer-build.log" || { tail -30 "$work/consumer-build.log"; fail "the consumer did not build"; }
"$work/consumer/check_tiny" "$work/run-cmake" | tee "$work/check_tiny.txt" || fail "check_tiny (CMake build) exited $?"
[ "$(grep -c ' PASS$' "$work/check_tiny.txt")" = 2 ] || fail "check_tiny did not judge both backends PASS"

echo "== pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
pkg-config --exists --print-errors minimax01-harness || fail "pkg-config cannot resolve minimax01-harness"
# shellcheck disable=SC2046  # the flags are meant to split
c++ -std=c++20 -O1 "$src/examples/consumer/count_params.cpp" $(pkg-config --cflags --libs minimax01) \
  -o "$work/count_params" || fail "count_params did not build with pkg-config minimax01"
"$work/count_params" "$work/run-pc" | tee "$work/count_params.txt" || fail "count_params exited $?"
grep -q "^minimax-text-01: 456089655296 parameters" "$work/count_params.txt" || fail "count_params printed the wrong count"
# shellcheck disable=SC2046
c++ -std=c++20 -O1 "$src/examples/consumer/check_tiny.cpp" $(pkg-config --cflags --libs minimax01-harness) \
  -o "$work/check_tiny_pc" || fail "check_tiny did not build with pkg-config minimax01-harness"
"$work/check_tiny_pc" "$work/run-pc" | tee "$work/check_tiny_pc.txt" || fail "check_tiny (pkg-config build) exited $?"
[ "$(grep -c ' PASS$' "$work/check_tiny_pc.txt")" = 2 ] || fail "check_tiny (pkg-config build) did not judge both PASS"
echo "install_and_consume: OK"
