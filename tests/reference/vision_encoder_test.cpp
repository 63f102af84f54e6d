// The vision tower (docs/semantics/vl-01-vision.md), against independent fp64 formulations:
//   - the patch conv as a direct loop over the NCHW image, LayerNorm, per-head attention with explicit loops
//     and a stable softmax, the erf GELU, the pre-norm layer and the whole tower (CLS dropped, no post-LN);
//   - F32 and BF16 against F64 (errors printed as [accuracy] lines);
//   - the BF16 rounding points emulated bit for bit on shapes where no summation order is involved;
//   - crops are independent.
#include <limits>
#include <span>

#include "ref_test_util.h"
#include "reference/vision_encoder.h"

namespace mm::reftest {
namespace {

using ref::BF16;
using ref::F32;
using ref::F64;

// The real crop geometry (336 / 14: 577 positions) at a small width: D 32, 4 heads of 8, I 64, 2 layers.
VisionConfig small_vision(int64_t layers = 2) {
  VisionConfig c;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = layers;
  c.num_attention_heads = 4;
  return c;
}

// Pixels of n crops [n][C][S][S] as the preprocessor leaves them: roughly N(0, 1), float32.
std::vector<float> random_pixels(const VisionConfig& c, int n, Rng& rng) {
  std::vector<float> px(static_cast<std::size_t>(n * c.num_channels * c.image_size * c.image_size));
  for (auto& v : px) v = static_cast<float>(rng.normal());
  return px;
}

// ---- independent fp64 formulations ------------------------------------------------------------------------

// conv2d(x, W[D][C][p][p], stride p, no bias) as six nested loops, flattened row-major, then CLS and positions.
Mat<double> embeddings_f64(const std::vector<float>& px, std::size_t offset, const ref::VisionWeights<double>& w,
                           const VisionConfig& c) {
  const int64_t C = c.num_channels, S = c.image_size, p = c.patch_size, side = S / p, D = c.hidden_size;
  Mat<double> e(side * side + 1, D);
  for (int64_t o = 0; o < D; ++o) e(0, o) = w.class_embedding(o) + w.position_embedding(0, o);
  for (int64_t o = 0; o < D; ++o)
    for (int64_t y = 0; y < side; ++y)
      for (int64_t x = 0; x < side; ++x) {
        double acc = 0;
        for (int64_t ch = 0; ch < C; ++ch)
          for (int64_t ky = 0; ky < p; ++ky)
            for (int64_t kx = 0; kx < p; ++kx)
              acc += w.patch_embedding(o, (ch * p + ky) * p + kx) *
                     double(px[offset + static_cast<std::size_t>((ch * S + y * p + ky) * S + x * p + kx)]);
        e(1 + y * side + x, o) = acc + w.position_embedding(1 + y * side + x, o);
      }
  return e;
}

Mat<double> layernorm_f64(const Mat<double>& x, const ref::LayerNormWeights<double>& w, double eps) {
  Mat<double> out(x.rows(), x.cols());
  const double n = double(x.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    double mean = 0, var = 0;
    for (Eigen::Index j = 0; j < x.cols(); ++j) mean += x(i, j) / n;
    for (Eigen::Index j = 0; j < x.cols(); ++j) var += (x(i, j) - mean) * (x(i, j) - mean) / n;
    for (Eigen::Index j = 0; j < x.cols(); ++j) out(i, j) = (x(i, j) - mean) / std::sqrt(var + eps) * w.w(j) + w.b(j);
  }
  return out;
}

Mat<double> affine_f64(const Mat<double>& x, const ref::BiasedLinear<double>& l) {
  Mat<double> y(x.rows(), l.w.rows());
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index o = 0; o < l.w.rows(); ++o) {
      double acc = l.b(o);
      for (Eigen::Index k = 0; k < x.cols(); ++k) acc += x(i, k) * l.w(o, k);
      y(i, o) = acc;
    }
  return y;
}

double gelu_f64(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

// Per head, explicit loops: o[i] = sum_j softmax_j(q_i . k_j / sqrt(d)) v_j over all j (no mask).
// `segments` splits the rows into independent sequences (a block-diagonal mask, the official varlen form).
Mat<double> attention_f64(const Mat<double>& x, const ref::VisionLayerWeights<double>& w, int64_t heads,
                          const std::vector<int64_t>& segments) {
  const Mat<double> q = affine_f64(x, w.q_proj), k = affine_f64(x, w.k_proj), v = affine_f64(x, w.v_proj);
  const int64_t D = q.cols(), d = D / heads;
  Mat<double> o = Mat<double>::Zero(x.rows(), D);
  int64_t start = 0;
  for (int64_t len : segments) {
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = start; i < start + len; ++i) {
        std::vector<double> s(static_cast<std::size_t>(len));
        double mx = -INFINITY;
        for (int64_t j = 0; j < len; ++j) {
          double dot = 0;
          for (int64_t t = 0; t < d; ++t) dot += q(i, h * d + t) * k(start + j, h * d + t);
          s[static_cast<std::size_t>(j)] = dot / std::sqrt(double(d));
          mx = std::max(mx, s[static_cast<std::size_t>(j)]);
        }
        double sum = 0;
        for (auto& e : s) sum += (e = std::exp(e - mx));
        for (int64_t j = 0; j < len; ++j)
          for (int64_t t = 0; t < d; ++t) o(i, h * d + t) += s[static_cast<std::size_t>(j)] / sum * v(start + j, h * d + t);
      }
    start += len;
  }
  return affine_f64(o, w.out_proj);
}

Mat<double> mlp_f64(const Mat<double>& x, const ref::VisionLayerWeights<double>& w) {
  return affine_f64(affine_f64(x, w.fc1).unaryExpr(&gelu_f64), w.fc2);
}

Mat<double> layer_f64(const Mat<double>& x, const ref::VisionLayerWeights<double>& w, const VisionConfig& c,
                      const std::vector<int64_t>& segments) {
  const Mat<double> h = x + attention_f64(layernorm_f64(x, w.layer_norm1, c.layer_norm_eps), w, c.num_attention_heads, segments);
  return h + mlp_f64(layernorm_f64(h, w.layer_norm2, c.layer_norm_eps), w);
}

// ---- F64 against the independent formulations --------------------------------------------------------------

TEST(VisionEncoder, PatchEmbedIsTheConvPlusClsAndPositions) {
  const VisionConfig c = small_vision();
  Rng rng(701);
  const auto w = ref::random_vision_weights(c, rng);
  const auto px = random_pixels(c, 1, rng);
  const Mat<double> e = ref::patch_embed<F64>(px, w, c);
  ASSERT_EQ(e.rows(), 577);
  ASSERT_EQ(e.cols(), 32);
  EXPECT_REL_LE("vision f64: patch_embed vs direct conv", rel_err(e, embeddings_f64(px, 0, w, c)), 1e-13);
}

TEST(VisionEncoder, PatchEmbedNonSquarePatchOrder) {
  // Channels, rows and columns all distinct and a patch of 2 over a 6x6 image: a swapped (ky, kx) or (r, c)
  // order, or a channel-last read, changes the result.
  VisionConfig c = small_vision(0);
  c.image_size = 6;
  c.patch_size = 2;
  c.hidden_size = 5;
  c.num_attention_heads = 1;
  Rng rng(702);
  const auto w = ref::random_vision_weights(c, rng);
  const auto px = random_pixels(c, 1, rng);
  EXPECT_REL_LE("vision f64: patch_embed vs direct conv (6x6 / 2)",
                rel_err(ref::patch_embed<F64>(px, w, c), embeddings_f64(px, 0, w, c)), 1e-14);
}

TEST(VisionEncoder, LayerNormAttentionMlpLayer) {
  const VisionConfig c = small_vision();
  Rng rng(703);
  const auto w = ref::random_vision_weights(c, rng);
  const auto& L = w.layers[0];
  const Mat<double> x = randn(577, 32, rng, 2.0);
  const Mat<double> ln = ref::layer_norm<F64>(x, L.layer_norm1, 1e-5);
  EXPECT_REL_LE("vision f64: layer_norm", rel_err(ln, layernorm_f64(x, L.layer_norm1, 1e-5)), 1e-13);
  EXPECT_REL_LE("vision f64: attention", rel_err(ref::vision_attention<F64>(ln, L, 4), attention_f64(ln, L, 4, {577})),
                1e-13);
  EXPECT_REL_LE("vision f64: mlp", rel_err(ref::vision_mlp<F64>(ln, L), mlp_f64(ln, L)), 1e-13);
  ref::VisionLayerTrace<double> tr;
  const Mat<double> out = ref::vision_layer<F64>(x, L, c, &tr);
  EXPECT_REL_LE("vision f64: layer", rel_err(out, layer_f64(x, L, c, {577})), 1e-13);
  // trace: attn / mlp are the block outputs before their residuals
  const Mat<double> a = attention_f64(layernorm_f64(x, L.layer_norm1, 1e-5), L, 4, {577});
  EXPECT_REL_LE("vision f64: trace attn", rel_err(tr.attn, a), 1e-13);
  EXPECT_REL_LE("vision f64: trace mlp", rel_err(tr.mlp, mlp_f64(layernorm_f64(x + a, L.layer_norm2, 1e-5), L)), 1e-13);
  EXPECT_EQ(rel_err(tr.output, out), 0.0);
}

TEST(VisionEncoder, LayerNormIsNotRmsNorm) {
  // A row with a large mean: LayerNorm removes it, so adding a constant to a row changes nothing.
  Rng rng(704);
  ref::LayerNormWeights<double> w{randn_vec(16, rng, 0.1, 1.0), randn_vec(16, rng, 0.1)};
  const Mat<double> x = randn(3, 16, rng);
  const Mat<double> shifted = (x.array() + 7.0).matrix();
  EXPECT_REL_LE("vision f64: layer_norm shift invariance",
                rel_err(ref::layer_norm<F64>(shifted, w, 1e-5), ref::layer_norm<F64>(x, w, 1e-5)), 1e-13);
}

TEST(VisionEncoder, GeluIsExactErf) {
  const std::vector<double> xs = {-3.0, -1.0, -0.1, 0.0, 0.5, 1.0, 2.5};
  Mat<double> g(1, static_cast<Eigen::Index>(xs.size()));
  for (std::size_t i = 0; i < xs.size(); ++i) g(0, static_cast<Eigen::Index>(i)) = xs[i];
  ref::gelu_erf_stored<F64>(g);
  for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_NEAR(g(0, static_cast<Eigen::Index>(i)), gelu_f64(xs[i]), 1e-15) << xs[i];
  // not the tanh approximation nor quick_gelu: they differ by > 1e-4 at x = 1
  EXPECT_NEAR(g(0, 5), 0.8413447460685429, 1e-15);
  // fp32: within 2.5e-7 x max(1, |x|) of the exact value (about 2 fp32 ulps of the result where |g| >= 1;
  // an absolute bound below that: a loose check of the fp32 path, the exact-erf property is the f64 one)
  Mat<float> f(1, static_cast<Eigen::Index>(xs.size()));
  for (std::size_t i = 0; i < xs.size(); ++i) f(0, static_cast<Eigen::Index>(i)) = static_cast<float>(xs[i]);
  ref::gelu_erf_stored<F32>(f);
  for (std::size_t i = 0; i < xs.size(); ++i)
    EXPECT_NEAR(f(0, static_cast<Eigen::Index>(i)), gelu_f64(xs[i]), 2.5e-7 * std::max(1.0, std::fabs(xs[i]))) << xs[i];
}

TEST(VisionEncoder, TowerDropsClsAndSkipsPostNorm) {
  const VisionConfig c = small_vision();
  Rng rng(705);
  const auto w = ref::random_vision_weights(c, rng);
  const auto px = random_pixels(c, 1, rng);
  ref::VisionTrace<double> tr;
  const Mat<double> f = ref::vision_tower<F64>(px, w, c, &tr);
  ASSERT_EQ(f.rows(), 576);
  ASSERT_EQ(f.cols(), 32);
  Mat<double> h = layernorm_f64(embeddings_f64(px, 0, w, c), w.pre_layrnorm, 1e-5);
  EXPECT_REL_LE("vision f64: trace embeddings", rel_err(tr.embeddings, embeddings_f64(px, 0, w, c)), 1e-13);
  EXPECT_REL_LE("vision f64: trace pre_layrnorm", rel_err(tr.pre_layrnorm, h), 1e-13);
  for (const auto& L : w.layers) h = layer_f64(h, L, c, {577});
  EXPECT_REL_LE("vision f64: tower vs independent", rel_err(f, h.bottomRows(576)), 1e-12);
  ASSERT_EQ(tr.layers.size(), 2u);
  EXPECT_EQ(rel_err(tr.layers[1].output.bottomRows(576), f), 0.0);
  // the harness names, in dataflow order
  std::vector<std::string> names;
  ref::for_each_tensor<double>(tr, [&](const std::string& n, const Mat<double>& m) {
    names.push_back(n);
    EXPECT_EQ(m.rows(), 577) << n;
  });
  EXPECT_EQ(names, (std::vector<std::string>{"vision.embeddings", "vision.pre_layrnorm", "vision.layers.0.attn",
                                             "vision.layers.0.mlp", "vision.layers.0.output", "vision.layers.1.attn",
                                             "vision.layers.1.mlp", "vision.layers.1.output"}));
}

// ---- crops are independent -----------------------------------------------------------------------------------

TEST(VisionEncoder, CropsAreIndependent) {
  const VisionConfig c = small_vision(1);
  Rng rng(706);
  const auto w64 = ref::random_vision_weights(c, rng);
  const auto px = random_pixels(c, 2, rng);
  const std::size_t crop = px.size() / 2;
  const std::span<const float> all(px);
  auto check = [&](auto policy, const char* name) {
    using P = decltype(policy);
    const auto w = ref::convert_weights<P>(w64);
    ref::VisionTrace<typename P::T> tr;
    const auto both = ref::vision_tower_crops<P>(all, w, c, &tr);
    ASSERT_EQ(both.size(), 2u);
    EXPECT_EQ(rel_err(both[0], ref::vision_tower<P>(all.first(crop), w, c)), 0.0) << name;
    EXPECT_EQ(rel_err(both[1], ref::vision_tower<P>(all.last(crop), w, c)), 0.0) << name;
    EXPECT_EQ(tr.embeddings.rows(), 2 * 577);
    EXPECT_EQ(tr.layers[0].output.rows(), 2 * 577);
    EXPECT_EQ(rel_err(tr.layers[0].output.bottomRows(576), both[1]), 0.0) << name;
  };
  check(F64{}, "f64");
  check(F32{}, "f32");
  check(BF16{}, "bf16");
  // The packed (varlen) form, independently: one sequence of 2 x 577 rows with a block-diagonal mask gives the
  // per-crop results; attention over the whole packed sequence does not.
  const Mat<double> e0 = layernorm_f64(embeddings_f64(px, 0, w64, c), w64.pre_layrnorm, 1e-5);
  const Mat<double> e1 = layernorm_f64(embeddings_f64(px, crop, w64, c), w64.pre_layrnorm, 1e-5);
  Mat<double> packed(2 * 577, 32);
  packed << e0, e1;
  const Mat<double> varlen = layer_f64(packed, w64.layers[0], c, {577, 577});
  const auto sep = ref::vision_tower_crops<F64>(all, w64, c);
  EXPECT_REL_LE("vision f64: packed varlen vs per crop", rel_err(varlen.middleRows(1, 576), sep[0]), 1e-12);
  EXPECT_REL_LE("vision f64: packed varlen vs per crop", rel_err(varlen.bottomRows(576), sep[1]), 1e-12);
  const Mat<double> joint = layer_f64(packed, w64.layers[0], c, {2 * 577});
  EXPECT_GT(rel_err(joint.middleRows(1, 576), sep[0]), 1e-3);
}

// ---- the thread team (reference/team.h) -------------------------------------------------------------------------

// The tower on a team of 1 to 4 threads (OpenBLAS's count): every GEMM split into column blocks, the
// attention's heads and the row passes split over the parts, each block on single-threaded OpenBLAS. Each
// output element is computed by one part in the same order whatever the split, so the bits are the same.
// The real width (D 1024, 16 heads) at 2 layers: blocks of 16 columns and 4 heads, splits that a small
// width would not make.
TEST(VisionEncoder, ThreadCountDoesNotChangeTheBits) {
  if (!ScopedBlasThreads::ok()) GTEST_SKIP() << "not OpenBLAS: the team size is 1";
  VisionConfig c;  // the released tower's widths
  c.num_hidden_layers = 2;
  Rng rng(708);
  const auto w64 = ref::random_vision_weights(c, rng);
  const auto px = random_pixels(c, 1, rng);
  auto check = [&](auto policy, const char* name) {
    using P = decltype(policy);
    const auto w = ref::convert_weights<P>(w64);
    Mat<typename P::T> one;
    {
      const ScopedBlasThreads t(1);
      one = ref::vision_tower<P>(px, w, c);
    }
    for (const int threads : {2, 3, 4}) {
      const ScopedBlasThreads t(threads);
      EXPECT_TRUE(same_bits(one, ref::vision_tower<P>(px, w, c))) << name << ", " << threads << " threads";
    }
  };
  check(F32{}, "f32");
  check(BF16{}, "bf16");
}

// attention_core on teams of 2, 3 and 4 parts (more are capped at the pool's helpers + 1, at least 4, and at
// the 16 heads): the same bits as one part, every element written (the output is NaN-filled first; a NaN
// never passes same_bits against the one-part result). A head count that does not divide D is refused.
TEST(VisionEncoder, AttentionCoreTeamSizes) {
  const int64_t S = 577, heads = 16, D = 16 * 64;
  Rng rng(709);
  const Mat<float> q = randn(S, D, rng).cast<float>(), k = randn(S, D, rng).cast<float>(),
                   v = randn(S, D, rng).cast<float>();
  const Mat<float> one = ref::attention_core<F32>(q, k, v, heads, 1);
  ASSERT_TRUE(all_finite(one));
  for (const int parts : {2, 3, 4, 17}) {
    Mat<float> o = Mat<float>::Constant(S, D, std::numeric_limits<float>::quiet_NaN());
    ref::attention_core_into<F32>(q, k, v, heads, parts, o);
    EXPECT_TRUE(same_bits(one, o)) << parts << " parts";
  }
  EXPECT_THROW(ref::attention_core<F32>(q, k, v, 15, 2), Error);
  EXPECT_THROW(ref::attention_core<F32>(q, k, v, 0, 2), Error);
  // and it is the core of vision_attention: softmax(q k^T / 8) v per head, in fp64 to fp32 accuracy
  Mat<double> want(S, D);
  for (int64_t h = 0; h < heads; ++h) {
    const Mat<double> qh = q.middleCols(h * 64, 64).cast<double>(), kh = k.middleCols(h * 64, 64).cast<double>();
    Mat<double> p = (qh * kh.transpose()) / 8.0;
    for (int64_t i = 0; i < S; ++i) {
      p.row(i).array() = (p.row(i).array() - p.row(i).maxCoeff()).exp();
      p.row(i) /= p.row(i).sum();
    }
    want.middleCols(h * 64, 64) = p * v.middleCols(h * 64, 64).cast<double>();
  }
  EXPECT_REL_LE("vision f32: attention_core vs f64", rel_err(one, want), 1e-5);
}

// The tower reuses one set of layer buffers from layer to layer: the same bits as the layers one by one,
// each with fresh buffers (vision_layer), traces included.
TEST(VisionEncoder, TowerEqualsItsLayersOneByOne) {
  const VisionConfig c = small_vision(3);
  Rng rng(710);
  const auto w64 = ref::random_vision_weights(c, rng);
  const auto px = random_pixels(c, 1, rng);
  auto check = [&](auto policy, const char* name) {
    using P = decltype(policy);
    using T = typename P::T;
    const auto w = ref::convert_weights<P>(w64);
    ref::VisionTrace<T> tr;
    const Mat<T> tower = ref::vision_tower<P>(px, w, c, &tr);
    Mat<T> h = ref::layer_norm<P>(ref::patch_embed<P>(px, w, c), w.pre_layrnorm, c.layer_norm_eps);
    for (std::size_t l = 0; l < w.layers.size(); ++l) {
      ref::VisionLayerTrace<T> lt;
      h = ref::vision_layer<P>(h, w.layers[l], c, &lt);
      EXPECT_TRUE(same_bits(lt.attn, tr.layers[l].attn)) << name << " layer " << l;
      EXPECT_TRUE(same_bits(lt.mlp, tr.layers[l].mlp)) << name << " layer " << l;
      EXPECT_TRUE(same_bits(lt.output, tr.layers[l].output)) << name << " layer " << l;
    }
    EXPECT_TRUE(same_bits(Mat<T>(h.bottomRows(576)), tower)) << name;
  };
  check(F64{}, "f64");
  check(F32{}, "f32");
  check(BF16{}, "bf16");
}

// The per-layer hook (VisionOptions::after_layer): one that writes a layer's own output back changes
// nothing; one that changes vision layer 0 of crop 1 changes that crop's later layers only, and the trace
// records what the hook left. The crop index counts from first_crop.
TEST(VisionEncoder, AfterLayerHook) {
  const VisionConfig c = small_vision(3);
  Rng rng(707);
  const auto w = ref::random_vision_weights(c, rng);
  const auto px = random_pixels(c, 2, rng);
  const std::span<const float> all(px);
  ref::VisionTrace<double> plain_tr, same_tr, bumped_tr;
  const auto plain = ref::vision_tower_crops<F64>(all, w, c, &plain_tr);
  std::vector<std::pair<int, int64_t>> calls;
  ref::VisionOptions<double> same;
  same.first_crop = 5;
  same.after_layer = [&](int l, int64_t crop, Mat<double>& h) {
    calls.emplace_back(l, crop);
    EXPECT_EQ(h.rows(), 577);
    const Mat<double> copy = h;
    h = copy;
  };
  const auto same_out = ref::vision_tower_crops<F64>(all, w, c, &same_tr, same);
  const std::vector<std::pair<int, int64_t>> want = {{0, 5}, {1, 5}, {2, 5}, {0, 6}, {1, 6}, {2, 6}};
  EXPECT_EQ(calls, want);
  for (std::size_t k = 0; k < 2; ++k) EXPECT_EQ(rel_err(same_out[k], plain[k]), 0.0);
  for (int l = 0; l < 3; ++l) EXPECT_EQ(rel_err(same_tr.layers[l].output, plain_tr.layers[l].output), 0.0);

  ref::VisionOptions<double> bump;
  bump.after_layer = [](int l, int64_t crop, Mat<double>& h) {
    if (l == 0 && crop == 1) h.row(3).array() += 1.0;
  };
  const auto bumped = ref::vision_tower_crops<F64>(all, w, c, &bumped_tr, bump);
  EXPECT_EQ(rel_err(bumped[0], plain[0]), 0.0);  // crop 0 untouched
  EXPECT_GT(rel_err(bumped[1], plain[1]), 1e-3);  // crop 1's later layers read the changed values
  const Mat<double> o0 = bumped_tr.layers[0].output.bottomRows(577), p0 = plain_tr.layers[0].output.bottomRows(577);
  EXPECT_NEAR((o0 - p0).row(3).sum(), 32.0, 1e-9);  // the trace records what the hook left
  EXPECT_GT(rel_err(bumped_tr.layers[1].output.bottomRows(577), plain_tr.layers[1].output.bottomRows(577)), 1e-3);
  EXPECT_EQ(rel_err(bumped_tr.layers[2].output.topRows(577), plain_tr.layers[2].output.topRows(577)), 0.0);
}

TEST(VisionEncoder, RefusesWrongShapes) {
  const VisionConfig c = small_vision(1);
  Rng rng(707);
  auto w = ref::random_vision_weights(c, rng);
  const auto px = random_pixels(c, 1, rng);
  EXPECT_MM_ERROR(ref::vision_tower<F64>(std::span<const float>(px).first(px.size() - 1), w, c), "pixel values");
  EXPECT_MM_ERROR(ref::vision_tower_crops<F64>(std::span<const float>(px).first(px.size() - 1), w, c), "crops");
  w.layers[0].fc1.b.resize(3);
  EXPECT_MM_ERROR(ref::vision_tower<F64>(px, w, c), "vision_model.encoder.layers.0.mlp.fc1.bias", "expected 64");
  w = ref::random_vision_weights(c, rng);
  w.position_embedding.resize(576, 32);
  EXPECT_MM_ERROR(ref::vision_tower<F64>(px, w, c), "position_embedding.weight", "[577, 32]");
}

// ---- F32 and BF16 against F64 --------------------------------------------------------------------------------

TEST(VisionEncoderPrecision, F32AndBf16AgainstF64) {
  const VisionConfig c = small_vision(2);
  Rng rng(708);
  const auto w64 = ref::random_vision_weights(c, rng);
  const auto px = random_pixels(c, 1, rng);
  ref::VisionTrace<double> t64;
  const Mat<double> f64 = ref::vision_tower<F64>(px, w64, c, &t64);
  ref::VisionTrace<float> t32, tb;
  const Mat<float> f32 = ref::vision_tower<F32>(px, ref::convert_weights<F32>(w64), c, &t32);
  const Mat<float> fb = ref::vision_tower<BF16>(px, ref::convert_weights<BF16>(w64), c, &tb);
  EXPECT_TRUE(all_finite(fb));
  EXPECT_REL_LE("vision f32 vs f64: tower output", rel_err(f32, f64), 1e-5);
  EXPECT_REL_LE("vision bf16 vs f64: tower output", rel_err(fb, f64), 5e-2);
  EXPECT_GT(rel_err(fb, f64), 1e-4);  // the bf16 mode does round
  EXPECT_REL_LE("vision f32 vs f64: embeddings", rel_err(t32.embeddings, t64.embeddings), 1e-6);
  EXPECT_REL_LE("vision bf16 vs f64: embeddings", rel_err(tb.embeddings, t64.embeddings), 2e-2);
  EXPECT_REL_LE("vision f32 vs f64: layer 0 attn", rel_err(t32.layers[0].attn, t64.layers[0].attn), 1e-5);
  EXPECT_REL_LE("vision bf16 vs f64: layer 0 attn", rel_err(tb.layers[0].attn, t64.layers[0].attn), 5e-2);
  EXPECT_REL_LE("vision f32 vs f64: layer 0 mlp", rel_err(t32.layers[0].mlp, t64.layers[0].mlp), 1e-5);
  EXPECT_REL_LE("vision bf16 vs f64: layer 0 mlp", rel_err(tb.layers[0].mlp, t64.layers[0].mlp), 5e-2);
  // every stored BF16 tensor holds bf16 values
  ref::for_each_tensor<float>(tb, [](const std::string& n, const Mat<float>& m) {
    for (Eigen::Index i = 0; i < m.size(); ++i) ASSERT_EQ(m.data()[i], round_bf16(m.data()[i])) << n;
  });
}

// ---- BF16 rounding points, bit for bit (docs/semantics/vl-01-vision.md#bf16-rounding-points) ----------------

float bf(float x) { return round_bf16(x); }
float bfr(Rng& rng, double scale = 1.0) { return bf(float(scale * rng.normal())); }

// One channel, a 1x1 patch over a 3x3 image: the conv is one product per output, no sum.
//   e[0] = bf16(cls + pos0);  e[1+t] = bf16(bf16(bf16(pixel_t) * W) + pos[1+t])
TEST(VisionEncoderBf16, PatchEmbedRoundings) {
  VisionConfig c;
  c.hidden_size = 4;
  c.num_attention_heads = 1;
  c.intermediate_size = 4;
  c.num_hidden_layers = 0;
  c.num_channels = 1;
  c.image_size = 3;
  c.patch_size = 1;
  Rng rng(709);
  const auto w = ref::convert_weights<BF16>(ref::random_vision_weights(c, rng));
  std::vector<float> px(9);
  for (auto& v : px) v = float(rng.normal());  // not bf16 values: the cast to bf16 shows
  const Mat<float> e = ref::patch_embed<BF16>(px, w, c);
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ(e(0, j), bf(w.class_embedding(j) + w.position_embedding(0, j)));
    for (int t = 0; t < 9; ++t)
      EXPECT_EQ(e(1 + t, j), bf(bf(bf(px[t]) * w.patch_embedding(j, 0)) + w.position_embedding(1 + t, j))) << t << "," << j;
  }
}

