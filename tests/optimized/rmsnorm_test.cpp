// RMSNorm kernels (optimized/rmsnorm): plain RMSNorm and the DeepNorm residual fused with RMSNorm, every
// version under several emulator schedules (identical bits required) and on the GPU when present. Every
// version computes the ref-bf16 formula, so each output is held to the ref-bf16 bits: the residual sum y
// exactly, the normed outputs exactly up to the fp32 sum order of mean(x^2) (rownorm_exact.h). The
// acceptance rule against the fp64 reference (kernel_test_util.h) is checked and reported as well.
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"
#include "tests/optimized/ref_convert.h"
#include "tests/optimized/rownorm_exact.h"

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
namespace cpu = mm::rmsnorm::backend_simt;

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
// Every fourth row (1, 5, ...) is small (x ~ N(0, 3e-3^2): mean(x^2) ~ 0.9 eps), so that eps weighs as
// much as the data there and a wrong eps changes the output; the other rows are O(1), where eps hardly
// matters.
Inputs make_inputs(int rows, int H, uint64_t seed) {
  Inputs in{rows, H, {}, {}, {}, {}};
  const size_t n = static_cast<size_t>(rows) * H;
  in.x = mm::kt::randn_bf16(n, seed, 2.0);
  in.a = mm::kt::randn_bf16(n, seed + 1, 1.5);
  for (int r = 1; r < rows; r += 4)
    for (size_t j = static_cast<size_t>(r) * H; j < static_cast<size_t>(r + 1) * H; ++j) {
      in.x[j] = mm::round_bf16(in.x[j] * 1.5e-3f);
      in.a[j] = mm::round_bf16(in.a[j] * 1.5e-3f);
    }
  in.w1 = mm::kt::randn_bf16(static_cast<size_t>(H), seed + 2, 0.2);
  in.w2 = mm::kt::randn_bf16(static_cast<size_t>(H), seed + 3, 0.2);
  for (auto& v : in.w1) v = mm::round_bf16(1.0f + v);
  for (auto& v : in.w2) v = mm::round_bf16(1.0f + v);
  return in;
}

using mm::kt::expect_fa_rule_and_report;

// The runners of one backend, by index into the version tables (versions() and residual_versions()
// list the same versions in the same order).
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
  return {"simt", [](int v, auto... a) { return cpu::run(cpu::versions()[static_cast<size_t>(v)], a...); },
          [](int v, auto... a) { return cpu::run(cpu::residual_versions()[static_cast<size_t>(v)], a...); }, true};
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
  const auto exact = mm::kt::rownorm_expect(in.x, in.w1, {}, rows, H, static_cast<float>(kEps));
  const std::string shape = " rows=" + std::to_string(rows) + " H=" + std::to_string(H);
  if (be.emulated) {  // the check itself (host only): the reference's own output (Eigen's fp32 sum order)
                      // passes it, and sub-ulp bugs planted in a host copy of the formula fail it
    EXPECT_TRUE(mm::kt::rownorm_bits_match("ref-bf16 plain" + shape, exact, mm::kt::to_bf16_bits(budget)));
    mm::kt::expect_check_catches_planted_bugs("plain" + shape, exact, in.x, in.w1, {}, rows, H, static_cast<float>(kEps));
  }
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
    const std::string what = std::string(be.name) + " " + cpu::versions()[static_cast<size_t>(v)].name + " plain" + shape;
    const auto got = run(be, [&] { return be.plain(v, xb, wb, rows, H, static_cast<float>(kEps)); });
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    EXPECT_TRUE(mm::kt::rownorm_bits_match(what, exact, got));
    expect_fa_rule_and_report(what, oracle, mm::kt::from_bf16_bits(got), budget);
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
  const size_t n = static_cast<size_t>(rows) * H;
  const auto n1_exact = mm::kt::rownorm_expect(in.x, in.w1, {}, rows, H, static_cast<float>(kEps));
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
    const std::string what = std::string(be.name) + " " + cpu::versions()[static_cast<size_t>(v)].name +
                             (postnorm ? " postnorm" : " prenorm") + " rows=" + std::to_string(rows) +
                             " H=" + std::to_string(H) + " beta=" + std::to_string(beta);
    const auto got = run(be, [&] {  // [n1, y, n2]
      const auto n1 = be.plain(v, xb, w1b, rows, H, static_cast<float>(kEps));
      auto [y, n2] = be.residual(v, postnorm ? n1 : xb, ab, w2b, rows, H, static_cast<float>(kAlpha),
                                 static_cast<float>(beta), static_cast<float>(kEps));
      return cat(cat(n1, y), n2);
    });
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    const std::vector<uint16_t> n1(got.begin(), got.begin() + n), y_n2(got.begin() + n, got.end());
    // Bits: n1 as in check_plain; y is pure bf16 arithmetic on the kernel's own inputs (its n1 when
    // postnorm), so exactly deepnorm<BF16>'s bits; n2 is the ref-bf16 RMSNorm of that y.
    EXPECT_TRUE(mm::kt::rownorm_bits_match(what + " n1", n1_exact, n1));
    const Mat<float> r16 = postnorm ? to_mat<float>(mm::kt::from_bf16_bits(n1), rows, H) : x16;
    const auto y_want = flat(Mat<float>(deepnorm<BF16>(r16, a16, kAlpha, beta)));
    const std::vector<uint16_t> y(y_n2.begin(), y_n2.begin() + n), n2(y_n2.begin() + n, y_n2.end());
    EXPECT_TRUE(mm::kt::same_bits(what + " y", mm::kt::to_bf16_bits(y_want), y));
    EXPECT_TRUE(mm::kt::rownorm_bits_match(
        what + " n2", mm::kt::rownorm_expect(y_want, in.w2, {}, rows, H, static_cast<float>(kEps)), n2));
    expect_fa_rule_and_report(what, oracle, mm::kt::from_bf16_bits(y_n2), budget);
  }
}

