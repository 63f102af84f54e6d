#!/usr/bin/env python3
"""Golden outputs for the MiniMax-Text-01 C++ reference, from HuggingFace transformers' in-tree
MiniMax model (MiniMaxForCausalLM), patched to the OFFICIAL semantics where HF deviates.

Run with the pinned venv (see golden/README.md):

    golden/setup-venv.sh && .venv-golden/bin/python golden/generate.py

Every case is rebuilt from its seeds; the output is deterministic (bit-for-bit) for a given set of
pinned package versions. CI never runs this script.
"""
# Reproducibility knobs: must be set before torch (and its bundled MKL / OpenMP) load.
import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["MKL_CBWR"] = "COMPATIBLE"  # MKL conditional numerical reproducibility: same bits on any x86 CPU

import argparse
import hashlib
import json
import math
import platform
import shutil
import sys
from collections import OrderedDict

import numpy as np
import safetensors
import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file
from transformers import MiniMaxConfig, MiniMaxForCausalLM
from transformers.models.minimax import modeling_minimax as mm

torch.set_num_threads(1)
torch.backends.mkldnn.enabled = False  # plain MKL/ATen kernels only (oneDNN picks ISA-dependent paths)
torch.use_deterministic_algorithms(True)

GENERATOR_VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))
SAFETENSORS_METADATA = {"format": "pt"}  # what HF writes; fixed, no timestamps

# --------------------------------------------------------------------------------------------------
# Cases. Model shapes are tiny: the C++ golden tests run every case in fp64 and fp32 on 2 cores.
# --------------------------------------------------------------------------------------------------
L_, F_ = 0, 1  # official attn_type_list values: 0 = lightning (linear), 1 = softmax (full)

CASES = [
    dict(
        name="hybrid8_prefill300",
        description="7:1 lightning/softmax pattern (8 layers, layer 7 softmax); 300-token prompt crosses the "
        "256-token lightning block with a partial last block of 44; GQA group 2; partial rotary (8 of 24); "
        "inner width 96 != hidden 64; official config spelling; official rope_theta 1e7.",
        spelling="official",
        seed=1001,
        vocab_size=256, hidden_size=64, intermediate_size=80,
        num_attention_heads=4, num_key_value_heads=2, head_dim=24, rotary_dim=8, rope_theta=10000000.0,
        attn=[L_] * 7 + [F_],
        num_local_experts=4, num_experts_per_tok=2,
        alpha_linear=3.5565588200778455, beta_linear=1.0,
        alpha_full=2.75, beta_full=0.875,
        alpha_mlp=1.9375, beta_mlp=1.125,
        prompt_len=300, decode_steps=5,
        shards=1,
    ),
    dict(
        name="gqa3_heads6_hf",
        description="HF `minimax` config spelling (layer_types, *_alpha_factor, partial_rotary_factor, block_size); "
        "6 heads (not a power of two: ALiBi slope recursion), GQA group size 3 (6 q heads / 2 kv heads); "
        "partial rotary (partial_rotary_factor 0.5 of head_dim 16); 8 experts; alternating layer types.",
        spelling="hf",
        seed=2002,
        vocab_size=320, hidden_size=96, intermediate_size=64,
        num_attention_heads=6, num_key_value_heads=2, head_dim=16, rotary_dim=8, rope_theta=10000.0,
        attn=[L_, F_, L_, F_],
        num_local_experts=8, num_experts_per_tok=2,
        alpha_linear=2.5, beta_linear=1.0,
        alpha_full=2.25, beta_full=1.0,
        alpha_mlp=2.0, beta_mlp=0.75,
        prompt_len=40, decode_steps=6,
        shards=1,
    ),
    dict(
        name="full_rotary_mha5_official",
        description="Full rotary (rotary_dim == head_dim == 16); 5 heads (not a power of two), MHA (kv heads == "
        "heads); the FIRST layer is softmax (pattern softmax, lightning, softmax); official config spelling.",
        spelling="official",
        seed=3003,
        vocab_size=200, hidden_size=64, intermediate_size=48,
        num_attention_heads=5, num_key_value_heads=5, head_dim=16, rotary_dim=16, rope_theta=1000000.0,
        attn=[F_, L_, F_],
        num_local_experts=4, num_experts_per_tok=2,
        alpha_linear=1.75, beta_linear=1.0,
        alpha_full=2.125, beta_full=1.0,
        alpha_mlp=1.5, beta_mlp=1.0,
        prompt_len=33, decode_steps=4,
        shards=1,
    ),
    dict(
        name="sharded_experts12_hf",
        description="Sharded checkpoint (3 shards + model.safetensors.index.json); 12 experts top-2 with a clear "
        "top-2 margin; 8 q heads on 1 kv head (GQA group 8, as Text-01); inner width 128 != hidden 64; "
        "HF config spelling.",
        spelling="hf",
        seed=4004,
        vocab_size=512, hidden_size=64, intermediate_size=48,
        num_attention_heads=8, num_key_value_heads=1, head_dim=16, rotary_dim=8, rope_theta=10000000.0,
        attn=[L_, L_, L_, F_],
        num_local_experts=12, num_experts_per_tok=2,
        alpha_linear=3.0, beta_linear=1.0,
        alpha_full=3.0, beta_full=1.0,
        alpha_mlp=3.0, beta_mlp=1.0,
        prompt_len=64, decode_steps=4,
        shards=3,
    ),
    dict(
        name="decode_heavy_official",
        description="Decode-heavy: 5-token prompt then 20 decode steps through the caches (lightning recurrence "
        "and softmax KV cache); the last layer is lightning; small partial rotary (4 of 16); official spelling.",
        spelling="official",
        seed=5005,
        vocab_size=256, hidden_size=64, intermediate_size=64,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, rotary_dim=4, rope_theta=10000000.0,
        attn=[L_, L_, F_, L_],
        num_local_experts=4, num_experts_per_tok=2,
        alpha_linear=2.5, beta_linear=1.0,
        alpha_full=2.5, beta_full=1.0,
        alpha_mlp=2.5, beta_mlp=1.0,
        prompt_len=5, decode_steps=20,
        shards=1,
    ),
    dict(
        name="two_blocks_plus_one_hf",
        description="Long prefill: 513 tokens = two full 256-token lightning blocks plus a 1-token partial block "
        "(multi-block state carry); 2 layers (lightning, softmax); HF config spelling; 4 decode steps.",
        spelling="hf",
        seed=6006,
        vocab_size=128, hidden_size=64, intermediate_size=32,
        num_attention_heads=2, num_key_value_heads=1, head_dim=32, rotary_dim=16, rope_theta=10000000.0,
        attn=[L_, F_],
        num_local_experts=4, num_experts_per_tok=2,
        alpha_linear=2.0, beta_linear=1.0,
        alpha_full=2.0, beta_full=1.0,
        alpha_mlp=2.0, beta_mlp=1.0,
        prompt_len=513, decode_steps=4,
        shards=1,
    ),
]

