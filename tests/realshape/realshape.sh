#!/usr/bin/env bash
# usage: realshape.sh CLI WORK_DIR -- MiniMax-Text-01's real shapes on one machine (label realshape; not
# in scripts/test-all.sh: it writes a 27 GB checkpoint and runs for about half an hour on two cores).
#   1. init --config: the released configuration (hidden 6144, 64 heads x 128, 8 KV heads, rotary 64,
#      32 experts x 9216, vocab 200064) with two layers, one lightning and one softmax; seeded bf16 weights.
#   2. forward, ref-f32 and ref-f64, --weights streamed: a 300-token prefill (crossing the 256-token
#      lightning block) and 4 decode steps; peak resident memory (ru_maxrss) under the stated bounds,
#      far below the checkpoint's size.
#   3. check --weights streamed: ref-f32 judged against the ref-f64 oracle layer by layer with the
#      project's acceptance rule (docs/testing.md), the ref-bf16 budget included.
# Skipped (exit 77) without 30 GB free in WORK_DIR. Prints each step's wall time and peak memory;
# docs/perf/realshape.md records a run.
set -uo pipefail
cli="$1" work="$2"
bound_f32_mib=${MM_REALSHAPE_F32_MIB:-3072} bound_f64_mib=${MM_REALSHAPE_F64_MIB:-6144}
mkdir -p "$work"
fails=0
# run NAME CMD...: wall seconds and peak RSS (MiB) of CMD, its output in WORK/NAME.log
run() {
  local name=$1; shift
  python3 - "$work/$name.log" "$@" <<'PY'
import resource, subprocess, sys, time
log, cmd = sys.argv[1], sys.argv[2:]
t = time.monotonic()
with open(log, "w") as f:
    rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
print(f"{time.monotonic() - t:.1f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024} {rc}")
PY
}
report() {  # name, "secs mib rc", bound (MiB, or 0)
  read -r secs mib rc <<<"$2"
  echo "$1: exit $rc, $secs s, peak RSS $mib MiB$([ "$3" -gt 0 ] && echo " (bound $3 MiB)")"
  if [ "$rc" != 0 ]; then echo "FAIL: $1 (log: $work/$1.log)"; tail -5 "$work/$1.log"; fails=$((fails + 1)); fi
  if [ "$3" -gt 0 ] && [ "$mib" -ge "$3" ]; then echo "FAIL: $1 used $mib MiB, bound $3 MiB"; fails=$((fails + 1)); fi
}

"$cli" info --preset minimax-text-01 --json |
  python3 -c "import json,sys; c=json.load(sys.stdin)['config']; c['num_hidden_layers']=2; c['attn_type_list']=[0,1]; json.dump(c, open(sys.argv[1], 'w'), indent=2)" \
  "$work/config-2-layers.json"
# A checkpoint of an earlier run is reused when it was written from this very config (the index is written
# last, so a run cut short leaves none).
if ! { [ -f "$work/ckpt/model.safetensors.index.json" ] && cmp -s "$work/config-2-layers.json" "$work/ckpt.written-from.json"; }; then
  rm -rf "$work/ckpt" "$work/ckpt.written-from.json"
  free_kib=$(df -Pk "$work" | awk 'NR==2 {print $4}')
  if [ "$free_kib" -lt $((30 * 1024 * 1024)) ]; then echo "SKIP: $work has $((free_kib / 1024 / 1024)) GiB free, 30 needed"; exit 77; fi
  report init "$(run init "$cli" init --config "$work/config-2-layers.json" --seed 0 --out "$work/ckpt")" 0
  cp "$work/config-2-layers.json" "$work/ckpt.written-from.json"
fi
"$cli" info --model "$work/ckpt" | sed -n '1,2p;/memory to load/p'
du -sh "$work/ckpt"
prompt=$(seq -s, 1 300)
for b in ref-f32 ref-f64; do
  bound=$([ "$b" = ref-f32 ] && echo "$bound_f32_mib" || echo "$bound_f64_mib")
  report "forward-$b" "$(run "forward-$b" "$cli" forward --model "$work/ckpt" --backend "$b" --weights streamed \
    --tokens "$prompt" --decode-tokens 17,42,99,1000)" "$bound"
  grep -E "argmax|prefill|decode" "$work/forward-$b.log" | head -4
done
report check "$(run check "$cli" check --model "$work/ckpt" --backends ref-f32 --weights streamed \
  --report "$work/check.json")" 0
grep -E "^  ref-|^check:" "$work/check.log"
exit $((fails > 0))
