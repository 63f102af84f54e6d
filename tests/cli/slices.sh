#!/usr/bin/env bash
# usage: slices.sh CLI TINY_DIR TINY_SEED WORK_DIR -- layer slices (docs/slices.md) chain to the whole run.
#   1. In ref-f64, ref-f32 and ref-bf16: forward --layers 0:3, then --layers 3:8 --hidden-in the first
#      dump, gives the whole run's logits and decode_logits byte for byte (a 300-token prefill crossing
#      the lightning block, two decode steps), and each piece's hidden_states are the whole run's rows.
#   2. Three pieces (0:2 resident, 2:7 streamed, 7:8 = the softmax layer) chain to the same logits.
#   3. A slice checkpoint (init --layers 3:8, same seed) continues the 0:3 dump to the same logits, and
#      info says which layers it holds.
#   4. check --layers judges only the slice's layers (and the head when it ends the model) and passes.
#   5. Each misuse is a clear error: a dump that does not end where the run starts, other tokens, a
#      whole-model dump, --dump over --hidden-in, a reversed range, generate without the head.
#   6. cuda-sim (when built) passes check on a slice, dumps a slice's hidden states, and refuses --hidden-in.
set -euo pipefail
cli="$1" tiny="$2" seed="$3" work="$4"
rm -rf "$work" && mkdir -p "$work"
prompt=$(seq -s, 1 300)
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }

# Raw bytes of tensor NAME in a safetensors FILE, or of rows [R0, R1) of its first dimension.
tensor_bytes() {
  python3 - "$@" <<'EOF'
import json, struct, sys
path, name = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    t = header[name]
    a, b = t["data_offsets"]
    f.seek(8 + n + a)
    data = f.read(b - a)
if len(sys.argv) > 3:
    r0, r1 = int(sys.argv[3]), int(sys.argv[4])
    row = len(data) // t["shape"][0]
    data = data[r0 * row:r1 * row]
sys.stdout.write(data.hex())
EOF
}
same_tensor() {  # label, file A, tensor A, file B, tensor B [, rows of B]
  local label=$1 fa=$2 ta=$3 fb=$4 tb=$5; shift 5
  if [ "$(tensor_bytes "$fa" "$ta")" == "$(tensor_bytes "$fb" "$tb" "$@")" ]; then ok "$label"; else bad "$label: differs"; fi
}
run() { "$cli" forward --model "$tiny" --tokens "$prompt" --decode-tokens 4,5 "$@" >/dev/null; }

# 1. Two pieces in every reference precision.
for b in ref-f64 ref-f32 ref-bf16; do
  run --backend "$b" --dump "$work/$b-whole.safetensors"
  run --backend "$b" --layers 0:3 --dump "$work/$b-a.safetensors"
  run --backend "$b" --layers 3:8 --hidden-in "$work/$b-a.safetensors" --dump "$work/$b-b.safetensors"
  same_tensor "$b 0:3 + 3:8 logits" "$work/$b-b.safetensors" logits "$work/$b-whole.safetensors" logits
  same_tensor "$b 0:3 + 3:8 decode_logits" "$work/$b-b.safetensors" decode_logits "$work/$b-whole.safetensors" decode_logits
  same_tensor "$b 0:3 hidden_states" "$work/$b-a.safetensors" hidden_states "$work/$b-whole.safetensors" hidden_states 0 3
  same_tensor "$b 3:8 hidden_states" "$work/$b-b.safetensors" hidden_states "$work/$b-whole.safetensors" hidden_states 3 8
done
if tensor_bytes "$work/ref-f32-a.safetensors" logits >/dev/null 2>&1; then bad "the 0:3 dump holds logits (no head ran)"
else ok "a slice ending before the head dumps no logits"; fi

