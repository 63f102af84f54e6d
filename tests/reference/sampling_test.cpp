// Next-token selection: greedy = argmax (ties to the lowest id); temperature -> top-k -> top-p; seeded.
#include "ref_test_util.h"
#include "reference/sampling.h"

namespace mm::reftest {
namespace {

using ref::SamplingParams;

std::vector<double> rand_logits(std::size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> l(n);
  for (auto& v : l) v = 3.0 * rng.normal();
  return l;
}
int64_t argmax(const std::vector<double>& l) {
  int64_t b = 0;
  for (std::size_t i = 1; i < l.size(); ++i)
    if (l[i] > l[std::size_t(b)]) b = int64_t(i);
  return b;
}

TEST(Sampling, GreedyIsArgmaxLowestIdOnTies) {
  Rng rng(61);
  for (uint64_t s = 0; s < 50; ++s) {
    const auto l = rand_logits(300, s);
    EXPECT_EQ(ref::sample_token(l, {}, rng), argmax(l));
  }
  EXPECT_EQ(ref::sample_token({1.0, 5.0, 5.0, 2.0}, {}, rng), 1);
  EXPECT_EQ(ref::sample_token({-3.0}, {}, rng), 0);
}

TEST(Sampling, TopKOneAndTinyTopPAreGreedy) {
  Rng rng(62);
  for (uint64_t s = 0; s < 50; ++s) {
    const auto l = rand_logits(200, 100 + s);
    EXPECT_EQ(ref::sample_token(l, {1.5, 1, 1.0}, rng), argmax(l)) << "top_k = 1";
    EXPECT_EQ(ref::sample_token(l, {1.5, 0, 1e-9}, rng), argmax(l)) << "top_p tiny";
    EXPECT_EQ(ref::sample_token(l, {1e-4, 0, 1.0}, rng), argmax(l)) << "temperature -> 0";
  }
}

TEST(Sampling, SeededReproducibility) {
  const auto l = rand_logits(100, 7);
  const SamplingParams p{1.0, 20, 0.95};
  auto draw = [&](uint64_t seed) {
    Rng rng(seed);
    std::vector<int64_t> out;
    for (int i = 0; i < 200; ++i) out.push_back(ref::sample_token(l, p, rng));
    return out;
  };
  EXPECT_EQ(draw(5), draw(5));
  EXPECT_NE(draw(5), draw(6));
}

// Chi-square of counts against expected probabilities (k - 1 degrees of freedom).
double chi2(const std::vector<int>& counts, const std::vector<double>& p, int n) {
  double c = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double e = p[i] * n;
    c += (counts[i] - e) * (counts[i] - e) / e;
  }
  return c;
}

TEST(Sampling, TemperatureDistribution) {
  const std::vector<double> l = {2.0, 1.0, 0.5, 0.0, -1.0};
  const double T = 0.8;
  std::vector<double> p(l.size());
  double z = 0;
  for (std::size_t i = 0; i < l.size(); ++i) z += (p[i] = std::exp(l[i] / T));
  for (auto& v : p) v /= z;
  const int N = 20000;
  Rng rng(63);
  std::vector<int> counts(l.size(), 0);
  for (int i = 0; i < N; ++i) ++counts[std::size_t(ref::sample_token(l, {T, 0, 1.0}, rng))];
  // 4 degrees of freedom: P(chi2 > 25) ~ 5e-5 (the seed is fixed, so this is deterministic anyway)
  const double c = chi2(counts, p, N);
  AccuracyLog::get().record("sampling: chi2 temperature (4 dof, bound 25)", c);
  EXPECT_LT(c, 25.0);
}

TEST(Sampling, TopKAndTopPDistributions) {
  const std::vector<double> l = {0.0, 2.0, -1.0, 1.0, 0.5};  // sorted: ids 1, 3, 4, 0, 2
  const int N = 20000;
  {  // top-k = 3, T = 1: ids 1, 3, 4 with renormalised softmax probabilities
    Rng rng(64);
    std::vector<int> counts(5, 0);
    for (int i = 0; i < N; ++i) ++counts[std::size_t(ref::sample_token(l, {1.0, 3, 1.0}, rng))];
    EXPECT_EQ(counts[0], 0);
    EXPECT_EQ(counts[2], 0);
    const double z = std::exp(2.0) + std::exp(1.0) + std::exp(0.5);
    const double c = chi2({counts[1], counts[3], counts[4]}, {std::exp(2.0) / z, std::exp(1.0) / z, std::exp(0.5) / z}, N);
    AccuracyLog::get().record("sampling: chi2 top-k=3 (2 dof, bound 20)", c);
    EXPECT_LT(c, 20.0);
  }
  {  // top-p: probabilities sorted p1 = .4484, p3 = .1650, p4 = .1001, p0 = .0607, p2 = .0223 (T = 1, over all 5)
    double z = 0;
    for (double v : l) z += std::exp(v);
    const double p1 = std::exp(2.0) / z, p3 = std::exp(1.0) / z;
    // top_p just above p1: the smallest prefix reaching it is {1, 3}
    Rng rng(65);
    std::vector<int> counts(5, 0);
    for (int i = 0; i < N; ++i) ++counts[std::size_t(ref::sample_token(l, {1.0, 0, p1 + 0.01}, rng))];
    EXPECT_EQ(counts[0] + counts[2] + counts[4], 0);
    const double c = chi2({counts[1], counts[3]}, {p1 / (p1 + p3), p3 / (p1 + p3)}, N);
    AccuracyLog::get().record("sampling: chi2 top-p (1 dof, bound 15)", c);
    EXPECT_LT(c, 15.0);
  }
}

TEST(Sampling, BadParametersThrow) {
  Rng rng(66);
  EXPECT_MM_ERROR(ref::sample_token({}, {}, rng), "empty");
  EXPECT_MM_ERROR(ref::sample_token({1.0}, {-1.0, 0, 1.0}, rng), "temperature");
  EXPECT_MM_ERROR(ref::sample_token({1.0}, {1.0, -2, 1.0}, rng), "top_k");
  EXPECT_MM_ERROR(ref::sample_token({1.0}, {1.0, 0, 0.0}, rng), "top_p");
  EXPECT_MM_ERROR(ref::sample_token({1.0}, {1.0, 0, 1.5}, rng), "top_p");
  EXPECT_MM_ERROR(ref::sample_token({1.0, NAN}, {1.0, 0, 1.0}, rng), "NaN");
}

}  // namespace
}  // namespace mm::reftest
