// Lightning output path (optimized/lightning_norm_gate): RMSNorm over all heads (eps 1e-6) times
// sigmoid(gate), and the silu of the fused qkv projection. Every version under several emulator
// schedules (identical bits) and on the GPU when present. Both compute the ref-bf16 formula, so both are
// held to its bits: silu exactly (on the GPU within one bf16 ulp: its expf is not glibc's), the norm-gate
// exactly up to the fp32 sum order of mean(o^2) (rownorm_exact.h). The acceptance rule against the fp64
// reference (kernel_test_util.h) is checked and reported as well.
#include "tests/optimized/kernel_test_util.h"
#include "tests/gpu_expect.h"
#include "tests/optimized/ref_convert.h"
#include "tests/optimized/rownorm_exact.h"

#include <functional>
#include <iostream>

#include "reference/rmsnorm.h"
#include "tests/simt/simt_test_util.h"

#if MM_CUDA
#define MM_NORM_GATE_DECLARE_CUDA 1
#endif
#include "optimized/lightning_norm_gate/lightning_norm_gate_runner.cuh"

namespace {

using mm::ref::Mat;
using mm::ref::Vec;
namespace cpu = mm::norm_gate::backend_simt;
constexpr double kEps = 1e-6;  // lightning_norm_eps (official)

using mm::kt::flat;
using mm::kt::to_mat;
using mm::kt::to_vec;

// The end of lightning_attention<P>: normed = rmsnorm(o), gate = r(sigmoid(g)), out = r(gate * normed).
template <class P> Mat<typename P::T> norm_gate_ref(const Mat<typename P::T>& o, const Mat<typename P::T>& g,
                                                    const Vec<typename P::T>& w) {
  using T = typename P::T;
  const Mat<T> normed = mm::ref::rmsnorm<P>(o, w, kEps);
  const Mat<T> gate = g.unaryExpr([](T a) { return P::r(mm::ref::sigmoid(a)); });
  return mm::ref::stored<P>(gate.cwiseProduct(normed));
}

using mm::kt::expect_fa_rule_and_report;

struct Backend {
  const char* name;
  std::function<std::vector<uint16_t>(int, const std::vector<uint16_t>&, const std::vector<uint16_t>&,
                                      const std::vector<uint16_t>&, int, int, float)>
      norm_gate;
  std::function<std::vector<uint16_t>(int, const std::vector<uint16_t>&)> silu;
  bool emulated;
};

std::vector<uint16_t> run(const Backend& be, const std::function<std::vector<uint16_t>()>& f) {
  if (be.emulated) return mm::simt::test::run_all_schedules<uint16_t>(f);
  return f();
}

// gate_rel for the GPU: CUDA's expf is within 2 ulp, so sigmoid within ~4 fp32 ulps (2^-21); 2^-20.
constexpr double kGpuSigmoidRel = 0x1p-20;

void check_norm_gate(const Backend& be, int rows, int heads, int d, uint64_t seed) {
  const int D = heads * d;
  const size_t n = static_cast<size_t>(rows) * D;
  // o: attention output (small, like a linear-attention readout; every fourth row, 1, 5, ..., at
  // N(0, 1e-3^2), where mean(o^2) ~ eps and a wrong eps shows); g: gate pre-activation
  auto o = mm::kt::randn_bf16(n, seed, 0.3);
  const auto g = mm::kt::randn_bf16(n, seed + 1, 2.0);
  for (int r = 1; r < rows; r += 4)
    for (size_t j = static_cast<size_t>(r) * D; j < static_cast<size_t>(r + 1) * D; ++j) o[j] = mm::round_bf16(o[j] / 300);
  auto w = mm::kt::randn_bf16(static_cast<size_t>(D), seed + 2, 0.2);
  for (auto& v : w) v = mm::round_bf16(1.0f + v);
  const auto oracle = flat(norm_gate_ref<mm::ref::F64>(to_mat<double>(o, rows, D), to_mat<double>(g, rows, D),
                                                      to_vec<double>(w)));
  const auto budget = flat(norm_gate_ref<mm::ref::BF16>(to_mat<float>(o, rows, D), to_mat<float>(g, rows, D),
                                                       to_vec<float>(w)));
  const auto exact = mm::kt::rownorm_expect(o, w, g, rows, D, static_cast<float>(kEps), be.emulated ? 0.0 : kGpuSigmoidRel);
  const std::string shape = " rows=" + std::to_string(rows) + " heads=" + std::to_string(heads) + " d=" + std::to_string(d);
  if (be.emulated) {  // the check itself: the reference's output passes it, planted sub-ulp bugs fail it
    EXPECT_TRUE(mm::kt::rownorm_bits_match("ref-bf16 norm_gate" + shape, exact, mm::kt::to_bf16_bits(budget)));
    mm::kt::expect_check_catches_planted_bugs("norm_gate" + shape, exact, o, w, g, rows, D, static_cast<float>(kEps));
  }
  const auto ob = mm::kt::to_bf16_bits(o), gb = mm::kt::to_bf16_bits(g), wb = mm::kt::to_bf16_bits(w);
  for (int v = 0; v < static_cast<int>(cpu::versions().size()); ++v) {
    const std::string what = std::string(be.name) + " " + cpu::versions()[static_cast<size_t>(v)].name + " norm_gate" + shape;
    const auto got = run(be, [&] { return be.norm_gate(v, ob, gb, wb, rows, D, static_cast<float>(kEps)); });
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    EXPECT_TRUE(mm::kt::rownorm_bits_match(what, exact, got));
    expect_fa_rule_and_report(what, oracle, mm::kt::from_bf16_bits(got), budget);
  }
}

void check_silu(const Backend& be, size_t n, uint64_t seed) {
  const auto x = mm::kt::randn_bf16(n, seed, 3.0);
  std::vector<double> oracle(n);
  std::vector<float> budget(n);
  for (size_t i = 0; i < n; ++i) {
    oracle[i] = mm::ref::silu(static_cast<double>(x[i]));
    budget[i] = mm::round_bf16(mm::ref::silu(x[i]));
  }
  const auto xb = mm::kt::to_bf16_bits(x), want = mm::kt::to_bf16_bits(budget);
  for (int v = 0; v < static_cast<int>(cpu::silu_versions().size()); ++v) {
    const std::string what =
        std::string(be.name) + " silu " + cpu::silu_versions()[static_cast<size_t>(v)].name + " n=" + std::to_string(n);
    const auto got = run(be, [&] { return be.silu(v, xb); });
    ASSERT_TRUE(mm::kt::fully_written(got, mm::kt::is_poison_bf16)) << what;
    // elementwise, the same fp32 operations: the emulator (glibc's expf, as the reference) gives the
    // ref-bf16 bits; a GPU's expf may differ by an ulp or two, so there one bf16 ulp is allowed
    if (be.emulated) {
      EXPECT_TRUE(mm::kt::same_bits(what, want, got));
    } else {
      for (size_t i = 0; i < n; ++i)
        ASSERT_LE(std::abs(mm::kt::bf16_ord(got[i]) - mm::kt::bf16_ord(want[i])), 1) << what << " element " << i;
    }
    expect_fa_rule_and_report(what, oracle, mm::kt::from_bf16_bits(got), budget);
  }
}

void run_suite(const Backend& be) {
  uint64_t seed = 500;
  // heads x d (D = heads * d): small heads, d = 32/64, a width that is not a multiple of 8 (125: the scalar
  // path), the real 64 x 128 = 8192 (4 vectors per thread), 6144 (3 vectors per thread) and past the
  // register cache (8200, scalar fallback). Rows: enough that every planted sub-ulp bug shows in some
  // row (rownorm_exact.h), with an eps-sized row among them.
  check_norm_gate(be, 16, 4, 32, seed += 10);
  check_norm_gate(be, 16, 3, 64, seed += 10);
  check_norm_gate(be, 16, 5, 25, seed += 10);
  check_norm_gate(be, 6, 64, 128, seed += 10);
  check_norm_gate(be, 6, 8, 1025, seed += 10);
  check_norm_gate(be, 8, 48, 128, seed += 10);
  // n: one element, one short of a vector (tail only), one vector, 1001 and 49155 (vectors and a tail of 1
  // and 3), 5760 (vectors only)
  for (size_t n : {size_t{1}, size_t{7}, size_t{8}, size_t{1001}, size_t{3 * 3 * 2 * 64 * 5}, size_t{24576 * 2 + 3}})
    check_silu(be, n, seed += 10);
}

TEST(OptLightningNormGate, SimtAllVersions) {
  run_suite({"simt", [](int v, auto... a) { return cpu::run(cpu::versions()[static_cast<size_t>(v)], a...); },
             [](int v, auto... a) { return cpu::run(cpu::silu_versions()[static_cast<size_t>(v)], a...); }, true});
}

TEST(OptLightningNormGate, RejectsBadShapes) {
  EXPECT_THROW(cpu::run(cpu::versions()[0], std::vector<uint16_t>(10), std::vector<uint16_t>(10),
                       std::vector<uint16_t>(4), 2, 4, 1e-6f),
               std::invalid_argument);
  EXPECT_THROW(mm::gpu::find_version(cpu::silu_versions(), "v9_unknown", "silu"), std::invalid_argument);
}

#if MM_CUDA
namespace gpu = mm::norm_gate::backend_cuda;
TEST(OptLightningNormGate, CudaAllVersions) {
  MM_NEEDS_GPU(gpu::device_present());
  run_suite({"cuda", [](int v, auto... a) { return gpu::run(gpu::versions()[static_cast<size_t>(v)], a...); },
             [](int v, auto... a) { return gpu::run(gpu::silu_versions()[static_cast<size_t>(v)], a...); }, false});
}
#endif

}  // namespace
