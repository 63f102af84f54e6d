#!/usr/bin/env bash
# The GPU kit: a self-contained bundle that runs the GPU tests and benchmarks on any CUDA machine (docs/perf/gpu-runbook.md).
#
#   scripts/gpu-kit.sh prepare          on the build machine (nvcc, no GPU needed): configure and build
#                                       build/gpu-kit-work (Release, no OpenBLAS) with only the GPU-test,
#                                       kernel-benchmark and minimax01 targets, then stage the kit into
#                                       build/gpu-kit: stripped binaries, the CTest files, ptxas reports,
#                                       kitlib/ (shared libraries a CUDA image lacks) and KIT_INFO.
#   scripts/gpu-kit.sh run [--quick] [--budget SECONDS] [--out DIR]
#                                       on the device, from the repository root of the copied tree
#                                       (build/gpu-kit copied along): ctest -L gpu|optimized|ptxas (with a GPU:
#                                       MM_REQUIRE_GPU=1, a GPU test that skips fails), every bench/gpu
#                                       benchmark (JSON), minimax01 check / bench on cuda; writes
#                                       $OUT/summary.md, $OUT/raw.tar.gz and $OUT/run.log, and prints the
#                                       summary last. Without $OUT: out/gpu-kit. Without a GPU it skips the
#                                       GPU work (says so) and still exercises the plumbing, exit 0.
#
# Environment: MM_GPU_KIT (kit dir, default build/gpu-kit), MM_GPU_KIT_WORK (build tree, default
# build/gpu-kit-work), MM_JOBS (prepare's build jobs, default 2).
# Exit codes of run: 0 all stages passed (or were skipped for lack of a GPU), 1 a stage failed (tests,
# check, a benchmark crashed or timed out), 2 no prepared kit / unusable kit. Missed performance targets
# do not fail the run: they are reported in summary.md.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT" || exit 2
KIT=${MM_GPU_KIT:-build/gpu-kit}
WORK=${MM_GPU_KIT_WORK:-build/gpu-kit-work}
case $KIT in /*) KIT_ABS=$KIT ;; *) KIT_ABS=$ROOT/$KIT ;; esac
case $WORK in /*) WORK_ABS=$WORK ;; *) WORK_ABS=$ROOT/$WORK ;; esac
BUDGET_LIMIT_MIB=64

say() { printf '%s\n' "gpu-kit: $*"; }
die() { printf '%s\n' "gpu-kit: error: $*" >&2; exit 2; }

# Hash of every source file that goes into the kit's binaries: run compares it with KIT_INFO's to say
# whether the kit is stale (the tree changed after prepare). Same on both machines (no git needed).
# In a git checkout: the files the device copy will hold (tracked + untracked, not ignored); elsewhere
# (the device's copy has no .git): the files present.
FP_DIRS="CMakeLists.txt cmake core reference harness cli optimized bench tests/optimized tests/simt"
tree_fingerprint() {
  local list
  # shellcheck disable=SC2086
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    list=$(git ls-files -co --exclude-standard -- $FP_DIRS)
  else
    list=$(find $FP_DIRS -type f 2>/dev/null)
  fi
  grep -E '(\.(cpp|cu|cuh|h|inc|cmake)|/CMakeLists\.txt|^CMakeLists\.txt)$' <<<"$list" | LC_ALL=C sort |
    while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done | xargs -d '\n' sha256sum | sha256sum | cut -c1-16
}

kit_info() { sed -n "s/^$1=//p" "$KIT_ABS/KIT_INFO" | head -1; }

# Shared libraries every CUDA image has (glibc, the GCC runtime) or that come with the CUDA toolkit /
# driver: never copied into kitlib/. Everything else a kit binary needs is.
is_system_lib() {
  case $1 in
    linux-vdso.so*|ld-linux*|libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|libutil.so*|libresolv.so*) return 0 ;;
    libgcc_s.so*|libstdc++.so*) return 0 ;;
    libcudart.so*|libcublas.so*|libcublasLt.so*|libcuda.so*|libnvidia*|libnvrtc*) return 0 ;;
  esac
  return 1
}

# ---------------------------------------------------------------------------------------------------
prepare() {
  set -e
  trap 'echo "gpu-kit: error: prepare failed (line $LINENO: $BASH_COMMAND)" >&2' ERR
  local t0=$SECONDS jobs=${MM_JOBS:-2} fingerprint
  # Taken before the build: a source edited while it runs makes the kit read as stale, never as fresh.
  fingerprint=$(tree_fingerprint)
  command -v cmake >/dev/null || die "prepare needs cmake"
  local nvcc
  nvcc=$(command -v nvcc || true)
  [ -n "$nvcc" ] || [ ! -x /usr/local/cuda/bin/nvcc ] || nvcc=/usr/local/cuda/bin/nvcc
  [ -n "$nvcc" ] || die "prepare needs nvcc (the CUDA toolkit): the kit is the nvcc build of the kernels"

  say "configure $WORK (Release, -DMM_USE_OPENBLAS=OFF, test areas simt + optimized only)"
  local conf_log=$WORK_ABS.configure.log
  mkdir -p "$(dirname "$WORK_ABS")"
  if ! cmake -S "$ROOT" -B "$WORK_ABS" -DCMAKE_BUILD_TYPE=Release -DMM_USE_OPENBLAS=OFF -DMM_BUILD_TESTS=ON \
       -DMM_BUILD_BENCH=ON -DMM_SIMT=ON -DMM_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" \
       "-DMM_SKIP_TEST_AREAS=core;reference;cli;golden;harness;tools" >"$conf_log" 2>&1; then
    tail -30 "$conf_log" >&2
    die "configure failed (log: $conf_log)"
  fi
  if grep -q "GPU build of the kernels disabled" "$conf_log"; then
    die "configure found no usable nvcc/cuBLAS (see $conf_log): the kit needs the nvcc build"
  fi

  local -a targets=() bins=()
  local f stem
  for f in tests/optimized/*_test.cpp; do
    stem=$(basename "$f" .cpp); targets+=("opt_$stem"); bins+=("tests/optimized/opt_$stem")
  done
  targets+=(simt_gpu_test); bins+=(tests/simt/simt_gpu_test)
  for f in bench/gpu/*_bench.cpp; do
    stem=$(basename "$f" .cpp); targets+=("$stem"); bins+=("bench/$stem")
  done
  targets+=(minimax01 mm_ptxas_report); bins+=(cli/minimax01)

  say "build ${#targets[@]} targets with -j$jobs (the nvcc kernels take minutes on 2 cores): ${targets[*]}"
  local tb=$SECONDS
  cmake --build "$WORK_ABS" -j "$jobs" --target "${targets[@]}"
  local build_s=$((SECONDS - tb))

  say "stage the kit into $KIT"
  # the kit is replaced wholesale: refuse anything but a folder under the repo's build/ (MM_GPU_KIT=/ or .)
  case $(realpath -m "$KIT_ABS") in
    "$ROOT"/build/?*) ;;
    *) die "refusing to replace the kit at '$KIT_ABS': it must be a folder under $ROOT/build/" ;;
  esac
  rm -rf "$KIT_ABS"
  mkdir -p "$KIT_ABS/kitlib"
  (cd "$WORK_ABS" && cp --parents "${bins[@]}" "$KIT_ABS/")
  # CTest: every directory's CTestTestfile.cmake and the gtest discovery results, the ptxas reports the
  # no-spill tests read; absolute paths re-pointed from the build tree to the kit.
  (cd "$WORK_ABS" && find . \( -name CTestTestfile.cmake -o -name '*_include.cmake' -o -name '*_tests.cmake' \
                              -o -path './optimized/ptxas_*.txt' \) -print0 | xargs -0 cp --parents -t "$KIT_ABS/")
  local esc_from esc_to
  esc_from=$(printf '%s' "$WORK_ABS/" | sed 's/[][\.*^$|/]/\\&/g')
  esc_to=$(printf '%s' "$KIT_ABS/" | sed 's/[\&|/]/\\&/g')
  find "$KIT_ABS" -name '*.cmake' -print0 | xargs -0 sed -i "s/$esc_from/$esc_to/g"
  if grep -rqF "$WORK_ABS/" "$KIT_ABS" --include='*.cmake'; then die "could not re-point the CTest files to $KIT"; fi

  local b
  for b in "${bins[@]}"; do strip --strip-unneeded "$KIT_ABS/$b"; done

  # Shared libraries a CUDA image lacks (Boost.Context, Google Benchmark, ...), found with ldd.
  local lib path
  for b in "${bins[@]}"; do
    while read -r lib path; do
      is_system_lib "$lib" && continue
      [ -e "$KIT_ABS/kitlib/$lib" ] && continue
      [ -f "$path" ] || die "ldd: $b needs $lib, not found here"
      cp -L "$path" "$KIT_ABS/kitlib/$lib"
      strip --strip-unneeded "$KIT_ABS/kitlib/$lib" 2>/dev/null || true
    done < <(ldd "$KIT_ABS/$b" | awk '/=>/ && $3 ~ /^\// {print $1, $3}')
  done

  # What the device's loader must provide: the newest glibc / libstdc++ symbol versions used.
  local glibc glibcxx
  local syms
  syms=$(cd "$KIT_ABS" && for b in "${bins[@]}" kitlib/*; do objdump -T "$b" 2>/dev/null || true; done)
  glibc=$(grep -o 'GLIBC_[0-9.]*' <<<"$syms" | sort -uV | tail -1 || true)
  glibcxx=$(grep -o 'GLIBCXX_[0-9.]*' <<<"$syms" | sort -uV | tail -1 || true)

  local commit dirty
  commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
  dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | wc -l)
  {
    echo "# written by scripts/gpu-kit.sh prepare; read by scripts/gpu-kit.sh run and scripts/gpu_summary.py"
    echo "commit=$commit"
    echo "commit_short=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "dirty_files=$dirty"
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "source_dir=$ROOT"
    echo "kit_dir=$KIT_ABS"
    echo "nvcc=$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\), \(V[0-9.]*\).*/\1 (\2)/p')"
    echo "cuda_flags=$(sed -n 's/^CUDA_FLAGS = //p' "$WORK_ABS/optimized/CMakeFiles/mm_optimized_cuda.dir/flags.make" | grep -o 'arch=[^ ]*' | tr '\n' ' ')"
    echo "cxx=$(c++ --version | head -1)"
    echo "cmake=$(cmake --version | head -1)"
    echo "cmake_command=$(sed -n 's/^CMAKE_COMMAND:INTERNAL=//p' "$WORK_ABS/CMakeCache.txt")"
    echo "build_type=Release"
    echo "glibc_needed=$glibc"
    echo "glibcxx_needed=$glibcxx"
    echo "kitlib=$(cd "$KIT_ABS/kitlib" && ls | tr '\n' ' ')"
    echo "binaries=${bins[*]}"
    echo "tree_fingerprint=$fingerprint"
    echo "build_seconds=$build_s"
  } >"$KIT_ABS/KIT_INFO.partial"

  local kit_b tree_b total_b
  kit_b=$(du -sb "$KIT_ABS" | cut -f1)
  # What is copied to the CUDA machine: tracked and untracked-not-ignored files (deleted ones left out).
  tree_b=$(git ls-files -co --exclude-standard 2>/dev/null | while IFS= read -r f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
           du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1 || true)
  total_b=$((kit_b + ${tree_b:-0}))
  echo "kit_bytes=$kit_b" >>"$KIT_ABS/KIT_INFO.partial"
  echo
  sed -n '/^commit=/p;/^nvcc=/p;/^cuda_flags=/p;/^glibc/p;/^kitlib=/p' "$KIT_ABS/KIT_INFO.partial"
  du -sh "$KIT_ABS"/kitlib "$KIT_ABS"/bench "$KIT_ABS"/tests "$KIT_ABS"/cli | sed 's/^/  /'
  say "$(awk -v k="$kit_b" -v t="${tree_b:-0}" -v l="$BUDGET_LIMIT_MIB" 'BEGIN {
        printf "kit %.1f MiB + tree %.1f MiB = %.1f MiB of the %d MiB transfer limit", k/1048576, t/1048576, (k+t)/1048576, l }')"
  say "prepared in $((SECONDS - t0)) s (build $build_s s). On the CUDA machine: copy the tree with $KIT, then 'bash scripts/gpu-kit.sh run'"
  if [ "$total_b" -gt $((BUDGET_LIMIT_MIB * 1048576)) ]; then
    die "kit + tree exceed $BUDGET_LIMIT_MIB MiB: too large to transfer together"
  elif [ "$total_b" -gt $(((BUDGET_LIMIT_MIB - 8) * 1048576)) ]; then
    say "WARNING: less than 8 MiB left under the $BUDGET_LIMIT_MIB MiB limit"
  fi
  # Last: run accepts a kit only once KIT_INFO exists, so a failed prepare never leaves a usable-looking kit.
  mv "$KIT_ABS/KIT_INFO.partial" "$KIT_ABS/KIT_INFO"
}

