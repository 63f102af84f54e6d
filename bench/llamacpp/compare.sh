#!/usr/bin/env bash
# MiniMax-Text-01 on llama.cpp (CPU, llama-cpp-python 0.3.35) next to minimax01's reference, on the same
# checkpoint (preset `small`, converted to GGUF in F32 and BF16 by minimax_to_gguf.py):
#   1. numerics: llama.cpp's F32 logits (flash attention off, F32 KV cache, so that only the order of
#      summation differs) for a 32-token prompt, every position, and 8 decode steps, against ref-f32's
#      `forward --dump`: max abs difference, relative Frobenius error, argmax agreement. Exit 1 when the
#      relative error exceeds 1e-5 or an argmax differs.
#   2. speed, side by side: for each thread count, minimax01 `bench` (ref-f32, ref-bf16; OpenBLAS with
#      that many threads) with the weights resident (converted at load), held in bf16 (read as bf16 by
#      the decode GEMV) and streamed (left in the checkpoint in bf16, converted when used:
#      docs/memory.md), and llama.cpp's F32 and BF16 GGUFs (its
#      defaults, that many threads), a 128-token prompt then 32 decode steps, medians of 5 after 1
#      warm-up, one after the other.
# usage: bench/llamacpp/compare.sh [--threads "1 2"] [--weights "resident bf16 streamed"] [--reps 5] [--work DIR]
#                                   [--cli PATH] [--venv DIR]
# Writes DIR/summary.json (default DIR: out/llamacpp) and prints both tables.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/llamacpp"
threads="1 2" weights="resident bf16 streamed" reps=5 work="$ROOT/out/llamacpp" cli="$ROOT/build/release/cli/minimax01" venv="$ROOT/.venv-llamacpp"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --weights) weights="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --cli) cli="$2"; shift 2 ;;
    --venv) venv="$2"; shift 2 ;;
    *) echo "compare.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
py="$venv/bin/python"
[ -x "$py" ] || { echo "compare.sh: no venv at $venv (run bench/llamacpp/setup-venv.sh)" >&2; exit 2; }
[ -x "$cli" ] || { echo "compare.sh: no minimax01 at $cli (build it: cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
mkdir -p "$work"
ckpt="$work/small"
[ -f "$ckpt/config.json" ] || "$cli" init --preset small --out "$ckpt" >/dev/null
for t in f32 bf16; do
  [ -f "$work/small-$t.gguf" ] || "$py" "$HERE/minimax_to_gguf.py" "$ckpt" --outfile "$work/small-$t.gguf" --outtype "$t" >/dev/null
done

# 1. numerics
"$cli" forward --model "$ckpt" --backend ref-f32 --tokens "$(seq -s, 1 32)" --decode-tokens "$(seq -s, 33 40)" \
  --dump "$work/ours.safetensors" >/dev/null
"$py" "$HERE/run_llamacpp.py" "$work/small-f32.gguf" --threads 2 --kv-type f32 --flash-attn 0 --tokens-range 1:33 \
  --all-logits --logits-out "$work/llama-prefill.npy" --decode-tokens "$(seq -s, 33 40)" \
  --decode-logits-out "$work/llama-decode.npy" --json-out "$work/llama-logits.json" >/dev/null 2>"$work/llama-logits.log"
"$py" "$HERE/compare_logits.py" "$work/ours.safetensors" "$work/llama-prefill.npy" > "$work/numerics-prefill.json"
"$py" "$HERE/compare_logits.py" "$work/ours.safetensors" "$work/llama-decode.npy" --key decode_logits > "$work/numerics-decode.json"

# 2. speed
for t in $threads; do
  for w in $weights; do
    OPENBLAS_NUM_THREADS=$t "$cli" bench --model "$ckpt" --backends ref-f32,ref-bf16 --weights "$w" \
      --prompt-lens 128 --context-lens 128 --decode-steps 32 --reps "$reps" --warmup 1 \
      --report "$work/ours-$w-t$t.json" >/dev/null 2>"$work/ours-$w-t$t.log"
  done
  for g in f32 bf16; do
    OMP_NUM_THREADS=$t "$py" "$HERE/run_llamacpp.py" "$work/small-$g.gguf" --bench --threads "$t" --n-prompt 128 \
      --n-decode 32 --repeats "$reps" --warmup 1 --outtype "$g" --json-out "$work/llama-$g-t$t.json" \
      >/dev/null 2>"$work/llama-$g-t$t.log"
  done
done

"$py" - "$work" "$threads" "$weights" <<'PY'
import json, os, sys
work, threads, weights = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
num = {k: json.load(open(os.path.join(work, f"numerics-{k}.json"))) for k in ("prefill", "decode")}
llama = json.load(open(os.path.join(work, "llama-logits.json")))
print(f"llama.cpp {llama['llama_cpp_commit']} (llama-cpp-python {llama['llama_cpp_python']}) F32 vs minimax01 ref-f32, small:")
print("  phase     rows  max |diff|   rel Frobenius   argmax agree")
ok = True
for k, r in num.items():
    print(f"  {k:8s} {r['rows']:5d}  {r['max_abs_diff']:.3e}   {r['rel_frobenius']:.3e}       {r['argmax_agree']}/{r['rows']}")
    ok &= r["rel_frobenius"] <= 1e-5 and r["argmax_agree"] == r["rows"]
rows = []
for t in threads:
    for w in weights:
        ours = json.load(open(os.path.join(work, f"ours-{w}-t{t}.json")))
        for s in ours["result"]["series"]:
            rows.append({"impl": f"minimax01 {s['backend']}, {w} weights", "threads": int(t), "phase": s["phase"], "p50_s": s["p50"]})
    for g in ("f32", "bf16"):
        r = json.load(open(os.path.join(work, f"llama-{g}-t{t}.json")))
        rows.append({"impl": f"llama.cpp {g.upper()}", "threads": int(t), "phase": "ttft", "p50_s": r["ttft_s"]})
        rows.append({"impl": f"llama.cpp {g.upper()}", "threads": int(t), "phase": "tpot", "p50_s": r["tpot_s"]})
print("prompt 128 then 32 decode steps, medians (ms):")
print("  implementation                          threads   TTFT      TPOT")
for t in threads:
    for impl in dict.fromkeys(r["impl"] for r in rows if r["threads"] == int(t)):
        v = {r["phase"]: r["p50_s"] for r in rows if r["impl"] == impl and r["threads"] == int(t)}
        print(f"  {impl:40s} {t:>7s}  {1e3 * v['ttft']:8.1f}  {1e3 * v['tpot']:7.2f}")
json.dump({"numerics": num, "llama_cpp": {k: llama[k] for k in ("llama_cpp_commit", "llama_cpp_python")},
           "timings": rows, "load_average_at_end": os.getloadavg()}, open(os.path.join(work, "summary.json"), "w"), indent=1)
print("numerics:", "PASS" if ok else "FAIL (relative error above 1e-5 or an argmax differs)")
sys.exit(0 if ok else 1)
PY