# 2. Three pieces, the middle one streamed.
run --backend ref-f32 --layers 0:2 --dump "$work/p1.safetensors"
run --backend ref-f32 --layers 2:7 --weights streamed --hidden-in "$work/p1.safetensors" --dump "$work/p2.safetensors"
run --backend ref-f32 --layers 7:8 --hidden-in "$work/p2.safetensors" --dump "$work/p3.safetensors"
same_tensor "0:2 + 2:7 (streamed) + 7:8 logits" "$work/p3.safetensors" logits "$work/ref-f32-whole.safetensors" logits
same_tensor "0:2 + 2:7 (streamed) + 7:8 decode_logits" "$work/p3.safetensors" decode_logits "$work/ref-f32-whole.safetensors" decode_logits

# 3. A slice checkpoint of the same seed continues the first piece.
"$cli" init --preset tiny --seed "$seed" --layers 3:8 --out "$work/tiny-3-8" >/dev/null
"$cli" forward --model "$work/tiny-3-8" --tokens "$prompt" --decode-tokens 4,5 --backend ref-f32 \
  --hidden-in "$work/ref-f32-a.safetensors" --dump "$work/ckpt-b.safetensors" >/dev/null
same_tensor "slice checkpoint 3:8 logits" "$work/ckpt-b.safetensors" logits "$work/ref-f32-whole.safetensors" logits
if "$cli" info --model "$work/tiny-3-8" | grep -q "slice: holds layers 3:8"; then ok "info names the layers held"
else bad "info does not name the layers the slice holds"; fi
if [ -z "$(python3 -c 'import json,sys; print(" ".join(k for k in json.load(open(sys.argv[1]+"/model.safetensors.index.json"))["weight_map"] if k.startswith("model.layers.0.")))' "$work/tiny-3-8" 2>/dev/null)" ] &&
   ! grep -a -q '"model.layers.0.input_layernorm.weight"' "$work/tiny-3-8/model.safetensors" &&
   grep -a -q '"model.layers.3.input_layernorm.weight"' "$work/tiny-3-8/model.safetensors"; then
  ok "the slice checkpoint holds layers 3.. and not layer 0"
else bad "the slice checkpoint's tensors are not layers 3..7"; fi

# 4. check on a slice.
if "$cli" check --model "$tiny" --layers 2:5 --backends ref-f32 --prompt-len 40 --decode-steps 2 \
     --report "$work/check.json" >/dev/null 2>&1 &&
   python3 - "$work/check.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
names = {t["name"] for b in r["result"]["backends"] for t in b.get("tensors", [])}
assert r["model"]["layers"] == "2:5", r["model"]
assert any(n.startswith("layers.2.") for n in names) and any(n.startswith("layers.4.") for n in names), names
assert not any(n.startswith(("layers.0.", "layers.1.", "layers.5.", "logits", "final_norm", "decode_logits",
                             "decode.final_norm", "e2e.logits", "e2e.final_norm")) for n in names), names
# end to end, a slice without the head is judged on its last layer's output
assert {"e2e.layers.4.output", "e2e.decode.layers.4.output"} <= names, names
EOF
then ok "check --layers 2:5 judges layers 2..4 alone"; else bad "check --layers 2:5"; fi
if "$cli" check --model "$tiny" --layers 6:8 --backends ref-f32 --prompt-len 40 --decode-steps 1 \
     --report "$work/check-head.json" >/dev/null 2>&1 &&
   python3 - "$work/check-head.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
names = {t["name"] for b in r["result"]["backends"] for t in b.get("tensors", [])}
assert {"logits", "final_norm", "decode_logits", "layers.7.k_cache"} <= names, names
assert not any(n.startswith("layers.5.") for n in names), names
EOF
then ok "check --layers 6:8 judges the softmax layer and the head"; else bad "check --layers 6:8"; fi

