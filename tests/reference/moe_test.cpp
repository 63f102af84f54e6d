// Sparse MoE (docs/semantics/text-01-model.md#moe): router softmax FIRST, then top-k (ties to the lower
// expert index), then
// renormalise the k weights to sum 1; SwiGLU experts w2(silu(w1 x) * (w3 x)); y = sum_j w_j expert_{id_j}(x).
#include <algorithm>
#include <map>

#include "ref_test_util.h"
#include "reference/moe.h"

namespace mm::reftest {
namespace {

using ref::BF16;
using ref::F32;
using ref::F64;

struct Route {
  std::vector<double> probs;
  std::vector<int> ids;
  std::vector<double> w;
};
// Brute force: softmax over all experts, then k times "the largest remaining, lowest index on ties".
Route brute_route(const double* logits, int E, int k) {
  Route r;
  double mx = -INFINITY, sum = 0;
  for (int e = 0; e < E; ++e) mx = std::max(mx, logits[e]);
  for (int e = 0; e < E; ++e) sum += std::exp(logits[e] - mx);
  for (int e = 0; e < E; ++e) r.probs.push_back(std::exp(logits[e] - mx) / sum);
  std::vector<bool> used(std::size_t(E), false);
  double wsum = 0;
  for (int j = 0; j < k; ++j) {
    int best = -1;
    for (int e = 0; e < E; ++e)
      if (!used[std::size_t(e)] && (best < 0 || r.probs[std::size_t(e)] > r.probs[std::size_t(best)])) best = e;
    used[std::size_t(best)] = true;
    r.ids.push_back(best);
    wsum += r.probs[std::size_t(best)];
  }
  for (int id : r.ids) r.w.push_back(r.probs[std::size_t(id)] / wsum);
  return r;
}

TEST(MoeRouting, MatchesBruteForce) {
  Rng rng(41);
  for (int E : {4, 8, 32}) {
    for (int k : {1, 2, 3}) {
      const Mat<double> logits = randn(50, E, rng, 2.0);
      const auto rc = ref::route<F64>(logits, k);
      double worst_p = 0, worst_w = 0;
      for (Eigen::Index t = 0; t < logits.rows(); ++t) {
        const Route b = brute_route(&logits(t, 0), E, k);
        for (int e = 0; e < E; ++e) worst_p = std::max(worst_p, std::abs(rc.probs(t, e) - b.probs[std::size_t(e)]));
        ASSERT_EQ(rc.ids[std::size_t(t)], b.ids) << "token " << t;
        double s = 0;
        for (int j = 0; j < k; ++j) {
          const double wj = rc.weights[std::size_t(t)][std::size_t(j)];
          EXPECT_GE(wj, 0.0);
          worst_w = std::max(worst_w, std::abs(wj - b.w[std::size_t(j)]));
          s += wj;
        }
        EXPECT_NEAR(s, 1.0, 1e-15) << "renormalised weights sum to 1";
        if (k == 1) {
          EXPECT_EQ(rc.weights[std::size_t(t)][0], 1.0);
        }
      }
      EXPECT_REL_LE("moe: route<F64> probabilities vs brute force (abs)", worst_p, 1e-15);
      EXPECT_REL_LE("moe: route<F64> weights vs brute force (abs)", worst_w, 1e-15);
    }
  }
}

TEST(MoeRouting, SoftmaxBeforeTopK) {
  // softmax then top-k then renormalise == softmax over the k chosen logits; NOT the raw top-k probs
  Mat<double> logits(1, 4);
  logits << 1.0, 3.0, 2.0, -1.0;
  const auto rc = ref::route<F64>(logits, 2);
  ASSERT_EQ(rc.ids[0], (std::vector<int>{1, 2}));
  const double w1 = 1.0 / (1.0 + std::exp(-1.0));
  EXPECT_NEAR(rc.weights[0][0], w1, 1e-15);
  EXPECT_NEAR(rc.weights[0][1], 1.0 - w1, 1e-15);
  EXPECT_NEAR(rc.probs.row(0).sum(), 1.0, 1e-15);
}

TEST(MoeRouting, TiesGoToTheLowerIndex) {
  Mat<double> logits(4, 5);
  logits << 0.5, 2.0, 2.0, 2.0, 0.0,   // three-way tie for first
      1.0, 1.0, 1.0, 1.0, 1.0,         // all equal
      3.0, 1.0, 0.0, 1.0, 3.0,         // tie between the ends
      -1.0, 4.0, 0.0, 0.0, 0.0;        // tie for second
  const std::vector<std::vector<int>> want2 = {{1, 2}, {0, 1}, {0, 4}, {1, 2}};
  const std::vector<std::vector<int>> want1 = {{1}, {0}, {0}, {1}};
  const auto r2 = ref::route<F64>(logits, 2);
  const auto r1 = ref::route<F64>(logits, 1);
  const auto r2f = ref::route<F32>(logits.cast<float>(), 2);
  const auto r2b = ref::route<BF16>(logits.cast<float>(), 2);
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(r2.ids[std::size_t(t)], want2[std::size_t(t)]) << "row " << t;
    EXPECT_EQ(r1.ids[std::size_t(t)], want1[std::size_t(t)]) << "row " << t;
    EXPECT_EQ(r2f.ids[std::size_t(t)], want2[std::size_t(t)]) << "row " << t;
    EXPECT_EQ(r2b.ids[std::size_t(t)], want2[std::size_t(t)]) << "row " << t;
  }
  EXPECT_EQ(r2.weights[0][0], 0.5);
  EXPECT_EQ(r2.weights[0][1], 0.5);
}

TEST(MoeExpert, SwiGluMatchesHandLoop) {
  Rng rng(42);
  const int H = 12, I = 20;
  const ref::ExpertWeights<double> w{randn(I, H, rng, 0.3), randn(I, H, rng, 0.3), randn(H, I, rng, 0.2)};
  const Mat<double> x = randn(7, H, rng, 1.0);
  const Mat<double> y = ref::expert_forward<F64>(x, w);
  Mat<double> want(7, H);
  for (int t = 0; t < 7; ++t) {
    std::vector<double> hid(I);
    for (int i = 0; i < I; ++i) {
      double g = 0, u = 0;
      for (int j = 0; j < H; ++j) {
        g += w.w1(i, j) * x(t, j);  // w1 = gate proj
        u += w.w3(i, j) * x(t, j);  // w3 = up proj
      }
      hid[std::size_t(i)] = silu_f64(g) * u;
    }
    for (int o = 0; o < H; ++o) {
      double acc = 0;
      for (int i = 0; i < I; ++i) acc += w.w2(o, i) * hid[std::size_t(i)];
      want(t, o) = acc;
    }
  }
  EXPECT_REL_LE("moe: expert_forward<F64> vs hand loop", rel_err(y, want), 1e-14);
}

TEST(MoeBlock, CombineMatchesBruteForce) {
  for (int k : {1, 2}) {
    ModelConfig c = small_config(16, 2, 1, 8, 2, 6, k, 24);
    Rng rng(43 + uint64_t(k));
    const auto w = random_moe(c, rng);
    const Mat<double> x = randn(40, 16, rng, 1.0);
    ref::RouterChoice<double> rc;
    const Mat<double> y = ref::moe<F64>(x, w, k, &rc);
    const Mat<double> logits = x * w.gate.transpose();
    Mat<double> want = Mat<double>::Zero(40, 16);
    std::vector<int> used(6, 0);
    for (int t = 0; t < 40; ++t) {
      const Route b = brute_route(&logits(t, 0), 6, k);
      ASSERT_EQ(rc.ids[std::size_t(t)], b.ids);
      for (int j = 0; j < k; ++j) {
        const int e = b.ids[std::size_t(j)];
        ++used[std::size_t(e)];
        want.row(t) += b.w[std::size_t(j)] *
                       ref::expert_forward<F64>(Mat<double>(x.row(t)), w.experts[std::size_t(e)]);
      }
    }
    EXPECT_REL_LE("moe: moe<F64> vs brute-force combine", rel_err(y, want), 1e-14) << "k=" << k;
    int active = 0;
    for (int u : used) active += u > 0;
    EXPECT_GE(active, 3) << "the router should spread tokens over several experts";
    // tokens are independent: row-by-row = batch
    for (int t : {0, 17, 39}) {
      const Mat<double> yt = ref::moe<F64>(Mat<double>(x.row(t)), w, k);
      EXPECT_REL_LE("moe: single token vs batch", rel_err(yt, Mat<double>(y.row(t))), 1e-15);
    }
  }
}

TEST(MoeBlock, F32AndBf16CloseToF64) {
  ModelConfig c = small_config(32, 2, 1, 8, 2, 4, 2, 48);
  Rng rng(45);
  auto w = random_moe(c, rng);
  Mat<double> x = randn(30, 32, rng, 1.0);
  auto bf = [](auto& m) { m = m.unaryExpr([](double v) { return double(round_bf16(float(v))); }); };
  bf(x); bf(w.gate);
  ref::MoEWeights<float> wf;
  wf.gate = w.gate.cast<float>();
  for (auto& e : w.experts) {
    bf(e.w1); bf(e.w2); bf(e.w3);
    wf.experts.push_back({e.w1.cast<float>(), e.w3.cast<float>(), e.w2.cast<float>()});
  }
  ref::RouterChoice<double> r64;
  ref::RouterChoice<float> r32;
  const Mat<double> y = ref::moe<F64>(x, w, 2, &r64);
  const Mat<float> y32 = ref::moe<F32>(x.cast<float>(), wf, 2, &r32);
  const Mat<float> ybf = ref::moe<BF16>(x.cast<float>(), wf, 2);
  bool same_routing = true;
  for (int t = 0; t < 30; ++t) same_routing &= r64.ids[std::size_t(t)] == r32.ids[std::size_t(t)];
  ASSERT_TRUE(same_routing);
  const double e32 = rel_err(y32, y), ebf = rel_err(ybf, y);
  EXPECT_REL_LE("moe: F32 vs F64", e32, 1e-5);
  EXPECT_REL_LE("moe: BF16 vs F64", ebf, 5e-2);
  EXPECT_GT(ebf, e32);
}


// bf16 combine (docs/semantics/text-01-numerics.md#moe-experts-and-combine): per token
// y = bf16(y + bf16(expert_e(x) * w)) over the chosen experts in ASCENDING
// expert index (index_add_ order), not in rank order. With top-3 the order changes the rounding.
TEST(MoeBf16, CombineInAscendingExpertOrder) {
  ModelConfig c = small_config(16, 2, 1, 8, 2, 6, 3, 24);
  Rng rng(46);
  const auto w64 = random_moe(c, rng);
  auto f = [](const Mat<double>& m) { return Mat<float>(m.unaryExpr([](double v) { return round_bf16(float(v)); })); };
  ref::MoEWeights<float> w;
  w.gate = f(w64.gate);
  for (const auto& e : w64.experts) w.experts.push_back({f(e.w1), f(e.w3), f(e.w2)});
  const Mat<float> x = f(randn(40, 16, rng, 1.0));
  ref::RouterChoice<float> rc;
  const Mat<float> y = ref::moe<BF16>(x, w, 3, &rc);
  // per-expert outputs computed on the same row batches as the reference (tokens in ascending order)
  std::vector<std::map<int, Mat<float>>> contrib(40);
  for (int e = 0; e < 6; ++e) {
    std::vector<int> rows;
    for (int t = 0; t < 40; ++t)
      for (int id : rc.ids[std::size_t(t)]) rows.push_back(id == e ? t : -1);
    rows.erase(std::remove(rows.begin(), rows.end(), -1), rows.end());
    if (rows.empty()) continue;
    Mat<float> xe(Eigen::Index(rows.size()), 16);
    for (std::size_t i = 0; i < rows.size(); ++i) xe.row(Eigen::Index(i)) = x.row(rows[i]);
    const Mat<float> ye = ref::expert_forward<BF16>(xe, w.experts[std::size_t(e)]);
    for (std::size_t i = 0; i < rows.size(); ++i) contrib[std::size_t(rows[i])][e] = ye.row(Eigen::Index(i));
  }
  Mat<float> want = Mat<float>::Zero(40, 16), rank_order = Mat<float>::Zero(40, 16);
  for (int t = 0; t < 40; ++t) {
    const auto& ids = rc.ids[std::size_t(t)];
    const auto& wt = rc.weights[std::size_t(t)];
    for (int j = 0; j < 3; ++j) EXPECT_EQ(wt[std::size_t(j)], round_bf16(wt[std::size_t(j)])) << "weights are bf16";
    for (auto& [e, ye] : contrib[std::size_t(t)]) {  // std::map: ascending expert id
      const float wj = wt[std::size_t(std::find(ids.begin(), ids.end(), e) - ids.begin())];
      for (int col = 0; col < 16; ++col) want(t, col) = round_bf16(want(t, col) + round_bf16(ye(0, col) * wj));
    }
    for (int j = 0; j < 3; ++j) {  // rank order, for contrast
      const Mat<float>& ye = contrib[std::size_t(t)].at(ids[std::size_t(j)]);
      for (int col = 0; col < 16; ++col)
        rank_order(t, col) = round_bf16(rank_order(t, col) + round_bf16(ye(0, col) * wt[std::size_t(j)]));
    }
  }
  EXPECT_EQ(rel_err(y, want), 0.0);
  EXPECT_GT(rel_err(rank_order, want), 0.0) << "the order must matter for this input (test has teeth)";
}

}  // namespace
}  // namespace mm::reftest
