// Softmax attention (docs/semantics/text-01-model.md#softmax-attention): GQA (query head h reads kv head
// h / (n_h/n_kv)), partial NeoX RoPE on q and
// k at positions past..past+S-1, causal (bottom-right aligned with the cache), scale 1/sqrt(d_h), and a
// KV cache holding post-RoPE k. Checked against a brute-force per-query loop written here.
#include "ref_test_util.h"
#include "reference/rope.h"
#include "reference/softmax_attention.h"

namespace mm::reftest {
namespace {

using ref::BF16;
using ref::F32;
using ref::F64;

// Partial NeoX rotation of one head vector (docs/semantics/text-01-model.md#rope),
// angle = fl32(fl32(pos) * fl32(inv_freq)).
void rope_vec(double* v, int rd, double theta, int64_t pos) {
  const int half = rd / 2;
  for (int i = 0; i < half; ++i) {
    const float inv = float(1.0 / std::pow(theta, double(2 * i) / rd));
    const double a = double(float(pos) * inv), c = std::cos(a), s = std::sin(a);
    const double x1 = v[i], x2 = v[i + half];
    v[i] = x1 * c - x2 * s;
    v[i + half] = x2 * c + x1 * s;
  }
}

struct BruteResult {
  Mat<double> y, k_rot, v;
};
// Whole sequence x [S, H] from position 0; returns y for every row plus post-RoPE k and v.
BruteResult brute(const Mat<double>& x, const ref::SoftmaxWeights<double>& w, const ModelConfig& c) {
  const int64_t S = x.rows(), nh = c.num_attention_heads, nkv = c.num_key_value_heads, d = c.head_dim;
  Mat<double> q = x * w.q.transpose(), k = x * w.k.transpose(), v = x * w.v.transpose();
  for (int64_t t = 0; t < S; ++t) {
    for (int64_t h = 0; h < nh; ++h) rope_vec(&q(t, h * d), int(c.rotary_dim), c.rope_theta, t);
    for (int64_t g = 0; g < nkv; ++g) rope_vec(&k(t, g * d), int(c.rotary_dim), c.rope_theta, t);
  }
  Mat<double> o = Mat<double>::Zero(S, nh * d);
  for (int64_t h = 0; h < nh; ++h) {
    const int64_t g = h / (nh / nkv);
    for (int64_t i = 0; i < S; ++i) {
      std::vector<double> sc(std::size_t(i + 1));
      double mx = -INFINITY;
      for (int64_t j = 0; j <= i; ++j) {  // causal
        double dot = 0;
        for (int64_t e = 0; e < d; ++e) dot += q(i, h * d + e) * k(j, g * d + e);
        sc[std::size_t(j)] = dot / std::sqrt(double(d));
        mx = std::max(mx, sc[std::size_t(j)]);
      }
      double sum = 0;
      for (auto& s : sc) sum += (s = std::exp(s - mx));
      for (int64_t j = 0; j <= i; ++j)
        for (int64_t e = 0; e < d; ++e) o(i, h * d + e) += sc[std::size_t(j)] / sum * v(j, g * d + e);
    }
  }
  return {o * w.o.transpose(), k, v};
}

ModelConfig attn_config(int64_t nh, int64_t nkv, int64_t d, int64_t rd, double theta) {
  ModelConfig c = small_config(24, nh, nkv, d, rd, 2, 1, 8);
  c.rope_theta = theta;
  return c;
}

TEST(SoftmaxAttention, MatchesBruteForceGqa) {
  // GQA groups of 2 and 3, MQA, MHA; full-width and partial RoPE
  for (auto [nh, nkv, d, rd] : {std::tuple{4, 2, 16, 8}, std::tuple{6, 2, 8, 8}, std::tuple{4, 1, 16, 4},
                                std::tuple{3, 3, 8, 2}}) {
    const ModelConfig c = attn_config(nh, nkv, d, rd, 1e4);
    Rng rng(31 + uint64_t(nh * 10 + nkv));
    const auto w = random_softmax(c, rng);
    const Mat<double> x = randn(23, c.hidden_size, rng, 1.5);
    ref::KVCache<double> cache;
    const Mat<double> y = ref::softmax_attention<F64>(x, w, c, cache);
    const BruteResult b = brute(x, w, c);
    EXPECT_REL_LE("softmax attn<F64> vs brute force", rel_err(y, b.y), 1e-12) << nh << "/" << nkv;
    EXPECT_REL_LE("softmax attn: KV cache k == post-RoPE k", rel_err(cache.k, b.k_rot), 1e-14);
    EXPECT_REL_LE("softmax attn: KV cache v == v", rel_err(cache.v, b.v), 1e-14);
    EXPECT_EQ(cache.length(), 23);
    // the cache really is post-RoPE: it differs from the raw projection
    EXPECT_GT(rel_err(cache.k, Mat<double>(x * w.k.transpose())), 1e-3);
  }
}

// A wrong GQA mapping (h % n_kv instead of h / group) would change the output: the brute-force check bites.
TEST(SoftmaxAttention, GqaMappingIsHeadOverGroup) {
  // n_h = 4, n_kv = 2, d = 8, H = inner = 32 and o_proj = identity, so y shows each head's output
  ModelConfig c = attn_config(4, 2, 8, 8, 1e4);
  c.hidden_size = 32;
  Rng rng(32);
  auto w = random_softmax(c, rng);
  w.o = Mat<double>::Identity(32, 32);
  w.v.middleRows(8, 8).setZero();  // kv head 1 has zero values
  const Mat<double> x = randn(5, 32, rng, 1.0);
  ref::KVCache<double> cache;
  const Mat<double> o = ref::softmax_attention<F64>(x, w, c, cache);
  EXPECT_EQ(o.middleCols(16, 16).cwiseAbs().maxCoeff(), 0.0) << "query heads 2, 3 must read kv head 1";
  EXPECT_GT(o.middleCols(0, 16).cwiseAbs().maxCoeff(), 1e-3) << "query heads 0, 1 must read kv head 0";
}

TEST(SoftmaxAttention, DecodeAndChunkedContinuationEqualPrefill) {
  for (double theta : {1e4, 1e7}) {
    const ModelConfig c = attn_config(4, 2, 16, 8, theta);
    Rng rng(33);
    const auto w = random_softmax(c, rng);
    const Eigen::Index S = 20;
    const Mat<double> x = randn(S, c.hidden_size, rng, 1.5);
    ref::KVCache<double> full;
    const Mat<double> y = ref::softmax_attention<F64>(x, w, c, full);
    // prefill 9 then one token at a time
    ref::KVCache<double> cache;
    Mat<double> out(S, c.hidden_size);
    out.topRows(9) = ref::softmax_attention<F64>(x.topRows(9), w, c, cache);
    for (Eigen::Index t = 9; t < S; ++t) out.row(t) = ref::softmax_attention<F64>(x.middleRows(t, 1), w, c, cache);
    EXPECT_REL_LE("softmax attn: prefill + decode vs one-shot", rel_err(out, y), 1e-13);
    // (a one-row projection may sum in another order than the batched GEMM: last-ulp differences only)
    EXPECT_REL_LE("softmax attn: prefill + decode cache vs one-shot cache", rel_err(cache.k, full.k), 1e-15);
    EXPECT_EQ(cache.length(), S);
    // multi-token chunks (bottom-right causal alignment)
    ref::KVCache<double> c3;
    Mat<double> o3(S, c.hidden_size);
    o3.topRows(5) = ref::softmax_attention<F64>(x.topRows(5), w, c, c3);
    o3.middleRows(5, 7) = ref::softmax_attention<F64>(x.middleRows(5, 7), w, c, c3);
    o3.bottomRows(8) = ref::softmax_attention<F64>(x.bottomRows(8), w, c, c3);
    EXPECT_REL_LE("softmax attn: chunked vs one-shot", rel_err(o3, y), 1e-13);
  }
}

TEST(SoftmaxAttention, F32AndBf16CloseToF64) {
  const ModelConfig c = attn_config(4, 2, 16, 8, 1e7);
  Rng rng(34);
  auto w = random_softmax(c, rng);
  Mat<double> x = randn(30, c.hidden_size, rng, 1.5);
  auto bf = [](auto& m) { m = m.unaryExpr([](double v) { return double(round_bf16(float(v))); }); };
  bf(x); bf(w.q); bf(w.k); bf(w.v); bf(w.o);
  ref::KVCache<double> c64;
  const Mat<double> y = ref::softmax_attention<F64>(x, w, c, c64);
  ref::SoftmaxWeights<float> wf{w.q.cast<float>(), w.k.cast<float>(), w.v.cast<float>(), w.o.cast<float>()};
  ref::KVCache<float> c32, cbf;
  const double e32 = rel_err(ref::softmax_attention<F32>(x.cast<float>(), wf, c, c32), y);
  const double ebf = rel_err(ref::softmax_attention<BF16>(x.cast<float>(), wf, c, cbf), y);
  EXPECT_REL_LE("softmax attn: F32 vs F64", e32, 1e-5);
  EXPECT_REL_LE("softmax attn: BF16 vs F64", ebf, 5e-2);
  EXPECT_GT(ebf, e32);
}

}  // namespace
}  // namespace mm::reftest
