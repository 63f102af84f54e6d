#!/usr/bin/env python3
"""Diagnostic (not part of regeneration): measure how far UNPATCHED HF is from the OFFICIAL semantics, one
deviation at a time. For each label, golden/generate.py's patch for that deviation is undone (all others kept),
the cases are generated into a temp dir, and golden/verify_numpy.py (the independent numpy float64 model) reports
the worst relative Frobenius error and any expert-choice changes. 'NONE' is the fully patched generator.

    .venv-golden/bin/python golden/measure_hf_deviations.py [LABEL ...]

Labels: NONE ROPE SLOPES FACTOR RMSNORM ROUTER ATTN CACHEPOS
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = ["hybrid8_prefill300", "gqa3_heads6_hf", "full_rotary_mha5_official", "decode_heavy_official"]
LABELS = ["NONE", "ROPE", "SLOPES", "FACTOR", "RMSNORM", "ROUTER", "ATTN", "CACHEPOS"]


def child(label, out):
    sys.path.insert(0, HERE)
    import numpy as np
    import torch
    from transformers.models.minimax import modeling_minimax as mm

    # The unpatched HF functions, captured before generate.py patches the module.
    orig = {
        "rope": mm.apply_rotary_pos_emb,
        "rms": mm.MiniMaxRMSNorm.forward,
        "moe": mm.MiniMaxSparseMoeBlock.forward,
        "attn": mm.eager_attention_forward,
    }
    import generate as G

    if label == "ROPE":  # HF rotary table (full head, fp32) and HF full-head rotation
        mm.apply_rotary_pos_emb = orig["rope"]
        build = G.build_model

        def build_model(cfg, ckpt, dtype):
            model, hf_cfg, rd, sl = build(cfg, ckpt, dtype)
            model.model.rotary_emb = mm.MiniMaxRotaryEmbedding(hf_cfg).to(dtype)
            return model, hf_cfg, rd, sl

        G.build_model = build_model
    elif label == "SLOPES":  # HF's slope/decay buffers as built at init (HF slope formula and layer factor)
        G.patch_lightning_buffers = lambda attn, L, dtype: None
    elif label == "FACTOR":  # official slopes but HF's layer factor 1 - l/(L-1+1e-5) + 1e-5
        def s_hf(n, l, L):
            sl = np.array(G.official_slopes(n)).astype(np.float32)
            return (sl * np.float32(1 - l / (L - 1 + 1e-5) + 1e-5)).astype(np.float32)
        G.official_s = s_hf
    elif label == "RMSNORM":
        mm.MiniMaxRMSNorm.forward = orig["rms"]
    elif label == "ROUTER":
        def moe(self, x):
            y, logits = orig["moe"](self, x)
            p = torch.softmax(logits, dim=1, dtype=torch.float32)
            self._golden_probs = p.to(logits.dtype)
            self._golden_experts = torch.topk(p, self.top_k, dim=-1).indices
            return y, logits
        mm.MiniMaxSparseMoeBlock.forward = moe
    elif label == "ATTN":  # HF eager attention: fp32 softmax, HF's causal mask
        mm.eager_attention_forward = orig["attn"]
    elif label == "CACHEPOS":  # let HF pick cache_position / position_ids itself
        fwd = mm.MiniMaxForCausalLM.forward

        def forward(self, *a, cache_position=None, position_ids=None, **k):
            return fwd(self, *a, **k)
        mm.MiniMaxForCausalLM.forward = forward
    elif label != "NONE":
        raise SystemExit(f"unknown label {label}")
    for c in G.CASES:
        if c["name"] in CASES:
            G.generate_case(c, out)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3])
    labels = sys.argv[1:] or LABELS
    for label in labels:
        with tempfile.TemporaryDirectory() as out:
            r = subprocess.run([sys.executable, __file__, "--child", label, out], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"== {label}: generator failed\n{r.stderr[-2000:]}")
                continue
            v = subprocess.run([sys.executable, os.path.join(HERE, "verify_numpy.py"), "--cases", out] + CASES,
                               capture_output=True, text=True)
            print(f"== HF unpatched: {label}")
            for line in v.stdout.splitlines():
                if "worst" in line or "expert choice" in line:
                    print("   " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
