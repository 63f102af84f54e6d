#!/usr/bin/env python3
"""Run a minimax-01 GGUF through llama-cpp-python's low-level API (CPU).

  logits:  --tokens 1,2,...,32 (or --tokens-range 1:301) --logits-out x.npy [--all-logits]
  timing:  --bench --n-prompt 128 --n-decode 32 --threads T --repeats 5 [--json-out t.json]

Only token ids are used (the GGUF has tokenizer.ggml.model = "no_vocab"), so the high-level
llama_cpp.Llama wrapper (which calls the tokenizer / metadata helpers) is avoided.
"""
import argparse
import ctypes
import glob
import json
import os
import statistics
import sys
import time

import numpy as np
import llama_cpp
import llama_cpp.llama_cpp as L


def ggml_commit():
    d = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    for pat in ("libggml-base.so*", "libggml.so*"):
        for p in glob.glob(os.path.join(d, pat)):
            try:
                lib = ctypes.CDLL(p)
                lib.ggml_commit.restype = ctypes.c_char_p
                return lib.ggml_commit().decode()
            except Exception:
                pass
    return "unknown"


_LOG_CB = None


def quiet_logs():
    global _LOG_CB

    @ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
    def cb(level, text, user):
        if level in (3, 4) or os.environ.get("LLAMA_VERBOSE"):  # GGML_LOG_LEVEL_WARN=3, ERROR=4
            sys.stderr.write(text.decode(errors="replace"))

    _LOG_CB = cb
    L.llama_log_set(cb, None)


class Runner:
    def __init__(self, model_path, n_ctx, n_batch, threads, kv_type="f16", flash_attn=-1):
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        mp.n_gpu_layers = 0
        mp.use_mmap = True
        self.model = L.llama_model_load_from_file(model_path.encode(), mp)
        if not self.model:
            raise SystemExit(f"failed to load {model_path}")
        cp = L.llama_context_default_params()
        cp.n_ctx = n_ctx
        cp.n_batch = n_batch
        cp.n_ubatch = n_batch
        cp.n_seq_max = 1
        cp.n_threads = threads
        cp.n_threads_batch = threads
        cp.no_perf = True
        # KV cache of the softmax layers (llama.cpp default F16); recurrent states are always F32
        cp.flash_attn_type = flash_attn  # -1 auto, 0 disabled, 1 enabled
        cp.type_k = cp.type_v = {"f32": 0, "f16": 1, "bf16": 30}[kv_type]
        self.ctx = L.llama_init_from_model(self.model, cp)
        if not self.ctx:
            raise SystemExit("failed to create context")
        self.n_vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(self.model))
        self.batch = L.llama_batch_init(n_batch, 0, 1)
        self.n_batch = n_batch
        self.pos = 0

    def reset(self):
        L.llama_memory_clear(L.llama_get_memory(self.ctx), True)
        self.pos = 0

    def eval(self, tokens, all_logits=False):
        """Evaluate tokens (one llama_decode call per n_batch chunk). Returns logits
        [n_out, V] as numpy (copied) for the requested outputs."""
        outs = []
        for c0 in range(0, len(tokens), self.n_batch):
            chunk = tokens[c0:c0 + self.n_batch]
            b = self.batch
            b.n_tokens = len(chunk)
            last_chunk = c0 + self.n_batch >= len(tokens)
            for i, t in enumerate(chunk):
                b.token[i] = t
                b.pos[i] = self.pos + i
                b.n_seq_id[i] = 1
                b.seq_id[i][0] = 0
                b.logits[i] = 1 if (all_logits or (last_chunk and i == len(chunk) - 1)) else 0
            rc = L.llama_decode(self.ctx, b)
            if rc != 0:
                raise RuntimeError(f"llama_decode returned {rc}")
            self.pos += len(chunk)
            if all_logits:
                for i in range(len(chunk)):
                    p = L.llama_get_logits_ith(self.ctx, i)
                    outs.append(np.ctypeslib.as_array(p, shape=(self.n_vocab,)).copy())
        if not all_logits:
            p = L.llama_get_logits_ith(self.ctx, -1)
            outs.append(np.ctypeslib.as_array(p, shape=(self.n_vocab,)).copy())
        return np.stack(outs)

    def decode_one(self, tok):
        b = self.batch
        b.n_tokens = 1
        b.token[0] = tok
        b.pos[0] = self.pos
        b.n_seq_id[0] = 1
        b.seq_id[0][0] = 0
        b.logits[0] = 1
        rc = L.llama_decode(self.ctx, b)
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        L.llama_get_logits_ith(self.ctx, -1)  # output pointer (logits are synchronised by decode)
        self.pos += 1