# ---------------------------------------------------------------------------------------------------
# run: every stage is logged to $RAW/logs/<stage>.log and recorded in $RAW/stages.tsv
# (stage, status, seconds, note); a stage gets min(its cap, what is left of the budget).
STAGES=""
RAW=""
BUDGET=540
RUN_T0=0
FAILED=0

remaining() { echo $((BUDGET - (SECONDS - RUN_T0))); }

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$STAGES"; }

# stage NAME CAP_S RESERVE_S CMD...: runs CMD with a timeout of min(CAP, remaining - RESERVE).
stage() {
  local name=$1 cap=$2 reserve=$3; shift 3
  local left t ts rc status
  left=$(($(remaining) - reserve))
  t=$((cap < left ? cap : left))
  if [ "$t" -lt 5 ]; then
    record "$name" "not run" 0 "time budget spent"
    say "[$name] not run: time budget spent"
    return 0
  fi
  ts=$SECONDS
  timeout -k 10 "$t" "$@" >"$RAW/logs/$name.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then status=ok
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status="TIMEOUT (${t}s)"; FAILED=1
  else status="FAIL (rc $rc)"; FAILED=1
  fi
  record "$name" "$status" $((SECONDS - ts)) "${STAGE_NOTE:-}"
  say "[$name] $status in $((SECONDS - ts)) s (log: logs/$name.log)"
  STAGE_NOTE=""
  return $rc
}
STAGE_NOTE=""

