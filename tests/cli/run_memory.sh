#!/usr/bin/env bash
# usage: run_memory.sh CLI WORK_DIR [KERNELS] -- `info --backend` predicts the peak memory of `forward` (harness/
# run_memory.h): on `tiny` and `small`, in ref-f32 / ref-f64 / ref-bf16, resident and streamed (and, ref-f32
# and ref-bf16, held in bf16), a 300-token
# prefill + 4 decode steps with a dump, the measured peak (ru_maxrss) lies within 10% of the prediction;
# so does cuda-sim's on `small`, resident and streamed, for a one-token prompt.
# A run predicted above this machine's memory is refused before anything loads, with the figure.
set -euo pipefail
cli="$1" work="$2" kernels="${3:-0}"
rm -rf "$work" && mkdir -p "$work"
"$cli" init --preset tiny --out "$work/tiny" >/dev/null
"$cli" init --preset small --out "$work/small" >/dev/null
prompt=$(seq -s, 1 300)
fails=0
# judge LABEL MODEL BACKEND WEIGHTS PROMPT_LEN DECODE_STEPS FORWARD_ARGS...: info's predicted peak for the
# run against the forward run's measured ru_maxrss, within 10%.
judge() {
  local label=$1 model=$2 b=$3 w=$4 s=$5 n=$6; shift 6
  local predicted measured
  predicted=$("$cli" info --model "$work/$model" --backend "$b" --weights "$w" --prompt-len "$s" --decode-steps "$n" --json |
              python3 -c 'import json,sys; print(json.load(sys.stdin)["run_memory"]["host_bytes"] // 1024)')
  measured=$(python3 - "$cli" forward --model "$work/$model" --backend "$b" --weights "$w" "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
)
  if python3 -c "import sys; p, m = int(sys.argv[1]), int(sys.argv[2]); sys.exit(abs(p - m) > 0.1 * m)" "$predicted" "$measured"; then
    echo "ok: $label: predicted $((predicted / 1024)) MiB, measured $((measured / 1024)) MiB"
  else
    echo "FAIL: $label: predicted $((predicted / 1024)) MiB, measured $((measured / 1024)) MiB (more than 10% apart)"
    fails=$((fails + 1))
  fi
}
for model in tiny small; do
  for b in ref-f32 ref-f64 ref-bf16; do
    for w in resident streamed $([ "$b" != ref-f64 ] && echo bf16); do
      judge "$model $b $w" "$model" "$b" "$w" 300 4 --tokens "$prompt" --decode-tokens 1,2,3,4 --dump "$work/d.safetensors"
    done
  done
done
# The kernels on the CPU (cuda-sim), resident and streamed (the layers' matrices in pinned blocks plus two
# slots: optimized/model/layer_stream.cuh), on `small`: a one-token prompt, where the weights are the
# peak (at longer prompts the prediction's activations and capture run 8-10% high: docs/memory.md).
for w in $([ "$kernels" == 1 ] && echo resident streamed); do
  judge "small cuda-sim $w" small cuda-sim "$w" 1 0 --tokens 1
done
# 2M prompt tokens on tiny (its context raised to allow them): logits and capture alone are tens of GB.
mkdir -p "$work/long" && cp "$work/tiny/model.safetensors" "$work/long/"
sed 's/"max_position_embeddings": [0-9]*/"max_position_embeddings": 4194304/' "$work/tiny/config.json" > "$work/long/config.json"
seq 1 2000000 | sed 's/.*/1/' > "$work/long-prompt.txt"
out=$("$cli" forward --model "$work/long" --tokens-file "$work/long-prompt.txt" 2>&1) && rc=0 || rc=$?
if [ "$rc" = 3 ] && grep -Eq "forward: this run \(ref-f32, weights resident, 2000000 prompt \+ 0 decode tokens; info --backend prints the parts\) needs [0-9]+ bytes \([0-9.]+ GiB\) but this machine has" <<<"$out"; then
  echo "ok: a run above this machine's memory is refused before loading"
else echo "FAIL: the 2M-token run was not refused as expected (exit $rc): $out"; fails=$((fails + 1)); fi
exit $((fails > 0))
