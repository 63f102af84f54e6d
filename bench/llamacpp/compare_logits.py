#!/usr/bin/env python3
"""Compare llama.cpp logits (.npy, [S, V]) with a minimax01 forward --dump (safetensors).
usage: compare_logits.py ours.safetensors llama.npy [--key logits] [--rows a:b]"""
import argparse
import json
import struct

import numpy as np


def read_st(path, key):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
        v = h[key]
        a, b = v["data_offsets"]
        f.seek(8 + n + a)
        raw = f.read(b - a)
    dt = {"F32": np.float32, "F64": np.float64}[v["dtype"]]
    return np.frombuffer(raw, dtype=dt).reshape(v["shape"]).astype(np.float64)


ap = argparse.ArgumentParser()
ap.add_argument("ours")
ap.add_argument("theirs")
ap.add_argument("--key", default="logits")
ap.add_argument("--rows", default=None, help="python slice of the llama.cpp rows to use, e.g. 32:40")
a = ap.parse_args()

ref = read_st(a.ours, a.key)
x = np.load(a.theirs).astype(np.float64)
if a.rows:
    lo, hi = a.rows.split(":")
    x = x[int(lo or 0):int(hi) if hi else None]
if x.shape[0] != ref.shape[0]:
    n = min(x.shape[0], ref.shape[0])
    print(f"note: row count differs ({x.shape[0]} vs {ref.shape[0]}); comparing last {n} rows of llama.cpp to last {n} of ours")
    x, ref = x[-n:], ref[-n:]
d = x - ref
res = {
    "rows": int(ref.shape[0]),
    "max_abs_diff": float(np.abs(d).max()),
    "rel_frobenius": float(np.linalg.norm(d) / np.linalg.norm(ref)),
    "max_abs_ref": float(np.abs(ref).max()),
    "argmax_agree": int((x.argmax(1) == ref.argmax(1)).sum()),
    "per_row_rel": [round(float(np.linalg.norm(d[i]) / np.linalg.norm(ref[i])), 8) for i in range(ref.shape[0])],
    "per_row_argmax_ok": [bool(v) for v in (x.argmax(1) == ref.argmax(1))],
}
print(json.dumps(res))
