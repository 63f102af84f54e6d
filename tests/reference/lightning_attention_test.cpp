// Lightning attention (docs/semantics/text-01-model.md#lightning-attention): the official block prefill,
// the token recurrence and the quadratic
// masked-decay form must agree (fp64, ~1e-12) for every length / block size / decay / initial state;
// chunked prefill with history (block path and recurrent path) must equal a one-shot prefill; the layer
// function with both continuations must equal a one-shot call; the fused qkv projection is split PER HEAD.
#include <tuple>

#include "ref_test_util.h"
#include "reference/lightning_attention.h"
#include "core/slopes.h"

namespace mm::reftest {
namespace {

using ref::BF16;
using ref::Continuation;
using ref::F32;
using ref::F64;

// ---- independent fp64 formulations, written from docs/semantics/text-01-model.md -----------------------------

// Exact recurrence S_t = lambda S_{t-1} + k_t^T v_t, o_t = q_t S_t (lambda = exp(-s) once).
Mat<double> recurrence(const Mat<double>& q, const Mat<double>& k, const Mat<double>& v, double s,
                       Mat<double>& state) {
  const double lam = std::exp(-s);
  Mat<double> o(q.rows(), v.cols());
  for (Eigen::Index t = 0; t < q.rows(); ++t) {
    for (Eigen::Index a = 0; a < state.rows(); ++a)
      for (Eigen::Index b = 0; b < state.cols(); ++b) state(a, b) = lam * state(a, b) + k(t, a) * v(t, b);
    for (Eigen::Index b = 0; b < v.cols(); ++b) {
      double acc = 0;
      for (Eigen::Index a = 0; a < q.cols(); ++a) acc += q(t, a) * state(a, b);
      o(t, b) = acc;
    }
  }
  return o;
}

// Quadratic form: o_t = sum_{j<=t} lambda^{t-j} (q_t . k_j) v_j + lambda^{t+1} q_t S_{-1};
// final state S = lambda^S S_{-1} + sum_j lambda^{S-1-j} k_j^T v_j. Every power is exp(-s*n).
Mat<double> quadratic(const Mat<double>& q, const Mat<double>& k, const Mat<double>& v, double s,
                      Mat<double>& state) {
  const Eigen::Index S = q.rows();
  Mat<double> o = Mat<double>::Zero(S, v.cols());
  for (Eigen::Index t = 0; t < S; ++t) {
    for (Eigen::Index j = 0; j <= t; ++j) {
      const double w = std::exp(-s * double(t - j)) * q.row(t).dot(k.row(j));
      o.row(t) += w * v.row(j);
    }
    o.row(t) += std::exp(-s * double(t + 1)) * (q.row(t) * state);
  }
  Mat<double> fin = std::exp(-s * double(S)) * state;
  for (Eigen::Index j = 0; j < S; ++j) fin += std::exp(-s * double(S - 1 - j)) * (k.row(j).transpose() * v.row(j));
  state = fin;
  return o;
}

constexpr Eigen::Index kDk = 16, kDv = 24;  // dk != dv catches a transposed state

struct Inputs {
  Mat<double> q, k, v, s0;
};
Inputs make_inputs(Eigen::Index S, bool nonzero_state, uint64_t seed) {
  Rng rng(seed);
  Inputs in;
  // silu outputs are mostly positive with a negative tail; use a shifted normal to mimic that
  in.q = (randn(S, kDk, rng, 0.5).array() + 0.2).matrix();
  in.k = (randn(S, kDk, rng, 0.5).array() + 0.2).matrix();
  in.v = randn(S, kDv, rng, 1.0);
  in.s0 = nonzero_state ? randn(kDk, kDv, rng, 1.0) : Mat<double>::Zero(kDk, kDv);
  return in;
}

// ---- block = recurrence = quadratic ----------------------------------------------------------------------

using FormParams = std::tuple<int /*S*/, int /*block*/, double /*s*/, bool /*nonzero state*/>;
class LightningForms : public ::testing::TestWithParam<FormParams> {};

TEST_P(LightningForms, BlockEqualsRecurrenceEqualsQuadratic) {
  const auto [S, block, s, nz] = GetParam();
  const Inputs in = make_inputs(S, nz, 1000 + uint64_t(S) * 7 + uint64_t(block) * 13 + (nz ? 1 : 0));
  Mat<double> st_q = in.s0, st_r = in.s0, st_b = in.s0, st_n = in.s0;
  const Mat<double> oq = quadratic(in.q, in.k, in.v, s, st_q);
  const Mat<double> orr = recurrence(in.q, in.k, in.v, s, st_r);
  const Mat<double> ob = ref::lightning_block<F64>(in.q, in.k, in.v, s, block, st_b);
  const Mat<double> orec = ref::lightning_recurrent<F64>(in.q, in.k, in.v, s, st_n);
  ASSERT_TRUE(all_finite(ob));
  ASSERT_TRUE(all_finite(st_b));
  EXPECT_REL_LE("lightning: test recurrence vs test quadratic (out)", rel_err(orr, oq), 1e-12);
  EXPECT_REL_LE("lightning: lightning_block<F64> vs quadratic (out)", rel_err(ob, oq), 1e-12);
  EXPECT_REL_LE("lightning: lightning_block<F64> vs quadratic (state)", rel_err(st_b, st_q), 1e-12);
  EXPECT_REL_LE("lightning: lightning_recurrent<F64> vs quadratic (out)", rel_err(orec, oq), 1e-12);
  EXPECT_REL_LE("lightning: lightning_recurrent<F64> vs quadratic (state)", rel_err(st_n, st_q), 1e-12);
  // the reference's own quadratic helper agrees with ours
  Mat<double> st_rn = in.s0;
  const Mat<double> orn = ref::lightning_naive(in.q, in.k, in.v, s, st_rn);
  EXPECT_REL_LE("lightning: lightning_naive vs quadratic (out)", rel_err(orn, oq), 1e-12);
  EXPECT_REL_LE("lightning: lightning_naive vs quadratic (state)", rel_err(st_rn, st_q), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(
    Lengths, LightningForms,
    ::testing::Combine(::testing::Values(1, 255, 256, 257, 513), ::testing::Values(256, 64, 16, 4),
                       ::testing::Values(0.9170040488243103 /*head 0, layer 0*/, 0.00390625 /*head 63*/),
                       ::testing::Bool()),
    [](const ::testing::TestParamInfo<FormParams>& i) {
      return "S" + std::to_string(std::get<0>(i.param)) + "_B" + std::to_string(std::get<1>(i.param)) +
             (std::get<2>(i.param) > 0.5 ? "_strong" : "_weak") + (std::get<3>(i.param) ? "_state" : "_zero");
    });

// Decays so strong that lambda^-n would overflow even in double (e^{3*255} > DBL_MAX), and a near-1 decay.
TEST(LightningBlock, ExtremeDecaysStayFiniteAndExact) {
  for (double s : {3.0, 12.0, 0.9170040488243103, 1e-6}) {
    for (int block : {256, 64}) {
      const Inputs in = make_inputs(513, true, 77);
      Mat<double> st_q = in.s0, st_b = in.s0;
      const Mat<double> oq = quadratic(in.q, in.k, in.v, s, st_q);
      const Mat<double> ob = ref::lightning_block<F64>(in.q, in.k, in.v, s, block, st_b);
      ASSERT_TRUE(all_finite(ob)) << "s=" << s;
      ASSERT_TRUE(all_finite(st_b)) << "s=" << s;
      EXPECT_REL_LE("lightning: block<F64> extreme decay vs quadratic (out)", rel_err(ob, oq), 1e-12) << "s=" << s;
      EXPECT_REL_LE("lightning: block<F64> extreme decay vs quadratic (state)", rel_err(st_b, st_q), 1e-12);
    }
  }
}

// fp32 block path: lambda^-255 = e^{234} overflows fp32, so any ratio formulation would give inf/NaN.
TEST(LightningBlock, Fp32StrongDecayFiniteAndClose) {
  for (double s : {0.9170040488243103, 3.0, 0.00390625}) {
    const Inputs in = make_inputs(513, true, 78);
    Mat<double> st_q = in.s0;
    const Mat<double> oq = quadratic(in.q, in.k, in.v, s, st_q);
    Mat<float> st32 = in.s0.cast<float>();
    const Mat<float> o32 = ref::lightning_block<F32>(in.q.cast<float>(), in.k.cast<float>(), in.v.cast<float>(), s, 256, st32);
    ASSERT_TRUE(all_finite(o32)) << "s=" << s;
    ASSERT_TRUE(all_finite(st32)) << "s=" << s;
    // s is the fp32 value used by F32 too (the decays are exp of fp32 products; relative ~1e-6)
    EXPECT_REL_LE("lightning: block<F32> vs fp64 quadratic (out)", rel_err(o32, oq), 1e-5) << "s=" << s;
    EXPECT_REL_LE("lightning: block<F32> vs fp64 quadratic (state)", rel_err(st32, st_q), 1e-5) << "s=" << s;
    Mat<float> stb = in.s0.cast<float>();
    const Mat<float> obf = ref::lightning_block<BF16>(in.q.cast<float>(), in.k.cast<float>(), in.v.cast<float>(), s, 256, stb);
    ASSERT_TRUE(all_finite(obf)) << "s=" << s;
    EXPECT_REL_LE("lightning: block<BF16> vs fp64 quadratic (out)", rel_err(obf, oq), 3e-2) << "s=" << s;
  }
}

// ---- chunked prefill with history ------------------------------------------------------------------------

TEST(LightningChunked, BlockWithHistoryAndRecurrentEqualOneShot) {
  const Eigen::Index S = 513;
  for (int block : {256, 64, 16}) {
    for (double s : {0.9170040488243103, 0.00390625, 0.05}) {
      for (bool nz : {false, true}) {
        const Inputs in = make_inputs(S, nz, 4242 + uint64_t(block));
        Mat<double> st_one = in.s0;
        const Mat<double> one = ref::lightning_block<F64>(in.q, in.k, in.v, s, block, st_one);
        for (Eigen::Index p : {Eigen::Index(1), Eigen::Index(15), Eigen::Index(100), Eigen::Index(255),
                               Eigen::Index(256), Eigen::Index(257), Eigen::Index(300), Eigen::Index(512)}) {
          for (bool block_cont : {true, false}) {
            Mat<double> st = in.s0;
            Mat<double> out(S, kDv);
            out.topRows(p) = ref::lightning_block<F64>(in.q.topRows(p), in.k.topRows(p), in.v.topRows(p), s, block, st);
            const Mat<double> q2 = in.q.bottomRows(S - p), k2 = in.k.bottomRows(S - p), v2 = in.v.bottomRows(S - p);
            out.bottomRows(S - p) = block_cont ? ref::lightning_block<F64>(q2, k2, v2, s, block, st)
                                               : ref::lightning_recurrent<F64>(q2, k2, v2, s, st);
            const char* what = block_cont ? "lightning: chunked block-with-history vs one-shot (out)"
                                          : "lightning: chunked recurrent-continuation vs one-shot (out)";
            EXPECT_REL_LE(what, rel_err(out, one), 1e-12) << "block=" << block << " s=" << s << " split=" << p;
            EXPECT_REL_LE("lightning: chunked continuation vs one-shot (state)", rel_err(st, st_one), 1e-12)
                << "block=" << block << " s=" << s << " split=" << p;
          }
        }
        // three chunks, the middle one shorter than a block and not aligned
        Mat<double> st = in.s0;
        Mat<double> out(S, kDv);
        const Eigen::Index a = 37, b = 37 + 290;
        out.topRows(a) = ref::lightning_block<F64>(in.q.topRows(a), in.k.topRows(a), in.v.topRows(a), s, block, st);
        out.middleRows(a, b - a) = ref::lightning_block<F64>(in.q.middleRows(a, b - a), in.k.middleRows(a, b - a),
                                                            in.v.middleRows(a, b - a), s, block, st);
        out.bottomRows(S - b) = ref::lightning_block<F64>(in.q.bottomRows(S - b), in.k.bottomRows(S - b),
                                                         in.v.bottomRows(S - b), s, block, st);
        EXPECT_REL_LE("lightning: chunked block-with-history vs one-shot (out)", rel_err(out, one), 1e-12);
        EXPECT_REL_LE("lightning: chunked continuation vs one-shot (state)", rel_err(st, st_one), 1e-12);
      }
    }
  }
}

// ---- the layer function -------------------------------------------------------------------------------

ModelConfig layer_config(int64_t nh, int64_t d, int64_t H, int64_t block) {
  ModelConfig c = small_config(H, nh, 1, d, 2, 2, 1, 8, 8);
  c.block_size = block;
  return c;
}

// Independent recomputation of the whole layer (docs/semantics/text-01-model.md#lightning-attention).
Mat<double> layer_by_hand(const Mat<double>& x, const ref::LightningWeights<double>& w, int64_t nh, int64_t d,
                          const std::vector<double>& slopes, std::vector<Mat<double>>* states) {
  const Eigen::Index S = x.rows();
  Mat<double> qkv = x * w.qkv.transpose();
  for (Eigen::Index i = 0; i < qkv.size(); ++i) qkv.data()[i] = silu_f64(qkv.data()[i]);  // silu on q, k AND v
  Mat<double> o(S, nh * d);
  for (int64_t h = 0; h < nh; ++h) {
    Mat<double> q(S, d), k(S, d), v(S, d);
    for (Eigen::Index t = 0; t < S; ++t)
      for (int64_t i = 0; i < d; ++i) {  // row r of Wqkv: head r / 3d, then q | k | v
        q(t, i) = qkv(t, h * 3 * d + i);
        k(t, i) = qkv(t, h * 3 * d + d + i);
        v(t, i) = qkv(t, h * 3 * d + 2 * d + i);
      }
    Mat<double> st = states ? (*states)[std::size_t(h)] : Mat<double>::Zero(d, d);
    o.middleCols(h * d, d) = recurrence(q, k, v, slopes[std::size_t(h)], st);
    if (states) (*states)[std::size_t(h)] = st;
  }
  const Mat<double> normed = rmsnorm_f64(o, w.norm, 1e-6);  // eps 1e-6 over all n_h*d features
  Mat<double> gate = x * w.gate.transpose();
  for (Eigen::Index i = 0; i < gate.size(); ++i) gate.data()[i] = sigmoid_f64(gate.data()[i]);
  return gate.cwiseProduct(normed) * w.out.transpose();
}

TEST(LightningLayer, MatchesHandComputationFromSpec) {
  // n_h = 3 (not a power of two), block 16, 40 tokens (crosses two block boundaries)
  for (double xscale : {1.0, 1e-3 /* tiny activations: the eps (1e-6 vs 1e-5) matters */}) {
    const ModelConfig c = layer_config(3, 8, 20, 16);
    ASSERT_EQ(c.lightning_norm_eps, 1e-6);
    Rng rng(11);
    const auto w = random_lightning(c, rng);
    const Mat<double> x = randn(40, c.hidden_size, rng, xscale);
    const auto slopes = lightning_slopes(3, 2, 8);
    ref::LightningCache<double> cache;
    const Mat<double> y = ref::lightning_attention<F64>(x, w, c, slopes, cache, Continuation::Recurrent);
    std::vector<Mat<double>> st(3, Mat<double>::Zero(8, 8));
    const Mat<double> yh = layer_by_hand(x, w, 3, 8, slopes, &st);
    EXPECT_REL_LE("lightning layer<F64> vs hand computation (out)", rel_err(y, yh), 1e-12) << "xscale=" << xscale;
    for (int h = 0; h < 3; ++h)
      EXPECT_REL_LE("lightning layer<F64> vs hand computation (state)", rel_err(cache.state[std::size_t(h)], st[std::size_t(h)]), 1e-12);
    if (xscale < 1) {  // the test is sensitive to the inner-norm eps
      ModelConfig c5 = c;
      c5.lightning_norm_eps = 1e-5;
      ref::LightningCache<double> c2;
      const Mat<double> y5 = ref::lightning_attention<F64>(x, w, c5, slopes, c2, Continuation::Recurrent);
      EXPECT_GT(rel_err(y5, yh), 1e-4) << "eps 1e-5 should be distinguishable at this activation scale";
    }
  }
}

// Weights built so that row r of Wqkv copies input feature r: the trace then tells which rows feed q/k/v
// of which head. Official layout: row r -> head r / (3d); o = r % 3d: q[o] (o < d), k[o-d], v[o-2d].
TEST(LightningLayer, PerHeadInterleavedQkvLayout) {
  const int64_t nh = 4, d = 5, inner = nh * d;
  ModelConfig c = layer_config(nh, d, 3 * inner, 256);
  Rng rng(12);
  ref::LightningWeights<double> w = random_lightning(c, rng);
  w.qkv = Mat<double>::Identity(3 * inner, 3 * inner);
  const Mat<double> x = randn(6, 3 * inner, rng, 1.0);  // distinct value per (token, feature)
  ref::LightningCache<double> cache;
  ref::LightningTrace<double> tr;
  (void)ref::lightning_attention<F64>(x, w, c, lightning_slopes(int(nh), 0, 8), cache, Continuation::Recurrent, &tr);
  for (Eigen::Index t = 0; t < x.rows(); ++t)
    for (int64_t h = 0; h < nh; ++h)
      for (int64_t i = 0; i < d; ++i) {
        EXPECT_EQ(tr.q(t, h * d + i), silu_f64(x(t, h * 3 * d + i))) << "q head " << h << " dim " << i;
        EXPECT_EQ(tr.k(t, h * d + i), silu_f64(x(t, h * 3 * d + d + i))) << "k head " << h << " dim " << i;
        EXPECT_EQ(tr.v(t, h * d + i), silu_f64(x(t, h * 3 * d + 2 * d + i))) << "v head " << h << " dim " << i;
      }
  // and the [all-q | all-k | all-v] reading would give a different layer output (the check has teeth)
  ref::LightningWeights<double> wr = random_lightning(c, rng);
  Mat<double> permuted(3 * inner, c.hidden_size);
  for (int64_t h = 0; h < nh; ++h)
    for (int64_t part = 0; part < 3; ++part)
      permuted.middleRows(part * inner + h * d, d) = wr.qkv.middleRows(h * 3 * d + part * d, d);
  ref::LightningWeights<double> wp = wr;
  wp.qkv = permuted;
  ref::LightningCache<double> c1, c2;
  const Mat<double> xr = randn(6, c.hidden_size, rng, 1.0);
  const auto sl = lightning_slopes(int(nh), 0, 8);
  EXPECT_GT(rel_err(ref::lightning_attention<F64>(xr, wr, c, sl, c1, Continuation::Recurrent),
                    ref::lightning_attention<F64>(xr, wp, c, sl, c2, Continuation::Recurrent)),
            1e-3);
}

TEST(LightningLayer, ContinuationsEqualOneShot) {
  const int64_t nh = 3, d = 8;
  for (int64_t block : {16, 256}) {
    const ModelConfig c = layer_config(nh, d, 24, block);
    Rng rng(13 + uint64_t(block));
    const auto w = random_lightning(c, rng);
    const Eigen::Index S = block == 16 ? 70 : 300;
    const Mat<double> x = randn(S, c.hidden_size, rng, 1.0);
    for (int layer : {0, 3, 6}) {
      const auto slopes = lightning_slopes(int(nh), layer, 8);
      ref::LightningCache<double> one;
      const Mat<double> y = ref::lightning_attention<F64>(x, w, c, slopes, one, Continuation::Recurrent);
      for (Eigen::Index p : {Eigen::Index(1), Eigen::Index(15), Eigen::Index(16), Eigen::Index(17), Eigen::Index(40),
                             S - 1}) {
        for (Continuation cont : {Continuation::Block, Continuation::Recurrent}) {
          ref::LightningCache<double> cache;
          Mat<double> out(S, c.hidden_size);
          out.topRows(p) = ref::lightning_attention<F64>(x.topRows(p), w, c, slopes, cache, cont);
          out.bottomRows(S - p) = ref::lightning_attention<F64>(x.bottomRows(S - p), w, c, slopes, cache, cont);
          const char* what = cont == Continuation::Block ? "lightning layer: Block continuation vs one-shot"
                                                         : "lightning layer: Recurrent continuation vs one-shot";
          EXPECT_REL_LE(what, rel_err(out, y), 1e-12) << "block=" << block << " split=" << p;
          for (int64_t h = 0; h < nh; ++h)
            EXPECT_REL_LE("lightning layer: continuation vs one-shot (state)",
                          rel_err(cache.state[std::size_t(h)], one.state[std::size_t(h)]), 1e-12);
        }
      }
      // prefill then one token at a time (decode)
      for (Continuation cont : {Continuation::Recurrent, Continuation::Block}) {
        ref::LightningCache<double> cache;
        const Eigen::Index p = S - 6;
        Mat<double> out(S, c.hidden_size);
        out.topRows(p) = ref::lightning_attention<F64>(x.topRows(p), w, c, slopes, cache, cont);
        for (Eigen::Index t = p; t < S; ++t) out.row(t) = ref::lightning_attention<F64>(x.middleRows(t, 1), w, c, slopes, cache, cont);
        EXPECT_REL_LE("lightning layer: prefill + decode vs one-shot", rel_err(out, y), 1e-12);
      }
    }
  }
}

// The fp32 state path of the layer (fp32 and bf16 modes) stays close to the fp64 oracle.
TEST(LightningLayer, F32AndBf16CloseToF64) {
  const ModelConfig c = layer_config(4, 16, 32, 16);
  Rng rng(14);
  auto w = random_lightning(c, rng);
  Mat<double> x = randn(50, c.hidden_size, rng, 1.0);
  // bf16-representable inputs and weights, so that all three precisions see the same values
  auto bf = [](auto& m) { m = m.unaryExpr([](double v) { return double(round_bf16(float(v))); }); };
  bf(x); bf(w.qkv); bf(w.gate); bf(w.norm); bf(w.out);
  const auto slopes = lightning_slopes(4, 1, 8);
  ref::LightningCache<double> c64;
  const Mat<double> y64 = ref::lightning_attention<F64>(x, w, c, slopes, c64, Continuation::Recurrent);
  ref::LightningWeights<float> wf{w.qkv.cast<float>(), w.gate.cast<float>(), w.norm.cast<float>(), w.out.cast<float>()};
  ref::LightningCache<float> c32, cbf;
  const Mat<float> y32 = ref::lightning_attention<F32>(x.cast<float>(), wf, c, slopes, c32, Continuation::Recurrent);
  const Mat<float> ybf = ref::lightning_attention<BF16>(x.cast<float>(), wf, c, slopes, cbf, Continuation::Recurrent);
  const double e32 = rel_err(y32, y64), ebf = rel_err(ybf, y64);
  EXPECT_REL_LE("lightning layer: F32 vs F64", e32, 1e-5);
  EXPECT_REL_LE("lightning layer: BF16 vs F64", ebf, 5e-2);
  EXPECT_GT(ebf, e32);
}


// ---- bf16-official rounding points (docs/semantics/text-01-numerics.md), emulated bit for bit ----------------
// With d_k = 1 and block 2 every product has inner dimension <= 2, so no accumulation order is involved and
// the emulation below must agree with the reference exactly: it checks WHERE the bf16 mode rounds.
float bf(float x) { return round_bf16(x); }

TEST(LightningBf16, BlockAndRecurrentMatchOfficialRoundingEmulation) {
  const int S = 9, dv = 6, B = 2;
  Rng rng(15);
  Mat<float> q(S, 1), k(S, 1), v(S, dv), s0(1, dv);
  for (int t = 0; t < S; ++t) {
    q(t, 0) = bf(float(0.5 + 0.5 * rng.normal()));
    k(t, 0) = bf(float(0.5 + 0.5 * rng.normal()));
    for (int c = 0; c < dv; ++c) v(t, c) = bf(float(rng.normal()));
  }
  for (int c = 0; c < dv; ++c) s0(0, c) = float(rng.normal());  // the fp32 state is not bf16-valued
  for (double sd : {0.9170040488243103, 0.05}) {
    const float s = float(sd);
    // block path (text-01-numerics.md#lightning-block-prefill), fp32 decays
    Mat<float> kv = s0, want(S, dv);
    for (int si = 0; si < S; si += B) {
      const int m = std::min(B, S - si);
      Mat<float> upd = Mat<float>::Zero(1, dv);
      for (int a = 0; a < m; ++a) {
        const float qa = q(si + a, 0);
        for (int c = 0; c < dv; ++c) {
          const float inter = (qa * std::exp(-s * float(a + 1))) * kv(0, c);  // fp32, q*q_decay not rounded
          float intra = 0;
          for (int b = 0; b <= a; ++b) {
            const float qk = bf(qa * k(si + b, 0)) * std::exp(-s * float(a - b));  // bf16 GEMM, then fp32 decay
            intra = b == 0 ? qk * v(si + b, c) : intra + qk * v(si + b, c);
          }
          want(si + a, c) = bf(inter + intra);  // output tensor is bf16
        }
      }
      for (int c = 0; c < dv; ++c) {
        float acc = 0;
        for (int b = 0; b < m; ++b) {
          const float kd = bf(k(si + b, 0) * std::exp(-s * float(B - 1 - (B - m + b))));  // k_decay[-m:], then .to(bf16)
          acc = b == 0 ? kd * v(si + b, c) : acc + kd * v(si + b, c);
        }
        upd(0, c) = bf(acc);  // bf16 GEMM output
      }
      kv = std::exp(-s * float(m)) * kv + upd;  // fp32 state
    }
    Mat<float> st = s0;
    const Mat<float> got = ref::lightning_block<BF16>(q, k, v, sd, B, st);
    EXPECT_EQ(rel_err(got, want), 0.0) << "block path, s=" << s;
    EXPECT_EQ(rel_err(st, kv), 0.0) << "block path state, s=" << s;
    // recurrent path (text-01-numerics.md#lightning-recurrence): kv = ratio*kv + bf16(k^T v);  o = bf16(q @ bf16(kv))
    Mat<float> kr = s0, wr(S, dv);
    const float ratio = std::exp(-s);
    for (int t = 0; t < S; ++t)
      for (int c = 0; c < dv; ++c) {
        kr(0, c) = ratio * kr(0, c) + bf(k(t, 0) * v(t, c));
        wr(t, c) = bf(q(t, 0) * bf(kr(0, c)));
      }
    Mat<float> st2 = s0;
    const Mat<float> gr = ref::lightning_recurrent<BF16>(q, k, v, sd, st2);
    EXPECT_EQ(rel_err(gr, wr), 0.0) << "recurrent path, s=" << s;
    EXPECT_EQ(rel_err(st2, kr), 0.0) << "recurrent state, s=" << s;
    // the decode asymmetry matters: q @ kv (fp32 state) would differ
    Mat<float> wr32(S, dv), kx = s0;
    for (int t = 0; t < S; ++t)
      for (int c = 0; c < dv; ++c) {
        kx(0, c) = ratio * kx(0, c) + bf(k(t, 0) * v(t, c));
        wr32(t, c) = bf(q(t, 0) * kx(0, c));
      }
    EXPECT_GT(rel_err(wr32, wr), 0.0);
  }
}

}  // namespace
}  // namespace mm::reftest