// LayerNorm: statistics in fp32, one rounding of w * (rstd * (x - mean)) + b. Integer inputs over a width of 8
// make the sums exact, so the emulation is order-independent.
TEST(VisionEncoderBf16, LayerNormRoundsOnce) {
  Rng rng(710);
  const int D = 8;
  Mat<float> x(4, D);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = float(rng.below(17) - 8);
  ref::LayerNormWeights<float> w{Vec<float>(D), Vec<float>(D)};
  for (int j = 0; j < D; ++j) {
    w.w(j) = bf(float(1 + 0.1 * rng.normal()));
    w.b(j) = bfr(rng, 0.1);
  }
  const Mat<float> got = ref::layer_norm<BF16>(x, w, 1e-5);
  const Mat<float> got32 = ref::layer_norm<F32>(x, w, 1e-5);
  for (int i = 0; i < 4; ++i) {
    float s = 0, ss = 0;
    for (int j = 0; j < D; ++j) s += x(i, j);
    const float mean = s / float(D);
    for (int j = 0; j < D; ++j) ss += (x(i, j) - mean) * (x(i, j) - mean);
    const float rstd = 1.0f / std::sqrt(ss / float(D) + 1e-5f);
    for (int j = 0; j < D; ++j) {
      const float y = w.w(j) * (rstd * (x(i, j) - mean)) + w.b(j);
      EXPECT_EQ(got(i, j), bf(y)) << i << "," << j;
      EXPECT_EQ(got32(i, j), y) << i << "," << j;
    }
  }
}

