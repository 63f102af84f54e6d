#!/usr/bin/env python3
"""Convert a minimax01 checkpoint (config.json + *.safetensors, the official MiniMax-Text-01 tensor
names) to GGUF for llama.cpp's "minimax-01" architecture (llama.cpp >= b10437, as vendored in
llama-cpp-python 0.3.35 at 4df29be4f). bench/llamacpp/README.md has the whole comparison.

Writes what llama.cpp's own converter (conversion/minimax.py, MiniMaxText01Model, on the TextModel
base) writes, without torch or transformers:
  * same GGUF keys (block_count, context_length, embedding_length, feed_forward_length,
    head_count, head_count_kv, rope.freq_base, attention.layer_norm_rms_epsilon,
    expert_count, expert_used_count, attention.key_length/value_length, file_type,
    residual_scale (= the common layernorm alpha), rope.dimension_count (= rotary_dim))
  * experts w1/w3/w2 stacked (dim 0 = expert) into ffn_gate_exps/ffn_up_exps/ffn_down_exps
  * tensor names mapped with gguf-py's TensorNameMap for MODEL_ARCH.MINIMAX01
  * dtype policy of prepare_tensors: 1-D tensors, *_norm.weight and ffn_gate_inp are F32,
    everything else F32 or BF16 according to --outtype
Differences from the upstream converter (our synthetic checkpoints have no tokenizer):
  * vocabulary: tokenizer.ggml.model = "no_vocab" and minimax-01.vocab_size = V
    (llama-vocab.cpp then creates V dummy tokens; token ids and logits work, text does not).
  * the layer pattern is written explicitly as minimax-01.full_attention_interval when
    attn_type_list is "every k-th layer is softmax" (upstream relies on the default 8),
    else as the bool array minimax-01.attention.recurrent_layers.
"""
import argparse
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np

import gguf  # the gguf-py vendored with llama-cpp-python 0.3.35 (bench/llamacpp/setup-venv.sh)


def bf16_to_f32(u16: np.ndarray) -> np.ndarray:
    return (u16.astype(np.uint32) << 16).view(np.float32)


