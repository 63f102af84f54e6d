#include "reference/vision_encoder.h"

#include <cmath>
#include <type_traits>

#include "core/error.h"
#include "reference/blas_cpu.h"
#include "reference/team.h"

namespace mm::ref {

// ---- patch embedding (docs/semantics/vl-01-vision.md#patch-embedding) -------------------------------------

template <class P>
Mat<typename P::T> patch_embed(std::span<const float> pixels, const VisionWeights<typename P::T>& w,
                               const VisionConfig& cfg) {
  using T = typename P::T;
  const int64_t C = cfg.num_channels, S = cfg.image_size, p = cfg.patch_size, side = cfg.patches_per_side();
  const int64_t N = cfg.num_patches(), D = cfg.hidden_size, K = C * p * p;
  require(static_cast<int64_t>(pixels.size()) == C * S * S,
          "vision tower: a crop has " + std::to_string(pixels.size()) + " pixel values, expected " +
              std::to_string(C * S * S) + " (" + std::to_string(C) + " x " + std::to_string(S) + " x " +
              std::to_string(S) + ")");
  // im2col: row t = r * side + c holds the patch at (r, c), its columns in the weight's (ch, ky, kx) order.
  // BF16: the pixels are a bf16 tensor (the model card casts pixel_values to bf16) (#bf16-rounding-points).
  Mat<T> patches(N, K);  // [N, C*p*p]
  for (int64_t r = 0; r < side; ++r)
    for (int64_t c = 0; c < side; ++c)
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t ky = 0; ky < p; ++ky)
          for (int64_t kx = 0; kx < p; ++kx) {
            const float v = pixels[static_cast<std::size_t>((ch * S + r * p + ky) * S + c * p + kx)];
            patches(r * side + c, (ch * p + ky) * p + kx) = P::r(static_cast<T>(v));
          }
  // The conv: [N, K] x [K, D], one bf16 output per patch and channel (a bf16 cuDNN conv), no bias.
  Mat<T> conv;  // [N, D]
  team_xwt(patches, w.patch_embedding, conv, [](auto& block, int64_t) { store<P>(block); });
  // [cls ; patches] + pos, one bf16 add.
  Mat<T> e(N + 1, D);
  for (int64_t j = 0; j < D; ++j) e(0, j) = P::r(w.class_embedding(j) + w.position_embedding(0, j));
  for (int64_t t = 0; t < N; ++t)
    for (int64_t j = 0; j < D; ++j) e(1 + t, j) = P::r(conv(t, j) + w.position_embedding(1 + t, j));
  return e;
}

// ---- LayerNorm (#layernorm) --------------------------------------------------------------------------------

// layer_norm into out (resized, its buffer reused when the shape matches; must not alias x).
template <class P>
static void layer_norm_into(const Mat<typename P::T>& x, const LayerNormWeights<typename P::T>& w, double eps,
                            Mat<typename P::T>& out) {
  using T = typename P::T;
  const Eigen::Index D = x.cols();
  const T e = constant<P>(eps), n = static_cast<T>(D);
  out.resize(x.rows(), D);
  team_rows(x.rows(), D, [&](int64_t r0, int64_t r1) {  // rows on a team (reference/team.h)
    for (Eigen::Index i = r0; i < r1; ++i) {
      // two-pass mean and biased variance (torch uses Welford; the values agree up to rounding)
      T sum = 0;
      for (Eigen::Index j = 0; j < D; ++j) sum += x(i, j);
      const T mean = sum / n;
      T ss = 0;
      for (Eigen::Index j = 0; j < D; ++j) ss += (x(i, j) - mean) * (x(i, j) - mean);
      const T rstd = T(1) / std::sqrt(ss / n + e);
      // torch's order: w * (rstd * (x - mean)) + b, one rounding of the sum
      for (Eigen::Index j = 0; j < D; ++j) out(i, j) = P::r(w.w(j) * (rstd * (x(i, j) - mean)) + w.b(j));
    }
  });
}

template <class P>
Mat<typename P::T> layer_norm(const Mat<typename P::T>& x, const LayerNormWeights<typename P::T>& w, double eps) {
  Mat<typename P::T> out;
  layer_norm_into<P>(x, w, eps, out);
  return out;
}

// ---- attention (#attention) --------------------------------------------------------------------------------

