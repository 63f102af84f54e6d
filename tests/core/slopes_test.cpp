// Lightning decay slopes (docs/semantics/text-01-model.md#decay-slopes): official _build_slope_tensor in python
// double, rounded to fp32; per-layer factor fl32(1 - l/(L-1) + 1e-5); s = fl32(fl32(slope) * fl32(f)).
// The 64-head / 80-layer tables (slopes_tables.inc) were computed in Python from the official formula,
// independently of this code.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/slopes.h"
#include "tests/core/test_util.h"

namespace mm::test {
namespace {

struct SlopeRow {
  double value;   // python double repr
  uint32_t bits;  // fp32 bits
};
struct FactorRow {
  double official;  // 1 - l/79 + 1e-5 (python double)
  uint32_t bits;    // fp32 bits of the official factor
  double hf;        // HF's 1 - l/(79 + 1e-5) + 1e-5 (not used by the official model)
  bool softmax;
};

#include "slopes_tables.inc"

float from_bits(uint32_t b) { float f; std::memcpy(&f, &b, 4); return f; }
uint32_t bits_of(float f) { uint32_t b; std::memcpy(&b, &f, 4); return b; }

// Independent transcription of the official recursion (python):
//   get_slopes_power_of_2(n): start = 2 ** (-(2 ** -(log2(n) - 3))); ratio = start; [start * ratio**i]
//   get_slopes(n): pow2 ? that : pow2(closest) + get_slopes(2*closest)[0::2][:n - closest]
std::vector<double> python_slopes(int n) {
  auto pow2 = [](int m) {
    const double start = std::pow(2.0, -std::pow(2.0, -(std::log2(double(m)) - 3.0)));
    std::vector<double> r;
    for (int i = 0; i < m; ++i) r.push_back(start * std::pow(start, double(i)));
    return r;
  };
  const double l2 = std::log2(double(n));
  if (l2 == std::floor(l2)) return pow2(n);
  const int closest = int(std::pow(2.0, std::floor(l2)));
  std::vector<double> r = pow2(closest);
  const std::vector<double> twice = python_slopes(2 * closest);
  std::vector<double> every_other;
  for (std::size_t i = 0; i < twice.size(); i += 2) every_other.push_back(twice[i]);
  every_other.resize(std::size_t(n - closest));
  r.insert(r.end(), every_other.begin(), every_other.end());
  return r;
}

TEST(Slopes, SixtyFourHeadsMatchSpecTable) {
  const auto s = alibi_slopes_double(64);
  ASSERT_EQ(s.size(), 64u);
  for (int h = 0; h < 64; ++h) {
    EXPECT_NEAR(s[std::size_t(h)], kSlopes64[h].value, 4e-16 * kSlopes64[h].value) << "head " << h;
    EXPECT_EQ(bits_of(float(s[std::size_t(h)])), kSlopes64[h].bits) << "head " << h;
    // closed form 2^(-(h+1)/8)
    EXPECT_NEAR(s[std::size_t(h)], std::exp2(-(h + 1) / 8.0), 1e-15) << "head " << h;
  }
}

TEST(Slopes, LayerScaledSlopesMatchSpecTable) {
  // every layer (softmax layers carry a factor too), all 64 heads, bit-exact fp32
  for (int l = 0; l < 80; ++l) {
    const auto s = lightning_slopes(64, l, 80);
    ASSERT_EQ(s.size(), 64u);
    const float f = from_bits(kFactors80[l].bits);
    EXPECT_EQ(bits_of(float(kFactors80[l].official)), kFactors80[l].bits) << "layer " << l;
    for (int h = 0; h < 64; ++h) {
      const float expect = from_bits(kSlopes64[h].bits) * f;  // fp32 tensor * python float: fp32 opmath
      EXPECT_EQ(double(expect), s[std::size_t(h)]) << "layer " << l << " head " << h;
    }
  }
  // the factor itself: with one head the base slope is 2^-8 exactly, so s * 256 = fl32(f_l)
  for (int l : {0, 1, 7, 38, 40, 77, 78, 79}) {
    const double s = lightning_slopes(1, l, 80)[0];
    EXPECT_EQ(bits_of(float(s * 256.0)), kFactors80[l].bits) << "layer " << l;
    // and it is the official factor, not HF's 1 - l/(L-1+1e-5) + 1e-5 (differs in fp32 for l >= 40 or so)
    if (l >= 40) {
      EXPECT_NE(bits_of(float(kFactors80[l].hf)), bits_of(float(s * 256.0))) << "layer " << l;
    }
  }
}

TEST(Slopes, SpecExampleDecays) {
  EXPECT_NEAR(std::exp(-lightning_slopes(64, 0, 80)[0]), 0.3997, 5e-5);
  EXPECT_NEAR(std::exp(-lightning_slopes(64, 0, 80)[63]), 0.99610, 5e-6);
  EXPECT_NEAR(std::exp(-lightning_slopes(64, 78, 80)[63]), 0.9999505, 5e-8);
  EXPECT_NEAR(alibi_slopes_double(64)[0], 0.91700404, 1e-8);
  // head 63 is 2^-8 only after the fp32 rounding: python's start * start**63 is 0.0039062499999999952
  EXPECT_NE(alibi_slopes_double(64)[63], 0.00390625);
  EXPECT_EQ(float(alibi_slopes_double(64)[63]), 0.00390625f);
  EXPECT_EQ(lightning_slopes(64, 0, 80)[63], double(0.00390625f * float(1.00001)));
}

TEST(Slopes, NonPowerOfTwoHeadCounts) {
  // hand-derived values
  const std::vector<double> six = {0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125};
  const auto s6 = alibi_slopes_double(6);
  ASSERT_EQ(s6.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(s6[std::size_t(i)], six[std::size_t(i)], 1e-16) << i;
  const std::vector<double> three = {0.0625, 0.00390625, 0.25};
  const auto s3 = alibi_slopes_double(3);
  ASSERT_EQ(s3.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(s3[std::size_t(i)], three[std::size_t(i)], 1e-17) << i;
  const auto s12 = alibi_slopes_double(12);
  ASSERT_EQ(s12.size(), 12u);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(s12[std::size_t(i)], std::exp2(-(i + 1.0)), 1e-16);
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(s12[std::size_t(8 + j)], std::exp2(-(2 * j + 1) / 2.0), 1e-16);
  const auto s40 = alibi_slopes_double(40);
  ASSERT_EQ(s40.size(), 40u);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(s40[std::size_t(i)], std::exp2(-(i + 1) / 4.0), 1e-15);
  for (int j = 0; j < 8; ++j) EXPECT_NEAR(s40[std::size_t(32 + j)], std::exp2(-(2 * j + 1) / 8.0), 1e-15);
  // the recursion transcribed from python, for many head counts (incl. nested non-powers)
  for (int n : {1, 2, 3, 5, 6, 7, 12, 20, 24, 40, 48, 56, 64, 80, 96, 100}) {
    const auto a = alibi_slopes_double(n), b = python_slopes(n);
    ASSERT_EQ(a.size(), b.size()) << n;
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_NEAR(a[i], b[i], 4e-16 * b[i]) << "n=" << n << " i=" << i;
      EXPECT_EQ(float(a[i]), float(b[i])) << "n=" << n << " i=" << i;
    }
    // layer scaling for a non-power head count, fp32 exact
    const auto ls = lightning_slopes(n, 3, 10);
    const float f = float(1.0 - 3.0 / 9.0 + 1e-5);
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(ls[i], double(float(b[i]) * f)) << "n=" << n << " i=" << i;
  }
}

TEST(Slopes, BadArgumentsThrow) {
  EXPECT_MM_ERROR(alibi_slopes_double(0), "head count");
  EXPECT_MM_ERROR(lightning_slopes(4, 0, 1), "num_hidden_layers");
}

}  // namespace
}  // namespace mm::test
