#!/usr/bin/env bash
# usage: generate_context_limit.sh CLI TINY_DIR WORK_DIR [BACKEND]
# A generation that reaches max_position_embeddings part-way must print the tokens it made, then the
# error, and exit 3 (a runtime error). The tiny checkpoint's weights with max_position_embeddings lowered to 40 and a
# 38-token prompt (given through --prompt-tokens-file): the prefill and 2 decode steps fit (positions
# 38 and 39), the third decode step would be position 41 > 40; 3 of the 10 new tokens are made.
set -u
cli="$1" tiny="$2" work="$3" backend="${4:-ref-f32}"
model="$work/ctx40"
mkdir -p "$model" || exit 1
cp "$tiny/model.safetensors" "$model/" || exit 1
sed 's/"max_position_embeddings": *[0-9]*/"max_position_embeddings": 40/' "$tiny/config.json" > "$model/config.json" || exit 1
grep -q '"max_position_embeddings": 40' "$model/config.json" || { echo "could not rewrite config.json"; exit 1; }
seq 1 38 | tr '\n' ' ' > "$work/prompt38.txt"
out=$("$cli" generate --model "$model" --prompt-tokens-file "$work/prompt38.txt" --max-new-tokens 10 --backend "$backend" \
      2>"$work/ctx40.err"); rc=$?
err=$(cat "$work/ctx40.err")
echo "stdout: $out"; echo "stderr: $err"
[ $rc -eq 3 ] || { echo "expected exit 3, got $rc"; exit 1; }
grep -Eq "generated 3 of 10 tokens before the error:( [0-9]+){3}$" <<<"$out" || { echo "partial tokens not printed"; exit 1; }
grep -Eq "stopped after 3 of 10 new tokens \(printed above\): .*max_position_embeddings = 40" <<<"$err" ||
  { echo "stderr does not name the context limit"; exit 1; }
echo ok
