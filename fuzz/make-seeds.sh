#!/usr/bin/env bash
# Regenerates the seed corpora fuzz/corpus/<target>/ from real outputs of the CLI (a tiny checkpoint,
# a forward dump, check / bench / soak reports), trimmed to a few KiB each, plus a few hand-made
# inputs for corners the CLI does not write (every dtype, an empty image, a VL-01 config, ...), and the
# image_decode seeds that core_tests writes. Needs the release build (scripts/build.sh) and python3.
# The seeds are committed; run this only to refresh them after a format change, then check them in
# (docs/fuzzing.md).
#   fuzz/make-seeds.sh [path/to/minimax01]
set -euo pipefail
cd "$(dirname "$0")/.."
CLI=${1:-build/release/cli/minimax01}
[ -x "$CLI" ] || { echo "make-seeds: $CLI not built (scripts/build.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1
"$CLI" init --preset tiny --out "$tmp/official" >/dev/null
"$CLI" init --preset tiny --spelling hf --out "$tmp/hf" >/dev/null
"$CLI" init --preset tiny --max-shard-mb 1 --out "$tmp/sharded" >/dev/null
"$CLI" init --preset vl-tiny --out "$tmp/vl" >/dev/null
"$CLI" init --preset vl-tiny --spelling hf --out "$tmp/vl-hf" >/dev/null
"$CLI" forward --model "$tmp/official" --tokens 1,2 --decode-tokens 3 --dump "$tmp/forward.safetensors" >/dev/null
"$CLI" forward --model "$tmp/official" --tokens 1,2 --decode-tokens 3 --layers 0:1 \
  --dump "$tmp/forward-slice.safetensors" >/dev/null
"$CLI" check --backends ref-f32,ref-bf16 --prompt-len 8 --decode-steps 1 --report "$tmp/check.json" >/dev/null
"$CLI" check --backends ref-f32 --prompt-len 4 --decode-steps 1 --perturb 3:1e-2 --report "$tmp/check-fail.json" \
  >/dev/null || true  # fails on purpose: a report with first_diverging
"$CLI" bench --backends ref-f32 --prompt-lens 4 --context-lens 8 --decode-steps 2 --reps 3 --warmup 0 \
  --report "$tmp/bench.json" >/dev/null
# stopped after its first repetition by the interrupt test hook (core/interrupt.h; exits 130 on purpose):
# an incomplete report ("complete": false, "interrupted")
MM_TEST_INTERRUPT_AFTER_STEPS=3 "$CLI" bench --backends ref-f32 --prompt-lens 4 --context-lens 8 --decode-steps 2 \
  --reps 3 --warmup 0 --report "$tmp/bench-interrupted.json" >/dev/null 2>&1 || true
"$CLI" soak --duration 1s --window 500ms --max-prompt 8 --max-decode 2 --inject nan:0.2 \
  --report "$tmp/soak.json" >/dev/null
python3 - "$tmp" <<'PY'
import json, os, struct, sys
tmp = sys.argv[1]
root = "fuzz/corpus"
def out(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
for d in os.listdir(root) if os.path.isdir(root) else []:
    for f in os.listdir(os.path.join(root, d)):
        os.remove(os.path.join(root, d, f))

# --- safetensors: the layout write_safetensors produces (header padded to 8 bytes) ---------------
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}
def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes)"""
    h, off, data = {}, 0, b""
    if metadata is not None:
        h["__metadata__"] = metadata
    for name, dt, shape, raw in tensors:
        h[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        data += raw
    hs = json.dumps(h, separators=(",", ":")).encode()
    while pad and (len(hs) + 8) % 8:
        hs += b" "
    return struct.pack("<Q", len(hs)) + hs + data
def raw(dt, n, start=0):
    fmt = {"F64": "d", "F32": "f", "F16": "e", "I64": "q", "I32": "i"}
    if dt == "BF16":
        return b"".join(struct.pack("<f", float(start + i))[2:] for i in range(n))
    return b"".join(struct.pack("<" + fmt[dt], (start + i) if dt[0] == "I" else float(start + i)) for i in range(n))
out("safetensors", "every-dtype.safetensors",
    safetensors([(f"t.{dt.lower()}", dt, [2, 3], raw(dt, 6)) for dt in SIZES], {"format": "pt", "note": "seed"}))
out("safetensors", "empty.safetensors", safetensors([]))
out("safetensors", "scalar-and-zero-size.safetensors",
    safetensors([("scalar", "F32", [], raw("F32", 1)), ("none", "BF16", [0, 4], b""), ("v", "I64", [1], raw("I64", 1))]))
out("safetensors", "unpadded-header.safetensors", safetensors([("w", "F16", [3], raw("F16", 3))], pad=False))
# The real tiny checkpoint's header with its data cut off: every tensor name and shape of the model
# (refused as truncated, a structural base for the mutator).
with open(os.path.join(tmp, "official", "model.safetensors"), "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    out("safetensors", "tiny-model-header-only.safetensors", struct.pack("<Q", n) + f.read(n))

# --- forward dumps -----------------------------------------------------------------------------------
with open(os.path.join(tmp, "forward.safetensors"), "rb") as f:
    fwd = f.read()
out("forward_dump", "tiny-S2-N1.safetensors", fwd)
out("safetensors", "forward-dump.safetensors", fwd)
meta = {"format": "minimax01-forward-v1", "backend": "ref-f32"}
out("forward_dump", "minimal-S1-N0.safetensors",
    safetensors([("logits", "F32", [1, 2], raw("F32", 2)), ("hidden_states", "F32", [1, 1, 2], raw("F32", 2)),
                 ("decode_logits", "F32", [0, 2], b"")], meta))
# slice dumps (docs/slices.md): the CLI's, and a minimal one
with open(os.path.join(tmp, "forward-slice.safetensors"), "rb") as f:
    out("forward_dump", "tiny-slice-0-1-S2-N1.safetensors", f.read())
out("forward_dump", "minimal-slice-S1-N0.safetensors",
    safetensors([("hidden_out", "F64", [1, 2], raw("F64", 2)), ("decode_hidden_out", "F64", [0, 2], b"")],
                {"format": "minimax01-forward-slice-v1", "backend": "ref-f64", "layers": "3:5",
                 "num_hidden_layers": "8", "tokens_sha256": "0" * 64}))

# --- config.json ---------------------------------------------------------------------------------------
off = json.load(open(os.path.join(tmp, "official", "config.json")))
hf = json.load(open(os.path.join(tmp, "hf", "config.json")))
out("config", "tiny-official.json", json.dumps(off, indent=2))
out("config", "tiny-hf.json", json.dumps(hf, indent=2))
out("config", "tiny-slice.json", json.dumps(dict(off, minimax01_layers=[2, 5]), indent=2))
vl = {"model_type": "minimax_vl_01", "architectures": ["MiniMaxVL01ForConditionalGeneration"],
      "text_config": dict(off, shared_intermediate_size=[0]), "vision_config": {"model_type": "clip_vision_model"}}
out("config", "tiny-vl01.json", json.dumps(vl, indent=2))
# complete MiniMax-VL-01 configs (vision_config, image token, pinpoints) in both text spellings
out("config", "vl-tiny-official.json", open(os.path.join(tmp, "vl", "config.json")).read())
out("config", "vl-tiny-hf.json", open(os.path.join(tmp, "vl-hf", "config.json")).read())
v5 = {k: v for k, v in hf.items() if k not in ("rope_theta", "partial_rotary_factor", "head_dim")}
v5["rope_parameters"] = {"rope_theta": 10000000, "rope_type": "default", "partial_rotary_factor": 0.5}
out("config", "tiny-hf-rope-parameters.json", json.dumps(v5, indent=2))

# --- shard index -----------------------------------------------------------------------------------------
out("shard_index", "tiny-8-shards.json", open(os.path.join(tmp, "sharded", "model.safetensors.index.json")).read())
# The fixed shards of fuzz/shard_index_fuzz.cpp: a consistent index, and ones naming the shard with a
# NaN weight and the one with an integer tensor.
s1, s2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
wm = {"model.embed_tokens.weight": s1, "model.layers.0.input_layernorm.weight": s1,
      "model.norm.weight": s2, "lm_head.weight": s2}
out("shard_index", "fixture-2-shards.json", json.dumps({"metadata": {"total_size": 108}, "weight_map": wm}, indent=2))
out("shard_index", "fixture-nan-shard.json", json.dumps({"weight_map": {"nan.weight": "extra-nan.safetensors"}}))
out("shard_index", "fixture-int-shard.json", json.dumps({"weight_map": dict(wm, ids="extra-int.safetensors")}))

# --- reports: real ones, each list cut to a few entries ----------------------------------------------------
def trim_check(r):
    for b in r["result"]["backends"]:
        ts, keep, seen = b.get("tensors", []), [], set()
        fd = b.get("first_diverging", {}).get("tensor")
        for t in ts:  # one of each (mode, phase, choices or not), and the first diverging tensor
            k = (t.get("mode"), t["phase"], "choices" in t)
            if k not in seen or t["name"] == fd:
                seen.add(k)
                keep.append(t)
        b["tensors"] = keep
    return r
def trim(r):
    res = r["result"]
    if r["kind"] == "check":
        trim_check(r)
    elif r["kind"] == "soak":
        res["requests"] = res["requests"][:3]
        res["windows"] = res["windows"][:2]
    return r
reports = {}
for name in ("check", "check-fail", "bench", "soak", "bench-interrupted"):
    reports[name] = trim(json.load(open(os.path.join(tmp, name + ".json"))))
    # compact, except one (the writer's own layout, indent 1)
    out("report", name + ".json", json.dumps(reports[name], indent=1 if name == "soak" else None))
sep = "\n----\n"
out("compare", "check-vs-check-fail.txt", json.dumps(reports["check"]) + sep + json.dumps(reports["check-fail"]))
out("compare", "bench-vs-bench.txt", json.dumps(reports["bench"]) + sep + json.dumps(reports["bench"]))
out("compare", "bench-vs-bench-interrupted.txt", json.dumps(reports["bench"]) + sep + json.dumps(reports["bench-interrupted"]))
out("compare", "soak-vs-soak.txt", json.dumps(reports["soak"]) + sep + json.dumps(reports["soak"], indent=1))
PY
# --- image_decode: small PNGs of every colour type and depth, and JPEGs (baseline, progressive, gray,
# CMYK, Adobe RGB, 4:4:4 with restarts, arithmetic), encoded by libpng / libjpeg themselves: the test
# that knows how to make them writes them (tests/core/image_decode_test.cpp, ImageDecodeSeeds.Write).
CORE_TESTS=$(dirname "$CLI")/../tests/core/core_tests
mkdir -p fuzz/corpus/image_decode
MM_WRITE_IMAGE_SEEDS=fuzz/corpus/image_decode "$CORE_TESTS" --gtest_filter=ImageDecodeSeeds.Write >/dev/null
du -sh fuzz/corpus