// Heads [h0, h1) of the core: o_h = softmax(scale q_h k_h^T) v_h into o's columns [h d, (h + 1) d).
template <class P>
static void attention_heads(const Mat<typename P::T>& q, const Mat<typename P::T>& k, const Mat<typename P::T>& v,
                            Eigen::Index d, Eigen::Index h0, Eigen::Index h1, Mat<typename P::T>& o) {
  using T = typename P::T;
  const Eigen::Index S = q.rows();
  // [S, S] fp32 scores, one head at a time: the thread's own, kept between calls (a fresh 1.3 MB buffer
  // per layer and thread would be fresh pages, each one faulted in); it stays allocated for the life of
  // every thread that ran heads (1.3 MB in F32 and BF16, 2.7 MB in F64, for S = 577)
  thread_local Mat<T> scores;
  scores.resize(S, S);
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  for (Eigen::Index h = h0; h < h1; ++h) {
    // scale * (q_h k_h^T): Eigen hands the scale to the GEMM as alpha, one pass and no temporary (the
    // same bits as scaling the product afterwards: alpha multiplies each finished fp32 dot product)
    scores.noalias() = scale * (q.middleCols(h * d, d) * k.middleCols(h * d, d).transpose());
    for (Eigen::Index i = 0; i < S; ++i) {  // softmax over all keys: every patch sees every patch
      auto row = scores.row(i);               // contiguous (row-major)
      row.array() -= row.maxCoeff();
      vmath::exp_inplace(std::span<T>(row.data(), static_cast<std::size_t>(S)));  // SLEEF, 1 ulp
      row /= row.sum();
    }
    auto o_h = o.middleCols(h * d, d);  // [S, d], bf16 output
    o_h.noalias() = scores * v.middleCols(h * d, d);
    store<P>(o_h);
  }
}

// The buffers of one encoder layer, reused from layer to layer and crop to crop by the tower: fresh
// ones for every layer were ~172 000 page faults per crop (704 MB of fresh pages, each one zeroed by the
// kernel; docs/perf/vl-vision-cpu.md).
template <class T> struct LayerScratch {
  Mat<T> ln;       // [S, D] layer_norm1 / layer_norm2 output
  Mat<T> q, k, v;  // [S, D] projections
  Mat<T> o;        // [S, D] attention core output
  Mat<T> attn;     // [S, D] out_proj output (the attention block)
  Mat<T> h;        // [S, D] x + attn
  Mat<T> fc1;      // [S, I] fc1, then GELU in place
  Mat<T> mlp;      // [S, D] fc2 output (the MLP block)
};

template <class P>
void attention_core_into(const Mat<typename P::T>& q, const Mat<typename P::T>& k, const Mat<typename P::T>& v,
                         int64_t heads, int parts, Mat<typename P::T>& o) {
  require(heads > 0 && q.cols() % heads == 0, "vision attention: " + std::to_string(q.cols()) +
                                                  " columns are not a whole number of " + std::to_string(heads) +
                                                  " heads");
  require(k.rows() == q.rows() && v.rows() == q.rows() && k.cols() == q.cols() && v.cols() == q.cols(),
          "vision attention: q, k and v differ in shape");
  const Eigen::Index d = q.cols() / heads;
  o.resize(q.rows(), q.cols());
  parts = static_cast<int>(std::clamp<int64_t>(parts, 1, heads));
  // Every part (the caller alone included) runs its products on OpenBLAS's calling thread only: the
  // per-head GEMMs, [S, d] x [d, S] and [S, S] x [S, d], are too small to gain from OpenBLAS's threads
  // (docs/perf/vl-vision-cpu.md: heads side by side on one thread each take ~0.4x the time of heads one
  // after another on two), and the products round the same way whatever the thread count.
  const SingleThreadedBlas one_thread_each;
  run_team(parts, [&](int part, int n_parts) {
    int64_t h0 = 0;
    const int64_t n = team_block(part, n_parts, heads, 1, &h0);
    if (n > 0) attention_heads<P>(q, k, v, d, h0, h0 + n, o);
  });
}

template <class P>
Mat<typename P::T> attention_core(const Mat<typename P::T>& q, const Mat<typename P::T>& k,
                                  const Mat<typename P::T>& v, int64_t heads, int parts) {
  Mat<typename P::T> o;
  attention_core_into<P>(q, k, v, heads, parts, o);
  return o;
}