// A whole encoder layer at D = 2, 2 heads of 1, I = 2, S = 2: every dot product has at most two terms of exact
// bf16 x bf16 products, and the softmax scale is 1, so each rounding point is checked in isolation:
//   n1 = LN1(x); q,k,v = bf16(n1 W^T + b); o = bf16(P v) with P in fp32; a = bf16(o Wo^T + bo);
//   h = bf16(x + a); n2 = LN2(h); g = bf16(gelu(bf16(n2 W1^T + b1))); m = bf16(g W2^T + b2); out = bf16(h + m)
TEST(VisionEncoderBf16, LayerRoundingPoints) {
  VisionConfig c;
  c.hidden_size = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 2;
  c.num_hidden_layers = 1;
  for (uint64_t seed = 711; seed < 716; ++seed) {
    Rng rng(seed);
    const auto w = ref::convert_weights<BF16>(ref::random_vision_weights(c, rng).layers[0]);
    Mat<float> x(2, 2);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = bfr(rng, 2.0);
    ref::VisionLayerTrace<float> tr;
    const Mat<float> out = ref::vision_layer<BF16>(x, w, c, &tr);

    auto ln = [](const Mat<float>& v, const ref::LayerNormWeights<float>& p) {
      Mat<float> o(v.rows(), 2);
      for (int i = 0; i < v.rows(); ++i) {
        const float mean = (v(i, 0) + v(i, 1)) / 2.0f;
        const float ss = (v(i, 0) - mean) * (v(i, 0) - mean) + (v(i, 1) - mean) * (v(i, 1) - mean);
        const float rstd = 1.0f / std::sqrt(ss / 2.0f + 1e-5f);
        for (int j = 0; j < 2; ++j) o(i, j) = bf(p.w(j) * (rstd * (v(i, j) - mean)) + p.b(j));
      }
      return o;
    };
    auto lin = [](const Mat<float>& v, const ref::BiasedLinear<float>& l) {
      Mat<float> o(v.rows(), l.w.rows());
      for (int i = 0; i < v.rows(); ++i)
        for (int j = 0; j < l.w.rows(); ++j) o(i, j) = bf((v(i, 0) * l.w(j, 0) + v(i, 1) * l.w(j, 1)) + l.b(j));
      return o;
    };
    const Mat<float> n1 = ln(x, w.layer_norm1);
    const Mat<float> q = lin(n1, w.q_proj), k = lin(n1, w.k_proj), v = lin(n1, w.v_proj);
    Mat<float> o(2, 2);
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 2; ++i) {
        const float s0 = q(i, h) * k(0, h), s1 = q(i, h) * k(1, h);  // d = 1: scale 1
        const float mx = std::max(s0, s1);
        const float e0 = std::exp(s0 - mx), e1 = std::exp(s1 - mx), sum = e0 + e1;
        o(i, h) = bf((e0 / sum) * v(0, h) + (e1 / sum) * v(1, h));
      }
    const Mat<float> a = lin(o, w.out_proj);
    Mat<float> h = x;
    for (Eigen::Index i = 0; i < h.size(); ++i) h.data()[i] = bf(x.data()[i] + a.data()[i]);
    Mat<float> g = lin(ln(h, w.layer_norm2), w.fc1);
    for (Eigen::Index i = 0; i < g.size(); ++i) {
      const float t = g.data()[i];
      g.data()[i] = bf((t * 0.5f) * (1.0f + std::erf(t * 0.70710678f)));
    }
    const Mat<float> m = lin(g, w.fc2);
    Mat<float> want = h;
    for (Eigen::Index i = 0; i < want.size(); ++i) want.data()[i] = bf(h.data()[i] + m.data()[i]);
    EXPECT_EQ(rel_err(tr.attn, a), 0.0) << seed;
    EXPECT_EQ(rel_err(tr.mlp, m), 0.0) << seed;
    EXPECT_EQ(rel_err(out, want), 0.0) << seed;
  }
}

}  // namespace
}  // namespace mm::reftest
