// MiniMax-VL-01's vision tower: the CLIP-style ViT of the official custom CLIPVisionModel, one 336x336
// crop at a time (docs/semantics/vl-01-vision.md#vision-tower):
//
//   E   = [cls ; conv14x14(x) as 576 patch rows] + pos        [577, D]   (#patch-embedding)
//   h   = LayerNorm(E; pre_layrnorm)                           [577, D]
//   for each layer:  h = h + Attn(LN1(h));  h = h + MLP(LN2(h))          (#encoder-layer)
//   out = h[1:577]                                             [576, D]   (last layer, CLS dropped, no post-LN)
//
// Everything is templated on the precision policy P (reference/precision.h). The BF16 mode rounds where the
// official bf16 model stores a bf16 tensor (docs/semantics/vl-01-vision.md#bf16-rounding-points).
// Weights are held as Mat/Vec of the precision's scalar, like the text reference (ModelWeights<T>).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/vl_config.h"
#include "reference/precision.h"
#include "reference/vector_math.h"

namespace mm::ref {

// A PyTorch nn.Linear with bias: y = x W^T + b, W [out, in], b [out].
template <class T> struct BiasedLinear {
  Mat<T> w;
  Vec<T> b;
};

// A PyTorch nn.LayerNorm's affine parameters, [D] each.
template <class T> struct LayerNormWeights {
  Vec<T> w;
  Vec<T> b;
};

// One encoder layer: vision_tower.vision_model.encoder.layers.L.* (docs/semantics/vl-01-vision.md#weight-names)
template <class T> struct VisionLayerWeights {
  LayerNormWeights<T> layer_norm1;                  // [D]
  BiasedLinear<T> q_proj, k_proj, v_proj, out_proj;  // self_attn.*: [D, D] + [D]
  LayerNormWeights<T> layer_norm2;                  // [D]
  BiasedLinear<T> fc1;                              // mlp.fc1: [I, D] + [I]
  BiasedLinear<T> fc2;                              // mlp.fc2: [D, I] + [D]
};

// The whole tower: vision_tower.vision_model.*
template <class T> struct VisionWeights {
  Mat<T> patch_embedding;     // [D, C*p*p]: embeddings.patch_embedding.weight [D, C, p, p] flattened in
                              //   (c, ky, kx) order (row-major over its last three dims); no bias
  Vec<T> class_embedding;     // [D]        embeddings.class_embedding
  Mat<T> position_embedding;  // [N+1, D]   embeddings.position_embedding.weight (N = patches per crop)
  LayerNormWeights<T> pre_layrnorm;  // [D] (the checkpoint's spelling)
  std::vector<VisionLayerWeights<T>> layers;
};

// What one layer exposes to tests and the harness (filled when a trace is requested).
template <class T> struct VisionLayerTrace {
  Mat<T> attn;    // [S, D] attention block output (after out_proj), before the residual
  Mat<T> mlp;     // [S, D] MLP block output (after fc2), before the residual
  Mat<T> output;  // [S, D] layer output
};

// Every intermediate of the tower, CLS rows included. For several crops (vision_tower_crops) each tensor
// holds the crops' rows one after another (crop 0's 577 rows, then crop 1's, ...), the layout of the
// official packed (varlen) run.
template <class T> struct VisionTrace {
  Mat<T> embeddings;    // [S, D] patch + CLS + position embeddings   "vision.embeddings"
  Mat<T> pre_layrnorm;  // [S, D] the encoder's input                  "vision.pre_layrnorm"
  std::vector<VisionLayerTrace<T>> layers;  // "vision.layers.L.{attn,mlp,output}"
};

// Optional per-layer hook of the tower (the harness's teacher forcing and perturbation): after_layer runs
// after every encoder layer on that crop's [N+1, D] output (CLS row included); what it leaves is what the
// next layer reads and what a trace records as vision.layers.L.output. `crop` is the global crop index
// (over all images of the step, in order): vision_tower calls it with first_crop, vision_tower_crops with
// first_crop + c for its c-th crop.
template <class T> struct VisionOptions {
  std::function<void(int layer, int64_t crop, Mat<T>& h)> after_layer;
  int64_t first_crop = 0;
};

// Appends the rows of `src` below those of `dst` (crops stacked in order).
template <class T> void append_rows(Mat<T>& dst, const Mat<T>& src) {
  if (dst.size() == 0) {
    dst = src;
    return;
  }
  Mat<T> m(dst.rows() + src.rows(), src.cols());
  m.topRows(dst.rows()) = dst;
  m.bottomRows(src.rows()) = src;
  dst = std::move(m);
}

// Appends one crop's (or image's) trace below `all`, tensor by tensor.
template <class T> void append_trace(VisionTrace<T>& all, const VisionTrace<T>& one) {
  append_rows(all.embeddings, one.embeddings);
  append_rows(all.pre_layrnorm, one.pre_layrnorm);
  all.layers.resize(one.layers.size());
  for (std::size_t l = 0; l < one.layers.size(); ++l) {
    append_rows(all.layers[l].attn, one.layers[l].attn);
    append_rows(all.layers[l].mlp, one.layers[l].mlp);
    append_rows(all.layers[l].output, one.layers[l].output);
  }
}

// The trace's tensors with their harness names (harness/tensor_id.h: "vision.embeddings",
// "vision.pre_layrnorm", "vision.layers.L.attn", "vision.layers.L.mlp", "vision.layers.L.output"), in
// dataflow order.
template <class T>
void for_each_tensor(const VisionTrace<T>& trace, const std::function<void(const std::string&, const Mat<T>&)>& f);

// ---- building blocks --------------------------------------------------------------------------------------

// y = x W^T + b: x [S, in] -> [S, out]. BF16: bf16 operands, fp32 accumulation, the bias added in fp32
// and the sum rounded to bf16 once (docs/semantics/vl-01-vision.md#linear-layers).
template <class P>
Mat<typename P::T> linear_bias(const Mat<typename P::T>& x, const BiasedLinear<typename P::T>& w) {
  Mat<typename P::T> y = x * w.w.transpose();
  y.rowwise() += w.b.transpose();
  store<P>(y);
  return y;
}

// Exact (erf) GELU in PyTorch's operation order, over a whole matrix, stored (rounded to bf16 in the
// BF16 mode): h <- P::r((h * 0.5) * (1 + erf(h * fl(1/sqrt(2))))) (docs/semantics/vl-01-vision.md#gelu).
// erf is SLEEF's vectorised one (reference/vector_math.h: 1 ulp, the same bits on every x86-64 vector
// width), ~8x glibc's scalar erff on the vision MLP's [577, 4096] activations.
template <class P> void gelu_erf_stored(Mat<typename P::T>& h) {
  using T = typename P::T;
  static const T half = constant<P>(0.5), rsqrt2 = constant<P>(0.70710678118654752440);
  constexpr std::size_t kChunk = 2048;  // erf's argument buffer, cache-resident (8 / 16 KiB)
  T e[kChunk];
  T* x = h.data();
  const std::size_t n = static_cast<std::size_t>(h.size());
  for (std::size_t at = 0; at < n; at += kChunk) {
    const std::size_t m = std::min(kChunk, n - at);
    for (std::size_t i = 0; i < m; ++i) e[i] = x[at + i] * rsqrt2;
    vmath::erf_inplace(std::span<T>(e, m));
    for (std::size_t i = 0; i < m; ++i) x[at + i] = P::r((x[at + i] * half) * (T(1) + e[i]));
  }
}

// The patch embedding of one crop: pixels [C, H, W] (normalised float32, channels first, H = W = image_size)
// -> [N+1, D] with N = (image_size / patch)^2: row 0 = class_embedding + pos[0], row 1 + t = patch t
// (t = r * side + c, row-major) + pos[1 + t]. The stride-p conv without bias is a GEMM over the im2col
// patches (docs/semantics/vl-01-vision.md#patch-embedding). Throws mm::Error on a wrong pixel count.
template <class P>
Mat<typename P::T> patch_embed(std::span<const float> pixels, const VisionWeights<typename P::T>& w,
                               const VisionConfig& cfg);

// torch.nn.LayerNorm over each row: (x - mean) / sqrt(var + eps) * w + b, biased variance, statistics in
// the policy's arithmetic. x [S, D] -> [S, D]; BF16 rounds the result once (#layernorm).
template <class P>
Mat<typename P::T> layer_norm(const Mat<typename P::T>& x, const LayerNormWeights<typename P::T>& w, double eps);

// Bidirectional multi-head self-attention of one crop (#attention): x [S, D] (the layer_norm1 output),
// heads of d = D / heads: o_h = softmax(q_h k_h^T / sqrt(d)) v_h, no mask, no RoPE; -> out_proj [S, D].
template <class P>
Mat<typename P::T> vision_attention(const Mat<typename P::T>& x, const VisionLayerWeights<typename P::T>& w,
                                    int64_t heads);

// fc2(gelu(fc1(x))): x [S, D] -> [S, I] -> [S, D] (#mlp).
template <class P>
Mat<typename P::T> vision_mlp(const Mat<typename P::T>& x, const VisionLayerWeights<typename P::T>& w);

// One pre-norm encoder layer: h = h + Attn(LN1(h)); h = h + MLP(LN2(h)). x [S, D] -> [S, D] (#encoder-layer).
template <class P>
Mat<typename P::T> vision_layer(const Mat<typename P::T>& x, const VisionLayerWeights<typename P::T>& w,
                                const VisionConfig& cfg, VisionLayerTrace<typename P::T>* trace = nullptr);

// ---- the tower ------------------------------------------------------------------------------------------

// One crop [C, image_size, image_size] -> its features [N, D]: the last layer's output without the CLS row,
// no post-LayerNorm (#feature-selection). With a trace, records every intermediate (CLS rows included).
// Throws mm::Error when the weights do not match cfg.
template <class P>
Mat<typename P::T> vision_tower(std::span<const float> pixels, const VisionWeights<typename P::T>& w,
                                const VisionConfig& cfg, VisionTrace<typename P::T>* trace = nullptr,
                                const VisionOptions<typename P::T>& opt = {});

// Several crops, pixels [n][C][H][W] (vl::PreprocessedImage::pixel_values, thumbnail first): one [N, D] per
// crop. Crops never see each other (the official varlen attention is block-diagonal), so this is
// vision_tower on each crop; a trace stacks the crops' rows in order (#crops-are-independent).
template <class P>
std::vector<Mat<typename P::T>> vision_tower_crops(std::span<const float> pixels, const VisionWeights<typename P::T>& w,
                                                   const VisionConfig& cfg, VisionTrace<typename P::T>* trace = nullptr,
                                                   const VisionOptions<typename P::T>& opt = {});

// Checks every weight's shape against cfg; throws mm::Error naming the tensor (official name).
template <class T> void check_vision_weights(const VisionWeights<T>& w, const VisionConfig& cfg);

// ---- test and synthetic helpers ---------------------------------------------------------------------------

// Seeded fp64 weights with O(1) activations: projections N(0, 1/fan_in), biases N(0, 0.1^2), LayerNorm
// weights 1 + 0.1 N(0,1), class / position embeddings N(0, 1). Deterministic in the Rng's state.
VisionWeights<double> random_vision_weights(const VisionConfig& cfg, Rng& rng);

// The fp64 weights in the precision's scalar; BF16 rounds every value to bf16 (what loading the official
// model in bf16 does: docs/semantics/vl-01-vision.md#bf16-rounding-points).
template <class P> VisionWeights<typename P::T> convert_weights(const VisionWeights<double>& w);
template <class P> BiasedLinear<typename P::T> convert_weights(const BiasedLinear<double>& w);
template <class P> LayerNormWeights<typename P::T> convert_weights(const LayerNormWeights<double>& w);
template <class P> VisionLayerWeights<typename P::T> convert_weights(const VisionLayerWeights<double>& w);

}  // namespace mm::ref