// x [S, D] (the layer_norm1 output) -> s.attn; uses s.q, s.k, s.v, s.o.
template <class P>
static void vision_attention_into(const Mat<typename P::T>& x, const VisionLayerWeights<typename P::T>& w,
                                  int64_t heads, LayerScratch<typename P::T>& s) {
  // q, k, v [S, D] (bf16 in the BF16 mode); head h is columns [h d, (h + 1) d).
  linear_bias_into<P>(x, w.q_proj, s.q);
  linear_bias_into<P>(x, w.k_proj, s.k);
  linear_bias_into<P>(x, w.v_proj, s.v);
  attention_core_into<P>(s.q, s.k, s.v, heads, blas_team_threads(), s.o);
  linear_bias_into<P>(s.o, w.out_proj, s.attn);
}

template <class P>
Mat<typename P::T> vision_attention(const Mat<typename P::T>& x, const VisionLayerWeights<typename P::T>& w,
                                    int64_t heads) {
  LayerScratch<typename P::T> s;
  vision_attention_into<P>(x, w, heads, s);
  return std::move(s.attn);
}

// ---- MLP (#mlp) ----------------------------------------------------------------------------------------------

// x [S, D] (the layer_norm2 output) -> s.mlp; uses s.fc1.
template <class P>
static void vision_mlp_into(const Mat<typename P::T>& x, const VisionLayerWeights<typename P::T>& w,
                            LayerScratch<typename P::T>& s) {
  linear_bias_into<P>(x, w.fc1, s.fc1);  // [S, I]
  gelu_erf_stored<P>(s.fc1);             // GELU in fp32, stored as bf16
  linear_bias_into<P>(s.fc1, w.fc2, s.mlp);  // [S, D]
}

template <class P>
Mat<typename P::T> vision_mlp(const Mat<typename P::T>& x, const VisionLayerWeights<typename P::T>& w) {
  LayerScratch<typename P::T> s;
  vision_mlp_into<P>(x, w, s);
  return std::move(s.mlp);
}

// ---- encoder layer (#encoder-layer) -------------------------------------------------------------------------

// out = a + b with one rounding: the sum of two bf16 tensors (out resized; must not alias a or b).
template <class P>
static void residual_add_into(const Mat<typename P::T>& a, const Mat<typename P::T>& b, Mat<typename P::T>& out) {
  using T = typename P::T;
  out.resize(a.rows(), a.cols());
  team_rows(a.rows(), a.cols(), [&](int64_t r0, int64_t r1) {  // rows on a team (reference/team.h)
    const Eigen::Index n = r1 - r0;
    out.middleRows(r0, n) = a.middleRows(r0, n).binaryExpr(b.middleRows(r0, n), [](T u, T v) { return P::r(u + v); });
  });
}

// One layer: x -> out (out must not alias x), the intermediates in s.
template <class P>
static void vision_layer_into(const Mat<typename P::T>& x, const VisionLayerWeights<typename P::T>& w,
                              const VisionConfig& cfg, LayerScratch<typename P::T>& s, Mat<typename P::T>& out,
                              VisionLayerTrace<typename P::T>* trace) {
  layer_norm_into<P>(x, w.layer_norm1, cfg.layer_norm_eps, s.ln);
  vision_attention_into<P>(s.ln, w, cfg.num_attention_heads, s);
  residual_add_into<P>(x, s.attn, s.h);
  layer_norm_into<P>(s.h, w.layer_norm2, cfg.layer_norm_eps, s.ln);
  vision_mlp_into<P>(s.ln, w, s);
  residual_add_into<P>(s.h, s.mlp, out);
  if (trace) {
    trace->attn = s.attn;
    trace->mlp = s.mlp;
    trace->output = out;
  }
}

template <class P>
Mat<typename P::T> vision_layer(const Mat<typename P::T>& x, const VisionLayerWeights<typename P::T>& w,
                                const VisionConfig& cfg, VisionLayerTrace<typename P::T>* trace) {
  LayerScratch<typename P::T> s;
  Mat<typename P::T> out;
  vision_layer_into<P>(x, w, cfg, s, out, trace);
  return out;
}

// ---- weights ------------------------------------------------------------------------------------------------