refuse_no_kit() {
  local msg="no prepared kit at $KIT (KIT_INFO missing). Run 'scripts/gpu-kit.sh prepare' on the build machine first, then copy $KIT along with the tree"
  if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
    printf '# GPU kit run: refused\n\n%s\n' "$msg" >"$OUT/summary.md" 2>/dev/null || true
  fi
  die "$msg"
}

# CMake baked absolute paths (the source dir, the kit dir, cmake itself) into the CTest files and
# MM_SOURCE_DIR / MM_GOLDEN_DIR into minimax01. Make them resolve on this machine.
fix_paths() {
  local src here src_real
  src=$(kit_info source_dir)
  here=$ROOT
  [ -n "$src" ] || die "KIT_INFO has no source_dir"
  src_real=$(cd "$src" 2>/dev/null && pwd -P || true)
  if [ "$src_real" = "$here" ]; then
    say "paths: the kit's source dir $src is this tree"
  elif [ ! -e "$src" ] && mkdir -p "$(dirname "$src")" 2>/dev/null && ln -s "$here" "$src" 2>/dev/null; then
    say "paths: created symlink $src -> $here (the kit was built in $src)"
  else
    # The path exists and is another tree, or no permission: re-point the kit's CTest files instead.
    local esc_from esc_to
    esc_from=$(printf '%s' "$src/" | sed 's/[][\.*^$|/]/\\&/g')
    esc_to=$(printf '%s' "$here/" | sed 's/[\&|/]/\\&/g')
    find "$KIT_ABS" -name '*.cmake' -print0 | xargs -0 sed -i "s/$esc_from/$esc_to/g"
    say "paths: $src exists and is not this tree (or cannot be created): re-pointed the kit's CTest files to $here"
  fi
  # The no-spill tests call cmake by the absolute path of the build machine.
  local cm here_cm esc_cm
  cm=$(kit_info cmake_command)
  if [ -n "$cm" ] && [ ! -x "$cm" ]; then
    here_cm=$(command -v cmake || true)
    if [ -n "$here_cm" ]; then
      esc_cm=$(printf '%s' "$cm" | sed 's/[][\.*^$|/]/\\&/g')
      find "$KIT_ABS" -name 'CTestTestfile.cmake' -print0 | xargs -0 sed -i "s/\"$esc_cm\"/\"$(printf '%s' "$here_cm" | sed 's/[\&|/]/\\&/g')\"/g"
      say "paths: cmake is $here_cm here (was $cm): re-pointed the CTest files"
    else
      say "WARNING: no cmake on this machine: the ptxas no-spill tests will fail"
    fi
  fi
}

