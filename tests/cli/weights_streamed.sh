#!/usr/bin/env bash
# usage: weights_streamed.sh CLI TINY_DIR WORK_DIR IMAGE -- forward with --weights resident and --weights
# streamed must write byte-identical dumps: ref-f64 / ref-f32 / ref-bf16 on tiny (a 300-token prefill
# crossing the lightning block, two decode steps), and ref-f32 on a vl-tiny checkpoint with one image;
# check with --weights streamed passes and its report records the choice (model.weights).
set -euo pipefail
cli="$1" tiny="$2" work="$3" image="$4"
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
exit $((fails > 0))
