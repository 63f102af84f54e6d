// The proof kernels under the emulator, compared with plain C++ loops, under every schedule (each
// schedule must give identical bits).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "optimized/proof/runners.cuh"
#include "simt_test_util.h"

namespace {

using mm::simt::test::run_all_schedules;

uint16_t bf16_bits(float f) { return __bfloat16_as_ushort(__float2bfloat16(f)); }
float bf16_value(uint16_t u) { return __bfloat162float(__ushort_as_bfloat16(u)); }

TEST(SimtProof, RowSumMatchesLoop) {
  const int rows = 6, n = 1000;
  std::vector<float> x(rows * n);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> d(-50, 50);
  for (auto& v : x) v = static_cast<float>(d(rng));  // integer-valued: every order of summation is exact
  const std::vector<float> out = run_all_schedules<float>([&] { return mm::proof::run_row_sum(x, rows, n); });
  for (int r = 0; r < rows; ++r) {
    double ref = 0;
    for (int i = 0; i < n; ++i) ref += x[r * n + i];
    EXPECT_EQ(out[r], static_cast<float>(ref)) << "row " << r;
  }
}

TEST(SimtProof, RowSumRealValuedIsScheduleIndependent) {
  const int rows = 3, n = 777;
  std::vector<float> x(rows * n);
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> d(-1, 1);
  for (auto& v : x) v = d(rng);
  const std::vector<float> out = run_all_schedules<float>([&] { return mm::proof::run_row_sum(x, rows, n); });
  for (int r = 0; r < rows; ++r) {
    double ref = 0;
    for (int i = 0; i < n; ++i) ref += x[r * n + i];
    EXPECT_NEAR(out[r], ref, 1e-4);
  }
}

void check_gemm(int m, int n, int k, bool integer_valued) {
  std::vector<uint16_t> a(size_t(m) * k), b(size_t(n) * k);
  std::mt19937 rng(static_cast<unsigned>(m + n + k));
  std::uniform_int_distribution<int> di(-4, 4);
  std::uniform_real_distribution<float> dr(-1, 1);
  for (auto& v : a) v = bf16_bits(integer_valued ? float(di(rng)) : dr(rng));
  for (auto& v : b) v = bf16_bits(integer_valued ? float(di(rng)) : dr(rng));
  const std::vector<float> c = run_all_schedules<float>([&] { return mm::proof::run_gemm_bf16(a, b, m, n, k); });
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double ref = 0;
      for (int p = 0; p < k; ++p) ref += double(bf16_value(a[size_t(i) * k + p])) * bf16_value(b[size_t(j) * k + p]);
      const float got = c[size_t(i) * n + j];
      if (integer_valued) ASSERT_EQ(got, static_cast<float>(ref)) << i << "," << j;
      else ASSERT_NEAR(got, ref, 1e-5 * k) << i << "," << j;  // fp32 accumulation across k-steps
    }
}

TEST(SimtProof, GemmBf16IntegerValuedIsExact) { check_gemm(64, 128, 96, true); }
TEST(SimtProof, GemmBf16RealValued) { check_gemm(128, 64, 64, false); }

TEST(SimtProof, NeighbourWithBarrierIsCorrect) {
  std::vector<float> in(4 * 128);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  const std::vector<float> out = run_all_schedules<float>([&] { return mm::proof::run_neighbour(in, 128, true); });
  for (size_t i = 0; i < in.size(); ++i) EXPECT_EQ(out[i], 2.0f * in[i / 128 * 128 + (i % 128 + 1) % 128]);
}

// Without the barrier the emulator's schedules expose the race even without TSan: in forward order
// each thread runs to its end before its neighbour writes, so it reads poison.
TEST(SimtProof, MissingBarrierShowsUpAsPoisonOrScheduleDependence) {
  std::vector<float> in(128, 1.0f);
  std::vector<float> fwd, rev;
  {
    mm::simt::LaunchOptions o;
    o.order = mm::simt::Order::forward;
    mm::simt::ScopedLaunchOptions s(o);
    fwd = mm::proof::run_neighbour(in, 128, false);
  }
  {
    mm::simt::LaunchOptions o;
    o.order = mm::simt::Order::reverse;
    mm::simt::ScopedLaunchOptions s(o);
    rev = mm::proof::run_neighbour(in, 128, false);
  }
  EXPECT_TRUE(mm::simt::test::is_poison(fwd[0]));
  EXPECT_FALSE(mm::simt::test::same_bits(fwd, rev));
}

}  // namespace