setup_libs() {
  local d extra=""
  for d in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda /usr/local/cuda-13*; do
    [ -n "$d" ] || continue
    for sub in lib64 lib targets/x86_64-linux/lib; do
      [ -d "$d/$sub" ] && extra="$extra:$d/$sub"
    done
  done
  extra=$(printf '%s' "$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" | tr ':' '\n' | awk 'NF && !seen[$0]++' | paste -sd:)
  export LD_LIBRARY_PATH="$KIT_ABS/kitlib${extra:+:$extra}"
  say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  local b missing="" out
  for b in $(kit_info binaries); do
    [ -f "$KIT_ABS/$b" ] || { missing="$missing\n  $b: the binary itself is missing from the kit"; continue; }
    [ -x "$KIT_ABS/$b" ] || chmod +x "$KIT_ABS/$b" 2>/dev/null || true
    out=$(ldd "$KIT_ABS/$b" 2>&1 | grep -E 'not found|not a dynamic' || true)
    [ -z "$out" ] || missing="$missing\n  $b:\n$(printf '%s\n' "$out" | sed 's/^[[:space:]]*/    /')"
  done
  if [ -n "$missing" ]; then
    printf 'gpu-kit: error: kit binaries cannot be loaded on this machine (ldd):%b\n' "$missing" >&2
    printf 'gpu-kit: the kit needs glibc >= %s and libstdc++ with %s, libcudart.so.13 and libcublas.so.13 (CUDA 13); kitlib has: %s\n' \
      "$(kit_info glibc_needed)" "$(kit_info glibcxx_needed)" "$(kit_info kitlib)" >&2
    printf '%b\n' "ldd: libraries missing$missing" >"$RAW/logs/ldd.log"
    return 1
  fi
  say "ldd: every kit binary resolves all its libraries"
}

