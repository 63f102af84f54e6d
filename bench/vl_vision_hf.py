#!/usr/bin/env python3
"""Benchmark: MiniMax-VL-01's vision tower as transformers' CLIPVisionModel, fp32 on the CPU, beside
bench/vl_vision_bench.cpp (the reference, BM_VisionTower<F32>).

    OPENBLAS_NUM_THREADS=2 .venv-golden/bin/python bench/vl_vision_hf.py --threads 2 [--attn eager,sdpa]
        [--reps1 3] [--reps19 1] [--crops 1,19]

(venv: .venv-golden; torch 2.9.1 CPU path, transformers 4.57.6.) The released vision_config (hidden 1024,
intermediate 4096, 24 layers, 16 heads, image 336, patch 14, hidden_act "gelu" = exact erf GELU, layer_norm_eps
1e-5), random init under torch.manual_seed(0), fp32, torch.no_grad(), torch.set_num_threads(--threads) (the C++
side: OPENBLAS_NUM_THREADS equal). Input pixel_values [crops, 3, 336, 336] ~ N(0, 1); the 19 crops run as one
batch of 19 (HF's CLIPVisionModel has no varlen path; the official packed run is block-diagonal, i.e. the same
work). The model also computes post_layernorm on the CLS row (1024 values, negligible). Per (attention
implementation, crops): one untimed warm-up for 1 crop (19 crops reuse the warmed model; --warmup19 adds one),
then the median and min of the timed reps. cpu_median_s / median_s ~ threads confirms the threads were busy.
Prints one JSON object.

--gemms: instead of the model, time only the GEMMs of one crop through torch (MKL), the products and
shapes of vl_vision_bench's BM_TowerGemms: the patch conv [576 x 588] x [588 x 1024], per layer q, k, v,
out_proj (x W^T, [577 x 1024] x [1024 x 1024]), fc1, fc2, and per head QK^T and PV; each layer its own
weights. Result "hf_gemms_1crop": the BLAS floor of one crop on the HF side.
"""
import argparse
import json
import os
import platform
import statistics
import time


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def flops_per_crop(D=1024, I=4096, L=24, N=576, K=588):  # noqa: E741  the formula of vl_vision_bench.cpp
    S = N + 1
    return 2 * N * K * D + L * (8 * S * D * D + 4 * S * D * I + 4 * S * S * D)


def time_gemms(torch, reps, D=1024, I=4096, L=24, N=576, K=588, H=16):  # noqa: E741
    """The GEMMs of one crop alone (BM_TowerGemms' products), median and min of reps after a warm-up."""
    S, d = N + 1, D // H
    g = torch.Generator().manual_seed(5)
    rn = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float32)  # noqa: E731
    patches, x, h, q, k, v = rn(N, K), rn(S, D), rn(S, I), rn(S, D), rn(S, D), rn(S, D)
    w_conv = rn(D, K)
    layers = [dict(proj=[rn(D, D) for _ in range(4)], fc1=rn(I, D), fc2=rn(D, I)) for _ in range(L)]
    F = torch.nn.functional

    def once():
        F.linear(patches, w_conv)
        for lw in layers:
            for w in lw["proj"]:
                F.linear(x, w)
            F.linear(x, lw["fc1"])
            F.linear(h, lw["fc2"])
            for j in range(H):
                s = q[:, j * d:(j + 1) * d] @ k[:, j * d:(j + 1) * d].T
                s @ v[:, j * d:(j + 1) * d]

    wall = []
    with torch.no_grad():
        once()
        for _ in range(reps):
            t0 = time.perf_counter()
            once()
            wall.append(time.perf_counter() - t0)
    med = statistics.median(wall)
    return {"name": "hf_gemms_1crop", "crops": 1, "median_s": med, "min_s": min(wall), "times_s": wall, "reps": reps,
            "gflops_per_s": flops_per_crop() / med / 1e9, "loadavg_after": list(os.getloadavg())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attn", default="eager,sdpa")
    ap.add_argument("--crops", default="1,19")
    ap.add_argument("--reps1", type=int, default=3)
    ap.add_argument("--reps19", type=int, default=1)
    ap.add_argument("--warmup19", action="store_true")
    ap.add_argument("--gemms", action="store_true", help="time only one crop's GEMMs (BM_TowerGemms)")
    args = ap.parse_args()
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(v, str(args.threads))

    import torch
    import transformers
    from transformers import CLIPVisionConfig, CLIPVisionModel

    torch.set_num_threads(args.threads)
    cfg = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
               image_size=336, patch_size=14, num_channels=3, hidden_act="gelu", layer_norm_eps=1e-5,
               projection_dim=768)
    gen = torch.Generator().manual_seed(2)
    crops = [int(c) for c in args.crops.split(",")]
    pixels = torch.randn(max(crops), 3, 336, 336, generator=gen, dtype=torch.float32)
    results = []
    if args.gemms:
        results.append(time_gemms(torch, args.reps1))
        print(json.dumps(results[-1]), flush=True)
    for attn in ([] if args.gemms else args.attn.split(",")):
        torch.manual_seed(0)
        model = CLIPVisionModel(CLIPVisionConfig(**cfg, attn_implementation=attn)).float().eval()
        with torch.no_grad():
            for n in crops:
                x = pixels[:n].contiguous()
                reps = args.reps1 if n == 1 else args.reps19
                if n == 1 or args.warmup19:
                    model(pixel_values=x)
                wall, cpu = [], []
                for _ in range(reps):
                    t0, c0 = time.perf_counter(), time.process_time()
                    out = model(pixel_values=x)
                    wall.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                    assert out.last_hidden_state.shape == (n, 577, 1024)
                med = statistics.median(wall)
                results.append({"name": f"hf_{attn}_{n}crop", "attn": model.config._attn_implementation, "crops": n,
                                "median_s": med, "min_s": min(wall), "times_s": wall,
                                "cpu_median_s": statistics.median(cpu), "reps": reps,
                                "gflops_per_s": flops_per_crop() * n / med / 1e9,
                                "loadavg_after": list(os.getloadavg())})
                print(json.dumps(results[-1]), flush=True)
        del model
    print(json.dumps({
        "torch": torch.__version__, "transformers": transformers.__version__, "python": platform.python_version(),
        "threads": torch.get_num_threads(), "blas": "mkl" if torch.backends.mkl.is_available() else "?",
        "cpu": cpu_model(), "loadavg": list(os.getloadavg()), "gflop_per_crop": flops_per_crop() / 1e9,
        "results": results,
    }, indent=1))


if __name__ == "__main__":
    main()