BLOCK_SIZE = 256
RMS_NORM_EPS = 1e-5
MAX_POS = 4096
ROUTER_MARGIN_MIN = 1e-3  # min gap between the k-th and (k+1)-th router logit, every token and layer

# Labelled HF deviations handled by this generator (copied into every manifest).
HF_PATCHES = [
    "ROPE_PARTIAL: HF rotates the whole head (rotary_dim / partial_rotary_factor ignored); patched "
    "apply_rotary_pos_emb to the OFFICIAL partial NeoX form: only the first rotary_dim dims of each q/k head, pairs "
    "(i, i + rotary_dim/2), dims >= rotary_dim pass through. Applied in every case (also rotary_dim == head_dim).",
    "ROPE_TABLE: HF builds inv_freq with an fp32 pow over head_dim and cos/sin in fp32; replaced by the project "
    "convention inv_freq[i] = fp32(1 / base**(2i/rotary_dim) in double), angle = fp32(fp32(pos) * inv_freq[i]), "
    "cos/sin = double cos/sin of that fp32 angle (rounded to fp32 in float32 runs); pos = absolute index.",
    "SLOPES: HF uses 2**(-8(h+1)/n) for every n (no ALiBi recursion for non-power-of-two head counts), computed in "
    "fp32; replaced by OFFICIAL _build_slope_tensor (python double, closest-power-of-two recursion) rounded to fp32.",
    "LAYER_FACTOR: HF uses f_l = 1 - l/(L-1+1e-5) + 1e-5; replaced by OFFICIAL f_l = fp32(1 - l/(L-1) + 1e-5); "
    "s = fp32(fp32(slope) * f_l).",
    "DECAY_BUFFERS: HF's slope_rate/query_decay/key_decay/diagonal_decay buffers are computed in fp32 at init; "
    "rebuilt from the official s as exp(-s*n) in float64 (rounded to fp32 in float32 runs).",
    "RMSNORM_PRECISION: HF's MiniMaxRMSNorm always computes in float32 (a float64 run would be rounded to fp32); "
    "patched to compute in max(input dtype, float32). Formula unchanged: w * (x * rsqrt(mean(x^2) + eps)).",
    "ROUTER_SOFTMAX_PRECISION: HF's MoE router softmax is hard-coded to float32; patched to max(input dtype, "
    "float32). Order unchanged: softmax -> top-k -> renormalize (as OFFICIAL).",
    "ATTN_SOFTMAX_PRECISION: HF's eager attention softmax is hard-coded to float32; patched to max(input dtype, "
    "float32). Scale 1/sqrt(head_dim), causal, GQA (q head h uses kv head h // group).",
    "CAUSAL_MASK: HF sizes the causal mask from cache layer 0, which is empty when layer 0 is lightning; the "
    "patched eager attention builds the bottom-right-aligned causal mask from (q_len, kv_len) itself (batch 1, "
    "no padding).",
    "CACHE_POSITION: HF's default cache_position reads cache.get_seq_length(0), which is 0 when layer 0 is "
    "lightning (positions would restart at 0 in decode); the generator passes cache_position/position_ids "
    "= absolute positions explicitly.",
    "CONFIG_SPELLING: HF cannot read the official spelling (attn_type_list, layernorm_*_alpha/beta, postnorm, "
    "rotary_dim); the generator translates it explicitly to MiniMaxConfig. postnorm=true is the only form HF "
    "implements (hard-wired) and the only one used.",
]

