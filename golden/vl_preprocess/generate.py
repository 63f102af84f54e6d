#!/usr/bin/env python3
"""Golden generator for MiniMax-VL-01 image preprocessing (anyres mode), with Pillow as the reference.

Re-implements the official processor (`image_processing_minimax_vl_01.py`: select_best_resolution,
keepratio_resize, divide_to_patches, thumbnail, convert("RGB") + ToTensor + Normalize) and the official
`get_num_token`, calling Pillow exactly as the official code does. No MiniMax, torch or HF code is imported.

    python golden/vl_preprocess/generate.py                 # Pillow 12.0.0 venv: writes golden/vl_preprocess/cases/
    python golden/vl_preprocess/generate.py --check         # regenerate into a temp dir, require byte-identical files
    python golden/vl_preprocess/generate.py --out DIR       # write somewhere else
    python golden/vl_preprocess/generate.py --pillow13      # Pillow 13.0.0 venv: writes only cases/resize_pairs_pillow13.json

Everything is deterministic: seeded generators (splitmix64 for the resize pairs, numpy PCG64 for image content),
integer-only content arithmetic, JSON with sorted keys, no timestamps, paths or host names.
"""
from __future__ import annotations

import argparse
import filecmp
import hashlib
import io
import json
import os
import platform
import shutil
import struct
import sys
import tempfile
import warnings
import zlib

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import PIL  # noqa: E402
from PIL import Image, features  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")

# ----------------------------------------------------------------------------------------------------------------
# Official processor settings (docs/semantics/vl-01-preprocessing.md, "Settings")
SIZE = (336, 336)  # (width, height)
PATCH_SIZE = 14
IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]
PINPOINTS = [
    [336, 336], [336, 672], [336, 1008], [336, 1344], [336, 1680], [336, 2016],
    [672, 336], [672, 672], [672, 1008], [672, 1344], [672, 1680], [672, 2016],
    [1008, 336], [1008, 672], [1008, 1008], [1008, 1344], [1008, 1680], [1008, 2016],
    [1344, 336], [1344, 672], [1344, 1008], [1344, 1344],
    [1680, 336], [1680, 672], [1680, 1008],
    [2016, 336], [2016, 672], [2016, 1008],
]

MEAN32 = np.array(IMAGE_MEAN, dtype=np.float32)
STD32 = np.array(IMAGE_STD, dtype=np.float32)


def select_best_resolution(original_size, possible_resolutions):
    """Official, (width, height) semantics; returns None when every pinpoint has effective resolution 0."""
    original_width, original_height = original_size
    best_fit = None
    max_effective_resolution = 0
    min_wasted_resolution = float("inf")
    for width, height in possible_resolutions:
        scale = min(width / original_width, height / original_height)
        downscaled_width, downscaled_height = int(original_width * scale), int(original_height * scale)
        effective_resolution = min(downscaled_width * downscaled_height, original_width * original_height)
        wasted_resolution = (width * height) - effective_resolution
        if effective_resolution > max_effective_resolution or (
            effective_resolution == max_effective_resolution and wasted_resolution < min_wasted_resolution
        ):
            max_effective_resolution = effective_resolution
            min_wasted_resolution = wasted_resolution
            best_fit = (width, height)
    return best_fit


def keepratio_resize(image, size):
    """Official keepratio_resize; also returns (resized size, paste offset) for the manifest."""
    w, h = image.size
    resized_w, resized_h = size  # TypeError here when size is None (as in the official code)
    if w / h > resized_w / resized_h:
        new_h = int(resized_w * h / w)
        resized_image = image.resize((resized_w, new_h), Image.BICUBIC)
        canvas = Image.new("RGB", (resized_w, resized_h), (0, 0, 0))
        pad_h = (resized_h - new_h) // 2
        canvas.paste(resized_image, (0, pad_h))
        return canvas, (resized_w, new_h), (0, pad_h)
    new_w = int(resized_h * w / h)
    resized_image = image.resize((new_w, resized_h), Image.BICUBIC)
    canvas = Image.new("RGB", (resized_w, resized_h), (0, 0, 0))
    pad_w = (resized_w - new_w) // 2
    canvas.paste(resized_image, (pad_w, 0))
    return canvas, (new_w, resized_h), (pad_w, 0)


def divide_to_patches(image, patch_size):
    patches = []
    width, height = image.size
    for i in range(0, height, patch_size):
        for j in range(0, width, patch_size):
            patches.append(image.crop((j, i, j + patch_size, i + patch_size)))
    return patches


def get_image_patches(image):
    best = select_best_resolution(image.size, PINPOINTS)
    canvas, resized, offset = keepratio_resize(image, best)
    tiles = divide_to_patches(canvas, SIZE[0])
    thumb = image.resize(SIZE, Image.BICUBIC)
    return best, resized, offset, [thumb] + tiles


def crop_rgb(crop):
    """convert("RGB") -> uint8 HWC (what ToTensor reads)."""
    return np.asarray(crop.convert("RGB"))


