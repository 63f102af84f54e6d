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
#include "reference/blas_cpu.h"
#include "reference/precision.h"
#include "reference/team.h"
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

// y = x W^T on a team (reference/team.h): each part takes a block of W's rows (y's columns, multiples of
// 16) and runs its GEMM on OpenBLAS alone (SingleThreadedBlas), then `epilogue(y_block, c0)` on its
// block. OpenBLAS's own threads are not used: between their GEMMs they spin (sched_yield) on the cores
// the team's other passes need, which cost ~half of the team's speed when measured side by side
// (docs/perf/vl-vision-cpu.md). Each element is one dot product in OpenBLAS's order whatever the split, for
// the tower's shapes at least (tested at the released widths: VisionEncoder.ThreadCountDoesNotChangeTheBits).
template <class T, class Epilogue>
void team_xwt(const Mat<T>& x, const Mat<T>& w, Mat<T>& y, const Epilogue& epilogue) {
  y.resize(x.rows(), w.rows());  // [S, out]; kept when it already has that shape
  const SingleThreadedBlas one_thread_each;
  team_for(w.rows(), 16, x.rows() * w.rows() * x.cols(), [&](int64_t c0, int64_t c1) {
    auto block = y.middleCols(c0, c1 - c0);  // [S, c1 - c0]
    block.noalias() = x * w.middleRows(c0, c1 - c0).transpose();
    epilogue(block, c0);
  });
}

// y = x W^T + b: x [S, in] -> [S, out]. BF16: bf16 operands, fp32 accumulation, the bias added in fp32
// and the sum rounded to bf16 once (docs/semantics/vl-01-vision.md#linear-layers). On a team (team_xwt).
// The _into form writes y (resized; its buffer is reused when the shape matches; y must not alias x).
template <class P>
void linear_bias_into(const Mat<typename P::T>& x, const BiasedLinear<typename P::T>& w, Mat<typename P::T>& y) {
  team_xwt(x, w.w, y, [&](auto& block, int64_t c0) {
    block.rowwise() += w.b.segment(c0, block.cols()).transpose();
    store<P>(block);
  });
}

template <class P>
Mat<typename P::T> linear_bias(const Mat<typename P::T>& x, const BiasedLinear<typename P::T>& w) {
  Mat<typename P::T> y;
  linear_bias_into<P>(x, w, y);
  return y;
}

// Exact (erf) GELU in PyTorch's operation order, over a whole matrix, stored (rounded to bf16 in the
// BF16 mode): h <- P::r((h * 0.5) * (1 + erf(h * fl(1/sqrt(2))))) (docs/semantics/vl-01-vision.md#gelu).
// erf is SLEEF's vectorised one (reference/vector_math.h: 1 ulp, the same bits on every x86-64 vector
// width), ~8x glibc's scalar erff on the vision MLP's [577, 4096] activations.
// Rows on a team (reference/team.h), element by element: the same result.
template <class P> void gelu_erf_stored(Mat<typename P::T>& h) {
  using T = typename P::T;
  static const T half = constant<P>(0.5), rsqrt2 = constant<P>(0.70710678118654752440);
  team_rows(h.rows(), h.cols(), [&](int64_t r0, int64_t r1) {
    constexpr std::size_t kChunk = 2048;  // erf's argument buffer, cache-resident (8 / 16 KiB)
    T e[kChunk];
    T* x = h.data() + r0 * h.cols();  // row-major: rows [r0, r1) are contiguous
    const std::size_t n = static_cast<std::size_t>((r1 - r0) * h.cols());
    for (std::size_t at = 0; at < n; at += kChunk) {
      const std::size_t m = std::min(kChunk, n - at);
      for (std::size_t i = 0; i < m; ++i) e[i] = x[at + i] * rsqrt2;
      vmath::erf_inplace(std::span<T>(e, m));
      for (std::size_t i = 0; i < m; ++i) x[at + i] = P::r((x[at + i] * half) * (T(1) + e[i]));
    }
  });
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

// The core of vision_attention: o [S, D] from q, k, v [S, D] (head h = columns [h d, (h + 1) d),
// d = D / heads), o_h = softmax(q_h k_h^T / sqrt(d)) v_h, stored (bf16 in the BF16 mode). The heads are
// split over a team of `parts` threads (reference/team.h; vision_attention passes blas_team_threads()), each
// part running its products on OpenBLAS alone (one thread); a head's arithmetic is the same whichever part
// computes it, so the result does not depend on `parts`.
// Throws mm::Error unless heads > 0 divides D. The _into form writes o (resized; its buffer is reused when
// the shape matches; o must not alias q, k or v).
template <class P>
Mat<typename P::T> attention_core(const Mat<typename P::T>& q, const Mat<typename P::T>& k,
                                  const Mat<typename P::T>& v, int64_t heads, int parts);
template <class P>
void attention_core_into(const Mat<typename P::T>& q, const Mat<typename P::T>& k, const Mat<typename P::T>& v,
                         int64_t heads, int parts, Mat<typename P::T>& o);

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
