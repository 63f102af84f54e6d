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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attn", default="eager,sdpa")
    ap.add_argument("--crops", default="1,19")
    ap.add_argument("--reps1", type=int, default=3)
    ap.add_argument("--reps19", type=int, default=1)
    ap.add_argument("--warmup19", action="store_true")
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
    for attn in args.attn.split(","):
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
