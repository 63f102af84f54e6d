#!/usr/bin/env bash
# The main job: install what is missing, build, write the built-in default checkpoint (the `small`
# preset, seed 0) if absent, then show it: info, a 300-token forward (it crosses the 256-token
# lightning block) with two decode steps, dumped to reports/forward-small.safetensors, and a
# greedy generation with tokens/s.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
./scripts/build.sh --target minimax01
mm=build/release/cli/minimax01
ckpt=checkpoints/small
if [ ! -f "$ckpt/config.json" ]; then
  $mm init --preset small --seed 0 --out "$ckpt"
fi
mkdir -p reports
prompt=$(seq -s, 1 300)
echo "== info"; $mm info --model "$ckpt"
echo "== forward (ref-f32: 300-token prefill + 2 decode steps)"
$mm forward --model "$ckpt" --tokens "$prompt" --decode-tokens 17,42 --dump reports/forward-small.safetensors
echo "== generate (greedy, 32 new tokens)"
$mm generate --model "$ckpt" --prompt-tokens "$prompt" --max-new-tokens 32