record_gpu() {
  # Read-only queries: never change a GPU setting.
  nvidia-smi >"$RAW/nvidia-smi.txt" 2>&1 || true
  nvidia-smi -q >"$RAW/nvidia-smi-q.txt" 2>&1 || true
  nvidia-smi --query-gpu=name,driver_version,pci.bus_id,memory.total,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,power.limit,temperature.gpu,persistence_mode,compute_mode \
    --format=csv >"$RAW/gpu.csv" 2>"$RAW/logs/gpu-query.err" || true
  nvidia-smi -q -d CLOCK,PERFORMANCE,POWER,TEMPERATURE >"$RAW/nvidia-smi-clocks-$1.txt" 2>&1 || true
}

# Benchmark families in priority order (the issue-5 targets first); families not listed run last.
BENCH_ORDER="softmax_attention_bench:BM_Prefill lightning_attention_bench:BM_Decode softmax_attention_bench:BM_Decode
moe_bench:BM_GroupedFfn rmsnorm_bench:BM_rmsnorm embedding_bench:BM_embedding lightning_norm_gate_bench:BM_norm_gate
lightning_norm_gate_bench:BM_silu softmax_attention_bench:BM_RopeAppend moe_bench:BM_Step
lightning_attention_bench:BM_Prefill sampling_bench:BM_sample layer_norm_bench:BM_layer_norm vl_projector_bench:BM_splice
vision_attention_bench:BM_VisionAttention vision_attention_bench:BM_VisionAttentionMixed vision_mlp_bench:BM_vision_mlp_epilogue
vision_mlp_bench:BM_vision_linear
patch_embed_bench:BM_patch_embed"