def parse_tokens(a):
    if a.tokens_range:
        lo, hi = map(int, a.tokens_range.split(":"))
        return list(range(lo, hi))
    return [int(x) for x in a.tokens.split(",")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-ctx", type=int, default=1024)
    ap.add_argument("--n-batch", type=int, default=512)
    ap.add_argument("--tokens", default=None)
    ap.add_argument("--tokens-range", default=None, help="lo:hi (python range)")
    ap.add_argument("--all-logits", action="store_true")
    ap.add_argument("--decode-tokens", default=None, help="ids fed one at a time after the prompt (decode path)")
    ap.add_argument("--decode-logits-out", default=None)
    ap.add_argument("--logits-out", default=None)
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--n-prompt", type=int, default=128)
    ap.add_argument("--n-decode", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--outtype", default=None, help="label for the JSON (f32/bf16)")
    ap.add_argument("--json-out", default=None)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--kv-type", choices=["f16", "f32", "bf16"], default="f16",
                    help="softmax-layer KV cache type (llama.cpp default f16)")
    ap.add_argument("--flash-attn", type=int, default=-1, help="-1 auto (default), 0 off, 1 on")
    a = ap.parse_args()

    if not a.verbose:
        quiet_logs()
    r = Runner(a.model, a.n_ctx, a.n_batch, a.threads, a.kv_type, a.flash_attn)
    res = {"model": a.model, "n_vocab": r.n_vocab, "llama_cpp_python": llama_cpp.__version__,
           "llama_cpp_commit": ggml_commit(), "threads": a.threads, "kv_type": a.kv_type, "flash_attn": a.flash_attn}

    if a.tokens or a.tokens_range:
        toks = parse_tokens(a)
        lg = r.eval(toks, all_logits=a.all_logits)
        if a.decode_tokens:
            dl = []
            for t in [int(x) for x in a.decode_tokens.split(",")]:
                r.decode_one(t)
                p = L.llama_get_logits_ith(r.ctx, -1)
                dl.append(np.ctypeslib.as_array(p, shape=(r.n_vocab,)).copy())
            dl = np.stack(dl)
            res["decode_argmax"] = [int(v) for v in dl.argmax(1)]
            if a.decode_logits_out:
                np.save(a.decode_logits_out, dl)
        r.reset()
        res["n_tokens"] = len(toks)
        res["logits_shape"] = list(lg.shape)
        res["last_argmax"] = int(np.argmax(lg[-1]))
        res["last_logits_head"] = [float(x) for x in lg[-1][:5]]
        if a.logits_out:
            np.save(a.logits_out, lg)
            res["logits_out"] = a.logits_out

    if a.bench:
        prompt = [1 + (i % (r.n_vocab - 1)) for i in range(a.n_prompt)]
        dec = [1 + (i % (r.n_vocab - 1)) for i in range(a.n_decode)]
        ttfts, tpots = [], []
        for rep in range(a.warmup + a.repeats):
            r.reset()
            t0 = time.perf_counter()
            r.eval(prompt)
            t1 = time.perf_counter()
            for t in dec:
                r.decode_one(t)
            t2 = time.perf_counter()
            if rep >= a.warmup:
                ttfts.append(t1 - t0)
                tpots.append((t2 - t1) / a.n_decode)
        res.update({"ttft_s": statistics.median(ttfts), "tpot_s": statistics.median(tpots),
                    "ttft_all_s": ttfts, "tpot_all_s": tpots,
                    "n_prompt": a.n_prompt, "n_decode": a.n_decode, "repeats": a.repeats,
                    "outtype": a.outtype, "loadavg_1m_at_end": os.getloadavg()[0]})

    L.llama_batch_free(r.batch)
    L.llama_free(r.ctx)
    L.llama_model_free(r.model)
    s = json.dumps(res, indent=1)
    print(s)
    if a.json_out:
        open(a.json_out, "w").write(s)


if __name__ == "__main__":
    main()
