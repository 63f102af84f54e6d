#!/usr/bin/env bash
# usage: realshape.sh CLI WORK_DIR -- MiniMax-Text-01's real shapes on one machine (label realshape; not
# in scripts/test-all.sh: it writes a 27 GB checkpoint and runs for about an hour on two cores).
#   1. init --preset minimax-text-01 --layers 6:8: the released configuration (hidden 6144, 64 heads x 128,
#      8 KV heads, rotary 64, 32 experts x 9216, vocab 200064) holding layers 6 and 7 of its 80 (the first
#      group's last lightning layer and its softmax layer, with their constants), seeded bf16 weights.
#   2. forward, ref-f32 and ref-f64, --weights streamed: a 300-token prefill (crossing the 256-token
#      lightning block) and 4 decode steps; peak resident memory (ru_maxrss) under the stated bounds, far
#      below the checkpoint's size, and within 10% of what `info --backend` predicted for the same run.
#   3. Slices chain: forward --layers 6:7, then --layers 7:8 --hidden-in the first dump, gives the whole
#      run's logits and decode logits byte for byte (ref-f32).
#   4. check --weights streamed: ref-f32 judged against the ref-f64 oracle layer by layer with the
#      project's acceptance rule (docs/testing.md), the ref-bf16 budget included.
#   5. cuda-sim (when built): check --layers 7:8 judges the kernels on one real-shape layer (the softmax
#      layer, with the real head) against the ref-f64 oracle, a 1-token prompt and one decode step (the
#      emulated expert tiles make 16 tokens take over 9 minutes; 1 token takes about 3).
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
  last_mib=$mib
}
# same_tensor LABEL FILE_A FILE_B NAME: tensor NAME's bytes equal in two safetensors files
same_tensor() {
  if python3 - "$2" "$3" "$4" <<'PY'
import json, struct, sys
def raw(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        a, b = json.loads(f.read(n))[name]["data_offsets"]
        f.seek(8 + n + a)
        return f.read(b - a)
sys.exit(raw(sys.argv[1], sys.argv[3]) != raw(sys.argv[2], sys.argv[3]))
PY
  then echo "ok: $1"; else echo "FAIL: $1: $4 differs"; fails=$((fails + 1)); fi
}

init_args=(init --preset minimax-text-01 --layers 6:8 --seed 0)
# A checkpoint of an earlier run is reused when it was written by the same init (the index is written
# last, so a run cut short leaves none).
if ! { [ -f "$work/ckpt/model.safetensors.index.json" ] && [ "$(cat "$work/ckpt.written-by" 2>/dev/null)" == "${init_args[*]}" ]; }; then
  rm -rf "$work/ckpt" "$work/ckpt.written-by"
  free_kib=$(df -Pk "$work" | awk 'NR==2 {print $4}')
  if [ "$free_kib" -lt $((30 * 1024 * 1024)) ]; then echo "SKIP: $work has $((free_kib / 1024 / 1024)) GiB free, 30 needed"; exit 77; fi
  report init "$(run init "$cli" "${init_args[@]}" --out "$work/ckpt")" 0
  echo "${init_args[*]}" > "$work/ckpt.written-by"
fi
"$cli" info --model "$work/ckpt" | sed -n '1,3p;/memory to load/p'
du -sh "$work/ckpt"
prompt=$(seq -s, 1 300) decode=17,42,99,1000
for b in ref-f32 ref-f64; do
  bound=$([ "$b" = ref-f32 ] && echo "$bound_f32_mib" || echo "$bound_f64_mib")
  predicted=$("$cli" info --model "$work/ckpt" --backend "$b" --weights streamed --prompt-len 300 --decode-steps 4 --json |
              python3 -c 'import json,sys; print(json.load(sys.stdin)["run_memory"]["host_bytes"] // 2**20)')
  report "forward-$b" "$(run "forward-$b" "$cli" forward --model "$work/ckpt" --backend "$b" --weights streamed \
    --tokens "$prompt" --decode-tokens "$decode" --dump "$work/whole-$b.safetensors")" "$bound"
  grep -E "argmax|prefill|decode" "$work/forward-$b.log" | head -4
  echo "forward-$b: info predicted $predicted MiB, measured $last_mib MiB"
  if python3 -c "import sys; p, m = int(sys.argv[1]), int(sys.argv[2]); sys.exit(abs(p - m) > 0.1 * m)" "$predicted" "$last_mib"; then
    echo "ok: forward-$b peak within 10% of the prediction"
  else echo "FAIL: forward-$b peak $last_mib MiB, predicted $predicted MiB (more than 10% apart)"; fails=$((fails + 1)); fi
done
report slice-6-7 "$(run slice-6-7 "$cli" forward --model "$work/ckpt" --backend ref-f32 --weights streamed --layers 6:7 \
  --tokens "$prompt" --decode-tokens "$decode" --dump "$work/slice-6-7.safetensors")" "$bound_f32_mib"
report slice-7-8 "$(run slice-7-8 "$cli" forward --model "$work/ckpt" --backend ref-f32 --weights streamed --layers 7:8 \
  --hidden-in "$work/slice-6-7.safetensors" --tokens "$prompt" --decode-tokens "$decode" \
  --dump "$work/slice-7-8.safetensors")" "$bound_f32_mib"
same_tensor "6:7 + 7:8 chain to the whole run's logits" "$work/slice-7-8.safetensors" "$work/whole-ref-f32.safetensors" logits
same_tensor "6:7 + 7:8 chain to the whole run's decode logits" "$work/slice-7-8.safetensors" "$work/whole-ref-f32.safetensors" decode_logits
rm -f "$work"/whole-*.safetensors "$work"/slice-*.safetensors
report check "$(run check "$cli" check --model "$work/ckpt" --backends ref-f32 --weights streamed \
  --report "$work/check.json")" 0
grep -E "^  ref-|^check:" "$work/check.log"
if "$cli" --version | grep -q "cuda-sim: runs here"; then
  report check-cuda-sim "$(run check-cuda-sim "$cli" check --model "$work/ckpt" --layers 7:8 --backends cuda-sim \
    --prompt-len 1 --decode-steps 1 --report "$work/check-cuda-sim.json")" 0
  grep -E "^  cuda-sim|^check:" "$work/check-cuda-sim.log"
fi
exit $((fails > 0))