namespace {

template <class M> void check_shape(const M& m, int64_t rows, int64_t cols, const std::string& name) {
  require(m.rows() == rows && m.cols() == cols,
          "vision weights: " + name + " is [" + std::to_string(m.rows()) + ", " + std::to_string(m.cols()) +
              "], expected [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
}
template <class T> void check_vec(const Vec<T>& v, int64_t n, const std::string& name) {
  require(v.size() == n, "vision weights: " + name + " has " + std::to_string(v.size()) + " values, expected " +
                             std::to_string(n));
}
template <class T> void check_linear(const BiasedLinear<T>& l, int64_t out, int64_t in, const std::string& name) {
  check_shape(l.w, out, in, name + ".weight");
  check_vec(l.b, out, name + ".bias");
}
template <class T> void check_norm(const LayerNormWeights<T>& n, int64_t D, const std::string& name) {
  check_vec(n.w, D, name + ".weight");
  check_vec(n.b, D, name + ".bias");
}

}  // namespace

template <class T> void check_vision_weights(const VisionWeights<T>& w, const VisionConfig& cfg) {
  const int64_t D = cfg.hidden_size, I = cfg.intermediate_size;
  const std::string e = "vision_model.embeddings.";
  require(cfg.num_attention_heads > 0 && D % cfg.num_attention_heads == 0,
          "vision config: hidden_size " + std::to_string(D) + " is not a multiple of num_attention_heads " +
              std::to_string(cfg.num_attention_heads));
  require(cfg.patch_size > 0 && cfg.image_size % cfg.patch_size == 0,
          "vision config: image_size " + std::to_string(cfg.image_size) + " is not a multiple of patch_size " +
              std::to_string(cfg.patch_size));
  check_shape(w.patch_embedding, D, cfg.num_channels * cfg.patch_size * cfg.patch_size, e + "patch_embedding.weight");
  check_vec(w.class_embedding, D, e + "class_embedding");
  check_shape(w.position_embedding, cfg.num_positions(), D, e + "position_embedding.weight");
  check_norm(w.pre_layrnorm, D, "vision_model.pre_layrnorm");
  require(static_cast<int64_t>(w.layers.size()) == cfg.num_hidden_layers,
          "vision weights: " + std::to_string(w.layers.size()) + " encoder layers, expected " +
              std::to_string(cfg.num_hidden_layers));
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    const std::string n = "vision_model.encoder.layers." + std::to_string(l) + ".";
    const auto& L = w.layers[l];
    check_norm(L.layer_norm1, D, n + "layer_norm1");
    check_linear(L.q_proj, D, D, n + "self_attn.q_proj");
    check_linear(L.k_proj, D, D, n + "self_attn.k_proj");
    check_linear(L.v_proj, D, D, n + "self_attn.v_proj");
    check_linear(L.out_proj, D, D, n + "self_attn.out_proj");
    check_norm(L.layer_norm2, D, n + "layer_norm2");
    check_linear(L.fc1, I, D, n + "mlp.fc1");
    check_linear(L.fc2, D, I, n + "mlp.fc2");
  }
}

template <class T>
void for_each_tensor(const VisionTrace<T>& trace, const std::function<void(const std::string&, const Mat<T>&)>& f) {
  f("vision.embeddings", trace.embeddings);
  f("vision.pre_layrnorm", trace.pre_layrnorm);
  for (std::size_t l = 0; l < trace.layers.size(); ++l) {
    const std::string n = "vision.layers." + std::to_string(l) + ".";
    f(n + "attn", trace.layers[l].attn);
    f(n + "mlp", trace.layers[l].mlp);
    f(n + "output", trace.layers[l].output);
  }
}

// ---- the tower (#vision-tower, #feature-selection) ----------------------------------------------------------

// vision_tower with the caller's layer buffers (vision_tower_crops keeps one set for all its crops).
template <class P>
static Mat<typename P::T> vision_tower_with(std::span<const float> pixels, const VisionWeights<typename P::T>& w,
                                            const VisionConfig& cfg, VisionTrace<typename P::T>* trace,
                                            const VisionOptions<typename P::T>& opt, LayerScratch<typename P::T>& s) {
  using T = typename P::T;
  check_vision_weights(w, cfg);
  Mat<T> e = patch_embed<P>(pixels, w, cfg);                        // [N+1, D]
  Mat<T> h = layer_norm<P>(e, w.pre_layrnorm, cfg.layer_norm_eps);  // [N+1, D]
  if (trace) {
    trace->embeddings = std::move(e);
    trace->pre_layrnorm = h;
    trace->layers.assign(w.layers.size(), {});
  }
  Mat<T> next;  // the layer's output; then swapped with h (the two buffers alternate)
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    vision_layer_into<P>(h, w.layers[l], cfg, s, next, trace ? &trace->layers[l] : nullptr);
    h.swap(next);
    if (opt.after_layer) {
      opt.after_layer(static_cast<int>(l), opt.first_crop, h);
      if (trace) trace->layers[l].output = h;  // what the next layer reads
    }
  }
  return h.bottomRows(cfg.num_patches());  // drop CLS (row 0): [N, D]
}


