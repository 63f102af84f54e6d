// Decoder layer with DeepNorm residuals (docs/semantics/text-01-model.md#decoder-layer), recomputed
// from the sub-functions:
//   n1 = LN1(x);  y = alpha_a * (postnorm ? n1 : x) + beta_a * Attn(n1);
//   n2 = LN2(y);  out = alpha_m * (postnorm ? n2 : y) + beta_m * MoE(n2)
// and decode / chunked continuation = prefill of the extended sequence, for both layer types.
#include "ref_test_util.h"
#include "reference/decoder_layer.h"
#include "reference/rmsnorm.h"
#include "core/slopes.h"

namespace mm::reftest {
namespace {

using ref::Continuation;
using ref::F64;

ModelConfig layer_cfg(bool postnorm) {
  ModelConfig c = small_config(24, 3, 1, 8, 4, 4, 2, 32, 8);
  c.block_size = 16;
  c.postnorm = postnorm;
  // all six scales distinct, so a swapped alpha/beta or a linear/full/mlp mix-up shows
  c.alpha_linear = 1.7; c.beta_linear = 0.6;
  c.alpha_full = 2.3;   c.beta_full = 0.8;
  c.alpha_mlp = 1.3;    c.beta_mlp = 1.9;
  c.rms_norm_eps = 1e-5;
  return c;
}

TEST(DecoderLayer, DeepNormClosedForm) {
  for (bool postnorm : {true, false}) {
    for (LayerType type : {LayerType::Lightning, LayerType::Softmax}) {
      const ModelConfig c = layer_cfg(postnorm);
      Rng rng(51 + (postnorm ? 1 : 0) + (type == LayerType::Softmax ? 2 : 0));
      const auto w = random_layer(c, type, rng);
      const Mat<double> x = randn(37, c.hidden_size, rng, 2.0);
      const int layer = type == LayerType::Lightning ? 2 : 7;
      ref::LayerCache<double> cache;
      ref::LayerTrace<double> tr;
      const Mat<double> out = ref::decoder_layer<F64>(x, w, c, layer, cache, Continuation::Recurrent, &tr);

      const Mat<double> n1 = rmsnorm_f64(x, w.input_norm, 1e-5);
      Mat<double> a;
      double alpha, beta;
      if (type == LayerType::Lightning) {
        ref::LightningCache<double> lc;
        a = ref::lightning_attention<F64>(n1, w.lightning, c, lightning_slopes(3, layer, 8), lc, Continuation::Recurrent);
        alpha = 1.7; beta = 0.6;
      } else {
        ref::KVCache<double> kv;
        a = ref::softmax_attention<F64>(n1, w.softmax, c, kv);
        alpha = 2.3; beta = 0.8;
      }
      const Mat<double> y = alpha * (postnorm ? n1 : x) + beta * a;
      const Mat<double> n2 = rmsnorm_f64(y, w.post_norm, 1e-5);
      const Mat<double> m = ref::moe<F64>(n2, w.moe, 2);
      const Mat<double> want = 1.3 * (postnorm ? n2 : y) + 1.9 * m;
      const char* what = postnorm ? "decoder layer: DeepNorm closed form (postnorm)" : "decoder layer: DeepNorm closed form (prenorm)";
      EXPECT_REL_LE(what, rel_err(out, want), 1e-13) << (type == LayerType::Softmax ? "softmax" : "lightning");
      EXPECT_REL_LE("decoder layer: trace attn_out", rel_err(tr.attn_out, a), 1e-13);
      EXPECT_REL_LE("decoder layer: trace moe_out", rel_err(tr.moe_out, m), 1e-13);
      EXPECT_EQ(rel_err(tr.output, out), 0.0);
    }
  }
}

TEST(DecoderLayer, PostnormSwitchChangesTheResidual) {
  Rng rng(55);
  const ModelConfig ct = layer_cfg(true), cf = layer_cfg(false);
  const auto w = random_layer(ct, LayerType::Lightning, rng);
  const Mat<double> x = randn(9, ct.hidden_size, rng, 3.0);
  ref::LayerCache<double> c1, c2;
  EXPECT_GT(rel_err(ref::decoder_layer<F64>(x, w, ct, 0, c1, Continuation::Recurrent),
                    ref::decoder_layer<F64>(x, w, cf, 0, c2, Continuation::Recurrent)),
            1e-2);
}

TEST(DecoderLayer, DecodeContinuationEqualsPrefill) {
  struct Case { LayerType type; Continuation cont; const char* name; };
  for (const Case& k : {Case{LayerType::Lightning, Continuation::Recurrent, "lightning/Recurrent"},
                        Case{LayerType::Lightning, Continuation::Block, "lightning/Block"},
                        Case{LayerType::Softmax, Continuation::Recurrent, "softmax"}}) {
    for (bool postnorm : {true, false}) {
      const ModelConfig c = layer_cfg(postnorm);
      Rng rng(56);
      const auto w = random_layer(c, k.type, rng);
      const Eigen::Index S = 45;  // crosses block boundaries at 16 and 32
      const Mat<double> x = randn(S, c.hidden_size, rng, 2.0);
      const int layer = k.type == LayerType::Lightning ? 1 : 7;
      ref::LayerCache<double> full;
      const Mat<double> y = ref::decoder_layer<F64>(x, w, c, layer, full, k.cont);
      // prefill 33, then one token at a time
      ref::LayerCache<double> cache;
      Mat<double> out(S, c.hidden_size);
      out.topRows(33) = ref::decoder_layer<F64>(x.topRows(33), w, c, layer, cache, k.cont);
      for (Eigen::Index t = 33; t < S; ++t)
        out.row(t) = ref::decoder_layer<F64>(x.middleRows(t, 1), w, c, layer, cache, k.cont);
      EXPECT_REL_LE("decoder layer: prefill + decode vs one-shot", rel_err(out, y), 1e-12) << k.name;
      // two multi-token chunks
      ref::LayerCache<double> c2;
      Mat<double> o2(S, c.hidden_size);
      o2.topRows(20) = ref::decoder_layer<F64>(x.topRows(20), w, c, layer, c2, k.cont);
      o2.bottomRows(S - 20) = ref::decoder_layer<F64>(x.bottomRows(S - 20), w, c, layer, c2, k.cont);
      EXPECT_REL_LE("decoder layer: chunked vs one-shot", rel_err(o2, y), 1e-12) << k.name;
    }
  }
}


// ---- bf16-official rounding points (docs/semantics/text-01-numerics.md#deepnorm-residual, #rmsnorm) ----------
float bf(float x) { return round_bf16(x); }

// RMSNorm rounds twice: bf16(w * bf16(x * rsqrt(mean(x^2) + eps))). Integer inputs make the fp32 sum of
// squares exact, so the emulation is order-independent.
TEST(DecoderLayerBf16, RmsNormRoundsTwice) {
  Rng rng(57);
  const int H = 40;
  Mat<float> x(3, H);
  Vec<float> w(H);
  for (int i = 0; i < x.size(); ++i) x.data()[i] = float(rng.below(17) - 8);
  for (int j = 0; j < H; ++j) w(j) = bf(float(1.0 + 0.1 * rng.normal()));
  const Mat<float> got = ref::rmsnorm<ref::BF16>(x, w, 1e-5);
  const Mat<float> got32 = ref::rmsnorm<ref::F32>(x, w, 1e-5);
  for (int i = 0; i < 3; ++i) {
    float ss = 0;
    for (int j = 0; j < H; ++j) ss += x(i, j) * x(i, j);
    const float inv = 1.0f / std::sqrt(ss / float(H) + 1e-5f);
    for (int j = 0; j < H; ++j) {
      EXPECT_EQ(got(i, j), bf(w(j) * bf(x(i, j) * inv))) << i << "," << j;
      EXPECT_EQ(got32(i, j), w(j) * (x(i, j) * inv)) << i << "," << j;
    }
  }
}

// y = bf16(bf16(r1 * fl32(alpha)) + bf16(a * fl32(beta))), recomputed from the bf16 sub-functions.
TEST(DecoderLayerBf16, ResidualRoundingFromSubFunctions) {
  for (bool postnorm : {true, false}) {
    const ModelConfig c = layer_cfg(postnorm);
    Rng rng(58);
    const auto w64 = random_layer(c, LayerType::Lightning, rng);
    auto f = [](const Mat<double>& m) {
      return Mat<float>(m.unaryExpr([](double v) { return round_bf16(float(v)); }));
    };
    auto fv = [](const Vec<double>& m) {
      return Vec<float>(m.unaryExpr([](double v) { return round_bf16(float(v)); }));
    };
    ref::LayerWeights<float> w;
    w.type = LayerType::Lightning;
    w.input_norm = fv(w64.input_norm);
    w.post_norm = fv(w64.post_norm);
    w.lightning = {f(w64.lightning.qkv), f(w64.lightning.gate), fv(w64.lightning.norm), f(w64.lightning.out)};
    w.moe.gate = f(w64.moe.gate);
    for (const auto& e : w64.moe.experts) w.moe.experts.push_back({f(e.w1), f(e.w3), f(e.w2)});
    const Mat<float> x = f(randn(11, c.hidden_size, rng, 2.0));
    ref::LayerCache<float> cache;
    const Mat<float> out = ref::decoder_layer<ref::BF16>(x, w, c, 1, cache, Continuation::Recurrent);
    const Mat<float> n1 = ref::rmsnorm<ref::BF16>(x, w.input_norm, c.rms_norm_eps);
    ref::LightningCache<float> lc;
    const Mat<float> a = ref::lightning_attention<ref::BF16>(n1, w.lightning, c, lightning_slopes(3, 1, 8), lc,
                                                             Continuation::Recurrent);
    const Mat<float>& r1 = postnorm ? n1 : x;
    Mat<float> y(x.rows(), x.cols());
    for (Eigen::Index i = 0; i < y.size(); ++i)
      y.data()[i] = bf(bf(r1.data()[i] * float(c.alpha_linear)) + bf(a.data()[i] * float(c.beta_linear)));
    const Mat<float> n2 = ref::rmsnorm<ref::BF16>(y, w.post_norm, c.rms_norm_eps);
    const Mat<float> m = ref::moe<ref::BF16>(n2, w.moe, 2);
    const Mat<float>& r2 = postnorm ? n2 : y;
    Mat<float> want(x.rows(), x.cols());
    for (Eigen::Index i = 0; i < want.size(); ++i)
      want.data()[i] = bf(bf(r2.data()[i] * float(c.alpha_mlp)) + bf(m.data()[i] * float(c.beta_mlp)));
    EXPECT_EQ(rel_err(out, want), 0.0) << "postnorm=" << postnorm;
  }
}

}  // namespace
}  // namespace mm::reftest
