#!/usr/bin/env python3
"""Golden outputs for the MiniMax-VL-01 C++ reference (issue 13), end to end: image file -> crops -> vision
tower -> projector -> packing -> splice -> MiniMax text model -> logits, assembled from RELEASED, pinned pieces
that nobody on this project wrote:

- crops: the official processor re-implemented on Pillow 12.0.0 (golden/vl_preprocess/generate.py, imported in a
  subprocess of its own venv .venv-vl-golden, which has Pillow; this venv has none);
- vision tower: transformers' stock CLIPVisionModel (hidden_act "gelu", layer_norm_eps 1e-5, features =
  hidden_states[-1] without post_layernorm, CLS dropped);
- projector and packing: transformers' LLaVA-NeXT (LlavaNextMultiModalProjector, LlavaNextModel.pack_image_features,
  which uses unpad_image / get_anyres_image_grid_shape);
- text: the HF MiniMax text model of golden/generate.py (imported, so its HF_PATCHES apply) driven with
  inputs_embeds (embed_tokens of the ids with image ids replaced by 0, image positions overwritten in order).

Semantics: docs/semantics/vl-01-preprocessing.md and docs/semantics/vl-01-vision.md.

    golden/setup-venv.sh && golden/vl_preprocess/setup-venv.sh
    .venv-golden/bin/python golden/generate_vl.py            # writes golden/vl_cases/
    .venv-golden/bin/python golden/generate_vl.py --check    # regenerate into a temp dir, require identical bytes

Deterministic (bit for bit) for the pinned package versions. CI never runs this script.
"""
import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["MKL_CBWR"] = "COMPATIBLE"

import argparse
import filecmp
import hashlib
import importlib.util
import json
import math
import platform
import shutil
import subprocess
import sys
import tempfile
from collections import OrderedDict
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# The text goldens' generator: importing it applies its HF_PATCHES to transformers' MiniMax module and sets the
# torch reproducibility knobs (1 thread, no oneDNN, deterministic algorithms).
tg = _load("golden_text_generate", os.path.join(HERE, "generate.py"))

import numpy as np  # noqa: E402
import safetensors  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import CLIPVisionConfig, CLIPVisionModel  # noqa: E402
from transformers.models.clip import modeling_clip as hf_clip  # noqa: E402
from transformers.models.llava_next import modeling_llava_next as hf_llava_next  # noqa: E402
from transformers.models.minimax import modeling_minimax as mm  # noqa: E402

GENERATOR_VERSION = 1
SAFETENSORS_METADATA = tg.SAFETENSORS_METADATA
PREPROCESS = os.path.join(HERE, "vl_preprocess", "generate.py")
PILLOW_VENV_PY = os.environ.get("VL_PILLOW_PYTHON", os.path.join(REPO, ".venv-vl-golden", "bin", "python"))

# Released processor / model settings (docs/semantics/vl-01-preprocessing.md, "Settings")
IMAGE_SIZE, PATCH = 336, 14
GRID = IMAGE_SIZE // PATCH  # 24
NPOS = GRID * GRID + 1  # 577
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
VISION_LN_EPS = 1e-5
ROUTER_MARGIN_MIN = 1e-4  # min gap between the k-th and (k+1)-th router logit, every token, layer and decode step

# Rows stored for the big per-token tensors (the whole folder must stay under 4 MB). Vision rows index the 577
# positions of a crop (0 = CLS; 1 + r*24 + c = patch (r, c)); feature rows index the 576 features (CLS dropped).
VISION_ROWS = [0, 1, 2, 3, 12, 23, 24, 25, 26, 47, 48, 49, 100, 168, 288, 289, 300, 360, 431, 499, 552, 553, 575, 576]
FEATURE_ROWS = [r - 1 for r in VISION_ROWS[1:]]
TEXT_ROW_STRIDE = 97

_TEXT_COMMON = dict(spelling="official", num_key_value_heads=1, rope_theta=10000000.0, attn=[tg.L_, tg.F_],
                    num_local_experts=4, num_experts_per_tok=2, alpha_linear=2.5, beta_linear=1.0,
                    alpha_full=2.25, beta_full=1.0, alpha_mlp=2.0, beta_mlp=0.875, shards=1)
_VISION_SMALL = dict(hidden_size=16, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)