def normalize(rgb_hwc_u8):
    """ToTensor + Normalize in float32: ((x / 255) - mean[c]) / std[c], CHW."""
    x = rgb_hwc_u8.astype(np.float32) / np.float32(255)
    x = (x - MEAN32) / STD32
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def get_num_token(W, H):
    """Official get_num_token (+ kept rows/cols)."""
    Wb, Hb = select_best_resolution((W, H), PINPOINTS)
    cw, ch = Wb // PATCH_SIZE, Hb // PATCH_SIZE
    if W / H > cw / ch:
        h_num = ch - 2 * ((ch - (H * cw) // W) // 2)
        w_num = cw
    else:
        w_num = cw - 2 * ((cw - (W * ch) // H) // 2)
        h_num = ch
    return (w_num + 1) * h_num + (SIZE[0] // PATCH_SIZE) ** 2, h_num, w_num


# ----------------------------------------------------------------------------------------------------------------
# splitmix64 byte streams (the C++ tests regenerate the resize-pair sources from this definition)
GAMMA = 0x9E3779B97F4A7C15
M64 = (1 << 64) - 1


def splitmix64_scalar(seed, n):
    out, state = [], seed & M64
    for _ in range(n):
        state = (state + GAMMA) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        out.append(z ^ (z >> 31))
    return out


def splitmix64_bytes(seed, n):
    """(next() & 0xFF) for the first n outputs of splitmix64(seed), vectorised (uint64 arithmetic wraps)."""
    with np.errstate(over="ignore"):
        k = np.arange(1, n + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * np.uint64(GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z & np.uint64(0xFF)).astype(np.uint8)


MODE_CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "P": 1, "1": 1}


def pair_source(mode, content, seed, w, h):
    """Source image of a resize pair (see README: Source pixels)."""
    n = w * h * MODE_CHANNELS[mode]
    extra = 768 if mode == "P" else 0
    b = splitmix64_bytes(seed, n + extra)
    px = b[:n]
    if mode == "1" or content == "binary":
        px = np.where(px & 1, 255, 0).astype(np.uint8)
    if mode == "1":
        im = Image.frombytes("L", (w, h), px.tobytes()).convert("1", dither=Image.Dither.NONE)
        assert np.array_equal(np.asarray(im.convert("L")).reshape(-1), px), "mode 1 build changed pixels"
        return im
    im = Image.frombytes(mode, (w, h), px.tobytes())
    if mode == "P":
        im.putpalette(b[n:].tobytes(), "RGB")
    return im


def image_bytes(im):
    """Storage-layout bytes: np.asarray(im) (uint8, C order); mode "1" via convert("L") (0/255)."""
    if im.mode == "1":
        im = im.convert("L")
    a = np.asarray(im)
    assert a.dtype == np.uint8, (im.mode, a.dtype)
    return np.ascontiguousarray(a).tobytes()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


# ----------------------------------------------------------------------------------------------------------------
# Resize pairs


def build_pairs():
    pairs = []

    def add(mode, content, src, dst, what):
        pairs.append({"mode": mode, "content": content, "src": list(src), "dst": list(dst), "what": what})

    # --- RGB: every structural case, both contents -------------------------------------------------------------
    structural = [
        ((64, 48), (32, 24), "exact 2x downscale both axes"),
        ((64, 48), (128, 96), "exact 2x upscale both axes"),
        ((60, 45), (20, 15), "exact 3x downscale"),
        ((20, 15), (60, 45), "exact 3x upscale"),
        ((100, 80), (37, 80), "horizontal downscale only (vertical pass skipped)"),
        ((100, 80), (100, 29), "vertical downscale only (horizontal pass skipped)"),
        ((50, 40), (173, 40), "horizontal upscale only"),
        ((50, 40), (50, 131), "vertical upscale only"),
        ((100, 80), (100, 80), "same size: Pillow returns a copy"),
        ((97, 89), (41, 151), "down in x, up in y"),
        ((41, 151), (97, 89), "up in x, down in y"),
        ((1, 1), (1, 1), "1x1 copy"),
        ((1, 1), (7, 5), "1x1 source upscaled"),
        ((1, 1), (336, 336), "1x1 source to a full crop"),
        ((5, 7), (1, 1), "to 1x1"),
        ((1, 50), (13, 7), "1-pixel-wide source"),
        ((50, 1), (7, 13), "1-pixel-tall source"),
        ((1, 37), (1, 101), "1xN to 1xM (only vertical pass)"),
        ((37, 1), (101, 1), "Nx1 to Mx1 (only horizontal pass)"),
        ((1, 101), (1, 37), "1xN shrink"),
        ((101, 1), (37, 1), "Nx1 shrink"),
        ((64, 64), (1, 64), "to one column"),
        ((64, 64), (64, 1), "to one row"),
        ((3000, 2), (336, 336), "very elongated panorama to a thumbnail"),
        ((2, 1500), (40, 40), "very elongated portrait, tall shrink (Pillow >= 13 order differs)"),
        ((997, 3), (5, 3), "big horizontal factor (~199x), vertical skipped"),
        ((3, 997), (3, 5), "big vertical factor, horizontal skipped"),
        ((997, 3), (2016, 1), "panorama keep-ratio to a 1-row strip"),
        ((101, 103), (211, 53), "odd primes"),
        ((211, 53), (101, 103), "odd primes"),
        ((13, 17), (337, 331), "odd primes, big upscale"),
        ((331, 337), (13, 17), "odd primes, big downscale"),
        ((1009, 1013), (7, 11), "~144x downscale, primes"),
        ((300, 300), (336, 336), "square_300 thumbnail/canvas"),
        ((200, 100), (336, 168), "small 2:1 keep-ratio"),
        ((7, 5), (336, 240), "tiny upscale keep-ratio"),
        ((7, 5), (336, 336), "tiny thumbnail"),
        ((400, 100), (100, 400), "transpose shape"),
        ((100, 400), (90, 100), "tall shrink: vertical pass first in Pillow >= 13"),
        ((120, 500), (118, 120), "tall shrink, small width change"),
        ((256, 256), (255, 255), "shrink by one pixel"),
        ((255, 255), (256, 256), "grow by one pixel"),
        ((333, 222), (334, 221), "+1/-1"),
    ]
    for src, dst, what in structural:
        add("RGB", "noise", src, dst, what)
        add("RGB", "binary", src, dst, what + " (binary content: clipping)")
    pipeline = [
        ((640, 480), (672, 504), "640x480 keep-ratio resize (pipeline)"),
        ((640, 480), (336, 336), "640x480 thumbnail (pipeline)"),
        ((1000, 600), (1008, 604), "1000x600 keep-ratio (pipeline)"),
        ((1000, 600), (336, 336), "1000x600 thumbnail"),
        ((600, 1000), (604, 1008), "600x1000 keep-ratio (pipeline)"),
        ((600, 1000), (336, 336), "600x1000 thumbnail: tall shrink (Pillow >= 13 order differs)"),
        ((1920, 1080), (336, 336), "1920x1080 thumbnail (2M-pixel source)"),
        ((1920, 1080), (1792, 1008), "1920x1080 keep-ratio (pipeline)"),
        ((1080, 1920), (336, 336), "portrait 1080x1920 thumbnail, tall shrink"),
        ((1080, 1920), (1008, 1792), "portrait 1080x1920 keep-ratio"),
        ((3000, 300), (2016, 201), "3000x300 keep-ratio"),
        ((3000, 300), (336, 336), "3000x300 thumbnail"),
        ((1008, 2016), (336, 336), "1008x2016 thumbnail, tall shrink"),
        ((3000, 10), (2016, 6), "panorama 3000x10 keep-ratio"),
        ((5, 2000), (5, 2016), "portrait 5x2000 keep-ratio (horizontal pass skipped)"),
        ((5, 2000), (336, 336), "portrait 5x2000 thumbnail"),
        ((1600, 1200), (1344, 1008), "4:3 large keep-ratio (1.9M-pixel source)"),
    ]
    for src, dst, what in pipeline:
        add("RGB", "noise", src, dst, what)
    # --- other modes: a structural subset each ------------------------------------------------------------------
    subset = [
        ((64, 48), (32, 24), "exact 2x downscale"),
        ((20, 15), (60, 45), "exact 3x upscale"),
        ((100, 80), (37, 80), "horizontal only"),
        ((100, 80), (100, 29), "vertical only"),
        ((100, 80), (100, 80), "same size: copy"),
        ((97, 89), (41, 151), "down x, up y"),
        ((1, 1), (7, 5), "1x1 upscale"),
        ((5, 7), (1, 1), "to 1x1"),
        ((1, 50), (13, 7), "1-wide source"),
        ((50, 1), (7, 13), "1-tall source"),
        ((997, 3), (5, 3), "big factor"),
        ((2, 1500), (40, 40), "elongated portrait, tall shrink"),
        ((101, 103), (211, 53), "odd primes"),
        ((331, 337), (13, 17), "big downscale"),
        ((100, 400), (90, 100), "tall shrink"),
        ((640, 480), (336, 336), "thumbnail"),
    ]
    for mode in ("L", "RGBA", "LA", "P", "1"):
        for src, dst, what in subset:
            add(mode, "noise", src, dst, what)
        if mode in ("L", "RGBA", "LA"):
            for src, dst, what in subset[:8]:
                add(mode, "binary", src, dst, what + " (binary content)")
    # --- random shapes ---------------------------------------------------------------------------------------------
    rng = np.random.Generator(np.random.PCG64(20261206))
    modes = ["RGB"] * 30 + ["L"] * 10 + ["RGBA"] * 10 + ["LA"] * 6 + ["P"] * 6 + ["1"] * 6
    for mode in modes:
        dims = [int(v) for v in np.exp(rng.uniform(0.0, np.log(400.0), size=4)).astype(np.int64) + 1]
        content = "binary" if rng.integers(0, 4) == 0 else "noise"
        add(mode, content, dims[:2], dims[2:], "random shape (log-uniform 1..400)")
    for i, p in enumerate(pairs):
        p["seed"] = 1000 + i
    return pairs


def resize_pairs(pairs):
    out = []
    for p in pairs:
        src = pair_source(p["mode"], p["content"], p["seed"], *p["src"])
        r = src.resize(tuple(p["dst"]), Image.BICUBIC)
        assert r.mode == p["mode"] and r.size == tuple(p["dst"])
        q = dict(p)
        q["sha256"] = sha256(image_bytes(r))
        out.append(q)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Image content (numpy PCG64 + integer arithmetic only, so it is identical on every machine)


def content(w, h, seed, ch=3, block=1, amp=40, shapes=True):
    rng = np.random.Generator(np.random.PCG64(seed))
    y = np.arange(h, dtype=np.int64)[:, None]
    x = np.arange(w, dtype=np.int64)[None, :]
    gx = (x * 255) // max(w - 1, 1) + 0 * y
    gy = (y * 255) // max(h - 1, 1) + 0 * x
    t = ((x * 3 + y * 2) * 510 // max(w + h, 1)) % 510
    tri = np.where(t > 255, 510 - t, t)  # triangle wave
    if ch == 3:
        base = np.stack([gx, gy, tri], axis=-1)
    else:
        base = ((gx * 2 + tri) // 3)[..., None]
    bh, bw = -(-h // block), -(-w // block)
    noise = rng.integers(-amp, amp + 1, size=(bh, bw, ch), dtype=np.int64)
    noise = np.repeat(np.repeat(noise, block, axis=0), block, axis=1)[:h, :w]
    img = base + noise
    if shapes:
        for _ in range(6):  # flat rectangles: sharp edges
            x0, x1 = sorted(rng.integers(0, w + 1, size=2))
            y0, y1 = sorted(rng.integers(0, h + 1, size=2))
            x1, y1 = min(x1, x0 + max(w // 3, 1)), min(y1, y0 + max(h // 3, 1))
            img[y0:y1, x0:x1] = rng.integers(0, 256, size=ch)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = max(min(w, h) // 4, 1)
        disc = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        img[disc] = 255 - img[disc]
        # 1-px checkerboard patch and thin lines (worst case for resampling)
        cw_, ch_ = max(w // 6, 1), max(h // 6, 1)
        ox, oy = w - cw_, h - ch_
        chk = ((x[:, :cw_] + y[:ch_, :]) % 2) * 255
        img[oy:, ox:] = chk[..., None]
        img[:, ::17][: h // 2] = 0
        img[::13, : w // 2] = 255
    return np.clip(img, 0, 255).astype(np.uint8)


def alpha_plane(w, h, seed):
    rng = np.random.Generator(np.random.PCG64(seed))
    y = np.arange(h, dtype=np.int64)[:, None]
    x = np.arange(w, dtype=np.int64)[None, :]
    a = np.full((h, w), 255, dtype=np.int64)
    a[:, : w // 4] = 0  # fully transparent (colour underneath is not zero)
    band = (x >= w // 4) & (x < w // 2)
    a = np.where(band, ((x - w // 4) * 255) // max(w // 4 - 1, 1) + 0 * y, a)  # horizontal alpha ramp 0..255
    bn = rng.integers(0, 256, size=(-(-h // 4), -(-w // 4)), dtype=np.int64)
    bn = np.repeat(np.repeat(bn, 4, axis=0), 4, axis=1)[:h, :w]
    low = (y >= h // 2) & (x >= w // 2)
    a = np.where(low, bn, a)  # block-noise alpha
    sq = (np.abs(x - (3 * w) // 4) < w // 10) & (np.abs(y - h // 4) < h // 8)
    a = np.where(sq, 0, a)  # transparent hole inside the opaque region
    a[h - 3 :, :] = 1  # nearly transparent rows
    return np.clip(a, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------------------------
# Hand-written PNGs (Pillow cannot write 16-bit RGB or interlaced PNGs)


def _chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _filter_rows(rows, bpp, first_filter):
    """PNG-filter each row (uint8 [n, rowbytes]); filter type cycles 0..4 starting at first_filter."""
    out = bytearray()
    prior = np.zeros(rows.shape[1], dtype=np.int64)
    for i, raw in enumerate(rows.astype(np.int64)):
        ft = (first_filter + i) % 5
        a = np.concatenate([np.zeros(bpp, np.int64), raw[:-bpp]])
        c = np.concatenate([np.zeros(bpp, np.int64), prior[:-bpp]])
        b = prior
        if ft == 0:
            f = raw
        elif ft == 1:
            f = raw - a
        elif ft == 2:
            f = raw - b
        elif ft == 3:
            f = raw - (a + b) // 2
        else:
            p = a + b - c
            pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
            pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
            f = raw - pred
        out.append(ft)
        out += (f & 0xFF).astype(np.uint8).tobytes()
        prior = raw
    return bytes(out)


def png_bytes(arr, bitdepth, interlace):
    """arr: [H, W, 3] uint8 (bitdepth 8) or uint16 (bitdepth 16); colour type 2 (RGB)."""
    h, w, _ = arr.shape
    if bitdepth == 16:
        raw = arr.astype(">u2").view(np.uint8).reshape(h, w * 6)
        bpp = 6
    else:
        raw = arr.reshape(h, w * 3)
        bpp = 3
    if not interlace:
        data = _filter_rows(raw, bpp, 0)
    else:
        data = b""
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for k, (xs, ys, dx, dy) in enumerate(passes):
            sub = arr[ys::dy, xs::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            data += _filter_rows(sub.reshape(sub.shape[0], -1), bpp, k)
    ihdr = struct.pack(">IIBBBBB", w, h, bitdepth, 2, 0, 0, 1 if interlace else 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(data, 9)) + _chunk(b"IEND", b"")


# ----------------------------------------------------------------------------------------------------------------
# Image cases


def _save(im, **kw):
    buf = io.BytesIO()
    im.save(buf, **kw)
    return buf.getvalue()


def _rgb(w, h, seed, **kw):
    return Image.fromarray(content(w, h, seed, 3, **kw), "RGB")


def build_images():
    """List of (name, file, what, encoder, file_bytes)."""
    imgs = []

    def add(name, ext, what, encoder, data):
        imgs.append((name, f"{name}.{ext}", what, encoder, data))

    png = dict(format="PNG")
    add("square_300", "png", "square RGB <= 336: 336x336 pinpoint, canvas and thumbnail both upscale, 1176 tokens",
        "Pillow PNG", _save(_rgb(300, 300, 1), **png))
    add("small_200x100", "png", "2:1 RGB: 336x168 pasted at top 84, 876 tokens", "Pillow PNG",
        _save(_rgb(200, 100, 2), **png))
    add("rgb_640x480", "png", "4:3 RGB: 672x672, resized 672x504 at top 84, 2x2 tiles", "Pillow PNG",
        _save(_rgb(640, 480, 3, block=2, amp=12), **png))
    add("rgb_1000x600", "png", "landscape RGB: 1008x672, resized 1008x604 at top 34 (odd pad)", "Pillow PNG",
        _save(_rgb(1000, 600, 4, block=4, amp=10), **png))
    add("rgb_600x1000", "png",
        "portrait RGB: 672x1008, resized 604x1008 at left 34; thumbnail is a tall shrink (Pillow 13 differs)",
        "Pillow PNG", _save(_rgb(600, 1000, 5, block=4, amp=10), **png))
    add("rgb_1920x1080", "png", "full HD RGB (8x8 block noise): 2016x1008, 19 crops, resized 1792x1008 at left 112",
        "Pillow PNG", _save(_rgb(1920, 1080, 6, block=8, amp=12), **png))
    add("rgb_3000x300", "png", "wide RGB: 2016x336, resized 2016x201 at top 67, 1x6 tiles, 2606 tokens",
        "Pillow PNG", _save(_rgb(3000, 300, 7, block=4, amp=12), **png))
    add("tiny_7x5", "png", "tiny RGB: everything is a large upscale", "Pillow PNG", _save(_rgb(7, 5, 8), **png))
    add("rgb_1008x2016", "png", "1:2 portrait: exact 1008x2016 pinpoint (no pad), 19 crops, 11088 tokens (max)",
        "Pillow PNG", _save(_rgb(1008, 2016, 9, block=8, amp=8), **png))
    add("panorama_3000x10", "png", "extreme panorama: zero kept tile rows, 576 tokens", "Pillow PNG",
        _save(_rgb(3000, 10, 10), **png))
    add("portrait_5x2000", "png", "extreme portrait: best 336x2016, resized 5x2016 at left 165, zero kept tile columns, 720 tokens",
        "Pillow PNG", _save(_rgb(5, 2000, 11), **png))
    add("extreme_4032x2", "png",
        "most extreme accepted panorama: best 2016x336, resized 2016x1 (1-row strip), 576 tokens", "Pillow PNG",
        _save(_rgb(4032, 2, 12, shapes=False), **png))
    rgba = np.concatenate([content(500, 400, 13, 3, block=2, amp=20), alpha_plane(500, 400, 14)[..., None]], axis=-1)
    add("rgba_500x400", "png",
        "RGBA with alpha 0 (non-black colour underneath), 255, ramps and block noise: premultiplied resize, alpha dropped by paste",
        "Pillow PNG", _save(Image.fromarray(rgba, "RGBA"), **png))
    rgba2 = np.concatenate([content(336, 336, 15, 3, amp=30), alpha_plane(336, 336, 16)[..., None]], axis=-1)
    add("rgba_336x336", "png",
        "RGBA 336x336: canvas and thumbnail resizes are no-op copies (no premultiply round trip)", "Pillow PNG",
        _save(Image.fromarray(rgba2, "RGBA"), **png))
    la = np.concatenate([content(320, 200, 17, 1, amp=30), alpha_plane(320, 200, 18)[..., None]], axis=-1)
    add("la_320x200", "png", "gray+alpha (LA): premultiplied (La) resize; paste gives R=G=B=L, alpha dropped",
        "Pillow PNG", _save(Image.fromarray(la, "LA"), **png))
    add("gray_450x300", "png", "grayscale L: resized in L, converted to RGB by paste/convert", "Pillow PNG",
        _save(Image.fromarray(content(450, 300, 19, 1)[..., 0], "L"), **png))
    # palette: 8-bit, 256 entries, no tRNS
    rng = np.random.Generator(np.random.PCG64(20))
    idx = content(300, 200, 21, 1, amp=60)[..., 0]
    pal = rng.integers(0, 256, size=768, dtype=np.int64).astype(np.uint8)
    p = Image.frombytes("P", (300, 200), idx.tobytes())
    p.putpalette(pal.tobytes(), "RGB")
    add("palette_300x200", "png", "P, 8-bit, 256-colour palette, no tRNS: NEAREST resize of indices",
        "Pillow PNG", _save(p, **png))
    # palette: 4-bit, 11 entries, tRNS of 6 entries
    idx4 = (content(210, 150, 22, 1, amp=40)[..., 0].astype(np.int64) * 11 // 256).astype(np.uint8)
    p4 = Image.frombytes("P", (210, 150), idx4.tobytes())
    p4.putpalette(rng.integers(0, 256, size=33, dtype=np.int64).astype(np.uint8).tobytes(), "RGB")
    add("palette_trns_4bit_210x150", "png",
        "P, 4-bit PNG, 11-entry palette, 6-entry tRNS (0,128,255,64,200,255): transparency ignored by convert('RGB')",
        "Pillow PNG (bit depth 4 chosen by Pillow from the 11-entry palette)",
        _save(p4, format="PNG", transparency=bytes([0, 128, 255, 64, 200, 255])))
    b1 = (content(100, 80, 23, 1, amp=90)[..., 0] >= 128).astype(np.uint8) * 255
    add("bit1_100x80", "png", "1-bit: NEAREST resize, converted to 0/255 RGB", "Pillow PNG",
        _save(Image.frombytes("L", (100, 80), b1.tobytes()).convert("1", dither=Image.Dither.NONE), **png))
    # 16-bit RGB PNG, hand-written: high bytes from content(), low bytes seeded noise
    hi = content(320, 240, 24, 3, amp=30).astype(np.uint16)
    lo = np.random.Generator(np.random.PCG64(25)).integers(0, 256, size=(60, 80, 3), dtype=np.int64)
    lo = np.repeat(np.repeat(lo, 4, axis=0), 4, axis=1).astype(np.uint16)  # 4x4 blocks of random low bytes
    add("png16_rgb_320x240", "png",
        "16-bit/channel RGB PNG (hand-written, filters 0-4 cycling): Pillow opens it as RGB keeping the high byte",
        "hand-written PNG (generate.py png_bytes, zlib level 9)", png_bytes((hi << 8) | lo, 16, False))
    add("interlaced_rgb_257x129", "png",
        "Adam7-interlaced 8-bit RGB PNG (hand-written, filters 0-4 cycling, partial 8x8 blocks)",
        "hand-written PNG (generate.py png_bytes, Adam7, zlib level 9)",
        png_bytes(content(257, 129, 26, 3), 8, True))
    jp = _rgb(640, 480, 27, block=2, amp=16)
    add("jpeg_baseline_640x480", "jpg", "baseline JPEG q90 4:2:0 (decode: libjpeg-turbo, fancy upsampling)",
        "Pillow JPEG quality=90 subsampling=2 (4:2:0)", _save(jp, format="JPEG", quality=90, subsampling=2))
    add("jpeg_progressive_640x480", "jpg", "progressive JPEG q90 4:2:0", "Pillow JPEG quality=90 subsampling=2 progressive",
        _save(jp, format="JPEG", quality=90, subsampling=2, progressive=True))
    add("jpeg_gray_300x200", "jpg", "grayscale JPEG (opens as L)", "Pillow JPEG quality=90 (L)",
        _save(Image.fromarray(content(300, 200, 28, 1)[..., 0], "L"), format="JPEG", quality=90))
    add("jpeg_444_337x211", "jpg", "JPEG 4:4:4, odd size (partial MCUs)", "Pillow JPEG quality=90 subsampling=0 (4:4:4)",
        _save(_rgb(337, 211, 29), format="JPEG", quality=90, subsampling=0))
    add("extreme_5000x2", "png",
        "refused: every pinpoint has effective resolution 0, the tie rule keeps the first (336x336), keepratio_resize asks Pillow for 336x0",
        "Pillow PNG", _save(_rgb(5000, 2, 30, shapes=False), **png))
    # palettes shorter than the indices the pixels use: Pillow shows an index past PLTE as black
    short = np.random.Generator(np.random.PCG64(31))
    i2 = short.integers(0, 4, size=(90, 130), dtype=np.int64).astype(np.uint8)  # 2-bit, index 3 has no entry
    p2 = Image.frombytes("P", (130, 90), i2.tobytes())
    p2.putpalette(bytes([250, 10, 10, 10, 250, 10, 10, 10, 250]), "RGB")
    add("palette_short_2bit_130x90", "png",
        "P, 2-bit PNG with a 3-entry PLTE and index 3 in the pixels: the missing entry shows black",
        "Pillow PNG (bit depth 2 chosen by Pillow from the 3-entry palette)", _save(p2, format="PNG"))
    i8 = short.integers(0, 256, size=(120, 170), dtype=np.int64).astype(np.uint8)  # 8-bit, 200 entries
    p8 = Image.frombytes("P", (170, 120), i8.tobytes())
    p8.putpalette(short.integers(0, 256, size=600, dtype=np.int64).astype(np.uint8).tobytes(), "RGB")
    add("palette_short_8bit_170x120", "png",
        "P, 8-bit PNG with a 200-entry PLTE and indices up to 255: indices 200..255 show black",
        "Pillow PNG", _save(p8, format="PNG"))
    return imgs


def process_image(name, fname, what, encoder, data):
    img = Image.open(io.BytesIO(data))
    img.load()
    W, H = img.size
    rec = {
        "name": name, "file": fname, "file_sha256": sha256(data), "what": what, "encoder": encoder,
        "pillow_mode": img.mode, "width": W, "height": H,
        "decoded_sha256": sha256(image_bytes(img)),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # P + tRNS bytes: "should be converted to RGBA" on convert("RGB")
        rec["decoded_rgb_sha256"] = sha256(np.asarray(img.convert("RGB")).tobytes())
    if img.mode == "P":
        rec["png_transparency"] = list(img.info["transparency"]) if "transparency" in img.info else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # P + tRNS bytes: "should be converted to RGBA" on convert("RGB")
            best, resized, offset, crops = get_image_patches(img)
            rgbs = [crop_rgb(c) for c in crops]
    except Exception as e:  # noqa: BLE001  (recorded, the C++ side must refuse)
        rec["expect_error"] = str(e)
        rec["expect_error_type"] = type(e).__name__
        rec["best_resolution"] = select_best_resolution((W, H), PINPOINTS)
        return rec
    Wb, Hb = best
    tokens, h_num, w_num = get_num_token(W, H)
    for c, a in zip(crops, rgbs):
        assert a.shape == (336, 336, 3), (name, c.size, a.shape)
    pv = np.stack([normalize(a) for a in rgbs]).astype("<f4")
    rec.update({
        "best_resolution": [Wb, Hb], "grid": [Hb // 336, Wb // 336], "resized": list(resized),
        "paste_offset": list(offset), "num_crops": len(crops), "kept_rows": h_num, "kept_cols": w_num,
        "num_image_tokens": tokens,
        "crop_sha256": [sha256(a.tobytes()) for a in rgbs],
        "pixel_values_sha256": sha256(pv.tobytes()),
    })
    return rec


# ----------------------------------------------------------------------------------------------------------------
# Token grid


def best_resolution_np(W, H):
    """Vectorised official select_best_resolution over int64 arrays W, H (same float64 ops as Python)."""
    Wf, Hf = W.astype(np.float64), H.astype(np.float64)
    area = W * H
    best_w = np.zeros(W.shape, np.int64)
    best_h = np.zeros(W.shape, np.int64)
    max_eff = np.zeros(W.shape, np.int64)
    min_waste = np.full(W.shape, np.inf)
    for pw, ph in PINPOINTS:
        s = np.minimum(pw / Wf, ph / Hf)
        dw = np.floor(Wf * s).astype(np.int64)  # int() of a positive float
        dh = np.floor(Hf * s).astype(np.int64)
        eff = np.minimum(dw * dh, area)
        waste = (pw * ph - eff).astype(np.float64)
        take = (eff > max_eff) | ((eff == max_eff) & (waste < min_waste))
        max_eff = np.where(take, eff, max_eff)
        min_waste = np.where(take, waste, min_waste)
        best_w = np.where(take, pw, best_w)
        best_h = np.where(take, ph, best_h)
    return best_w, best_h


def tokens_np(W, H):
    Wb, Hb = best_resolution_np(W, H)
    ok = Wb > 0
    cw, ch = np.where(ok, Wb // PATCH_SIZE, 1), np.where(ok, Hb // PATCH_SIZE, 1)
    wide = (W / H) > (cw / ch)
    h_num = np.where(wide, ch - 2 * ((ch - (H * cw) // W) // 2), ch)
    w_num = np.where(wide, cw, cw - 2 * ((cw - (W * ch) // H) // 2))
    return np.where(ok, (w_num + 1) * h_num + 576, -1)


def token_grid():
    ws, hs = range(1, 3001, 13), range(1, 3001, 17)
    W, H = np.meshgrid(np.arange(1, 3001, 13), np.arange(1, 3001, 17), indexing="ij")
    tok = tokens_np(W.reshape(-1), H.reshape(-1))
    assert (tok > 0).all()  # every sampled size is accepted
    # cross-check the vectorised form against the scalar official code on the sampled grid
    k = 0
    for w in ws:
        for h in hs:
            assert get_num_token(w, h)[0] == tok[k], (w, h)
            k += 1
    best_m, arg = -1, None
    for w0 in range(1, 3001, 250):  # all W, H in 1..3000, in slabs of 250 widths
        Wa, Ha = np.meshgrid(np.arange(w0, min(w0 + 250, 3001)), np.arange(1, 3001), indexing="ij")
        t = tokens_np(Wa.reshape(-1), Ha.reshape(-1))
        i = int(np.argmax(t))  # first maximum in W-major order
        if t[i] > best_m:
            best_m, arg = int(t[i]), [int(Wa.reshape(-1)[i]), int(Ha.reshape(-1)[i])]
    assert get_num_token(*arg)[0] == best_m
    return {
        "w": [1, 3001, 13], "h": [1, 3001, 17],
        "order": "w-major: for W in range(...): for H in range(...)",
        "tokens": [int(v) for v in tok], "max_tokens_all_sizes": best_m, "argmax": arg, "max_range": [1, 3000],
        "argmax_rule": "first (W, H) in w-major order reaching the maximum",
    }


# ----------------------------------------------------------------------------------------------------------------


def dump_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, sort_keys=True, indent=1)
        f.write("\n")


def normalize_lut():
    x = np.arange(256, dtype=np.uint8).astype(np.float32) / np.float32(255)
    lut = [(x - MEAN32[c]) / STD32[c] for c in range(3)]
    out = [[float(v) for v in row] for row in lut]  # json writes repr(float): exact float32 values
    for row, ref in zip(out, lut):
        assert np.array_equal(np.array(row, dtype=np.float32), ref)
    return out


def self_tests():
    # splitmix64: vectorised == scalar
    for seed in (0, 1, 1234567, M64):
        ref = [v & 0xFF for v in splitmix64_scalar(seed, 50)]
        assert splitmix64_bytes(seed, 50).tolist() == ref, seed
    # hand-written PNGs decode as intended
    a = content(37, 23, 99, 3)
    for inter in (False, True):
        im = Image.open(io.BytesIO(png_bytes(a, 8, inter)))
        assert im.mode == "RGB" and np.array_equal(np.asarray(im), a)
    a16 = (a.astype(np.uint16) << 8) | 0xA5
    im = Image.open(io.BytesIO(png_bytes(a16, 16, False)))
    assert im.mode == "RGB" and np.array_equal(np.asarray(im), a)


def generate(out):
    assert PIL.__version__ == "12.0.0", f"need Pillow 12.0.0 (golden/vl_preprocess/setup-venv.sh), have {PIL.__version__}"
    os.makedirs(out, exist_ok=True)
    self_tests()
    images = []
    for name, fname, what, encoder, data in build_images():
        with open(os.path.join(out, fname), "wb") as f:
            f.write(data)
        images.append(process_image(name, fname, what, encoder, data))
    manifest = {
        "generator": "golden/vl_preprocess/generate.py",
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "zlib": features.version("zlib"),
        "processor": {
            "size": list(SIZE), "patch_size": PATCH_SIZE, "image_mean": IMAGE_MEAN, "image_std": IMAGE_STD,
            "image_grid_pinpoints": PINPOINTS, "process_image_mode": "anyres",
        },
        "normalize_lut": normalize_lut(),
        "images": images,
    }
    dump_json(os.path.join(out, "manifest.json"), manifest)
    pairs = resize_pairs(build_pairs())
    dump_json(os.path.join(out, "resize_pairs.json"), {"pillow": PIL.__version__, "pairs": pairs})
    dump_json(os.path.join(out, "token_grid.json"), token_grid())
    print(f"wrote {len(images)} images, {len(pairs)} resize pairs, token grid -> {out}")


def generate13(out):
    assert PIL.__version__ == "13.0.0", f"--pillow13 needs Pillow 13.0.0 (setup-venv.sh --pillow13), have {PIL.__version__}"
    with open(os.path.join(CASES, "resize_pairs.json")) as f:
        ref = json.load(f)
    pairs = resize_pairs(build_pairs())
    assert len(pairs) == len(ref["pairs"])
    ndiff = 0
    for p, r in zip(pairs, ref["pairs"]):
        assert all(p[k] == r[k] for k in ("mode", "content", "seed", "src", "dst", "what")), (p, r)
        p["same_as_12"] = p["sha256"] == r["sha256"]
        ndiff += not p["same_as_12"]
    os.makedirs(out, exist_ok=True)
    dump_json(os.path.join(out, "resize_pairs_pillow13.json"), {"pillow": PIL.__version__, "pairs": pairs})
    print(f"wrote {len(pairs)} resize pairs (Pillow {PIL.__version__}); {ndiff} differ from Pillow 12.0.0:")
    for p in pairs:
        if not p["same_as_12"]:
            print(f"  {p['mode']:4s} {p['content']:6s} {p['src']} -> {p['dst']}  ({p['what']})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=CASES)
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare with --out")
    ap.add_argument("--pillow13", action="store_true", help="only write resize_pairs_pillow13.json (Pillow 13.0.0)")
    args = ap.parse_args()
    if args.pillow13:
        if args.check:
            tmp = tempfile.mkdtemp()
            generate13(tmp)
            same = filecmp.cmp(os.path.join(tmp, "resize_pairs_pillow13.json"),
                               os.path.join(args.out, "resize_pairs_pillow13.json"), shallow=False)
            shutil.rmtree(tmp)
            print("reproduction check:", "byte-identical" if same else "DIFFERS")
            sys.exit(0 if same else 1)
        generate13(args.out)
        return
    if args.check:
        tmp = tempfile.mkdtemp()
        generate(tmp)
        names = sorted(n for n in os.listdir(tmp))
        committed = sorted(n for n in os.listdir(args.out) if n != "resize_pairs_pillow13.json")
        bad = [n for n in names if not os.path.exists(os.path.join(args.out, n))
               or not filecmp.cmp(os.path.join(tmp, n), os.path.join(args.out, n), shallow=False)]
        bad += [n for n in committed if n not in names]
        shutil.rmtree(tmp)
        if bad:
            print("reproduction check FAILED:", bad)
            sys.exit(1)
        print(f"reproduction check: all {len(names)} files byte-identical to {args.out}")
        return
    generate(args.out)


if __name__ == "__main__":
    main()
