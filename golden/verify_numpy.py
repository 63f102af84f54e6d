#!/usr/bin/env python3
"""Independent float64 numpy re-implementation of MiniMax-Text-01 (OFFICIAL semantics) used to check the
goldens that golden/generate.py produced with the patched HF model.

It shares no code with generate.py and does not import torch or transformers: it parses config.json (either
spelling) and the safetensors files by hand (BF16 -> float64), runs the lightning layers in the per-token
RECURRENCE form (S_t = exp(-s) S_{t-1} + k_t^T v_t, o_t = q_t S_t; HF runs the 256-token block form in prefill),
softmax attention with partial NeoX RoPE, and the softmax -> top-k -> renormalize MoE, then compares every tensor
of expected.safetensors (and the manifest's sha256 of each file).

    .venv-golden/bin/python golden/verify_numpy.py [--cases DIR] [case ...]
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = buf[base + a:base + b]
        dt = info["dtype"]
        if dt == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32).astype(np.float64)
        elif dt == "F64":
            arr = np.frombuffer(raw, dtype="<f8").astype(np.float64)
        elif dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        else:
            raise ValueError(dt)
        out[name] = arr.reshape(info["shape"])
    return out


def load_checkpoint(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            wm = json.load(f)["weight_map"]
        w = {}
        for fn in sorted(set(wm.values())):
            part = read_safetensors(os.path.join(d, fn))
            assert all(wm[k] == fn for k in part), fn
            w.update(part)
        assert set(w) == set(wm)
        return w
    return read_safetensors(os.path.join(d, "model.safetensors"))


def parse_config(c):
    p = dict(H=c["hidden_size"], I=c["intermediate_size"], V=c["vocab_size"], L=c["num_hidden_layers"],
             nh=c["num_attention_heads"], nkv=c["num_key_value_heads"], hd=c["head_dim"],
             E=c["num_local_experts"], k=c["num_experts_per_tok"], theta=float(c["rope_theta"]),
             eps=c["rms_norm_eps"], block=c.get("block_size", 256))
    if "attn_type_list" in c:
        p["types"] = ["lin" if t == 0 else "full" for t in c["attn_type_list"]]
        for key, off in (("lin", "linear_attention"), ("full", "full_attention"), ("mlp", "mlp")):
            p["a_" + key] = c[f"layernorm_{off}_alpha"]
            p["b_" + key] = c[f"layernorm_{off}_beta"]
        p["rd"] = c["rotary_dim"]
        assert c["postnorm"] is True
    else:
        p["types"] = ["lin" if t == "linear_attention" else "full" for t in c["layer_types"]]
        for key, hf in (("lin", "linear_attn"), ("full", "full_attn"), ("mlp", "mlp")):
            p["a_" + key] = c[f"{hf}_alpha_factor"]
            p["b_" + key] = c[f"{hf}_beta_factor"]
        p["rd"] = int(round(c.get("partial_rotary_factor", 1.0) * p["hd"]))
    return p


def slopes(n):
    def p2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]
    if math.log2(n).is_integer():
        return p2(n)
    c = 2 ** math.floor(math.log2(n))
    return p2(c) + slopes(2 * c)[0::2][: n - c]


def rmsnorm(x, w, eps):
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def silu(x):
    return x / (1.0 + np.exp(-x))


def rope(x, pos, rd, theta):
    """x [T, heads, hd]; rotate the first rd dims, pairs (i, i+rd/2)."""
    inv = np.array([1.0 / theta ** (2.0 * i / rd) for i in range(rd // 2)]).astype(np.float32)
    ang = (np.asarray(pos, dtype=np.float32)[:, None] * inv[None, :]).astype(np.float32).astype(np.float64)
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    h = rd // 2
    x1, x2, rest = x[..., :h], x[..., h:rd], x[..., rd:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s, rest], axis=-1)


class Model:
    def __init__(self, d):
        with open(os.path.join(d, "config.json")) as f:
            self.p = parse_config(json.load(f))
        self.w = load_checkpoint(d)
        p = self.p
        self.state = {}
        self.kcache, self.vcache = {}, {}
        self.s = {}
        for l, t in enumerate(p["types"]):
            if t == "lin":
                sl = np.array(slopes(p["nh"])).astype(np.float32)
                f = np.float32(1 - l / (p["L"] - 1) + 1e-5)
                self.s[l] = (sl * f).astype(np.float32).astype(np.float64)
                self.state[l] = np.zeros((p["nh"], p["hd"], p["hd"]))
            else:
                self.kcache[l] = np.zeros((0, p["nkv"], p["hd"]))
                self.vcache[l] = np.zeros((0, p["nkv"], p["hd"]))
        self.pos = 0

    def lightning(self, l, x, rec):
        p, w = self.p, self.w
        pre = f"model.layers.{l}.self_attn."
        T, nh, hd = x.shape[0], p["nh"], p["hd"]
        qkv = silu(x @ w[pre + "qkv_proj.weight"].T).reshape(T, nh, 3 * hd)
        q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
        lam = np.exp(-self.s[l])[:, None, None]
        S = self.state[l]
        o = np.empty((T, nh, hd))
        for t in range(T):
            S = lam * S + k[t][:, :, None] * v[t][:, None, :]
            o[t] = np.einsum("hi,hij->hj", q[t], S)
        self.state[l] = S
        o = rmsnorm(o.reshape(T, nh * hd), w[pre + "norm.weight"], 1e-6)
        g = x @ w[pre + "output_gate.weight"].T
        o = (1.0 / (1.0 + np.exp(-g))) * o
        return o @ w[pre + "out_proj.weight"].T

    def softmax_attn(self, l, x, rec):
        p, w = self.p, self.w
        pre = f"model.layers.{l}.self_attn."
        T, nh, nkv, hd = x.shape[0], p["nh"], p["nkv"], p["hd"]
        pos = np.arange(self.pos, self.pos + T)
        q = rope((x @ w[pre + "q_proj.weight"].T).reshape(T, nh, hd), pos, p["rd"], p["theta"])
        k = rope((x @ w[pre + "k_proj.weight"].T).reshape(T, nkv, hd), pos, p["rd"], p["theta"])
        v = (x @ w[pre + "v_proj.weight"].T).reshape(T, nkv, hd)
        self.kcache[l] = np.concatenate([self.kcache[l], k])
        self.vcache[l] = np.concatenate([self.vcache[l], v])
        K, Vv = self.kcache[l], self.vcache[l]
        n = K.shape[0]
        g = nh // nkv
        o = np.empty((T, nh, hd))
        for h in range(nh):
            sc = q[:, h] @ K[:, h // g].T / math.sqrt(hd)  # [T, n]
            qi = pos[:, None]
            kj = np.arange(n)[None, :]
            sc = np.where(kj <= qi, sc, -np.inf)
            sc = np.exp(sc - sc.max(-1, keepdims=True))
            sc /= sc.sum(-1, keepdims=True)
            o[:, h] = sc @ Vv[:, h // g]
        return o.reshape(T, nh * hd) @ w[pre + "o_proj.weight"].T

    def moe(self, l, x, rec, prefix):
        p, w = self.p, self.w
        pre = f"model.layers.{l}.block_sparse_moe."
        logits = x @ w[pre + "gate.weight"].T
        pr = np.exp(logits - logits.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        idx = np.argsort(-pr, axis=-1, kind="stable")[:, : p["k"]]
        wt = np.take_along_axis(pr, idx, -1)
        wt /= wt.sum(-1, keepdims=True)
        y = np.zeros_like(x)
        for t in range(x.shape[0]):
            for j in range(p["k"]):
                e = idx[t, j]
                q = pre + f"experts.{e}."
                h = silu(x[t] @ w[q + "w1.weight"].T) * (x[t] @ w[q + "w3.weight"].T)
                y[t] += wt[t, j] * (h @ w[q + "w2.weight"].T)
        rec[f"{prefix}layers.{l}.router_logits"] = logits
        rec[f"{prefix}layers.{l}.router_probs"] = pr
        rec[f"{prefix}layers.{l}.router_experts"] = idx.astype(np.float64)
        return y

    def forward(self, tokens, prefix):
        p, w = self.p, self.w
        rec = {}
        h = w["model.embed_tokens.weight"][np.asarray(tokens)]
        for l, t in enumerate(p["types"]):
            pre = f"model.layers.{l}."
            n1 = rmsnorm(h, w[pre + "input_layernorm.weight"], p["eps"])
            a = self.lightning(l, n1, rec) if t == "lin" else self.softmax_attn(l, n1, rec)
            y = p["a_" + t] * n1 + p["b_" + t] * a
            n2 = rmsnorm(y, w[pre + "post_attention_layernorm.weight"], p["eps"])
            m = self.moe(l, n2, rec, prefix)
            h = p["a_mlp"] * n2 + p["b_mlp"] * m
            rec[f"{prefix}layers.{l}.attn_out"] = a
            rec[f"{prefix}layers.{l}.moe_out"] = m
            rec[f"{prefix}layers.{l}.output"] = h
        fn = rmsnorm(h, w["model.norm.weight"], p["eps"])
        rec[f"{prefix}final_norm"] = fn
        rec[f"{prefix}logits"] = fn @ w["lm_head.weight"].T
        self.pos += len(tokens)
        return rec


def run(d):
    with open(os.path.join(d, "inputs.json")) as f:
        inp = json.load(f)
    m = Model(d)
    got = m.forward(inp["prompt_tokens"], "")
    S = len(inp["prompt_tokens"])
    for l in m.state:
        got[f"layers.{l}.lightning_state"] = m.state[l].copy()
    for l in m.kcache:
        got[f"layers.{l}.k_cache"] = m.kcache[l].copy()
        got[f"layers.{l}.v_cache"] = m.vcache[l].copy()
    steps = [m.forward([t], "decode.") for t in inp["decode_tokens"]]
    for k in steps[0]:
        got["decode_logits" if k == "decode.logits" else k] = np.concatenate([s[k] for s in steps])
    for l in m.state:
        got[f"decode.layers.{l}.lightning_state"] = m.state[l]
    for l in m.kcache:
        got[f"decode.layers.{l}.k_cache"] = m.kcache[l][S:]
        got[f"decode.layers.{l}.v_cache"] = m.vcache[l][S:]
    return got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default=os.path.join(HERE, "cases"))
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    names = a.names or sorted(x for x in os.listdir(a.cases) if os.path.isdir(os.path.join(a.cases, x)))
    ok = True
    for name in names:
        d = os.path.join(a.cases, name)
        with open(os.path.join(d, "manifest.json")) as f:
            man = json.load(f)
        for fn, h in man["sha256"].items():
            with open(os.path.join(d, fn), "rb") as f:
                if hashlib.sha256(f.read()).hexdigest() != h:
                    print(f"{name}: sha256 mismatch for {fn}")
                    ok = False
        exp = read_safetensors(os.path.join(d, "expected.safetensors"))
        got = run(d)
        assert set(exp) == set(got), sorted(set(exp) ^ set(got))
        assert set(exp) == set(man["tensors"]), "manifest tensor list"
        worst = (0.0, "")
        for n in sorted(exp):
            e, g = exp[n], got[n]
            assert e.shape == g.shape, (n, e.shape, g.shape)
            if n.endswith("router_experts"):
                if not np.array_equal(e, g):
                    print(f"{name}: {n} expert choice differs")
                    ok = False
                continue
            ne = np.linalg.norm(e)
            rel = np.linalg.norm(g - e) / ne if ne > 0 else np.linalg.norm(g - e)
            mx = np.abs(g - e).max()
            tol = man["tensors"][n]["tol_fp64"]
            if not (rel <= tol["rel_fro"] and mx <= tol["max_abs"]):
                print(f"{name}: {n} rel_fro {rel:.3e} max_abs {mx:.3e} exceeds fp64 tolerance")
                ok = False
            if rel > worst[0]:
                worst = (rel, n)
        print(f"{name}: numpy-vs-HF worst rel_fro {worst[0]:.3e} ({worst[1]}), {len(exp)} tensors")
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
