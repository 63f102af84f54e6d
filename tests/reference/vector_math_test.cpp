// reference/vector_math.h: every vector path this CPU has (SSE2 always; AVX2+FMA and AVX-512F where
// present) is within 1 ulp of the exact value (std::erf / std::exp in a wider type, rounded), on seeded
// inputs over the ranges the vision tower uses and on the edges (0, -0, +-inf, NaN, overflow, underflow,
// array tails of every length); the FMA paths (AVX2, AVX-512) give the same bits as each other.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "reference/vector_math.h"

namespace mm::ref {
namespace {

using vmath::Isa;

// Distance in units in the last place between a (computed) and the exact value x rounded to T. NaN
// output, or an infinity on one side only (e.g. a finite result where the exact value overflows T),
// is an infinite distance: it never passes.
template <class T, class W> double ulps(T a, W exact) {
  const double inf = std::numeric_limits<double>::infinity();
  const T r = static_cast<T>(exact);
  if (std::isnan(a)) return inf;
  if (a == r) return 0;
  if (std::isinf(a) || std::isinf(r)) return inf;
  const T next = std::nextafter(r, a > r ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity());
  return std::fabs(static_cast<double>(static_cast<W>(a) - exact)) / std::fabs(static_cast<double>(static_cast<W>(next) - static_cast<W>(r)));
}

template <class T> std::vector<T> inputs(uint64_t seed, double lo, double hi, std::size_t n) {
  Rng rng(seed);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(lo + (hi - lo) * rng.uniform());
  return v;
}

template <class T> bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T, class W, class Vec, class Exact>
void check_function(const char* name, Vec vec, Exact exact, double lo, double hi) {
  const std::vector<T> x = inputs<T>(7, lo, hi, 100'003);  // not a multiple of any vector width
  std::vector<T> want;
  int widths = 0;
  std::vector<T> fma_bits;  // the first FMA path's output
  for (Isa isa : {Isa::Sse2, Isa::Avx2, Isa::Avx512}) {
    if (!vmath::available(isa)) continue;
    ++widths;
    std::vector<T> y = x;
    vec(isa, std::span<T>(y));
    std::size_t over = 0;  // elements more than 1 ulp off, NaN included (!(u <= 1))
    for (std::size_t i = 0; i < x.size(); ++i) over += !(ulps<T, W>(y[i], exact(static_cast<W>(x[i]))) <= 1.0);
    EXPECT_EQ(over, 0u) << name << " " << vmath::to_string(isa) << " (" << sizeof(T) * 8 << "-bit)";
    if (want.empty()) want = y;  // SSE2's (no FMA): within 1 ulp, its bits may differ from the FMA paths'
    if (isa == Isa::Sse2) continue;
    if (fma_bits.empty()) fma_bits = y;
    else EXPECT_TRUE(same_bits(y, fma_bits)) << name << " " << vmath::to_string(isa) << " differs from AVX2's bits";
  }
  ASSERT_FALSE(want.empty());
  EXPECT_GE(widths, 1);  // SSE2 always
}

TEST(VectorMath, ErfWithinOneUlpAndIsaIndependentF32) {
  check_function<float, double>("erf", [](Isa i, std::span<float> v) { vmath::erf_inplace(i, v); },
                                [](double v) { return std::erf(v); }, -6, 6);
}
TEST(VectorMath, ExpWithinOneUlpAndIsaIndependentF32) {
  // softmax inputs are <= 0 (scores minus the row maximum)
  check_function<float, double>("exp", [](Isa i, std::span<float> v) { vmath::exp_inplace(i, v); },
                                [](double v) { return std::exp(v); }, -100, 10);
}
TEST(VectorMath, ErfWithinOneUlpAndIsaIndependentF64) {
  check_function<double, long double>("erf", [](Isa i, std::span<double> v) { vmath::erf_inplace(i, v); },
                                      [](long double v) { return std::erf(v); }, -6, 6);
}
TEST(VectorMath, ExpWithinOneUlpAndIsaIndependentF64) {
  check_function<double, long double>("exp", [](Isa i, std::span<double> v) { vmath::exp_inplace(i, v); },
                                      [](long double v) { return std::exp(v); }, -100, 10);
}

TEST(VectorMath, EdgeValuesAndEveryTailLength) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> e = {0.f, -0.f, inf, -inf, nan, 1e30f, -1e30f, 1e-30f, 1e-45f, 88.7f, -103.f, 89.f};
  std::vector<float> erf_v = e, exp_v = e;
  vmath::erf_inplace(std::span<float>(erf_v));
  vmath::exp_inplace(std::span<float>(exp_v));
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (std::isnan(e[i])) {
      EXPECT_TRUE(std::isnan(erf_v[i]) && std::isnan(exp_v[i]));
      continue;
    }
    EXPECT_LE((ulps<float, double>(erf_v[i], std::erf(static_cast<double>(e[i])))), 1.0) << "erf(" << e[i] << ")";
    EXPECT_LE((ulps<float, double>(exp_v[i], std::exp(static_cast<double>(e[i])))), 1.0) << "exp(" << e[i] << ")";
  }
  EXPECT_TRUE(std::signbit(erf_v[1])) << "erf(-0) is -0";
  // Every length 0..40 (every tail of every width); values outside [0, n) are never touched.
  for (std::size_t n = 0; n <= 40; ++n) {
    std::vector<float> buf(n + 2, 7.f);
    std::vector<float> x = inputs<float>(n + 1, -3, 3, n);
    std::copy(x.begin(), x.end(), buf.begin() + 1);
    vmath::erf_inplace(std::span<float>(buf.data() + 1, n));
    EXPECT_EQ(buf.front(), 7.f);
    EXPECT_EQ(buf.back(), 7.f);
    for (std::size_t i = 0; i < n; ++i) EXPECT_LE((ulps<float, double>(buf[i + 1], std::erf(static_cast<double>(x[i])))), 1.0);
  }
}

}  // namespace
}  // namespace mm::ref