# 5. Misuse, each a clear error.
expect_error() {  # label, regex, then the command
  local label=$1 regex=$2; shift 2
  local out
  if out=$("$@" 2>&1); then bad "$label: succeeded"; return; fi
  if grep -Eq -- "$regex" <<<"$out"; then ok "$label"; else bad "$label: message was: $out"; fi
}
expect_error "a dump ending elsewhere" "holds the hidden state after layer 2 \(layers 0:3\), but this run starts at layer 4" \
  "$cli" forward --model "$tiny" --tokens "$prompt" --decode-tokens 4,5 --layers 4:8 --hidden-in "$work/ref-f32-a.safetensors"
expect_error "other tokens" "written for other tokens .*give every slice the same tokens" \
  "$cli" forward --model "$tiny" --tokens "$prompt" --decode-tokens 4,6 --layers 3:8 --hidden-in "$work/ref-f32-a.safetensors"
expect_error "a whole-model dump" "not a slice dump \(expected __metadata__ format = \"minimax01-forward-slice-v1\", found \"minimax01-forward-v1\"\)" \
  "$cli" forward --model "$tiny" --tokens "$prompt" --decode-tokens 4,5 --layers 3:8 --hidden-in "$work/ref-f32-whole.safetensors"
cp "$work/ref-f32-a.safetensors" "$work/keep.safetensors"
expect_error "--dump over --hidden-in" "--dump .*keep.safetensors: this is an input of the run" \
  "$cli" forward --model "$tiny" --tokens "$prompt" --decode-tokens 4,5 --layers 3:8 --hidden-in "$work/keep.safetensors" --dump "$work/keep.safetensors"
if cmp -s "$work/ref-f32-a.safetensors" "$work/keep.safetensors"; then ok "the --hidden-in file is untouched"; else bad "--hidden-in file changed"; fi
expect_error "a reversed range" "--layers '5:3': expected A:B with 0 <= A < B <= 8 \(num_hidden_layers\)" \
  "$cli" forward --model "$tiny" --tokens 1 --layers 5:3
expect_error "past the slice checkpoint" "--layers '0:4': expected A:B with 3 <= A < B <= 8 \(the layers this checkpoint holds\)" \
  "$cli" forward --model "$work/tiny-3-8" --tokens 1 --layers 0:4
expect_error "generate without the head" "generate: --layers 0:3 ends before layer 7, the checkpoint's last" \
  "$cli" generate --model "$tiny" --prompt-tokens 1,2 --layers 0:3
# 6. The kernels on the CPU (cuda-sim) run a slice from the embedding; they cannot continue a hidden state.
if "$cli" --version 2>/dev/null | grep -q "cuda-sim: runs here"; then
  if "$cli" check --model "$tiny" --layers 3:8 --backends cuda-sim --prompt-len 40 --decode-steps 1 \
       --report "$work/check-sim.json" >/dev/null 2>&1; then ok "check --layers 3:8 passes cuda-sim"
  else bad "check --layers 3:8 on cuda-sim"; fi
  "$cli" forward --model "$tiny" --tokens 1,2,3 --decode-tokens 4 --layers 0:3 --backend cuda-sim \
    --dump "$work/sim-a.safetensors" >/dev/null
  if [ "$(tensor_bytes "$work/sim-a.safetensors" hidden_out | wc -c)" -eq $((3 * 128 * 8 * 2)) ] &&
     [ "$(tensor_bytes "$work/sim-a.safetensors" decode_hidden_out | wc -c)" -eq $((128 * 8 * 2)) ]; then
    ok "cuda-sim slice dump holds hidden_out and decode_hidden_out"
  else bad "cuda-sim slice dump"; fi
  expect_error "cuda-sim with --hidden-in" "forward: --hidden-in runs on the reference backends \(ref-f64, ref-f32, ref-bf16\); cuda-sim runs a slice from the token embeddings" \
    "$cli" forward --model "$tiny" --tokens "$prompt" --decode-tokens 4,5 --layers 3:8 --backend cuda-sim \
    --hidden-in "$work/ref-f32-a.safetensors"
fi
exit $((fails > 0))