class SafeTensors:
    """Minimal mmap-based safetensors reader (F32/F16/BF16/F64)."""

    def __init__(self, directory: Path):
        self.files = {}
        idx = directory / "model.safetensors.index.json"
        if idx.is_file():
            wm = json.loads(idx.read_text())["weight_map"]
            shard_names = sorted(set(wm.values()))
        else:
            shard_names = sorted(p.name for p in directory.glob("*.safetensors"))
        self.index = {}
        for sn in shard_names:
            path = directory / sn
            with open(path, "rb") as f:
                n = struct.unpack("<Q", f.read(8))[0]
                header = json.loads(f.read(n))
            mm = np.memmap(path, dtype=np.uint8, mode="r")
            for k, v in header.items():
                if k == "__metadata__":
                    continue
                self.index[k] = (mm, 8 + n, v)

    def names(self):
        return list(self.index.keys())

    def get_f32(self, name: str) -> np.ndarray:
        mm, base, v = self.index[name]
        a, b = v["data_offsets"]
        raw = mm[base + a: base + b]
        dt = v["dtype"]
        if dt == "BF16":
            arr = bf16_to_f32(raw.view(np.uint16))
        elif dt == "F16":
            arr = raw.view(np.float16).astype(np.float32)
        elif dt == "F32":
            arr = raw.view(np.float32).copy()
        elif dt == "F64":
            arr = raw.view(np.float64).astype(np.float32)
        else:
            raise ValueError(f"unsupported dtype {dt} for {name}")
        return arr.reshape(v["shape"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--outfile", type=Path, required=True)
    ap.add_argument("--outtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--pattern-array", action="store_true",
                    help="always write attention.recurrent_layers (bool array) instead of full_attention_interval")
    args = ap.parse_args()

    hp = json.loads((args.model_dir / "config.json").read_text())
    st = SafeTensors(args.model_dir)

    arch = gguf.MODEL_ARCH.MINIMAX01
    arch_name = gguf.MODEL_ARCH_NAMES[arch]
    n_layer = hp["num_hidden_layers"]
    n_embd = hp["hidden_size"]
    n_head = hp["num_attention_heads"]
    head_dim = hp.get("head_dim", n_embd // n_head)
    n_vocab = hp["vocab_size"]
    n_expert = hp["num_local_experts"]
    ftype = gguf.LlamaFileType.ALL_F32 if args.outtype == "f32" else gguf.LlamaFileType.MOSTLY_BF16
    wtype = gguf.GGMLQuantizationType.F32 if args.outtype == "f32" else gguf.GGMLQuantizationType.BF16

    # --- checks mirroring MiniMaxText01Model.set_gguf_parameters
    a_full = hp["layernorm_full_attention_alpha"]
    a_lin = hp["layernorm_linear_attention_alpha"]
    a_mlp = hp["layernorm_mlp_alpha"]
    assert a_full == a_lin == a_mlp, "llama.cpp supports only one residual_scale"
    assert hp["layernorm_full_attention_beta"] == hp["layernorm_linear_attention_beta"] == hp["layernorm_mlp_beta"] == 1.0
    if not hp.get("postnorm", True):
        print("WARNING: postnorm=false; llama.cpp minimax-01 graph always uses post-norm residuals", file=sys.stderr)
    if hp.get("shared_intermediate_size", 0):
        raise SystemExit("shared experts are not supported by llama.cpp minimax-01")

    w = gguf.GGUFWriter(str(args.outfile), arch_name)
    w.add_name(args.model_dir.name)
    # TextModel.set_gguf_parameters
    w.add_block_count(n_layer)
    w.add_context_length(hp.get("max_position_embeddings", 4096))
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(hp["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(hp["num_key_value_heads"])
    w.add_rope_freq_base(hp["rope_theta"])
    w.add_layer_norm_rms_eps(hp["rms_norm_eps"])
    w.add_expert_count(n_expert)
    w.add_expert_used_count(hp["num_experts_per_tok"])
    if "head_dim" in hp:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_file_type(ftype)
    # MiniMaxText01Model.set_gguf_parameters
    w.add_residual_scale(a_full)
    w.add_rope_dimension_count(hp["rotary_dim"])
    # layer pattern: attn_type_list 0 = lightning (recurrent), 1 = softmax
    atl = hp.get("attn_type_list") or hp.get("layer_types")
    if atl is None:
        atl = [0 if (i + 1) % 8 else 1 for i in range(n_layer)]
    atl = [1 if (x in (1, "full_attention")) else 0 for x in atl]
    interval = None
    for k in range(1, n_layer + 1):
        if all(atl[i] == (1 if (i + 1) % k == 0 else 0) for i in range(n_layer)):
            interval = k
            break
    if interval is not None and not args.pattern_array:
        w.add_full_attention_interval(interval)
    else:
        w.add_array(f"{arch_name}.attention.recurrent_layers", [bool(x == 0) for x in atl])
    # vocabulary: none (synthetic checkpoint), n_vocab dummy tokens
    w.add_tokenizer_model("no_vocab")
    w.add_vocab_size(n_vocab)

    tmap = gguf.get_tensor_name_map(arch, n_layer)

    def out_type(new_name: str, ndim: int):
        if ndim <= 1 or new_name.endswith("_norm.weight"):
            return gguf.GGMLQuantizationType.F32
        if ".ffn_gate_inp." in new_name:
            return gguf.GGMLQuantizationType.F32
        return wtype

    def add(new_name: str, data: np.ndarray):
        qt = out_type(new_name, data.ndim)
        data = np.ascontiguousarray(data, dtype=np.float32)
        if qt == gguf.GGMLQuantizationType.F32:
            w.add_tensor(new_name, data)
        else:
            q = gguf.quants.quantize(data, qt)
            w.add_tensor(new_name, q, raw_dtype=qt)
        print(f"{new_name:40s} {qt.name:5s} numpy{list(data.shape)} -> ggml ne{list(reversed(data.shape))}")

    names = st.names()
    done = set()
    for name in names:
        if "block_sparse_moe.experts." in name:
            continue
        new = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise SystemExit(f"cannot map tensor {name}")
        add(new, st.get_f32(name))
        done.add(name)
    # stacked experts, as MiniMaxText01Model.modify_tensors
    for bid in range(n_layer):
        for wid in ("w1", "w2", "w3"):
            ens = [f"model.layers.{bid}.block_sparse_moe.experts.{x}.{wid}.weight" for x in range(n_expert)]
            data = np.stack([st.get_f32(e) for e in ens], axis=0)
            new = tmap.get_name(f"layers.{bid}.feed_forward.experts.{wid}.weight", try_suffixes=(".weight",))
            add(new, data)
            done.update(ens)
    missing = set(names) - done
    assert not missing, missing

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    print(f"wrote {args.outfile} ({os.path.getsize(args.outfile) / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