run_benches() {
  local reps=$1 min_time=$2
  local -a found=() chunks=()
  local b stem fam c
  for b in "$KIT_ABS"/bench/*_bench; do
    stem=$(basename "$b")
    for fam in $(timeout 60 "$b" --benchmark_list_tests 2>/dev/null | cut -d/ -f1 | sort -u); do found+=("$stem:$fam"); done
  done
  # The families BENCH_ORDER names first (in its order), then any other family found.
  for c in $BENCH_ORDER; do
    case " ${found[*]} " in *" $c "*) chunks+=("$c") ;; esac
  done
  for c in "${found[@]}"; do
    case " ${chunks[*]} " in *" $c "*) ;; *) chunks+=("$c") ;; esac
  done
  [ ${#chunks[@]} -gt 0 ] || { record "bench" "FAIL" 0 "no benchmark found in $KIT/bench"; FAILED=1; return 1; }
  mkdir -p "$RAW/bench"
  for c in "${chunks[@]}"; do
    stem=${c%%:*}; fam=${c#*:}
    STAGE_NOTE="reps $reps, min_time $min_time s"
    stage "bench.$stem.$fam" 240 25 "$KIT_ABS/bench/$stem" "--benchmark_filter=^$fam/" \
      "--benchmark_out=$RAW/bench/$stem.$fam.json" --benchmark_out_format=json \
      "--benchmark_repetitions=$reps" --benchmark_report_aggregates_only=true "--benchmark_min_time=$min_time" \
      --benchmark_counters_tabular=true
  done
}

run() {
  local quick=0 out_dir=""
  while [ $# -gt 0 ]; do
    case $1 in
      --quick) quick=1 ;;
      --budget) BUDGET=$2; shift ;;
      --budget=*) BUDGET=${1#--budget=} ;;
      --out) out_dir=$2; shift ;;
      --out=*) out_dir=${1#--out=} ;;
      -h|--help) sed -n '2,25p' "$0"; return 0 ;;
      *) die "run: unknown option $1" ;;
    esac
    shift
  done
  [ -f "$KIT_ABS/KIT_INFO" ] || refuse_no_kit
  [ $quick -eq 1 ] && [ "$BUDGET" = 540 ] && BUDGET=300
  local out=${out_dir:-${OUT:-$ROOT/out/gpu-kit}}
  mkdir -p "$out" || die "cannot create $out"
  rm -f "$out/summary.md" "$out/raw.tar.gz" "$out/run.log"
  RAW=$(mktemp -d "${TMPDIR:-/tmp}/gpu-kit-raw.XXXXXX")
  mkdir -p "$RAW/logs"
  STAGES=$RAW/stages.tsv
  : >"$STAGES"
  RUN_T0=$SECONDS
  run_stages "$quick" 2>&1 | tee "$out/run.log"
  local rc=${PIPESTATUS[0]}
  finish "$out" "$rc"
}

run_stages() {
  local quick=$1
  say "run: kit $(kit_info commit_short) prepared $(kit_info date) in $(kit_info source_dir); this tree: $ROOT; budget ${BUDGET}s$([ "$quick" = 1 ] && echo ', quick')"
  cp "$KIT_ABS/KIT_INFO" "$RAW/KIT_INFO"
  local fp
  fp=$(tree_fingerprint)
  if [ "$fp" != "$(kit_info tree_fingerprint)" ]; then
    say "WARNING: the sources changed since the kit was prepared (fingerprint $fp, kit $(kit_info tree_fingerprint)): the results are for the kit's build, not for this tree"
    echo "stale_kit=1" >>"$RAW/KIT_INFO"
  fi
  fix_paths
  if ! setup_libs; then
    record "ldd" "FAIL" 0 "kit binaries cannot be loaded: see logs/ldd.log"
    return 1
  fi
  record "ldd" ok 0 "every kit binary resolves its libraries"

  local have_gpu=0
  if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then have_gpu=1; fi
  if [ $have_gpu -eq 1 ]; then
    record_gpu before
    say "GPU: $(nvidia-smi -L | head -1)"
    record "nvidia-smi" ok 0 "$(head -2 "$RAW/gpu.csv" | tail -1)"
  else
    echo "none" >"$RAW/gpu.csv"
    say "NO GPU on this machine (nvidia-smi finds none): the GPU work is SKIPPED. Checked only the plumbing: paths, ldd, ctest listing and the GPU tests' skips, cuda-sim check, benchmark binaries skipping, summary."
    record "nvidia-smi" "skipped" 0 "no GPU on this machine: GPU work skipped"
  fi

  # 1. tests: the gpu, optimized and ptxas labels (the quick / no-GPU run: only gpu + ptxas, the GPU-facing
  # ones). With a GPU, MM_REQUIRE_GPU=1: a GPU test that skips (no device after all) fails (tests/gpu_expect.h).
  local nproc_; nproc_=$(nproc)
  local labels='gpu|optimized|ptxas'
  if [ "$quick" = 1 ] || [ $have_gpu -eq 0 ]; then
    labels='gpu|ptxas'
    STAGE_NOTE="only the labels gpu and ptxas"
  fi
  local -a ctest_args=(-L "$labels" -j "$nproc_" --output-on-failure --timeout 180 --no-tests=error)
  [ $have_gpu -eq 1 ] && STAGE_NOTE="${STAGE_NOTE:+$STAGE_NOTE; }MM_REQUIRE_GPU=1"
  cd "$KIT_ABS" || return 1  # not --test-dir: older ctest versions lack it
  stage ctest 240 120 env "MM_REQUIRE_GPU=$have_gpu" ctest "${ctest_args[@]}"
  cd "$ROOT" || return 1
  grep -E 'tests passed|tests failed|Total Test time|\*\*\*Skipped|\*\*\*Failed|Failed  ' "$RAW/logs/ctest.log" | tail -12
  cp "$KIT_ABS/Testing/Temporary/LastTest.log" "$RAW/logs/ctest-LastTest.log" 2>/dev/null || true

  # 2. the model on the GPU against ref-f64 (built-in default: preset tiny).
  local mm=$KIT_ABS/cli/minimax01
  if [ $have_gpu -eq 1 ]; then
    stage check 150 60 "$mm" check --backends cuda-sim,cuda --report "$RAW/check.json"
  else
    STAGE_NOTE="cuda-sim only (no GPU)"
    stage check 150 60 "$mm" check --backends cuda-sim --report "$RAW/check.json"
  fi
  grep -E '^  [a-z-]+ +(PASS|FAIL|ERROR|SKIPPED)|^check:' "$RAW/logs/check.log"
  stage cli-bench 150 60 "$mm" bench --backends cuda --prompt-lens 256,2048 --context-lens 1024 --reps 9 \
    --report "$RAW/bench.json"
  grep -vE '^report:' "$RAW/logs/cli-bench.log" | tail -12

  # 2b. MiniMax-VL-01 on the GPU: check on vl-tiny against ref-f64; then the released vision tower and
  # projector (bench/gpu/vl_tower_config.json: 303.5M + 44.1M parameters, on a one-layer text model of the
  # real width 6144) on a 1920x1080 image, 19 crops: bench's vision time per crop (tower + projector +
  # splice) x 19 is the image's vision time. The ~0.9 GB checkpoint is written outside $RAW.
  if [ $have_gpu -eq 1 ]; then
    stage check-vl 150 60 "$mm" check --preset vl-tiny --backends cuda --report "$RAW/check-vl.json"
    grep -E '^  [a-z-]+ +(PASS|FAIL|ERROR|SKIPPED)|^check:' "$RAW/logs/check-vl.log"
    local vl_dir
    vl_dir=$(mktemp -d)
    if stage init-vl-tower 180 60 "$mm" init --config "$ROOT/bench/gpu/vl_tower_config.json" --out "$vl_dir/ckpt"; then
      stage bench-vl 180 60 "$mm" bench --model "$vl_dir/ckpt" --backends cuda --prompt-lens 32 --context-lens 64 \
        --decode-steps 2 --reps 5 --image-sizes 1920x1080 --report "$RAW/bench-vl.json"
      grep -vE '^report:|^\[bench' "$RAW/logs/bench-vl.log" | tail -4
    fi
    rm -rf "$vl_dir"
  fi

  # 3. every kernel benchmark, one process per family (a timeout loses one family's JSON, not all).
  if [ $have_gpu -eq 1 ]; then
    if [ "$quick" = 1 ]; then run_benches 1 0.02; else run_benches 3 0.04; fi
    record_gpu after
  else
    run_benches 1 0.001
  fi
  return $FAILED
}

finish() {
  local out=$1 rc=$2 srv
  cd "$ROOT" || true
  # A failure inside run_stages' subshell is in rc; the stage table has the details.
  if awk -F'\t' '$2 ~ /^(FAIL|TIMEOUT)/ {bad = 1} END {exit !bad}' "$STAGES" 2>/dev/null; then [ "$rc" -eq 0 ] && rc=1; fi
  local -a meta=(--kit-info "$RAW/KIT_INFO" --stages "$STAGES" --gpu-csv "$RAW/gpu.csv")
  [ -f "$RAW/logs/ctest.log" ] && meta+=(--ctest-log "$RAW/logs/ctest.log")
  [ -f "$RAW/logs/check.log" ] && meta+=(--check-log "$RAW/logs/check.log")
  [ -f "$RAW/logs/cli-bench.log" ] && meta+=(--cli-bench-log "$RAW/logs/cli-bench.log")
  [ -f "$RAW/logs/check-vl.log" ] && meta+=(--check-vl-log "$RAW/logs/check-vl.log")
  [ -f "$RAW/logs/bench-vl.log" ] && meta+=(--bench-vl-log "$RAW/logs/bench-vl.log")
  local jsons=()
  if [ -d "$RAW/bench" ]; then
    while IFS= read -r -d '' srv; do [ -s "$srv" ] && jsons+=("$srv"); done < <(find "$RAW/bench" -name '*.json' -print0 | sort -z)
  fi
  if ! python3 "$ROOT/scripts/gpu_summary.py" "${meta[@]}" --out "$out/summary.md" "${jsons[@]}" \
       >"$RAW/logs/summary.log" 2>&1; then
    cat "$RAW/logs/summary.log" | tee -a "$out/run.log"
    { echo "# GPU kit run: summary FAILED"; echo; echo '```'; cat "$RAW/logs/summary.log"; echo; cat "$STAGES"; echo '```'; } >"$out/summary.md"
    rc=1
  fi
  if [ -s "$RAW/logs/ldd.log" ]; then
    { echo; echo "## The kit cannot be loaded here (ldd)"; echo; echo '```'; cat "$RAW/logs/ldd.log"; echo '```'
      echo "The kit needs glibc >= $(kit_info glibc_needed), libstdc++ with $(kit_info glibcxx_needed), and CUDA 13's"
      echo "libcudart.so.13 / libcublas.so.13 on the loader path; kitlib/ has: $(kit_info kitlib)"; } >>"$out/summary.md"
  fi
  cp "$out/summary.md" "$RAW/summary.md"
  cp "$out/run.log" "$RAW/run.log" 2>/dev/null || true
  tar -czf "$out/raw.tar.gz" -C "$RAW" . 2>>"$out/run.log"
  rm -rf "$RAW"
  {
    echo
    cat "$out/summary.md"
    echo
    say "outputs: $out/summary.md, $out/raw.tar.gz ($(du -h "$out/raw.tar.gz" | cut -f1)), $out/run.log; exit $rc; $((SECONDS - RUN_T0)) s"
  } | tee -a "$out/run.log"
  return "$rc"
}

case ${1:-} in
  prepare) shift; prepare "$@" ;;
  run) shift; run "$@"; exit $? ;;
  *) sed -n '2,25p' "$0"; exit 2 ;;
esac