struct Shape {
  int rows, H;
};
// Which code each shape runs (rownorm_launch.cuh; v1 is one scalar loop for every H):
//   v3 (one warp per row, H % 8 == 0, H <= 2048): 64 and 256 (1 vector per lane), 1000 (4), 2048 (8);
//   v2 vector path (H % 8 == 0, H <= 8192), also v3 above 2048: 4000, 6144 (hidden), 8192 (the lightning
//     norm width): 2, 3 and 4 vectors per thread;
//   v2 scalar path, also v3 there: 8200 (one vector past the register cache) and H % 8 != 0: 77 (fewer
//     elements than threads), 999 and 6145.
// Rows: bf16 inputs have 128 mantissas, so one row offers y * inv at most 128 distinct positions
// relative to the bf16 grid, and a bug that moves inv by ~2^-14 (H - 1 at H = 8200) shifts ~1 % of them
// across a rounding boundary: each shape has enough rows (6-17) that every planted bug shows in some
// row (rownorm_exact.h; expect_check_catches_planted_bugs verifies it per shape), and an eps-sized row.
const Shape kShapes[] = {{16, 64},  {8, 1000}, {8, 2048}, {6, 4000}, {8, 6144}, {6, 8192},
                         {6, 8200}, {17, 256}, {16, 77},  {8, 999},  {6, 6145}};

void run_suite(const Backend& be) {
  uint64_t seed = 100;
  for (const Shape& s : kShapes) check_plain(be, s.rows, s.H, seed += 10);
  for (const Shape& s : kShapes) check_residual(be, s.rows, s.H, true, 1.0, seed += 10);
  check_residual(be, 3, 6144, false, 1.0, seed += 10);
  check_residual(be, 5, 1000, false, 1.0, seed += 10);
  check_residual(be, 3, 999, false, 1.0, seed += 10);  // scalar path with eps-sized rows in y
  check_residual(be, 2, 2048, true, 0.75, seed += 10);
}

TEST(OptRmsnorm, SimtAllVersions) { run_suite(simt_backend()); }

TEST(OptRmsnorm, RejectsBadShapesAndVersions) {
  EXPECT_THROW(cpu::run(cpu::versions()[0], std::vector<uint16_t>(10), std::vector<uint16_t>(5), 2, 4, 1e-5f),
               std::invalid_argument);
  EXPECT_THROW(mm::gpu::find_version(cpu::versions(), "v7_unknown", "rmsnorm"), std::invalid_argument);
  EXPECT_TRUE(cpu::run(cpu::versions()[1], {}, std::vector<uint16_t>(4), 0, 4, 1e-5f).empty());
}

#if MM_CUDA
namespace gpu = mm::rmsnorm::backend_cuda;
TEST(OptRmsnorm, CudaAllVersions) {
  MM_NEEDS_GPU(gpu::device_present());
  run_suite({"cuda", [](int v, auto... a) { return gpu::run(gpu::versions()[static_cast<size_t>(v)], a...); },
             [](int v, auto... a) { return gpu::run(gpu::residual_versions()[static_cast<size_t>(v)], a...); }, false});
}
#endif

}  // namespace