template <class P>
Mat<typename P::T> vision_tower(std::span<const float> pixels, const VisionWeights<typename P::T>& w,
                                const VisionConfig& cfg, VisionTrace<typename P::T>* trace,
                                const VisionOptions<typename P::T>& opt) {
  LayerScratch<typename P::T> s;
  return vision_tower_with<P>(pixels, w, cfg, trace, opt, s);
}

template <class P>
std::vector<Mat<typename P::T>> vision_tower_crops(std::span<const float> pixels, const VisionWeights<typename P::T>& w,
                                                   const VisionConfig& cfg, VisionTrace<typename P::T>* trace,
                                                   const VisionOptions<typename P::T>& opt) {
  using T = typename P::T;
  const std::size_t crop = static_cast<std::size_t>(cfg.num_channels * cfg.image_size * cfg.image_size);
  require(crop > 0 && pixels.size() % crop == 0,
          "vision tower: " + std::to_string(pixels.size()) + " pixel values are not a whole number of " +
              std::to_string(crop) + "-value crops");
  std::vector<Mat<T>> out;
  if (trace) *trace = {};
  LayerScratch<T> s;
  for (std::size_t c = 0; c * crop < pixels.size(); ++c) {
    VisionTrace<T> t;
    VisionOptions<T> one = opt;
    one.first_crop = opt.first_crop + static_cast<int64_t>(c);
    out.push_back(vision_tower_with<P>(pixels.subspan(c * crop, crop), w, cfg, trace ? &t : nullptr, one, s));
    if (!trace) continue;
    append_trace(*trace, t);
  }
  return out;
}

#define MM_INSTANTIATE(P)                                                                                         \
  template Mat<P::T> patch_embed<P>(std::span<const float>, const VisionWeights<P::T>&, const VisionConfig&);      \
  template Mat<P::T> layer_norm<P>(const Mat<P::T>&, const LayerNormWeights<P::T>&, double);                      \
  template Mat<P::T> vision_attention<P>(const Mat<P::T>&, const VisionLayerWeights<P::T>&, int64_t);            \
  template Mat<P::T> attention_core<P>(const Mat<P::T>&, const Mat<P::T>&, const Mat<P::T>&, int64_t, int);     \
  template void attention_core_into<P>(const Mat<P::T>&, const Mat<P::T>&, const Mat<P::T>&, int64_t, int,      \
                                       Mat<P::T>&);                                                              \
  template Mat<P::T> vision_mlp<P>(const Mat<P::T>&, const VisionLayerWeights<P::T>&);                           \
  template Mat<P::T> vision_layer<P>(const Mat<P::T>&, const VisionLayerWeights<P::T>&, const VisionConfig&,     \
                                     VisionLayerTrace<P::T>*);                                                   \
  template Mat<P::T> vision_tower<P>(std::span<const float>, const VisionWeights<P::T>&, const VisionConfig&,     \
                                     VisionTrace<P::T>*, const VisionOptions<P::T>&);                            \
  template std::vector<Mat<P::T>> vision_tower_crops<P>(std::span<const float>, const VisionWeights<P::T>&,      \
                                                        const VisionConfig&, VisionTrace<P::T>*,                 \
                                                        const VisionOptions<P::T>&);
MM_INSTANTIATE(F64)
MM_INSTANTIATE(F32)
MM_INSTANTIATE(BF16)
#undef MM_INSTANTIATE

template void check_vision_weights<double>(const VisionWeights<double>&, const VisionConfig&);
template void check_vision_weights<float>(const VisionWeights<float>&, const VisionConfig&);
template void for_each_tensor<double>(const VisionTrace<double>&,
                                      const std::function<void(const std::string&, const Mat<double>&)>&);
template void for_each_tensor<float>(const VisionTrace<float>&,
                                     const std::function<void(const std::string&, const Mat<float>&)>&);

}  // namespace mm::ref

