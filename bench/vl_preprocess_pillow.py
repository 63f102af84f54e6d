#!/usr/bin/env python3
"""Benchmark: MiniMax-VL-01 image preprocessing (official anyres pipeline) in the pinned Pillow, one thread.

    .venv-vl-golden/bin/python bench/vl_preprocess_pillow.py [--reps N]

(venv: golden/vl_preprocess/setup-venv.sh; Pillow 12.0.0, numpy 2.4.6.) Inputs are in-memory RGB images of
1920x1080 and 4000x3000 whose bytes are splitmix64 "noise" with seed 1 (byte i = low byte of the (i+1)-th output,
as in golden/vl_preprocess/README.md). Timed, from the decoded Image to the float32 [N,3,336,336] array:
select_best_resolution, keep-ratio resize + paste onto the black canvas, 336x336 tiles, 336x336 thumbnail,
convert("RGB"), /255 - mean / std in numpy float32, stack. "resize_*" entries time only the keep-ratio resize and
the thumbnail resize. Median and min of --reps timed runs after 1 warm-up; cpu_median_s (time.process_time) close
to median_s confirms a single busy thread. Prints one JSON object.
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import PIL  # noqa: E402
from PIL import Image  # noqa: E402

SIZE = (336, 336)
MEAN32 = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD32 = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
PINPOINTS = [[i * 336, j * 336] for i in range(1, 7) for j in range(1, 7) if i * j <= 18]  # the released order


def select_best_resolution(original_size, possible_resolutions):
    ow, oh = original_size
    best, max_eff, min_waste = None, 0, float("inf")
    for w, h in possible_resolutions:
        s = min(w / ow, h / oh)
        eff = min(int(ow * s) * int(oh * s), ow * oh)
        waste = w * h - eff
        if eff > max_eff or (eff == max_eff and waste < min_waste):
            max_eff, min_waste, best = eff, waste, (w, h)
    return best


def keepratio_resize(image, size):
    w, h = image.size
    rw, rh = size
    if w / h > rw / rh:
        nh = int(rw * h / w)
        r = image.resize((rw, nh), Image.BICUBIC)
        canvas = Image.new("RGB", (rw, rh), (0, 0, 0))
        canvas.paste(r, (0, (rh - nh) // 2))
    else:
        nw = int(rh * w / h)
        r = image.resize((nw, rh), Image.BICUBIC)
        canvas = Image.new("RGB", (rw, rh), (0, 0, 0))
        canvas.paste(r, ((rw - nw) // 2, 0))
    return canvas


def preprocess(img):
    best = select_best_resolution(img.size, PINPOINTS)
    canvas = keepratio_resize(img, best)
    W, H = canvas.size
    tiles = [canvas.crop((j, i, j + 336, i + 336)) for i in range(0, H, 336) for j in range(0, W, 336)]
    crops = [img.resize(SIZE, Image.BICUBIC)] + tiles
    out = []
    for c in crops:
        x = np.asarray(c.convert("RGB")).astype(np.float32) / np.float32(255)
        out.append(((x - MEAN32) / STD32).transpose(2, 0, 1))
    return np.stack(out)


def resize_only(img):
    best = select_best_resolution(img.size, PINPOINTS)
    w, h = img.size
    rw, rh = best
    if w / h > rw / rh:
        a = img.resize((rw, int(rw * h / w)), Image.BICUBIC)
    else:
        a = img.resize((int(rh * w / h), rh), Image.BICUBIC)
    b = img.resize(SIZE, Image.BICUBIC)
    return a, b


def splitmix64_bytes(seed, n, chunk=1 << 22):
    out = np.empty(n, dtype=np.uint8)
    with np.errstate(over="ignore"):
        for s in range(0, n, chunk):
            k = np.arange(s + 1, min(s + chunk, n) + 1, dtype=np.uint64)
            z = np.uint64(seed) + k * np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            out[s : s + len(k)] = (z ^ (z >> np.uint64(31))).astype(np.uint8)
    return out


def timeit(fn, arg, reps):
    fn(arg)  # warm-up
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(arg)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"median_s": statistics.median(wall), "min_s": min(wall), "cpu_median_s": statistics.median(cpu),
            "reps": reps}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args()
    reps = max(args.reps, 9)
    results = []
    for w, h in ((1920, 1080), (4000, 3000)):
        img = Image.frombytes("RGB", (w, h), splitmix64_bytes(1, w * h * 3).tobytes())
        pv = preprocess(img)
        r = timeit(preprocess, img, reps)
        r.update(name=f"preprocess_{w}x{h}", shape=list(pv.shape))
        results.append(r)
        r = timeit(resize_only, img, reps)
        r["name"] = f"resize_{w}x{h}"
        results.append(r)
    print(json.dumps({
        "pillow": PIL.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "cpu": cpu_model(), "loadavg": list(os.getloadavg()), "results": results,
    }, indent=1))


if __name__ == "__main__":
    main()