# Prompt layout: "t" = one seeded text id, ("img", k) = the placeholder of image k (expanded to its token count).
CASES = [
    dict(
        name="one_image",
        description="One 560x110 RGB image: best 672x336 (1x2 tiles, 3 crops), 10 of 24 tile rows kept (7 dropped "
        "on each side), 576 + 10 x (48+1) = 1066 image tokens between text; vision attn/mlp sub-outputs stored.",
        seed=7101,
        images=[dict(w=560, h=110, seed=71, kw=dict(block=4, amp=12))],
        layout=["t", "t", "t", ("img", 0), "t", "t", "t", "t"],
        decode_steps=2, sub_outputs=True,
        text=dict(vocab_size=128, hidden_size=32, intermediate_size=32, num_attention_heads=2, head_dim=16,
                  rotary_dim=8),
        image_token_index=125,
        vision=_VISION_SMALL,
    ),
    dict(
        name="two_images",
        description="Two images with different tile counts, spliced in order with text between them: 60x150 "
        "portrait (336x336, 2 crops, 10 of 24 tile columns kept, 576 + 24 x 11 = 840 tokens), then a 640x480 "
        "landscape (672x672 = 2x2 tiles, 5 crops, 36 of 48 rows kept, 576 + 36 x 49 = 2340 tokens: a grid of more "
        "than one row AND column, the only kind on which row-major and column-major tile orders differ). Vision: "
        "4 heads of 4. Low image token id 7.",
        seed=7202,
        images=[dict(w=60, h=150, seed=72, kw=dict(block=2, amp=16)),
                dict(w=640, h=480, seed=73, kw=dict(block=8, amp=12))],
        layout=["t", "t", ("img", 0), "t", "t", "t", ("img", 1), "t"],
        decode_steps=2, sub_outputs=False,
        text=dict(vocab_size=160, hidden_size=32, intermediate_size=32, num_attention_heads=2, head_dim=16,
                  rotary_dim=8),
        image_token_index=7,
        vision=dict(hidden_size=16, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4),
    ),
    dict(
        name="extreme_aspect",
        description="Two extreme aspect ratios (both 336x336, 2 crops): a 200x4 panorama keeps ZERO tile rows "
        "(576 tokens: the base block only, no newline), then a 4x200 strip keeps ZERO tile columns but all 24 rows "
        "(576 + 24 newlines = 600 tokens). Image token id = vocab_size - 1.",
        seed=7303,
        images=[dict(w=200, h=4, seed=74, kw={}), dict(w=4, h=200, seed=75, kw={})],
        layout=["t", ("img", 0), "t", "t", ("img", 1), "t", "t"],
        decode_steps=2, sub_outputs=False,
        text=dict(vocab_size=96, hidden_size=32, intermediate_size=32, num_attention_heads=2, head_dim=16,
                  rotary_dim=8),
        image_token_index=95,
        vision=_VISION_SMALL,
    ),
    dict(
        name="real_token_ids",
        description="Released ids: image_token_index 200025, vocab_size 200064 (text ids above 65535, next to the "
        "image id, and the last id 200063). Text hidden size 2 keeps the [200064, 2] embedding and lm_head (BF16) "
        "at 1.6 MB. Logits are stored only for the last prompt position and the decode steps, at a column subset "
        "(vocab.cols) plus the logsumexp over all 200064 columns.",
        seed=7404,
        images=[dict(w=64, h=48, seed=76, kw=dict(amp=24))],
        layout=["t", "t", "t", ("img", 0), "t", "t"],
        decode_steps=2, sub_outputs=False,
        text=dict(vocab_size=200064, hidden_size=2, intermediate_size=4, num_attention_heads=2, head_dim=4,
                  rotary_dim=4),
        image_token_index=200025,
        forced_text_ids=[200024, 200026, 200063, 65535, 65536],
        vocab_cols=True,
        vision=_VISION_SMALL,
    ),
]

# --------------------------------------------------------------------------------------------------
# Labelled deviations of the HF pieces from OFFICIAL (the text model's HF_PATCHES come from generate.py)
# --------------------------------------------------------------------------------------------------
VL_PATCHES = [
    "CLIP_ATTN_SOFTMAX_PRECISION: transformers' CLIP eager attention hard-codes the softmax in float32 (a float64 "
    "run would be rounded to fp32); patched to max(input dtype, float32). Otherwise verbatim: scores = (q k^T) * "
    "head_dim^-0.5, no mask, softmax, @ v.",
    "CLIP_CONFIG: CLIPVisionConfig is built explicitly with hidden_act='gelu' (exact erf GELU; CLIP's default is "
    "quick_gelu), layer_norm_eps=1e-5, image_size 336, patch_size 14, attention_dropout 0, eager attention.",
    "POST_LAYERNORM: vision_model.post_layernorm is absent from the released checkpoint; HF's default init is left in "
    "place and only feeds the discarded pooler_output. Verified: with NaN post_layernorm weights the features are "
    "bit-identical.",
    "FEATURES: hidden_states[-1] of CLIPVisionModel (the last encoder layer's output, asserted equal to "
    "last_hidden_state), CLS row dropped ('default'); no post_layernorm.",
    "PIXELS: the official float32 pixel_values ((x/255 - mean)/std in float32) are promoted to float64 for the "
    "float64 run (the C++ vision tower reads float32 pixels).",
    "UNPAD_ROUNDING: LLaVA-NeXT unpad_image uses int(round(H*cur_w/W, 7)) where the official code uses floor "
    "(H*cur_w)//W; not patched: asserted that both give the same kept rows/cols for every image of every case.",
    "BEST_RESOLUTION_CONVENTION: LLaVA-NeXT's get_anyres_image_grid_shape reads the image size as (H, W) and the "
    "pinpoints as (h, w); the official processor uses (W, H) and (w, h). Not patched: the released list is "
    "symmetric; asserted that the grid equals the processor's (Hb/336, Wb/336) for every image.",
    "PACKING: LlavaNextModel.pack_image_features is called unbound with a config namespace (vision image_size 336, "
    "patch_size 14, the case's image_grid_pinpoints) and image_sizes [H, W]: base crop first, then the unpadded "
    "tile-grid rows, each followed by image_newline; asserted equal to the official token count per image.",
    "PROJECTOR: LlavaNextMultiModalProjector built from a config namespace (bias True, projector_hidden_act "
    "'gelu'): linear_2(gelu_erf(linear_1(x))) per crop token, before packing.",
    "SPLICE: inputs_embeds = embed_tokens(ids with image ids replaced by 0), then masked_scatter of the packed "
    "features (all images, in order) into the image positions; the HF MiniMax model is called with inputs_embeds.",
]


def patched_clip_eager_attention(module, query, key, value, attention_mask, scaling, dropout=0.0,
                                 output_attentions=True, **kwargs):  # CLIP_ATTN_SOFTMAX_PRECISION
    w = torch.matmul(query, key.transpose(-1, -2)) * scaling
    if attention_mask is not None:
        w = w + attention_mask
    w = F.softmax(w, dim=-1, dtype=torch.promote_types(query.dtype, torch.float32)).to(query.dtype)
    out = torch.matmul(w, value).transpose(1, 2).contiguous()
    return out, (w if output_attentions else None)


hf_clip.eager_attention_forward = patched_clip_eager_attention


