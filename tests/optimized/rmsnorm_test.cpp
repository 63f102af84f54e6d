// RMSNorm kernels (optimized/rmsnorm): plain RMSNorm and the DeepNorm residual fused with RMSNorm, every
// version under several emulator schedules (identical bits required) and on the GPU when present,
// against the fp64 reference with the bf16 reference as the error budget (kernel_test_util.h).
#include "tests/optimized/kernel_test_util.h"
#include "tests/optimized/ref_convert.h"

#include <iostream>

#include "reference/rmsnorm.h"
#include "tests/simt/simt_test_util.h"

#if MM_CUDA
#define MM_RMSNORM_DECLARE_CUDA 1
#endif
#include "optimized/rmsnorm/rmsnorm_runner.cuh"

namespace {

using mm::ref::Mat;
using mm::ref::Vec;
namespace cpu = mm::rmsnorm_gpu::backend_simt;

constexpr double kAlpha = 3.5565588200778455;  // alpha_linear / alpha_full / alpha_mlp of Text-01
constexpr double kEps = 1e-5;

using mm::kt::flat;
using mm::kt::to_mat;
using mm::kt::to_vec;
template <class T> std::vector<T> cat(std::vector<T> a, const std::vector<T>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// y = bf16(bf16(r*alpha) + bf16(a*beta)) in policy P (decoder_layer.cpp's deepnorm_residual)
template <class P> Mat<typename P::T> deepnorm(const Mat<typename P::T>& r, const Mat<typename P::T>& a, double alpha,
                                               double beta) {
  using T = typename P::T;
  const T al = mm::ref::constant<P>(alpha), be = mm::ref::constant<P>(beta);
  return r.binaryExpr(a, [al, be](T x, T y) { return P::r(P::r(x * al) + P::r(y * be)); });
}

struct Inputs {
  int rows, H;
  std::vector<float> x, a, w1, w2;
};
Inputs make_inputs(int rows, int H, uint64_t seed) {
  Inputs in{rows, H, {}, {}, {}, {}};
  const size_t n = static_cast<size_t>(rows) * H;
  in.x = mm::kt::randn_bf16(n, seed, 2.0);
  in.a = mm::kt::randn_bf16(n, seed + 1, 1.5);
  in.w1 = mm::kt::randn_bf16(static_cast<size_t>(H), seed + 2, 0.2);
  in.w2 = mm::kt::randn_bf16(static_cast<size_t>(H), seed + 3, 0.2);
  for (auto& v : in.w1) v = mm::round_bf16(1.0f + v);
  for (auto& v : in.w2) v = mm::round_bf16(1.0f + v);
  return in;
}

using mm::kt::expect_fa_rule_and_report;

// The runners of one backend, by version.
struct Backend {
  const char* name;
  std::function<std::vector<uint16_t>(int, const std::vector<uint16_t>&, const std::vector<uint16_t>&, int, int, float)>
      plain;
  std::function<std::pair<std::vector<uint16_t>, std::vector<uint16_t>>(
      int, const std::vector<uint16_t>&, const std::vector<uint16_t>&, const std::vector<uint16_t>&, int, int, float,
      float, float)>
      residual;
  bool emulated;
};

Backend simt_backend() {
  return {"simt", [](auto... a) { return cpu::run_rmsnorm(a...); },
          [](auto... a) { return cpu::run_residual_rmsnorm(a...); }, true};
}

// Runs `f` under every schedule on the emulator (identical bits required), once on the GPU.
std::vector<uint16_t> run(const Backend& be, const std::function<std::vector<uint16_t>()>& f) {
  if (be.emulated) return mm::simt::test::run_all_schedules<uint16_t>(f);
  return f();
}

void check_plain(const Backend& be, int rows, int H, uint64_t seed) {
  const Inputs in = make_inputs(rows, H, seed);
  const auto oracle = flat(mm::ref::rmsnorm<mm::ref::F64>(to_mat<double>(in.x, rows, H), to_vec<double>(in.w1), kEps));
  const auto budget = flat(mm::ref::rmsnorm<mm::ref::BF16>(to_mat<float>(in.x, rows, H), to_vec<float>(in.w1), kEps));
  const auto xb = mm::kt::to_bf16_bits(in.x), wb = mm::kt::to_bf16_bits(in.w1);
  for (int v = 0; v < cpu::num_versions(); ++v) {
    const std::string what = std::string(be.name) + " " + cpu::version_name(v) + " plain rows=" +
                             std::to_string(rows) + " H=" + std::to_string(H);
    const auto got = run(be, [&] { return be.plain(v, xb, wb, rows, H, static_cast<float>(kEps)); });
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    expect_fa_rule_and_report(what, oracle, mm::kt::from_bf16_bits(got), budget);
    // the bf16 reference is the official rounding; the kernels reproduce it (up to the fp32 sum order)
  }
}

// The decoder-layer chain: n1 = LN1(x) (plain kernel), y = deepnorm(postnorm ? n1 : x, a), n2 = LN2(y).
void check_residual(const Backend& be, int rows, int H, bool postnorm, double beta, uint64_t seed) {
  const Inputs in = make_inputs(rows, H, seed);
  using mm::ref::BF16;
  using mm::ref::F64;
  const Mat<double> x64 = to_mat<double>(in.x, rows, H), a64 = to_mat<double>(in.a, rows, H);
  const Mat<float> x16 = to_mat<float>(in.x, rows, H), a16 = to_mat<float>(in.a, rows, H);
  const Mat<double> n1_64 = mm::ref::rmsnorm<F64>(x64, to_vec<double>(in.w1), kEps);
  const Mat<float> n1_16 = mm::ref::rmsnorm<BF16>(x16, to_vec<float>(in.w1), kEps);
  const Mat<double> y64 = deepnorm<F64>(postnorm ? n1_64 : x64, a64, kAlpha, beta);
  const Mat<float> y16 = deepnorm<BF16>(postnorm ? n1_16 : x16, a16, kAlpha, beta);
  const auto oracle = cat(flat(y64), flat(mm::ref::rmsnorm<F64>(y64, to_vec<double>(in.w2), kEps)));
  const auto budget = cat(flat(y16), flat(mm::ref::rmsnorm<BF16>(y16, to_vec<float>(in.w2), kEps)));
  const auto xb = mm::kt::to_bf16_bits(in.x), ab = mm::kt::to_bf16_bits(in.a);
  const auto w1b = mm::kt::to_bf16_bits(in.w1), w2b = mm::kt::to_bf16_bits(in.w2);
  for (int v = 0; v < cpu::num_versions(); ++v) {
    const std::string what = std::string(be.name) + " " + cpu::version_name(v) +
                             (postnorm ? " postnorm" : " prenorm") + " rows=" + std::to_string(rows) +
                             " H=" + std::to_string(H) + " beta=" + std::to_string(beta);
    const auto got = run(be, [&] {
      const auto n1 = be.plain(v, xb, w1b, rows, H, static_cast<float>(kEps));
      auto [y, n2] = be.residual(v, postnorm ? n1 : xb, ab, w2b, rows, H, static_cast<float>(kAlpha),
                                 static_cast<float>(beta), static_cast<float>(kEps));
      return cat(y, n2);
    });
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    expect_fa_rule_and_report(what, oracle, mm::kt::from_bf16_bits(got), budget);
  }
}

struct Shape {
  int rows, H;
};
// H: tiny, not a multiple of 8 (scalar path), 1/2/3/4 vectors per thread (6144 = hidden, 8192 = the
// lightning norm width) and one past the register cache (scalar fallback of the vector kernel).
const Shape kShapes[] = {{1, 64}, {5, 1000}, {3, 2048}, {2, 4000}, {2, 6144}, {3, 8192}, {1, 8200}, {17, 256}};

void run_suite(const Backend& be) {
  uint64_t seed = 100;
  for (const Shape& s : kShapes) check_plain(be, s.rows, s.H, seed += 10);
  for (const Shape& s : kShapes) check_residual(be, s.rows, s.H, true, 1.0, seed += 10);
  check_residual(be, 3, 6144, false, 1.0, seed += 10);
  check_residual(be, 5, 1000, false, 1.0, seed += 10);
  check_residual(be, 2, 2048, true, 0.75, seed += 10);
}

TEST(OptRmsnorm, SimtAllVersions) { run_suite(simt_backend()); }

TEST(OptRmsnorm, ResidualPostnormBf16BitsMatchOfficialRounding) {
  // The residual sum y is pure bf16 arithmetic: every version must give the bf16 reference's bits.
  const int rows = 4, H = 6144;
  const Inputs in = make_inputs(rows, H, 77);
  const Mat<float> y16 =
      deepnorm<mm::ref::BF16>(to_mat<float>(in.x, rows, H), to_mat<float>(in.a, rows, H), kAlpha, 1.0);
  const auto want = mm::kt::to_bf16_bits(flat(y16));
  for (int v = 0; v < cpu::num_versions(); ++v) {
    auto [y, n] = cpu::run_residual_rmsnorm(v, mm::kt::to_bf16_bits(in.x), mm::kt::to_bf16_bits(in.a),
                                            mm::kt::to_bf16_bits(in.w2), rows, H, static_cast<float>(kAlpha), 1.0f,
                                            static_cast<float>(kEps));
    EXPECT_TRUE(mm::simt::test::same_bits(y, want)) << cpu::version_name(v);
  }
}

TEST(OptRmsnorm, RejectsBadShapesAndVersions) {
  EXPECT_THROW(cpu::run_rmsnorm(0, std::vector<uint16_t>(10), std::vector<uint16_t>(5), 2, 4, 1e-5f),
               std::invalid_argument);
  EXPECT_THROW(cpu::run_rmsnorm(7, std::vector<uint16_t>(8), std::vector<uint16_t>(4), 2, 4, 1e-5f),
               std::invalid_argument);
  EXPECT_TRUE(cpu::run_rmsnorm(1, {}, std::vector<uint16_t>(4), 0, 4, 1e-5f).empty());
}

#if MM_CUDA
namespace gpu = mm::rmsnorm_gpu::backend_cuda;
TEST(OptRmsnorm, CudaAllVersions) {
  if (!gpu::device_present()) GTEST_SKIP() << "no CUDA device";
  run_suite({"cuda", [](auto... a) { return gpu::run_rmsnorm(a...); },
             [](auto... a) { return gpu::run_residual_rmsnorm(a...); }, false});
}
#endif

}  // namespace