namespace mm::ref {

// ---- test and synthetic helpers ----------------------------------------------------------------------------

namespace {
Mat<double> randn_mat(int64_t rows, int64_t cols, Rng& rng, double scale) {
  Mat<double> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = scale * rng.normal();
  return m;
}
Vec<double> randn_vec(int64_t n, Rng& rng, double scale, double mean = 0.0) {
  Vec<double> v(n);
  for (Eigen::Index i = 0; i < n; ++i) v(i) = mean + scale * rng.normal();
  return v;
}
BiasedLinear<double> random_linear(int64_t out, int64_t in, Rng& rng) {
  return {randn_mat(out, in, rng, 1.0 / std::sqrt(double(in))), randn_vec(out, rng, 0.1)};
}
LayerNormWeights<double> random_norm(int64_t D, Rng& rng) { return {randn_vec(D, rng, 0.1, 1.0), randn_vec(D, rng, 0.1)}; }

template <class P, class M> auto to_precision(const M& m) {
  using T = typename P::T;
  using Out = std::conditional_t<M::ColsAtCompileTime == 1, Vec<T>, Mat<T>>;
  Out o = m.template cast<T>();
  store<P>(o);
  return o;
}
}  // namespace

VisionWeights<double> random_vision_weights(const VisionConfig& cfg, Rng& rng) {
  const int64_t D = cfg.hidden_size, I = cfg.intermediate_size, K = cfg.num_channels * cfg.patch_size * cfg.patch_size;
  VisionWeights<double> w;
  w.patch_embedding = randn_mat(D, K, rng, 1.0 / std::sqrt(double(K)));
  w.class_embedding = randn_vec(D, rng, 1.0);
  w.position_embedding = randn_mat(cfg.num_positions(), D, rng, 1.0);
  w.pre_layrnorm = random_norm(D, rng);
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    VisionLayerWeights<double> L;
    L.layer_norm1 = random_norm(D, rng);
    L.q_proj = random_linear(D, D, rng);
    L.k_proj = random_linear(D, D, rng);
    L.v_proj = random_linear(D, D, rng);
    L.out_proj = random_linear(D, D, rng);
    L.layer_norm2 = random_norm(D, rng);
    L.fc1 = random_linear(I, D, rng);
    L.fc2 = random_linear(D, I, rng);
    w.layers.push_back(std::move(L));
  }
  return w;
}

template <class P> BiasedLinear<typename P::T> convert_weights(const BiasedLinear<double>& w) {
  return {to_precision<P>(w.w), to_precision<P>(w.b)};
}
template <class P> LayerNormWeights<typename P::T> convert_weights(const LayerNormWeights<double>& w) {
  return {to_precision<P>(w.w), to_precision<P>(w.b)};
}
template <class P> VisionLayerWeights<typename P::T> convert_weights(const VisionLayerWeights<double>& w) {
  return {convert_weights<P>(w.layer_norm1), convert_weights<P>(w.q_proj),      convert_weights<P>(w.k_proj),
          convert_weights<P>(w.v_proj),      convert_weights<P>(w.out_proj),    convert_weights<P>(w.layer_norm2),
          convert_weights<P>(w.fc1),         convert_weights<P>(w.fc2)};
}
template <class P> VisionWeights<typename P::T> convert_weights(const VisionWeights<double>& w) {
  VisionWeights<typename P::T> o;
  o.patch_embedding = to_precision<P>(w.patch_embedding);
  o.class_embedding = to_precision<P>(w.class_embedding);
  o.position_embedding = to_precision<P>(w.position_embedding);
  o.pre_layrnorm = convert_weights<P>(w.pre_layrnorm);
  for (const auto& L : w.layers) o.layers.push_back(convert_weights<P>(L));
  return o;
}

#define MM_INSTANTIATE(P)                                                                              \
  template BiasedLinear<P::T> convert_weights<P>(const BiasedLinear<double>&);                         \
  template LayerNormWeights<P::T> convert_weights<P>(const LayerNormWeights<double>&);                 \
  template VisionLayerWeights<P::T> convert_weights<P>(const VisionLayerWeights<double>&);             \
  template VisionWeights<P::T> convert_weights<P>(const VisionWeights<double>&);
MM_INSTANTIATE(F64)
MM_INSTANTIATE(F32)
MM_INSTANTIATE(BF16)
#undef MM_INSTANTIATE

}  // namespace mm::ref