# --------------------------------------------------------------------------------------------------
# Crops: official processor on Pillow 12.0.0, in the Pillow venv
# --------------------------------------------------------------------------------------------------
_CHILD = r"""
import hashlib, importlib.util, io, json, os, platform, sys
spec = importlib.util.spec_from_file_location("vl_preprocess_generate", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
import numpy as np, PIL
from PIL import Image
req = json.loads(sys.stdin.read())
out = {"python": platform.python_version(), "pillow": PIL.__version__, "numpy": np.__version__, "images": []}
for k, im in enumerate(req["images"]):
    data = m._save(m._rgb(im["w"], im["h"], im["seed"], **im["kw"]), format="PNG")
    with open(os.path.join(req["case_dir"], im["file"]), "wb") as f:
        f.write(data)
    img = Image.open(io.BytesIO(data)); img.load()
    assert img.mode == "RGB" and img.size == (im["w"], im["h"])
    best, resized, offset, crops = m.get_image_patches(img)
    rgbs = [m.crop_rgb(c) for c in crops]
    tokens, h_num, w_num = m.get_num_token(*img.size)
    u8 = np.ascontiguousarray(np.stack(rgbs))
    pv = np.ascontiguousarray(np.stack([m.normalize(a) for a in rgbs]).astype("<f4"))
    np.save(os.path.join(req["tmp_dir"], f"pv_{k}.npy"), pv)
    out["images"].append({"best_resolution": list(best), "resized": list(resized), "paste_offset": list(offset),
        "num_crops": len(crops), "kept_rows": h_num, "kept_cols": w_num, "num_image_tokens": tokens,
        "crop_sha256": [hashlib.sha256(a.tobytes()).hexdigest() for a in rgbs],
        "crops_uint8_sha256": hashlib.sha256(u8.tobytes()).hexdigest(),
        "pixel_values_sha256": hashlib.sha256(pv.tobytes()).hexdigest(),
        "processor": {"size": list(m.SIZE), "patch_size": m.PATCH_SIZE, "image_mean": m.IMAGE_MEAN,
                      "image_std": m.IMAGE_STD, "pinpoints": m.PINPOINTS}})
print(json.dumps(out))
"""