HF_VERIFIED_SAME = [
    "lightning inner RMSNorm eps = 1e-6 (HF MiniMaxRMSNorm default) == OFFICIAL",
    "post-norm residual (residual = normed input, y = alpha*n + beta*branch) == OFFICIAL postnorm=true",
    "MoE routing softmax -> top-k -> renormalize, SwiGLU experts w2(silu(w1 x) * w3 x) == OFFICIAL",
    "lightning: silu on the whole qkv output, per-head interleaved [q|k|v] rows, no 1/sqrt(d), no normalizer; "
    "prefill block form with q_decay exp(-s(j+1)), k_decay[-m:], block decay exp(-s m) (== recurrence); decode "
    "recurrence S = exp(-s) S + k^T v, o = q S == OFFICIAL (up to bf16 rounding points, absent in fp64/fp32 runs)",
    "output gate sigmoid(output_gate(x)) * norm(o) from the same normed input x == OFFICIAL",
    "untied lm_head, plain embedding lookup (no scaling), final RMSNorm eps rms_norm_eps == OFFICIAL",
    "softmax-attention K/V cache holds post-RoPE K == OFFICIAL",
]


# --------------------------------------------------------------------------------------------------
# Official numerics helpers (pure python / numpy, independent of HF)
# --------------------------------------------------------------------------------------------------
def official_slopes(n):
    """OFFICIAL _build_slope_tensor, in python double (before the fp32 cast)."""

    def pow2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        ratio = start
        return [start * ratio**i for i in range(n)]

    if math.log2(n).is_integer():
        return pow2(n)
    closest = 2 ** math.floor(math.log2(n))
    return pow2(closest) + official_slopes(2 * closest)[0::2][: n - closest]


def official_s(n_heads, layer, n_layers):
    """fp32 per-head decay rate s_{l,h} = fp32(fp32(slope_h) * fp32(1 - l/(L-1) + 1e-5))."""
    slope = np.array(official_slopes(n_heads), dtype=np.float64).astype(np.float32)
    f = np.float32(1 - layer / (n_layers - 1) + 1e-5)
    return (slope * f).astype(np.float32)  # fp32 * fp32 -> fp32 (one rounding)


