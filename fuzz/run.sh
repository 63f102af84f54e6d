#!/usr/bin/env bash
# Builds the libFuzzer targets (clang: libFuzzer + ASan + UBSan, standalone tree build/fuzz) and fuzzes
# each one on a copy of its committed corpora (fuzz/corpus/T + fuzz/regression/T) with its dictionary
# (fuzz/dict/T.dict). scripts/test-all.sh (CI) runs it with the short default; docs/fuzzing.md.
#
#   fuzz/run.sh [--seconds N] [--runs M] [--keep DIR] [--build-only] [TARGET...]
#
#   --seconds N   fuzz each target for N seconds (default $MM_FUZZ_SECONDS, else 8)
#   --runs M      stop a target after M executions instead (whichever comes first with --seconds)
#   --keep DIR    keep the grown corpora and logs in DIR/<target>/ (default: a temporary directory);
#                 fuzz/summarize.sh DIR tabulates them
#   --build-only  configure and build, fuzz nothing
#   TARGET...     some of: safetensors forward_dump config shard_index report compare image_decode
#                 (default: all)
#
# Exit 1 on any finding: a crash, an exception other than mm::Error, a broken invariant, a sanitizer
# report (memory error, leak, undefined behaviour), an input running over 10 s or over 2 GiB of memory.
# The reproducer is copied to build/fuzz/findings/<target>/ and the log tail printed. Environment:
# MM_FUZZ_BUILD_DIR (default build/fuzz), MM_BUILD_LOCK (a file to flock around the compilation, so
# that builds sharing a machine take turns).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${MM_FUZZ_SECONDS:-8}
runs=-1
keep=""
build_only=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz/run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(safetensors forward_dump config shard_index report compare image_decode)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [ -d "fuzz/corpus/$t" ] || { echo "fuzz/run.sh: unknown target '$t' (known: ${all[*]})" >&2; exit 2; }
done

command -v clang++ >/dev/null || {
  echo "fuzz/run.sh: clang++ not found (Debian: clang libclang-rt-14-dev; scripts/setup-deps.sh)" >&2
  exit 1
}
build=${MM_FUZZ_BUILD_DIR:-build/fuzz}
start=$(date +%s)
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S fuzz -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
lock=()
[ -n "${MM_BUILD_LOCK:-}" ] && lock=(flock "$MM_BUILD_LOCK")
"${lock[@]}" cmake --build "$build" --target fuzz_all -j"${MM_FUZZ_JOBS:-2}" >"$build/build.log" 2>&1 || {
  tail -40 "$build/build.log"
  echo "fuzz/run.sh: building the fuzz targets failed (log: $build/build.log)" >&2
  exit 1
}
echo "fuzz/run.sh: built $build in $(( $(date +%s) - start )) s"
[ $build_only -eq 0 ] || exit 0

work=${keep:-$(mktemp -d)}
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  dir="$work/$t"
  mkdir -p "$dir/corpus"
  cp fuzz/corpus/"$t"/* "$dir/corpus/"
  [ -d "fuzz/regression/$t" ] && find "fuzz/regression/$t" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$dir/corpus/" \;
  t0=$(date +%s)
  date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/started"
  rc=0
  "$build/fuzz_$t" -dict="fuzz/dict/$t.dict" -max_total_time="$seconds" -runs="$runs" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1 &
  pid=$!
  wait $pid || rc=$?
  rm -rf /dev/shm/mm-fuzz-*-"$pid" /dev/shm/mm-fuzz-*-"$pid".json  # a target's scratch files, left by a crash
  date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/finished"
  echo $rc >"$dir/rc"
  stats=$(grep -E '^#[0-9]+.*(DONE|INITED)' "$dir/log" | tail -1 | sed 's/  */ /g' || true)
  if [ $rc -ne 0 ]; then
    failed=1
    mkdir -p "$build/findings/$t"
    find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) \
      -exec cp {} "$build/findings/$t/" \;
    echo "fuzz/run.sh: $t: FINDING (libFuzzer exit $rc) after $(( $(date +%s) - t0 )) s; reproducer(s) in $build/findings/$t/:"
    ls "$build/findings/$t/" | sed 's/^/  /'
    grep -v '^INFO:' "$dir/log" | grep -v -E '^#[0-9]+' | tail -60
  else
    echo "fuzz/run.sh: $t: ok in $(( $(date +%s) - t0 )) s: $stats"
  fi
done
echo "fuzz/run.sh: $(( $(date +%s) - start )) s in all"
if [ $failed -ne 0 ]; then
  echo "fuzz/run.sh: FAILED: reproduce with $build/fuzz_TARGET FILE; docs/fuzzing.md says what to do with a finding" >&2
  exit 1
fi
