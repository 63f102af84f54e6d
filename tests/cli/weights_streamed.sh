#!/usr/bin/env bash
# usage: weights_streamed.sh CLI TINY_DIR WORK_DIR IMAGE KERNELS -- forward with --weights resident and
# --weights streamed must write byte-identical dumps: ref-f64 / ref-f32 / ref-bf16 on tiny (a 300-token
# prefill crossing the lightning block, two decode steps), and ref-f32 on a vl-tiny checkpoint with one
# image; check with --weights streamed passes and its report records the choice (model.weights).
# With KERNELS = 1 (the cuda-sim backend is built) the same for the kernels, whose streamed layers go
# through two device slots (optimized/model/layer_stream.cuh): tiny whole and a 5-layer slice, vl-tiny
# with its image; check of cuda-sim against ref-f64 with both streamed; and info's plan for cuda moves
# the layers' matrices from the device to the host.
set -euo pipefail
cli="$1" tiny="$2" work="$3" image="$4" kernels="${5:-0}"
rm -rf "$work" && mkdir -p "$work"
prompt=$(seq -s, 1 300)
fails=0
same() {  # name, then the forward arguments
  local name=$1; shift
  "$cli" forward "$@" --weights resident --dump "$work/$name-resident.safetensors" >/dev/null
  "$cli" forward "$@" --weights streamed --dump "$work/$name-streamed.safetensors" >/dev/null
  if cmp -s "$work/$name-resident.safetensors" "$work/$name-streamed.safetensors"; then echo "ok: $name"
  else echo "FAIL: $name: the streamed dump differs from the resident one"; fails=$((fails + 1)); fi
}
for b in ref-f64 ref-f32 ref-bf16; do same "$b" --model "$tiny" --tokens "$prompt" --decode-tokens 4,5 --backend "$b"; done
"$cli" init --preset vl-tiny --seed 2 --out "$work/vl-tiny" >/dev/null
token=$("$cli" info --model "$work/vl-tiny" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["image_token_index"])')
same vl-tiny --model "$work/vl-tiny" --tokens "1,$token,2" --images "$image" --decode-tokens 3
if "$cli" check --model "$tiny" --backends ref-f32 --weights streamed --prompt-len 40 --decode-steps 2 \
     --report "$work/check.json" >/dev/null 2>&1 &&
   python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["model"].get("weights") != "streamed")' "$work/check.json"; then
  echo "ok: check --weights streamed"
else echo "FAIL: check --weights streamed did not pass or its report lacks model.weights"; fails=$((fails + 1)); fi
if [ "$kernels" == 1 ]; then
  same cuda-sim --model "$tiny" --tokens "$prompt" --decode-tokens 4,5 --backend cuda-sim
  same cuda-sim-slice --model "$tiny" --tokens "$prompt" --decode-tokens 4 --backend cuda-sim --layers 3:8
  same cuda-sim-vl --model "$work/vl-tiny" --tokens "1,$token,2" --images "$image" --decode-tokens 3 --backend cuda-sim
  if "$cli" check --model "$tiny" --backends ref-f64,cuda-sim --weights streamed --prompt-len 40 --decode-steps 2 \
       --report "$work/check-kernels.json" >/dev/null 2>&1; then echo "ok: check cuda-sim --weights streamed"
  else echo "FAIL: check of cuda-sim with --weights streamed did not pass"; fails=$((fails + 1)); fi
  # info's plan for cuda: streamed leaves two slots of the largest layer's matrices on the device instead
  # of every layer's (bf16, from the config: lightning 5 inner H, softmax 2 inner H + 2 kv H, experts
  # 3 E I H); the host holds every weight at load either way, streamed also the layer being packed
  plan() { "$cli" info --model "$tiny" --backend cuda --prompt-len 8 --decode-steps 0 --weights "$1" --json; }
  if python3 - "$(plan resident)" "$(plan streamed)" "$tiny/config.json" <<'EOF'
import json, sys
res, st = (json.loads(a)["run_memory"] for a in sys.argv[1:3])
c = json.load(open(sys.argv[3]))
assert st["weights"] == "streamed" and res["weights"] == "resident", (st["weights"], res["weights"])
H, d = c["hidden_size"], c["head_dim"]
inner, kv = c["num_attention_heads"] * d, c["num_key_value_heads"] * d
experts = 3 * c["num_local_experts"] * c["intermediate_size"] * H
sizes = [2 * ((2 * inner * H + 2 * kv * H) if t == 1 else 5 * inner * H) + 2 * experts for t in c["attn_type_list"]]
want = sum(sizes) - 2 * max(sizes)
got = res["device_bytes"] - st["device_bytes"]
assert got == want, (got, want)
assert st["parts"]["weights"] == res["parts"]["weights"] + max(sizes), (st["parts"], res["parts"])
EOF
  then echo "ok: info plans streamed cuda weights on the host"
  else echo "FAIL: info --backend cuda --weights streamed"; fails=$((fails + 1)); fi
fi
exit $((fails > 0))