def rope_cos_sin(positions, rotary_dim, base, dtype):
    """[S, rotary_dim] cos/sin (emb = cat(freqs, freqs)), project convention."""
    i = np.arange(rotary_dim // 2)
    inv = np.array([1.0 / (base ** (2.0 * k / rotary_dim)) for k in i], dtype=np.float64).astype(np.float32)
    pos = np.asarray(positions, dtype=np.float32)
    ang = (pos[:, None] * inv[None, :]).astype(np.float32)  # one fp32 multiply
    ang = np.concatenate([ang, ang], axis=1).astype(np.float64)
    cos, sin = np.cos(ang), np.sin(ang)
    if dtype == torch.float32:
        cos, sin = cos.astype(np.float32), sin.astype(np.float32)
    return torch.from_numpy(cos).to(dtype), torch.from_numpy(sin).to(dtype)


# --------------------------------------------------------------------------------------------------
# Patches of HF's MiniMax module (module-level, applied once; each labelled in HF_PATCHES)
# --------------------------------------------------------------------------------------------------
def _rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def patched_apply_rotary_pos_emb(q, k, cos, sin, position_ids=None, unsqueeze_dim=1):  # ROPE_PARTIAL
    rd = cos.shape[-1]
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    q_rot, q_pass = q[..., :rd], q[..., rd:]
    k_rot, k_pass = k[..., :rd], k[..., rd:]
    q_rot = q_rot * cos + _rotate_half(q_rot) * sin
    k_rot = k_rot * cos + _rotate_half(k_rot) * sin
    return torch.cat((q_rot, q_pass), dim=-1), torch.cat((k_rot, k_pass), dim=-1)


def patched_rmsnorm_forward(self, hidden_states):  # RMSNORM_PRECISION
    input_dtype = hidden_states.dtype
    cdt = torch.promote_types(input_dtype, torch.float32)
    h = hidden_states.to(cdt)
    variance = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(variance + self.variance_epsilon)
    return self.weight * h.to(input_dtype)


def patched_moe_forward(self, hidden_states):  # ROUTER_SOFTMAX_PRECISION (otherwise HF 4.57.6 verbatim)
    batch_size, sequence_length, hidden_dim = hidden_states.shape
    hidden_states = hidden_states.view(-1, hidden_dim)
    router_logits = self.gate(hidden_states)
    probs = F.softmax(router_logits, dim=1, dtype=torch.promote_types(router_logits.dtype, torch.float32))
    routing_weights, selected_experts = torch.topk(probs, self.top_k, dim=-1)
    routing_weights = routing_weights / routing_weights.sum(dim=-1, keepdim=True)
    routing_weights = routing_weights.to(hidden_states.dtype)
    self._golden_probs = probs.detach().clone()
    self._golden_experts = selected_experts.detach().clone()
    final = torch.zeros((batch_size * sequence_length, hidden_dim), dtype=hidden_states.dtype)
    expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
    expert_hit = torch.greater(expert_mask.sum(dim=(-1, -2)), 0).nonzero()
    for expert_idx in expert_hit:
        expert_layer = self.experts[expert_idx]
        idx, top_x = torch.where(expert_mask[expert_idx].squeeze(0))
        current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
        current = expert_layer(current_state) * routing_weights[top_x, idx, None]
        final.index_add_(0, top_x, current.to(hidden_states.dtype))
    return final.reshape(batch_size, sequence_length, hidden_dim), router_logits


def patched_eager_attention_forward(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    # ATTN_SOFTMAX_PRECISION + CAUSAL_MASK
    key_states = mm.repeat_kv(key, module.num_key_value_groups)
    value_states = mm.repeat_kv(value, module.num_key_value_groups)
    q_len, kv_len = query.shape[-2], key_states.shape[-2]
    w = torch.matmul(query, key_states.transpose(2, 3)) * scaling
    qi = torch.arange(q_len)[:, None] + (kv_len - q_len)
    kj = torch.arange(kv_len)[None, :]
    w = w.masked_fill(kj > qi, float("-inf"))
    w = F.softmax(w, dim=-1, dtype=torch.promote_types(query.dtype, torch.float32)).to(query.dtype)
    out = torch.matmul(w, value_states).transpose(1, 2).contiguous()
    return out, w


mm.apply_rotary_pos_emb = patched_apply_rotary_pos_emb
mm.MiniMaxRMSNorm.forward = patched_rmsnorm_forward
mm.MiniMaxSparseMoeBlock.forward = patched_moe_forward
mm.eager_attention_forward = patched_eager_attention_forward


class OfficialRotary(torch.nn.Module):
    """Replaces MiniMaxRotaryEmbedding (ROPE_TABLE): returns [1, S, rotary_dim] cos/sin."""

    def __init__(self, rotary_dim, base):
        super().__init__()
        self.rotary_dim, self.base = rotary_dim, base

    def forward(self, x, position_ids):
        assert position_ids.shape[0] == 1
        cos, sin = rope_cos_sin(position_ids[0].tolist(), self.rotary_dim, self.base, x.dtype)
        return cos[None], sin[None]


def patch_lightning_buffers(attn, n_layers, dtype):  # SLOPES + LAYER_FACTOR + DECAY_BUFFERS
    s32 = official_s(attn.num_attention_heads, attn.layer_idx, n_layers)
    s = torch.from_numpy(s32.astype(np.float64))[:, None, None]  # exact fp32 values, in double
    j = torch.arange(attn.block_size, dtype=torch.float64) + 1
    q_decay = torch.exp(-s * j[:, None])
    k_decay = torch.exp(-s * (attn.block_size - j[:, None]))
    diff = j[:, None] - j[None, :]
    diag = torch.where(diff[None, None] >= 0, -s[None] * diff[None, None], torch.tensor(float("-inf"), dtype=torch.float64))
    diag = torch.exp(diag)
    for name, val in (("slope_rate", s), ("query_decay", q_decay), ("key_decay", k_decay), ("diagonal_decay", diag)):
        old = getattr(attn, name)
        assert old.shape == val.shape, (name, old.shape, val.shape)
        setattr(attn, name, val.to(dtype))  # buffers stay registered
    return s32


# --------------------------------------------------------------------------------------------------
# Config, weights, checkpoint
# --------------------------------------------------------------------------------------------------
def layer_type_name(t):
    return "linear_attention" if t == L_ else "full_attention"


def config_json(c):
    """config.json in the case's spelling, explicit keys, sorted on write."""
    common = {
        "attention_dropout": 0.0,
        "bos_token_id": None,
        "eos_token_id": None,
        "head_dim": c["head_dim"],
        "hidden_act": "silu",
        "hidden_size": c["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": c["intermediate_size"],
        "max_position_embeddings": MAX_POS,
        "num_attention_heads": c["num_attention_heads"],
        "num_experts_per_tok": c["num_experts_per_tok"],
        "num_hidden_layers": len(c["attn"]),
        "num_key_value_heads": c["num_key_value_heads"],
        "num_local_experts": c["num_local_experts"],
        "output_router_logits": False,
        "rms_norm_eps": RMS_NORM_EPS,
        "rope_theta": c["rope_theta"],
        "router_aux_loss_coef": 0.001,
        "router_jitter_noise": 0.0,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "use_cache": True,
        "vocab_size": c["vocab_size"],
    }
    if c["spelling"] == "official":
        common.update({
            "architectures": ["MiniMaxText01ForCausalLM"],
            "auto_map": {
                "AutoConfig": "configuration_minimax_text_01.MiniMaxText01Config",
                "AutoModelForCausalLM": "modeling_minimax_text_01.MiniMaxText01ForCausalLM",
            },
            "attn_type_list": list(c["attn"]),
            "layernorm_full_attention_alpha": c["alpha_full"],
            "layernorm_full_attention_beta": c["beta_full"],
            "layernorm_linear_attention_alpha": c["alpha_linear"],
            "layernorm_linear_attention_beta": c["beta_linear"],
            "layernorm_mlp_alpha": c["alpha_mlp"],
            "layernorm_mlp_beta": c["beta_mlp"],
            "model_type": "minimax_text_01",
            "postnorm": True,
            "rotary_dim": c["rotary_dim"],
            "shared_intermediate_size": 0,
            "shared_moe_mode": "sigmoid",
        })
    else:
        common.update({
            "architectures": ["MiniMaxForCausalLM"],
            "block_size": BLOCK_SIZE,
            "full_attn_alpha_factor": c["alpha_full"],
            "full_attn_beta_factor": c["beta_full"],
            "layer_types": [layer_type_name(t) for t in c["attn"]],
            "linear_attn_alpha_factor": c["alpha_linear"],
            "linear_attn_beta_factor": c["beta_linear"],
            "mlp_alpha_factor": c["alpha_mlp"],
            "mlp_beta_factor": c["beta_mlp"],
            "model_type": "minimax",
            "partial_rotary_factor": c["rotary_dim"] / c["head_dim"],
            "torch_dtype": "bfloat16",
        })
    return common


def hf_runtime_config(cfg):
    """Build HF's MiniMaxConfig from the config.json dict (explicit translation for the official spelling)."""
    d = dict(cfg)
    if d["model_type"] == "minimax_text_01":
        assert d.pop("postnorm") is True, "HF implements post-norm only"
        d["layer_types"] = [layer_type_name(t) for t in d.pop("attn_type_list")]
        for off, hf in (("full_attention", "full_attn"), ("linear_attention", "linear_attn"), ("mlp", "mlp")):
            d[f"{hf}_alpha_factor"] = d.pop(f"layernorm_{off}_alpha")
            d[f"{hf}_beta_factor"] = d.pop(f"layernorm_{off}_beta")
        rotary_dim = d.pop("rotary_dim")
        for k in ("auto_map", "shared_intermediate_size", "shared_moe_mode"):
            d.pop(k)
        d["block_size"] = BLOCK_SIZE
    else:
        rotary_dim = int(round(d["partial_rotary_factor"] * d["head_dim"]))
    for k in ("architectures", "model_type", "torch_dtype"):
        d.pop(k, None)
    d.pop("partial_rotary_factor", None)  # HF 4.57 rope init would build a too-narrow table; RoPE is replaced
    hf = MiniMaxConfig(**d)
    hf._attn_implementation = "eager"
    return hf, rotary_dim


def draw_weights(c, seed):
    """Seeded weights in the OFFICIAL checkpoint names, rounded to bf16. Returns OrderedDict name -> bf16."""
    rng = np.random.Generator(np.random.PCG64(seed))
    H, I, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    nh, nkv, hd, E = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c["num_local_experts"]
    inner = nh * hd
    w = OrderedDict()

    def normal(shape, std, mean=0.0):
        return mean + std * rng.standard_normal(shape)

    def put(name, arr):
        w[name] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64)).to(torch.float32).to(torch.bfloat16)

    put("model.embed_tokens.weight", normal((V, H), 1.0))
    for l, t in enumerate(c["attn"]):
        p = f"model.layers.{l}."
        put(p + "input_layernorm.weight", normal((H,), 0.05, 1.0))
        put(p + "post_attention_layernorm.weight", normal((H,), 0.05, 1.0))
        if t == L_:
            put(p + "self_attn.qkv_proj.weight", normal((3 * inner, H), 1.0 / math.sqrt(H)))
            put(p + "self_attn.output_gate.weight", normal((inner, H), 1.0 / math.sqrt(H)))
            put(p + "self_attn.norm.weight", normal((inner,), 0.05, 1.0))
            put(p + "self_attn.out_proj.weight", normal((H, inner), 1.0 / math.sqrt(inner)))
        else:
            put(p + "self_attn.q_proj.weight", normal((inner, H), 1.0 / math.sqrt(H)))
            put(p + "self_attn.k_proj.weight", normal((nkv * hd, H), 1.0 / math.sqrt(H)))
            put(p + "self_attn.v_proj.weight", normal((nkv * hd, H), 1.0 / math.sqrt(H)))
            put(p + "self_attn.o_proj.weight", normal((H, inner), 1.0 / math.sqrt(inner)))
        put(p + "block_sparse_moe.gate.weight", normal((E, H), 3.0 / math.sqrt(H)))
        for e in range(E):
            q = p + f"block_sparse_moe.experts.{e}."
            put(q + "w1.weight", normal((I, H), 1.0 / math.sqrt(H)))
            put(q + "w2.weight", normal((H, I), 1.0 / math.sqrt(I)))
            put(q + "w3.weight", normal((I, H), 1.0 / math.sqrt(H)))
    put("model.norm.weight", normal((H,), 0.05, 1.0))
    put("lm_head.weight", normal((V, H), 2.0 / math.sqrt(H)))
    return w


def official_to_hf_name(name):
    """Explicit checkpoint -> transformers 4.57.6 in-memory name map. In this version the in-tree module tree
    uses exactly the official names (experts as a ModuleList with w1/w2/w3), so the map is the identity;
    build_model() asserts that every HF parameter is covered and nothing is left over."""
    return name


def shard_plan(names, c):
    """Assign tensors to shards: shard 1 = embedding + first layers, last shard = last layers + norm + head."""
    n = c["shards"]
    if n == 1:
        return {k: "model.safetensors" for k in names}
    L = len(c["attn"])
    out = {}
    for k in names:
        if k.startswith("model.layers."):
            l = int(k.split(".")[2])
            i = min(n - 1, l * n // L)
        elif k == "model.embed_tokens.weight":
            i = 0
        else:
            i = n - 1
        out[k] = f"model-{i + 1:05d}-of-{n:05d}.safetensors"
    return out


def write_checkpoint(d, weights, c):
    plan = shard_plan(list(weights), c)
    files = sorted(set(plan.values()))
    for f in files:
        save_file({k: v for k, v in weights.items() if plan[k] == f}, os.path.join(d, f), metadata=SAFETENSORS_METADATA)
    if c["shards"] > 1:
        total = sum(v.numel() * v.element_size() for v in weights.values())
        index = {"metadata": {"total_size": total}, "weight_map": {k: plan[k] for k in sorted(plan)}}
        write_json(os.path.join(d, "model.safetensors.index.json"), index)
    return files


def read_checkpoint(d):
    """Read back exactly what was written (through the index when sharded)."""
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for f in files:
        out.update(load_file(os.path.join(d, f)))
    return out


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------
# HF model build + capture
# --------------------------------------------------------------------------------------------------
def build_model(cfg, ckpt, dtype):
    hf_cfg, rotary_dim = hf_runtime_config(cfg)
    torch.manual_seed(0)  # HF random init is overwritten below; seeded anyway
    model = MiniMaxForCausalLM(hf_cfg)
    assert model.config._attn_implementation == "eager", model.config._attn_implementation
    sd = {official_to_hf_name(k): v.to(torch.float32) for k, v in ckpt.items()}
    params = {k for k, _ in model.named_parameters()}
    assert params == set(sd), (sorted(params ^ set(sd)))[:10]
    missing, unexpected = model.load_state_dict(sd, strict=False)
    derived = {"slope_rate", "query_decay", "key_decay", "diagonal_decay"}
    assert not unexpected, unexpected
    assert all(m.rsplit(".", 1)[1] in derived for m in missing), missing
    model = model.to(dtype).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    model.model.rotary_emb = OfficialRotary(rotary_dim, float(hf_cfg.rope_theta))
    slopes = {}
    L = hf_cfg.num_hidden_layers
    for l, layer in enumerate(model.model.layers):
        if isinstance(layer.self_attn, mm.MiniMaxLightningAttention):
            slopes[l] = patch_lightning_buffers(layer.self_attn, L, dtype)
            assert layer.self_attn.norm.variance_epsilon == 1e-6
    return model, hf_cfg, rotary_dim, slopes


def run_case(model, hf_cfg, prompt, decode_tokens):
    """Prefill then decode through HF's MiniMaxCache. Returns OrderedDict name -> float tensor (run dtype)."""
    layers = model.model.layers
    rec = {}
    hooks = []

    def hook(key):
        def fn(mod, inp, out):
            rec[key] = out
        return fn

    for l, layer in enumerate(layers):
        hooks.append(layer.self_attn.register_forward_hook(hook(("attn", l))))
        hooks.append(layer.block_sparse_moe.register_forward_hook(hook(("moe", l))))
        hooks.append(layer.register_forward_hook(hook(("layer", l))))
    hooks.append(model.model.norm.register_forward_hook(hook(("final_norm",))))

    out = OrderedDict()
    types = hf_cfg.layer_types

    def collect(out, prefix, logits):
        for l in range(len(layers)):
            a = rec[("attn", l)]
            out[f"{prefix}layers.{l}.attn_out"] = a[0][0]
            moe_out, router_logits = rec[("moe", l)]
            out[f"{prefix}layers.{l}.moe_out"] = moe_out[0]
            out[f"{prefix}layers.{l}.router_logits"] = router_logits
            out[f"{prefix}layers.{l}.router_probs"] = layers[l].block_sparse_moe._golden_probs
            out[f"{prefix}layers.{l}.router_experts"] = layers[l].block_sparse_moe._golden_experts
            lo = rec[("layer", l)]
            out[f"{prefix}layers.{l}.output"] = (lo[0] if isinstance(lo, tuple) else lo)[0]
        out[f"{prefix}final_norm"] = rec[("final_norm",)][0]
        out[f"{prefix}logits"] = logits[0]

    S = len(prompt)
    cache = mm.MiniMaxCache()
    with torch.no_grad():
        pos = torch.arange(S)
        o = model(input_ids=torch.tensor([prompt]), past_key_values=cache, use_cache=True,
                  cache_position=pos, position_ids=pos[None])
        collect(out, "", o.logits)
        for l, t in enumerate(types):
            if t == "linear_attention":
                out[f"layers.{l}.lightning_state"] = cache.linear_cache[l][0].clone()
            else:
                out[f"layers.{l}.k_cache"] = cache.layers[l].keys[0].transpose(0, 1).clone()
                out[f"layers.{l}.v_cache"] = cache.layers[l].values[0].transpose(0, 1).clone()
        steps = []
        for i, tok in enumerate(decode_tokens):
            rec.clear()
            p = torch.tensor([S + i])
            o = model(input_ids=torch.tensor([[tok]]), past_key_values=cache, use_cache=True,
                      cache_position=p, position_ids=p[None])
            step = OrderedDict()
            collect(step, "decode.", o.logits)
            steps.append(step)
        for k in steps[0]:
            name = "decode_logits" if k == "decode.logits" else k
            out[name] = torch.cat([s[k] for s in steps], dim=0)
        for l, t in enumerate(types):
            if t == "linear_attention":
                out[f"decode.layers.{l}.lightning_state"] = cache.linear_cache[l][0].clone()
            else:
                n = len(decode_tokens)
                out[f"decode.layers.{l}.k_cache"] = cache.layers[l].keys[0, :, S:S + n].transpose(0, 1).clone()
                out[f"decode.layers.{l}.v_cache"] = cache.layers[l].values[0, :, S:S + n].transpose(0, 1).clone()
                assert cache.layers[l].keys.shape[2] == S + n
    for h in hooks:
        h.remove()
    return out


def router_margin(logits, k):
    top = torch.topk(logits.to(torch.float64), k + 1, dim=-1).values
    return float((top[:, k - 1] - top[:, k]).min())


def err_stats(ref, x):
    ref = ref.to(torch.float64)
    x = x.to(torch.float64)
    d = x - ref
    nr = float(torch.linalg.vector_norm(ref))
    return {
        "rel_fro": float(torch.linalg.vector_norm(d)) / nr if nr > 0 else float(torch.linalg.vector_norm(d)),
        "max_abs": float(d.abs().max()) if d.numel() else 0.0,
    }


def tolerances(name, ref, f32_err):
    """fp64: ~1e-10 relative (orders of magnitude above summation-order noise, far below any formula error);
    fp32: 20x the HF float32-vs-float64 error on this tensor, floored at 1e-5 relative."""
    amax = float(ref.abs().max()) if ref.numel() else 0.0
    scale = max(1.0, amax)
    if name.endswith("router_experts"):
        return {"exact": True}, {"exact": True}
    t64 = {"rel_fro": 1e-10, "max_abs": float(f"{1e-10 * scale:.3g}")}
    t32 = {
        "rel_fro": float(f"{max(1e-5, 20 * f32_err['rel_fro']):.3g}"),
        "max_abs": float(f"{max(1e-5 * scale, 20 * f32_err['max_abs']):.3g}"),
    }
    return t64, t32


# --------------------------------------------------------------------------------------------------
def generate_case(c, out_root):
    d = os.path.join(out_root, c["name"])
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    cfg = config_json(c)
    write_json(os.path.join(d, "config.json"), cfg)
    k = c["num_experts_per_tok"]

    attempt = 0
    while True:
        wseed = c["seed"] * 100 + attempt
        weights = draw_weights(c, wseed)
        rng = np.random.Generator(np.random.PCG64(c["seed"] * 100 + 99))
        prompt = [int(t) for t in rng.integers(0, c["vocab_size"], c["prompt_len"])]
        decode = [int(t) for t in rng.integers(0, c["vocab_size"], c["decode_steps"])]
        # checkpoint first, then run HF on what was read back from disk
        for f in os.listdir(d):
            if f.startswith("model"):
                os.remove(os.path.join(d, f))
        files = write_checkpoint(d, weights, c)
        ckpt = read_checkpoint(d)
        assert set(ckpt) == set(weights) and all(torch.equal(ckpt[n], weights[n]) for n in weights)
        assert all(v.dtype == torch.bfloat16 for v in ckpt.values())

        res = {}
        for dt in (torch.float64, torch.float32):
            model, hf_cfg, rotary_dim, slopes = build_model(cfg, ckpt, dt)
            res[dt] = run_case(model, hf_cfg, prompt, decode)
        r64, r32 = res[torch.float64], res[torch.float32]
        margins = {}
        for name, v in r64.items():
            if name.endswith("router_logits"):
                margins[name] = router_margin(v, k)
        same_experts = all(torch.equal(r64[n], r32[n]) for n in r64 if n.endswith("router_experts"))
        min_margin = min(margins.values())
        if min_margin >= ROUTER_MARGIN_MIN and same_experts:
            break
        print(f"  {c['name']}: weight seed {wseed} rejected (min router margin {min_margin:.3g}, "
              f"fp32 experts agree: {same_experts}); redrawing", flush=True)
        attempt += 1
        assert attempt < 50

    write_json(os.path.join(d, "inputs.json"), {"prompt_tokens": prompt, "decode_tokens": decode})
    e64 = OrderedDict((n, v.to(torch.float64).contiguous()) for n, v in r64.items())
    e32 = OrderedDict((n, v.to(torch.float32).contiguous()) for n, v in r32.items())
    save_file(dict(e64), os.path.join(d, "expected.safetensors"), metadata=SAFETENSORS_METADATA)
    save_file(dict(e32), os.path.join(d, "expected_f32.safetensors"), metadata=SAFETENSORS_METADATA)

    tensors = {}
    for n in sorted(e64):
        f32_err = err_stats(e64[n], e32[n])
        t64, t32 = tolerances(n, e64[n], f32_err)
        tensors[n] = {
            "shape": list(e64[n].shape),
            "dtype": "F64",
            "dtype_f32_file": "F32",
            "hf_f32_vs_f64": {"rel_fro": float(f"{f32_err['rel_fro']:.3g}"), "max_abs": float(f"{f32_err['max_abs']:.3g}")},
            "tol_fp64": t64,
            "tol_fp32": t32,
        }
    L = len(c["attn"])
    nh = c["num_attention_heads"]
    manifest = {
        "case": c["name"],
        "description": c["description"],
        "generator": "golden/generate.py",
        "generator_version": GENERATOR_VERSION,
        "implementation": "transformers MiniMaxForCausalLM (in-tree modeling_minimax.py), eager attention, CPU, "
        "batch 1, no attention_mask, patched as listed in hf_patches",
        "config_spelling": c["spelling"],
        "model_type": cfg["model_type"],
        "checkpoint_files": files + (["model.safetensors.index.json"] if c["shards"] > 1 else []),
        "checkpoint_dtype": "BF16",
        "seeds": {
            "case_seed": c["seed"],
            "weights_seed": wseed,
            "weights_redraws": attempt,
            "tokens_seed": c["seed"] * 100 + 99,
            "rng": "numpy.random.Generator(PCG64(seed)); weights drawn in checkpoint order (see draw_weights)",
        },
        "weight_init": "normal, rounded to bf16: embed std 1; projections std 1/sqrt(fan_in); lm_head std "
        "2/sqrt(hidden); router gate std 3/sqrt(hidden); RMSNorm weights 1 + 0.05*N(0,1)",
        "prompt_len": len(prompt),
        "decode_steps": len(decode),
        "layer_types": [layer_type_name(t) for t in c["attn"]],
        "rotary_dim": c["rotary_dim"],
        "lightning_block_size": BLOCK_SIZE,
        "lightning_decay_rates_fp32": {str(l): [float(x) for x in official_s(nh, l, L)]
                                       for l, t in enumerate(c["attn"]) if t == L_},
        "router_min_margin": {n.replace(".router_logits", ""): float(f"{m:.6g}") for n, m in sorted(margins.items())},
        "router_margin_required": ROUTER_MARGIN_MIN,
        "conventions": {
            "positions": "absolute: prompt token i at position i, decode step t at position prompt_len + t",
            "decode": "decode_tokens[t] is fed at step t (teacher forcing, not sampled); decode_* tensors are "
            "stacked over steps, row t = outputs for the token fed at step t",
            "attn_out": "self_attn output (after out_proj / o_proj), before the residual",
            "moe_out": "block_sparse_moe output, before the residual",
            "output": "decoder layer output alpha_mlp*n2 + beta_mlp*moe_out",
            "router_logits": "gate(x) [T, E]",
            "router_probs": "softmax over all E experts [T, E]",
            "router_experts": "top-k expert ids [T, k] as F64, in descending probability order (torch.topk)",
            "lightning_state": "[heads, head_dim(key), head_dim(value)] state after the prefill "
            "(decode.layers.N.lightning_state: after the last decode step)",
            "k_cache/v_cache": "[S, kv_heads, head_dim], K post-RoPE (decode.*: the rows appended by decode steps)",
            "logits": "lm_head(final_norm) [S, V]; decode_logits [N, V]",
        },
        "tolerance_rule": "pass when rel_fro = ||x-ref||_F/||ref||_F <= tol.rel_fro AND max|x-ref| <= tol.max_abs; "
        "router_experts must match exactly (every margin here >= router_margin_required). tol_fp64 is for the fp64 "
        "reference vs expected.safetensors; tol_fp32 for the fp32 reference vs expected.safetensors (20x the HF "
        "float32 error, floor 1e-5 relative).",
        "hf_patches": HF_PATCHES,
        "hf_verified_same_as_official": HF_VERIFIED_SAME,
        "tensors": tensors,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "safetensors": safetensors.__version__,
            "numpy": np.__version__,
        },
    }
    manifest["sha256"] = {f: sha256(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f != "manifest.json"}
    write_json(os.path.join(d, "manifest.json"), manifest)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    worst32 = max(t["hf_f32_vs_f64"]["rel_fro"] for t in tensors.values())
    print(f"{c['name']}: {len(tensors)} tensors, {size / 1e6:.2f} MB, min router margin {min_margin:.3g}, "
          f"worst HF f32-vs-f64 rel_fro {worst32:.3g}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "cases"), help="output root (default golden/cases)")
    ap.add_argument("--case", action="append", help="only this case (repeatable)")
    args = ap.parse_args()
    # sanity: the official slope recursion gives the known values for n = 64 (head 0: 2^(-1/8), head 63: 2^-8)
    s64 = np.array(official_slopes(64), dtype=np.float64).astype(np.float32)
    assert s64[0].view(np.uint32) == 0x3F6AC0C7 and s64[63] == np.float32(2.0**-8)
    os.makedirs(args.out, exist_ok=True)
    for c in CASES:
        if args.case and c["name"] not in args.case:
            continue
        generate_case(c, args.out)


if __name__ == "__main__":
    main()