def make_crops(c, case_dir, tmp_dir):
    """Writes the case's PNGs into case_dir; returns (processor meta, list of float32 pixel arrays [n,3,336,336])."""
    req = {"case_dir": case_dir, "tmp_dir": tmp_dir,
           "images": [dict(im, file=f"image_{k}.png") for k, im in enumerate(c["images"])]}
    env = {"PATH": os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    p = subprocess.run([PILLOW_VENV_PY, "-c", _CHILD, PREPROCESS], input=json.dumps(req), capture_output=True,
                       text=True, env=env, check=False)
    if p.returncode != 0:
        sys.exit(f"crop subprocess failed ({PILLOW_VENV_PY}):\n{p.stderr}")
    meta = json.loads(p.stdout)
    assert meta["pillow"] == "12.0.0", meta["pillow"]
    for im in meta["images"]:
        pr = im.pop("processor")
        assert pr["size"] == [IMAGE_SIZE, IMAGE_SIZE] and pr["patch_size"] == PATCH
        assert pr["image_mean"] == IMAGE_MEAN and pr["image_std"] == IMAGE_STD and pr["pinpoints"] == PINPOINTS
    pvs = [np.load(os.path.join(tmp_dir, f"pv_{k}.npy")) for k in range(len(c["images"]))]
    return meta, pvs


# --------------------------------------------------------------------------------------------------
# Config files and weights (released layout and names)
# --------------------------------------------------------------------------------------------------
def text_case(c):
    return dict(_TEXT_COMMON, name=c["name"], **c["text"])


def vl_config_json(c):
    v = c["vision"]
    tcfg = tg.config_json(text_case(c))
    return {
        "architectures": ["MiniMaxVL01ForConditionalGeneration"],
        "auto_map": {
            "AutoConfig": "configuration_minimax_vl_01.MiniMaxVL01Config",
            "AutoModelForCausalLM": "modeling_minimax_vl_01.MiniMaxVL01ForConditionalGeneration",
        },
        "ignore_index": -100,
        "image_grid_pinpoints": PINPOINTS,
        "image_token_index": c["image_token_index"],
        "model_type": "minimax_vl_01",
        "projector_hidden_act": "gelu",
        "text_config": tcfg,
        "torch_dtype": "bfloat16",
        "vision_config": {
            "hidden_act": "gelu",
            "hidden_size": v["hidden_size"],
            "image_size": IMAGE_SIZE,
            "intermediate_size": v["intermediate_size"],
            "model_type": "clip_vision_model",
            "num_attention_heads": v["num_attention_heads"],
            "num_hidden_layers": v["num_hidden_layers"],
            "patch_size": PATCH,
            "projection_dim": c["text"]["hidden_size"],
        },
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "default",
    }


def preprocessor_config_json():
    return {"image_grid_pinpoints": PINPOINTS, "image_mean": IMAGE_MEAN, "image_std": IMAGE_STD, "patch_size": PATCH,
            "process_image_mode": "anyres", "size": [IMAGE_SIZE, IMAGE_SIZE]}


def draw_vl_weights(c, seed):
    """Vision tower + projector + image_newline in the released names (BF16), then the text model (generate.py's
    draw_weights, prefixed language_model.)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    v = c["vision"]
    D, I, Ht = v["hidden_size"], v["intermediate_size"], c["text"]["hidden_size"]
    w = OrderedDict()

    def put(name, shape, std, mean=0.0):
        a = mean + std * rng.standard_normal(shape)
        w[name] = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64)).to(torch.float32).to(torch.bfloat16)

    p = "vision_tower.vision_model."
    put(p + "embeddings.class_embedding", (D,), 0.5)
    put(p + "embeddings.patch_embedding.weight", (D, 3, PATCH, PATCH), 1.0 / math.sqrt(3 * PATCH * PATCH))
    put(p + "embeddings.position_embedding.weight", (NPOS, D), 0.5)
    put(p + "pre_layrnorm.weight", (D,), 0.1, 1.0)
    put(p + "pre_layrnorm.bias", (D,), 0.1)
    for l in range(v["num_hidden_layers"]):
        q = p + f"encoder.layers.{l}."
        for n in ("q_proj", "k_proj"):
            put(q + f"self_attn.{n}.weight", (D, D), 1.2 / math.sqrt(D))
            put(q + f"self_attn.{n}.bias", (D,), 0.1)
        for n in ("v_proj", "out_proj"):
            put(q + f"self_attn.{n}.weight", (D, D), 1.0 / math.sqrt(D))
            put(q + f"self_attn.{n}.bias", (D,), 0.1)
        put(q + "layer_norm1.weight", (D,), 0.1, 1.0)
        put(q + "layer_norm1.bias", (D,), 0.1)
        put(q + "mlp.fc1.weight", (I, D), 1.0 / math.sqrt(D))
        put(q + "mlp.fc1.bias", (I,), 0.1)
        put(q + "mlp.fc2.weight", (D, I), 1.0 / math.sqrt(I))
        put(q + "mlp.fc2.bias", (D,), 0.1)
        put(q + "layer_norm2.weight", (D,), 0.1, 1.0)
        put(q + "layer_norm2.bias", (D,), 0.1)
    put("multi_modal_projector.linear_1.weight", (Ht, D), 1.0 / math.sqrt(D))
    put("multi_modal_projector.linear_1.bias", (Ht,), 0.1)
    put("multi_modal_projector.linear_2.weight", (Ht, Ht), 1.0 / math.sqrt(Ht))
    put("multi_modal_projector.linear_2.bias", (Ht,), 0.1)
    put("image_newline", (Ht,), 1.0)
    for k, t in tg.draw_weights(text_case(c), seed + 1).items():
        w["language_model." + k] = t
    return w


# --------------------------------------------------------------------------------------------------
# Vision tower, projector, packing (HF pieces)
# --------------------------------------------------------------------------------------------------
def build_vision(cfg, ckpt, dtype):
    v = cfg["vision_config"]
    vc = CLIPVisionConfig(hidden_size=v["hidden_size"], intermediate_size=v["intermediate_size"],
                          num_hidden_layers=v["num_hidden_layers"], num_attention_heads=v["num_attention_heads"],
                          image_size=v["image_size"], patch_size=v["patch_size"], num_channels=3,
                          hidden_act=v["hidden_act"], layer_norm_eps=VISION_LN_EPS, attention_dropout=0.0,
                          projection_dim=v["projection_dim"])
    vc._attn_implementation = "eager"
    torch.manual_seed(0)
    model = CLIPVisionModel(vc)
    assert model.config._attn_implementation == "eager"
    assert model.config.hidden_act == "gelu" and model.config.layer_norm_eps == 1e-5
    pre = "vision_tower."
    sd = {k[len(pre):]: t.to(torch.float32) for k, t in ckpt.items() if k.startswith(pre)}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    assert sorted(missing) == ["vision_model.post_layernorm.bias", "vision_model.post_layernorm.weight"], missing
    model = model.to(dtype).eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    for mod in model.modules():
        if isinstance(mod, torch.nn.LayerNorm):
            assert mod.eps == 1e-5
    act = model.vision_model.encoder.layers[0].mlp.activation_fn
    assert type(act).__name__ == "GELUActivation", type(act).__name__
    return model


def run_vision(model, pixels, dtype):
    """pixels: float32 [n, 3, 336, 336]. Returns OrderedDict of full tensors [n, 577 or 576, D]."""
    vm = model.vision_model
    rec = {}
    hooks = []

    def hook(key):
        def fn(mod, inp, out):
            rec[key] = out[0] if isinstance(out, tuple) else out
        return fn

    hooks.append(vm.embeddings.register_forward_hook(hook("embeddings")))
    hooks.append(vm.pre_layrnorm.register_forward_hook(hook("pre_layrnorm")))
    for l, layer in enumerate(vm.encoder.layers):
        hooks.append(layer.self_attn.register_forward_hook(hook(("attn", l))))
        hooks.append(layer.mlp.register_forward_hook(hook(("mlp", l))))
        hooks.append(layer.register_forward_hook(hook(("output", l))))
    with torch.no_grad():
        o = model(pixel_values=torch.from_numpy(pixels).to(dtype), output_hidden_states=True)
    for h in hooks:
        h.remove()
    L = len(vm.encoder.layers)
    last = o.hidden_states[-1]
    assert torch.equal(last, rec[("output", L - 1)]) and torch.equal(last, o.last_hidden_state)
    assert torch.equal(o.hidden_states[0], rec["pre_layrnorm"])
    out = OrderedDict()
    out["vision.embeddings"] = rec["embeddings"]
    out["vision.pre_layrnorm"] = rec["pre_layrnorm"]
    for l in range(L):
        out[f"vision.layers.{l}.attn"] = rec[("attn", l)]
        out[f"vision.layers.{l}.mlp"] = rec[("mlp", l)]
        out[f"vision.layers.{l}.output"] = rec[("output", l)]
    out["vision.features"] = last[:, 1:, :]  # vision_feature_layer -1, strategy "default": drop CLS
    return out


def check_post_layernorm_unused(model, pixels, dtype, features):
    ln = model.vision_model.post_layernorm
    saved = (ln.weight.clone(), ln.bias.clone())
    with torch.no_grad():
        ln.weight.fill_(float("nan"))
        ln.bias.fill_(float("nan"))
        o = model(pixel_values=torch.from_numpy(pixels).to(dtype), output_hidden_states=True)
        assert torch.equal(o.hidden_states[-1][:, 1:, :], features)
        assert torch.isnan(o.pooler_output).all()
        ln.weight.copy_(saved[0])
        ln.bias.copy_(saved[1])


def build_projector(cfg, ckpt, dtype):
    ns = SimpleNamespace(vision_feature_layer=cfg["vision_feature_layer"], projector_hidden_act=cfg["projector_hidden_act"],
                         multimodal_projector_bias=True,
                         vision_config=SimpleNamespace(hidden_size=cfg["vision_config"]["hidden_size"]),
                         text_config=SimpleNamespace(hidden_size=cfg["text_config"]["hidden_size"]))
    torch.manual_seed(0)
    proj = hf_llava_next.LlavaNextMultiModalProjector(ns)
    pre = "multi_modal_projector."
    sd = {k[len(pre):]: t.to(torch.float32) for k, t in ckpt.items() if k.startswith(pre)}
    proj.load_state_dict(sd, strict=True)
    assert type(proj.act).__name__ == "GELUActivation"
    proj = proj.to(dtype).eval()
    for prm in proj.parameters():
        prm.requires_grad_(False)
    return proj


def pack(cfg, per_image, image_sizes_hw, newline, meta):
    fake = SimpleNamespace(config=SimpleNamespace(
        vision_config=SimpleNamespace(image_size=cfg["vision_config"]["image_size"],
                                      patch_size=cfg["vision_config"]["patch_size"]),
        image_grid_pinpoints=cfg["image_grid_pinpoints"]))
    with torch.no_grad():
        feats, lens = hf_llava_next.LlavaNextModel.pack_image_features(
            fake, per_image, image_sizes_hw, cfg["vision_feature_select_strategy"], image_newline=newline)
    for k, (hw, im) in enumerate(zip(image_sizes_hw, meta)):
        # BEST_RESOLUTION_CONVENTION and UNPAD_ROUNDING checks against the official processor's numbers
        nph, npw = hf_llava_next.get_anyres_image_grid_shape(hw, cfg["image_grid_pinpoints"], IMAGE_SIZE)
        Wb, Hb = im["best_resolution"]
        assert (nph, npw) == (Hb // IMAGE_SIZE, Wb // IMAGE_SIZE), (k, nph, npw, Wb, Hb)
        dummy = torch.zeros(1, nph * GRID, npw * GRID)
        kept = hf_llava_next.unpad_image(dummy, hw).shape[1:]
        assert tuple(kept) == (im["kept_rows"], im["kept_cols"]), (k, kept, im["kept_rows"], im["kept_cols"])
        assert int(lens[k]) == im["num_image_tokens"] == GRID * GRID + im["kept_rows"] * (im["kept_cols"] + 1)
    return torch.cat(feats, dim=0)


# --------------------------------------------------------------------------------------------------
# Text model with inputs_embeds
# --------------------------------------------------------------------------------------------------
def run_text(model, hf_cfg, ids, image_token_index, image_features, decode_tokens, full_logits):
    emb = model.model.embed_tokens
    layers = model.model.layers
    rec = {}
    hooks = []

    def hook(key):
        def fn(mod, inp, out):
            rec[key] = out
        return fn

    for l, layer in enumerate(layers):
        hooks.append(layer.block_sparse_moe.register_forward_hook(hook(("moe", l))))
        hooks.append(layer.register_forward_hook(hook(("layer", l))))
    hooks.append(model.model.norm.register_forward_hook(hook(("final_norm",))))

    out = OrderedDict()
    router = []
    ids_t = torch.tensor([ids])
    mask = ids_t == image_token_index
    assert int(mask.sum()) == image_features.shape[0]
    S = len(ids)

    def grab(prefix, o, store):
        for l in range(len(layers)):
            lo = rec[("layer", l)]
            store[f"{prefix}layers.{l}.output"] = (lo[0] if isinstance(lo, tuple) else lo)[0]
            router.append((rec[("moe", l)][1], layers[l].block_sparse_moe._golden_experts.clone()))
        store[f"{prefix}final_norm"] = rec[("final_norm",)][0]
        store[f"{prefix}logits"] = o.logits[0]

    with torch.no_grad():
        embeds = emb(ids_t.masked_fill(mask, 0))  # SPLICE: image ids -> 0 for the lookup
        embeds = embeds.masked_scatter(mask[..., None].expand_as(embeds), image_features.to(embeds.dtype))
        out["inputs_embeds"] = embeds[0]
        cache = mm.MiniMaxCache()
        pos = torch.arange(S)
        o = model(inputs_embeds=embeds, past_key_values=cache, use_cache=True, cache_position=pos,
                  position_ids=pos[None], logits_to_keep=0 if full_logits else 1)
        grab("", o, out)
        for l, t in enumerate(hf_cfg.layer_types):
            if t == "linear_attention":
                out[f"layers.{l}.lightning_state"] = cache.linear_cache[l][0].clone()
        steps = []
        for i, tok in enumerate(decode_tokens):
            rec.clear()
            p = torch.tensor([S + i])
            o = model(input_ids=torch.tensor([[tok]]), past_key_values=cache, use_cache=True, cache_position=p,
                      position_ids=p[None])
            st = OrderedDict()
            grab("decode.", o, st)
            steps.append(st)
        for k in steps[0]:
            out["decode_logits" if k == "decode.logits" else k] = torch.cat([s[k] for s in steps], dim=0)
        for l, t in enumerate(hf_cfg.layer_types):
            if t == "linear_attention":
                out[f"decode.layers.{l}.lightning_state"] = cache.linear_cache[l][0].clone()
    for h in hooks:
        h.remove()
    return out, router


# --------------------------------------------------------------------------------------------------
# One case
# --------------------------------------------------------------------------------------------------
def build_prompt(c, meta):
    rng = np.random.Generator(np.random.PCG64(c["seed"] * 100 + 99))
    V, img = c["text"]["vocab_size"], c["image_token_index"]

    def text_id():
        while True:
            t = int(rng.integers(0, V))
            if t != img:
                return t

    forced = list(c.get("forced_text_ids", []))
    prompt, expanded, offsets = [], [], []
    for item in c["layout"]:
        if item == "t":
            t = forced.pop(0) if forced else text_id()
            assert t != img and 0 <= t < V
            prompt.append(t)
            expanded.append(t)
        else:
            k = item[1]
            prompt.append(img)
            offsets.append(len(expanded))
            expanded.extend([img] * meta[k]["num_image_tokens"])
    assert not forced
    decode = [text_id() for _ in range(c["decode_steps"])]
    return prompt, expanded, offsets, decode


def text_rows(expanded, img, offsets, meta):
    S = len(expanded)
    rows = {i for i, t in enumerate(expanded) if t != img}
    rows |= set(range(0, S, TEXT_ROW_STRIDE))
    rows.add(S - 1)
    for o, im in zip(offsets, meta):
        n = im["num_image_tokens"]
        rows |= {o, o + 1, o + 2, o + 575, o + n - 2, o + n - 1}
        cols = im["kept_cols"]
        if n > GRID * GRID:
            rows |= {o + 576, o + 576 + cols, o + 576 + cols + 1, o + n - cols - 2}  # first cell / newline / next row
    return sorted(r for r in rows if 0 <= r < S)


def image_feature_rows(offsets, meta):
    rows = []
    base = 0
    for im in meta:
        rows += [base + r for r in FEATURE_ROWS]  # base block: sampled
        rows += list(range(base + GRID * GRID, base + im["num_image_tokens"]))  # grid + newlines: all
        base += im["num_image_tokens"]
    return rows


def vocab_cols(c, ref_last):
    V, img = c["text"]["vocab_size"], c["image_token_index"]
    cols = set(range(0, 8)) | set(range(V - 8, V)) | set(range(img - 4, img + 5)) | {65535, 65536}
    cols |= set(range(0, V, 2003))
    cols |= {int(i) for i in torch.topk(ref_last, 8).indices}
    return sorted(cols)


def run_all(c, cfg, ckpt, pvs, meta, expanded, decode, dtype, sub_outputs):
    vis = build_vision(cfg, ckpt, dtype)
    proj = build_projector(cfg, ckpt, dtype)
    pixels = np.concatenate(pvs, axis=0)
    vout = run_vision(vis, pixels, dtype)
    if c["name"] == CASES[0]["name"]:
        check_post_layernorm_unused(vis, pixels, dtype, vout["vision.features"])
    with torch.no_grad():
        pout = proj(vout["vision.features"])
    per_image, start = [], 0
    for im in meta:
        per_image.append(pout[start:start + im["num_crops"]])
        start += im["num_crops"]
    sizes_hw = [[im_c["h"], im_c["w"]] for im_c in c["images"]]
    newline = ckpt["image_newline"].to(torch.float32).to(dtype)
    feats = pack(cfg, per_image, sizes_hw, newline, meta)
    model, hf_cfg, rotary_dim, slopes = tg.build_model(cfg["text_config"], {k[len("language_model."):]: v for k, v in ckpt.items() if k.startswith("language_model.")}, dtype)
    tout, router = run_text(model, hf_cfg, expanded, cfg["image_token_index"], feats, decode,
                            full_logits=not c.get("vocab_cols"))
    res = OrderedDict(vout)
    if not sub_outputs:
        for k in list(res):
            if k.endswith(".attn") or k.endswith(".mlp"):
                del res[k]
    res["projector.output"] = pout
    res["image_features"] = feats
    res.update(tout)
    return res, router


def select(c, r, rows):
    """Full run outputs -> the stored tensors (row subsets; see the manifest's row_index)."""
    vr, fr = torch.tensor(VISION_ROWS), torch.tensor(FEATURE_ROWS)
    out = OrderedDict()
    out["vision.rows"] = vr.to(torch.float64)
    out["vision.feature_rows"] = fr.to(torch.float64)
    for k, v in r.items():
        if k.startswith("vision.") and k != "vision.features":
            out[k] = v[:, vr, :]
        elif k in ("vision.features", "projector.output"):
            out[k] = v[:, fr, :]
    ifr = torch.tensor(rows["image_features"])
    out["image_features.rows"] = ifr.to(torch.float64)
    out["image_features"] = r["image_features"][ifr]
    tr = torch.tensor(rows["text"])
    out["text.rows"] = tr.to(torch.float64)
    for k, v in r.items():
        if k in ("inputs_embeds", "final_norm") or (k.startswith("layers.") and k.endswith(".output")):
            out[k] = v[tr]
        elif k.endswith("lightning_state") or (k.startswith("decode.") and not k.endswith("logits")):
            out[k] = v
    if c.get("vocab_cols"):
        cols = torch.tensor(rows["vocab"])
        out["vocab.cols"] = cols.to(torch.float64)
        last = r["logits"][-1:]  # logits_to_keep=1: only the last prompt row was computed
        assert last.shape == (1, c["text"]["vocab_size"])
        out["logits_last_cols"] = last[:, cols]
        out["logits_last_logsumexp"] = torch.logsumexp(last, dim=-1)
        out["decode_logits_cols"] = r["decode_logits"][:, cols]
        out["decode_logits_logsumexp"] = torch.logsumexp(r["decode_logits"], dim=-1)
    else:
        out["logits"] = r["logits"][tr]
        out["decode_logits"] = r["decode_logits"]
    return out


def generate_case(c, out_root):
    d = os.path.join(out_root, c["name"])
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    cfg = vl_config_json(c)
    tg.write_json(os.path.join(d, "config.json"), cfg)
    tg.write_json(os.path.join(d, "preprocessor_config.json"), preprocessor_config_json())
    with tempfile.TemporaryDirectory() as tmp:
        pmeta, pvs = make_crops(c, d, tmp)
    meta = pmeta["images"]
    prompt, expanded, offsets, decode = build_prompt(c, meta)
    img = c["image_token_index"]
    assert sum(1 for t in expanded if t == img) == sum(im["num_image_tokens"] for im in meta)
    k_top = _TEXT_COMMON["num_experts_per_tok"]

    attempt = 0
    while True:
        wseed = c["seed"] * 100 + attempt
        weights = draw_vl_weights(c, wseed)
        if os.path.exists(os.path.join(d, "model.safetensors")):
            os.remove(os.path.join(d, "model.safetensors"))
        save_file(dict(weights), os.path.join(d, "model.safetensors"), metadata=SAFETENSORS_METADATA)
        ckpt = load_file(os.path.join(d, "model.safetensors"))
        assert set(ckpt) == set(weights) and all(torch.equal(ckpt[n], weights[n]) for n in weights)
        assert all(v.dtype == torch.bfloat16 for v in ckpt.values())
        res, routers = {}, {}
        for dt in (torch.float64, torch.float32):
            res[dt], routers[dt] = run_all(c, cfg, ckpt, pvs, meta, expanded, decode, dt, c["sub_outputs"])
        margin = min(tg.router_margin(lg, k_top) for lg, _ in routers[torch.float64])
        same = all(torch.equal(a[1], b[1]) for a, b in zip(routers[torch.float64], routers[torch.float32]))
        if margin >= ROUTER_MARGIN_MIN and same:
            break
        print(f"  {c['name']}: weight seed {wseed} rejected (min router margin {margin:.3g}, fp32 experts agree: "
              f"{same}); redrawing", flush=True)
        attempt += 1
        assert attempt < 20

    rows = {"text": text_rows(expanded, img, offsets, meta), "image_features": image_feature_rows(offsets, meta)}
    if c.get("vocab_cols"):
        rows["vocab"] = vocab_cols(c, res[torch.float64]["logits"][-1])
    e64 = OrderedDict((n, v.to(torch.float64).contiguous()) for n, v in select(c, res[torch.float64], rows).items())
    e32 = OrderedDict((n, v.to(torch.float32).contiguous()) for n, v in select(c, res[torch.float32], rows).items())
    save_file(dict(e64), os.path.join(d, "expected.safetensors"), metadata=SAFETENSORS_METADATA)
    save_file(dict(e32), os.path.join(d, "expected_f32.safetensors"), metadata=SAFETENSORS_METADATA)

    files = [f"image_{k}.png" for k in range(len(meta))]
    tg.write_json(os.path.join(d, "inputs.json"), {
        "prompt_tokens": prompt,
        "prompt_tokens_expanded": expanded,
        "images": files,
        "image_num_tokens": [im["num_image_tokens"] for im in meta],
        "image_token_offsets": offsets,
        "image_token_index": img,
        "decode_tokens": decode,
    })

    index_names = {"vision.rows", "vision.feature_rows", "image_features.rows", "text.rows", "vocab.cols"}
    tensors = {}
    for n in sorted(e64):
        ent = {"shape": list(e64[n].shape), "dtype": "F64", "dtype_f32_file": "F32"}
        if n in index_names:
            ent["index"] = True
            ent["f32_file"] = "the same integers as F32 (exact)"
        else:
            err = tg.err_stats(e64[n], e32[n])
            t64, t32 = tolerances(e64[n], err)
            ent.update({"hf_f32_vs_f64": {"rel_fro": float(f"{err['rel_fro']:.3g}"),
                                          "max_abs": float(f"{err['max_abs']:.3g}")},
                        "tol_fp64": t64, "tol_fp32": t32})
        tensors[n] = ent

    crop_start = 0
    images_m = []
    for k, (im_c, im) in enumerate(zip(c["images"], meta)):
        images_m.append(dict(im, file=files[k], file_sha256=tg.sha256(os.path.join(d, files[k])),
                             width=im_c["w"], height=im_c["h"], mode="RGB", content_seed=im_c["seed"],
                             content_kwargs=im_c["kw"], crop_range=[crop_start, crop_start + im["num_crops"]],
                             grid=[im["best_resolution"][1] // IMAGE_SIZE, im["best_resolution"][0] // IMAGE_SIZE],
                             token_offset=offsets[k]))
        crop_start += im["num_crops"]
    v = c["vision"]
    manifest = {
        "case": c["name"],
        "description": c["description"],
        "generator": "golden/generate_vl.py",
        "generator_version": GENERATOR_VERSION,
        "implementation": {
            "crops": "official MiniMax-VL-01 processor (anyres) re-implemented on Pillow 12.0.0: "
                     "golden/vl_preprocess/generate.py (get_image_patches, crop_rgb, normalize, get_num_token), "
                     "imported in a subprocess of .venv-vl-golden; images written by its content()/_save (PNG)",
            "vision_tower": "transformers CLIPVisionModel (models/clip/modeling_clip.py), eager attention, CPU, "
                            "all crops of all images as one batch, in image order",
            "projector": "transformers LlavaNextMultiModalProjector (models/llava_next/modeling_llava_next.py)",
            "packing": "transformers LlavaNextModel.pack_image_features (unpad_image, get_anyres_image_grid_shape)",
            "text": "transformers MiniMaxForCausalLM patched as in golden/generate.py (hf_patches), inputs_embeds, "
                    "eager, batch 1, no attention_mask",
        },
        "images": images_m,
        "num_crops_total": crop_start,
        "image_token_index": img,
        "prompt_len_expanded": len(expanded),
        "decode_steps": len(decode),
        "checkpoint_files": ["model.safetensors"],
        "checkpoint_dtype": "BF16",
        "vision": {"hidden_size": v["hidden_size"], "intermediate_size": v["intermediate_size"],
                   "num_hidden_layers": v["num_hidden_layers"], "num_attention_heads": v["num_attention_heads"],
                   "head_dim": v["hidden_size"] // v["num_attention_heads"], "layer_norm_eps": VISION_LN_EPS},
        "text_layer_types": [tg.layer_type_name(t) for t in _TEXT_COMMON["attn"]],
        "lightning_decay_rates_fp32": {
            str(l): [float(x) for x in tg.official_s(c["text"]["num_attention_heads"], l, len(_TEXT_COMMON["attn"]))]
            for l, t in enumerate(_TEXT_COMMON["attn"]) if t == tg.L_},
        "seeds": {
            "case_seed": c["seed"], "weights_seed": wseed, "text_weights_seed": wseed + 1, "weights_redraws": attempt,
            "tokens_seed": c["seed"] * 100 + 99,
            "rng": "numpy.random.Generator(PCG64(seed)); vision/projector/newline drawn in draw_vl_weights order, "
                   "then the text model by golden/generate.py draw_weights(text_weights_seed)",
        },
        "weight_init": "normal, rounded to bf16: class_embedding std 0.5; patch_embedding std 1/sqrt(588); "
                       "position_embedding std 0.5; LayerNorm weights 1 + 0.1 N, biases 0.1 N; q/k std 1.2/sqrt(D), "
                       "v/out/fc1 std 1/sqrt(fan_in), fc2 std 1/sqrt(I); all biases 0.1 N; projector std "
                       "1/sqrt(fan_in), biases 0.1 N; image_newline N(0,1); text as golden/generate.py",
        "router_min_margin": float(f"{margin:.6g}"),
        "router_margin_required": ROUTER_MARGIN_MIN,
        "row_index": {
            "vision.*": "vision.embeddings, vision.pre_layrnorm, vision.layers.L.* are [crops, len(vision.rows), D]: "
                        "the full [crops, 577, D] tensor at positions vision.rows (0 = CLS, 1 + r*24 + c = patch "
                        "(r, c)); vision.features and projector.output are [crops, len(vision.feature_rows), *]: "
                        "the full [crops, 576, *] tensor at feature rows vision.feature_rows (= vision.rows[1:] - 1)",
            "image_features": "[len(image_features.rows), Ht]: the packed features (all images concatenated in "
                              "order, sum N_k rows) at image_features.rows: per image the base block at the "
                              "feature rows, and EVERY row after the base block (tile grid cells and newlines)",
            "text": "inputs_embeds, layers.L.output, final_norm and logits are [len(text.rows), *]: the full [S, *] "
                    "prefill tensor at positions text.rows (every text position, the ends of every image block, "
                    "the first grid cell and first newline, every 97th position, the last position)",
            "vocab": "real_token_ids only: *_cols are logits at vocabulary columns vocab.cols; *_logsumexp is "
                     "logsumexp over ALL vocab_size columns",
        },
        "conventions": {
            "crops": "flat crop list of all images in image order; per image thumbnail first, then tiles row-major "
                     "(images[k].crop_range)",
            "vision.embeddings": "patch conv (no bias) + CLS + position embeddings, before pre_layrnorm",
            "vision.pre_layrnorm": "pre_layrnorm output = encoder input",
            "vision.layers.L.attn": "self_attn output after out_proj, before the residual add (one_image only)",
            "vision.layers.L.mlp": "mlp output after fc2, before the residual add (one_image only)",
            "vision.layers.L.output": "encoder layer L output (after both residual adds)",
            "vision.features": "last encoder layer output (hidden_states[-1]) without the CLS row; no post_layernorm",
            "projector.output": "linear_2(gelu(linear_1(features))) per crop, before packing",
            "image_features": "packed: per image base crop (576) then for each kept tile-grid row its kept cells "
                              "then image_newline; images concatenated in prompt order",
            "inputs_embeds": "embed_tokens(ids, image ids -> 0) with image positions replaced by image_features in order",
            "layers.L.output": "text decoder layer output",
            "layers.L.lightning_state": "[heads, hd, hd] after the prefill (decode.*: after the last decode step)",
            "final_norm": "text model.norm output",
            "logits": "lm_head(final_norm) at text.rows; decode_logits [N, V]",
            "decode": "decode_tokens[t] fed at position prompt_len_expanded + t (teacher forcing); decode.* stacked "
                      "over steps",
            "positions": "absolute: expanded prompt token i at position i",
        },
        "tolerance_rule": "pass when rel_fro = ||x-ref||_F/||ref||_F <= tol.rel_fro AND max|x-ref| <= tol.max_abs "
                          "against expected.safetensors (compare the reference's full tensor gathered at the stored "
                          "rows/cols). tol_fp64: 1e-11 relative (fp64 summation-order noise is ~1e-15); tol_fp32: 20x "
                          "the HF float32-vs-float64 error of that tensor, floored at 1e-5 relative.",
        "hf_patches": tg.HF_PATCHES,
        "hf_verified_same_as_official": tg.HF_VERIFIED_SAME,
        "vl_patches_and_checks": VL_PATCHES,
        "tensors": tensors,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "safetensors": safetensors.__version__,
            "numpy": np.__version__,
            "pillow_subprocess": {"python": pmeta["python"], "pillow": pmeta["pillow"], "numpy": pmeta["numpy"]},
        },
    }
    manifest["sha256"] = {f: tg.sha256(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f != "manifest.json"}
    tg.write_json(os.path.join(d, "manifest.json"), manifest)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    worst = max((t["hf_f32_vs_f64"]["rel_fro"] for t in tensors.values() if "hf_f32_vs_f64" in t), default=0)
    print(f"{c['name']}: S={len(expanded)}, crops={crop_start}, tokens={[im['num_image_tokens'] for im in meta]}, "
          f"{len(tensors)} tensors, {size / 1e6:.2f} MB, router margin {margin:.3g} (redraws {attempt}), worst HF "
          f"f32-vs-f64 rel_fro {worst:.3g}", flush=True)


def tolerances(ref, f32_err):
    amax = float(ref.abs().max()) if ref.numel() else 0.0
    scale = max(1.0, amax)
    t64 = {"rel_fro": 1e-11, "max_abs": float(f"{1e-11 * scale:.3g}")}
    t32 = {"rel_fro": float(f"{max(1e-5, 20 * f32_err['rel_fro']):.3g}"),
           "max_abs": float(f"{max(1e-5 * scale, 20 * f32_err['max_abs']):.3g}")}
    return t64, t32


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "vl_cases"), help="output root (default golden/vl_cases)")
    ap.add_argument("--case", action="append", help="only this case (repeatable)")
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and require byte-identical files")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.case or c["name"] in args.case]
    if not args.check:
        os.makedirs(args.out, exist_ok=True)
        for c in cases:
            generate_case(c, args.out)
        return
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for c in cases:
            generate_case(c, tmp)
            a, b = os.path.join(args.out, c["name"]), os.path.join(tmp, c["name"])
            fa = sorted(os.listdir(a)) if os.path.isdir(a) else []
            fb = sorted(os.listdir(b))
            if fa != fb:
                print(f"{c['name']}: file lists differ: {fa} vs {fb}")
                bad += 1
            for f in fb:
                if f in fa and not filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False):
                    print(f"{c['name']}/{f}: differs")
                    bad += 1
    if bad:
        sys.exit(f"reproduction check FAILED: {bad} difference(s)")
    print(f"reproduction check: all files byte-identical to {args.out}")


if __name__ == "__main__":
    main()
